"""N-gram counts of pre-tokenised texts over a fixed vocabulary, without scikit-learn: the matrix that
``CountVectorizer(vocabulary=..., tokenizer=identity, preprocessor=identity, lowercase=False,
ngram_range=..., dtype=float32).transform`` returns, entry for entry (same n-grams, same sorted indices, same
float32 counts). Scoring a saved n-gram model needs only this and numpy; importing scikit-learn costs more
than the scoring itself."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import scipy.sparse as sp


def word_ngrams(tokens: Sequence[str], ngram_range: tuple[int, int]) -> list[str]:
    """The tokens' n-grams for n in ``ngram_range``, joined by spaces, in scikit-learn's order."""
    min_n, max_n = ngram_range
    if max_n == 1:
        return list(tokens)
    grams = list(tokens) if min_n == 1 else []
    start = max(min_n, 2) if min_n == 1 else min_n
    for n in range(start, min(max_n + 1, len(tokens) + 1)):
        grams.extend(" ".join(tokens[i:i + n]) for i in range(len(tokens) - n + 1))
    return grams


def ngram_counts(texts: Sequence[Sequence[str]], vocabulary: Mapping[str, int], ngram_range: tuple[int, int],
                 binary: bool = False, dtype: type = np.float32) -> sp.csr_matrix:
    """(len(texts), len(vocabulary)) counts of each vocabulary n-gram per text (1 for present with ``binary``);
    n-grams outside the vocabulary are ignored."""
    import scipy.sparse as sp

    indices: list[int] = []
    values: list[int] = []
    indptr = [0]
    for tokens in texts:
        counter: dict[int, int] = {}
        for gram in word_ngrams(tokens, ngram_range):
            j = vocabulary.get(gram)
            if j is not None:
                counter[j] = counter.get(j, 0) + 1
        indices.extend(counter)
        values.extend(counter.values())
        indptr.append(len(indices))
    X = sp.csr_matrix((np.asarray(values, dtype=np.int64), np.asarray(indices, dtype=np.int64),
                       np.asarray(indptr, dtype=np.int64)), shape=(len(texts), len(vocabulary)), dtype=dtype)
    X.sort_indices()
    if binary:
        X.data.fill(1)
    return X

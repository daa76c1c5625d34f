"""senti.text.ngrams gives scikit-learn's CountVectorizer matrix entry for entry, without sklearn."""

from __future__ import annotations

import random
import subprocess
import sys

import numpy as np
import pytest
from sklearn.feature_extraction.text import CountVectorizer

from senti.text.ngrams import ngram_counts, word_ngrams


def _identity(tokens):
    return tokens


def _texts(n: int, seed: int) -> list[list[str]]:
    rng = random.Random(seed)
    words = ["good", "bad", "film", "not", "very", "plot", "a", "the", "😀", "l'amour", "ok"]
    return [[rng.choice(words) for _ in range(rng.randint(0, 12))] for _ in range(n)]


@pytest.mark.parametrize("ngram_range", [(1, 1), (1, 2), (1, 3), (2, 3), (2, 2)])
@pytest.mark.parametrize("binary", [False, True])
def test_the_same_matrix_as_countvectorizer(ngram_range, binary):
    common = {"analyzer": "word", "tokenizer": _identity, "preprocessor": _identity, "token_pattern": None,
              "lowercase": False, "ngram_range": ngram_range, "dtype": np.float32}
    fitted = CountVectorizer(min_df=2, **common).fit(_texts(300, seed=1))
    vocabulary = {t: i for i, t in enumerate(fitted.get_feature_names_out())}
    texts = _texts(200, seed=2)  # unseen texts: n-grams outside the vocabulary, empty texts
    expected = CountVectorizer(vocabulary=vocabulary, binary=binary, **common).transform(texts)
    got = ngram_counts(texts, vocabulary, ngram_range, binary=binary)
    assert got.shape == expected.shape and got.dtype == expected.dtype == np.float32
    assert np.array_equal(got.indptr, expected.indptr) and np.array_equal(got.indices, expected.indices)
    assert np.array_equal(got.data, expected.data)
    assert got.data.max() > (1 if not binary else 0)  # repeated n-grams are counted (or capped at 1)


def test_ngram_order_is_sklearns():
    assert word_ngrams(["a", "b", "c"], (1, 2)) == ["a", "b", "c", "a b", "b c"]
    assert word_ngrams(["a", "b", "c"], (2, 3)) == ["a b", "b c", "a b c"]
    assert word_ngrams(["a"], (2, 3)) == []


def test_importing_it_loads_no_sklearn():
    code = "import sys, senti.text.ngrams\nprint('sklearn' in sys.modules, 'torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120).stdout
    assert out.split() == ["False", "False"]

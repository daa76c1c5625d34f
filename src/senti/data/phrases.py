"""A validation split for treebank data, whose training rows are sentences and every labelled phrase inside them.

SST-2 (GLUE) trains on 67k rows: 6.9k sentences and their sub-phrases ("contains no wit", "wit"), while its test
rows are whole sentences. A random validation split of such rows is mostly short phrases whose originating
sentences stay in training, so it measures the wrong thing twice: phrase-level accuracy instead of sentence-level,
and texts the model has seen inside a training sentence. Early stopping, the stacker's weights and the
temperature are then fitted to a distribution the model never meets again (on SST-2 the calibrated default had
a dev expected calibration error of 0.069 with such a split). This split validates on whole sentences, as the test
split does, and leaves out of training the phrases that occur only inside those held-out sentences.
"""

from __future__ import annotations

import logging

import pandas as pd
from sklearn.model_selection import train_test_split

from senti.errors import DataError

log = logging.getLogger("senti")


def sentence_split(train: pd.DataFrame, fraction: float, seed: int,
                   key: pd.Series | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(fit, held)``: ``held`` is one row for each of a stratified ``fraction`` of the sentences (rows that are
    no contiguous word span of another row); ``fit`` is every row that is, or lies inside, a sentence not held.

    ``key``: the texts as compared (default: case-folded, white space collapsed); spans are whole words.
    """
    if key is None:
        key = train["text"].str.casefold().str.split().str.join(" ")
    rows = set(key)
    words = {k: k.split(" ") for k in rows}
    # Longest first: a row is a sentence unless a longer sentence already covers it.
    covered: set[str] = set()
    sentences: list[str] = []
    for k in sorted(rows, key=lambda k: (-len(words[k]), k)):
        if k not in covered:
            sentences.append(k)
            covered |= _row_spans(words[k], rows)
    first = pd.Series(train["label"].to_numpy(), index=key.to_numpy())
    first = first[~first.index.duplicated(keep="first")]
    labels = first.loc[sentences]
    n_valid = max(1, round(len(sentences) * fraction))
    if len(sentences) - n_valid < 1:
        raise DataError(f"only {len(sentences)} sentence(s) in the training data: too few to hold out whole "
                        "sentences for validation; give a validation file with --valid")
    counts = labels.value_counts()
    stratify = labels.to_numpy() if counts.min() >= 2 and n_valid >= len(counts) else None
    kept, held = train_test_split(sentences, test_size=n_valid, random_state=seed, stratify=stratify)
    in_fit: set[str] = set()
    for k in kept:
        in_fit |= _row_spans(words[k], rows)
    is_held = key.isin(set(held)).to_numpy()
    is_fit = key.isin(in_fit).to_numpy()
    valid = train[is_held & ~key.duplicated(keep="first").to_numpy()]
    dropped = int((~is_fit & ~is_held).sum())
    log.info("data: validation holds %d whole sentence(s) of %d; %d phrase row(s) found only inside them are left "
             "out of training", len(valid), len(sentences), dropped)
    return train[is_fit], valid


def _row_spans(words: list[str], rows: set[str]) -> set[str]:
    """The contiguous word spans of one sentence that are rows of the data (the sentence itself included)."""
    n = len(words)
    spans = (" ".join(words[a:b]) for a in range(n) for b in range(a + 1, n + 1))
    return {s for s in spans if s in rows}

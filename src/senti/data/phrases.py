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


def sentence_split(train: pd.DataFrame, key: pd.Series, fraction: float, seed: int
                   ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(fit, held)``: ``held`` is one row for each of a stratified ``fraction`` of the sentences (rows that are
    no contiguous word span of another row); ``fit`` is every row that is, or lies inside, a sentence not held.

    ``key``: the texts as compared (:func:`senti.data.splits.text_key`); spans are whole words.
    """
    rows = set(key)
    # Longest first: a row is a sentence unless a longer sentence already covers it. Each sentence keeps the
    # rows it contains, which decide what training may keep once the held-out sentences are drawn.
    inside: dict[str, set[str]] = {}
    covered: set[str] = set()
    for k in sorted(rows, key=lambda k: (-k.count(" "), k)):
        if k not in covered:
            inside[k] = _row_spans(k.split(" "), rows)
            covered |= inside[k]
    sentences = list(inside)
    first = pd.Series(train["label"].to_numpy(), index=key.to_numpy())
    labels = first[~first.index.duplicated(keep="first")].loc[sentences]
    n_valid = max(1, round(len(sentences) * fraction))
    if len(sentences) - n_valid < 1:
        raise DataError(f"only {len(sentences)} sentence(s) in the training data: too few to hold out whole "
                        "sentences for validation; give a validation file with --valid")
    counts = labels.value_counts()
    stratify = labels.to_numpy() if counts.min() >= 2 and n_valid >= len(counts) else None
    kept, held = train_test_split(sentences, test_size=n_valid, random_state=seed, stratify=stratify)
    is_held = key.isin(set(held)).to_numpy()
    is_fit = key.isin(set().union(*(inside[k] for k in kept))).to_numpy()
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

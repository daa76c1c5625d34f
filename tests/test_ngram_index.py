"""The compiled n-gram pass (senti.text.ngram_index) scores exactly what the feature matrix does."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from senti.models.linear import LinearConfig, LinearTextClassifier
from senti.text.ngram_index import NgramIndex

from .conftest import synthetic_reviews


def _tokens(n: int, seed: int) -> tuple[list[list[str]], np.ndarray]:
    df = synthetic_reviews(n, seed=seed)
    labels = {lab: i for i, lab in enumerate(sorted(df["label"].unique()))}
    return [t.lower().split() for t in df["text"]], df["label"].map(labels).to_numpy()


def _matrix_scores(m: LinearTextClassifier, tokens: list[list[str]]) -> np.ndarray:
    X = m.features(tokens)
    if m.ratios_ is not None:
        return np.column_stack([X.multiply(r).tocsr() @ w for r, w in zip(m.ratios_, m.coef_, strict=True)])
    return X @ m.coef_.T


@pytest.mark.parametrize("kind", ["nbsvm", "tfidf-logreg"])
@pytest.mark.parametrize("ngram_range", [(1, 1), (1, 3), (2, 3)])
@pytest.mark.parametrize("classes", [2, 3])
def test_the_compiled_pass_scores_what_the_feature_matrix_does(kind, ngram_range, classes):
    tokens, y = _tokens(600, seed=3)
    y = y if classes == 2 else np.arange(len(y)) % 3
    m = LinearTextClassifier(LinearConfig(kind=kind, ngram_range=list(ngram_range), min_df=1,
                                          num_classes=classes)).fit(tokens[:400], y[:400])
    # unseen words, an empty text, a text shorter than the n-grams, repeats (binary vs counted)
    test = [*tokens[400:], [], ["zzz-unseen", "words"], ["great"], ["great"] * 7 + ["film", "great", "film"]]
    got = m.scores(test) - m.intercept_
    assert got.shape == (len(test), m.coef_.shape[0])
    np.testing.assert_allclose(got, _matrix_scores(m, test), rtol=1e-5, atol=1e-5)
    assert np.all(got[len(tokens) - 400] == 0)  # the empty text has no feature


def test_repeated_ngrams_count_once_for_nbsvm_and_by_frequency_for_tfidf():
    index = NgramIndex(["bad", "good", "good film"])
    w = np.array([[-1.0], [1.0], [0.5]])
    binary = index.scores([["good", "good", "film", "good", "film"]], (1, 2), w)
    assert binary[0, 0] == pytest.approx(1.5)  # "good" and "good film" once each
    idf = np.ones(3)
    tfidf = index.scores([["good", "good", "bad"]], (1, 2), w, idf, sublinear_tf=False)
    v = np.array([1.0, 2.0]) / np.sqrt(5.0)  # bad ×1, good ×2, L2-normalised
    assert tfidf[0, 0] == pytest.approx(-v[0] + v[1])


def test_threads_scoring_at_once_get_the_answers_they_get_alone():
    tokens, y = _tokens(500, seed=5)
    m = LinearTextClassifier(LinearConfig(kind="nbsvm", ngram_range=[1, 3], min_df=1)).fit(tokens, y)
    alone = [m.scores(tokens[i::8]) for i in range(8)]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda i: m.scores(tokens[i::8]), range(8)))
    for a, b in zip(alone, together, strict=True):
        np.testing.assert_array_equal(a, b)

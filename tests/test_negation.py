"""Negation marking (senti.text.negation) and the n-gram models that use it (``negation_scope``)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import senti
from senti.models.linear import LinearConfig, LinearTextClassifier
from senti.text.clean import Cleaner
from senti.text.negation import mark_negation

from .conftest import synthetic_reviews


def test_the_words_after_a_negation_are_marked_up_to_the_scope():
    tokens = ["the", "plot", "was", "not", "good", "at", "all", "and", "the", "cast"]
    assert mark_negation(tokens, 3) == ["the", "plot", "was", "not", "NOT_good", "NOT_at", "NOT_all", "and", "the",
                                        "cast"]
    assert mark_negation(tokens, 0) == tokens


def test_contractions_and_capitals_negate_and_a_contrast_word_or_mark_ends_the_scope():
    assert mark_negation(["I", "didn't", "hate", "it", "but", "loved", "it"], 5) == \
        ["I", "didn't", "NOT_hate", "NOT_it", "but", "loved", "it"]
    assert mark_negation(["Never", "boring", "!", "fun"], 3) == ["Never", "NOT_boring", "!", "fun"]
    assert mark_negation(["no", "no", "way"], 1) == ["no", "NOT_no", "NOT_way"]  # a negation in scope starts anew


def _bag_of_words(scope: int) -> LinearTextClassifier:
    # With unigrams alone, "not bad" (positive) and "not good" (negative) hold the same words as "bad" and
    # "good" plus "not": no weights separate the four, unless the negated words are words of their own.
    texts = ["good", "bad", "not good", "not bad", "really good", "really bad", "not really good", "not really bad"]
    y = np.array([1, 0, 0, 1, 1, 0, 0, 1] * 5)
    m = LinearTextClassifier(LinearConfig(kind="nbsvm", ngram_range=[1, 1], min_df=1, C=10.0,
                                          negation_scope=scope))
    return m.fit([t.split() for t in texts] * 5, y)


def test_marking_lets_a_bag_of_words_read_a_negated_word():
    texts = ["not bad", "not good", "bad", "good"]
    marked = _bag_of_words(3).predict_proba([t.split() for t in texts])[:, 1]
    assert list(marked > 0.5) == [True, False, False, True]
    plain = _bag_of_words(0).predict_proba([t.split() for t in texts])[:, 1]
    assert list(plain > 0.5) != [True, False, False, True]


@pytest.mark.parametrize("kind", ["nbsvm", "tfidf-logreg"])
def test_the_text_path_scores_what_the_token_path_does_with_marking(kind):
    df = synthetic_reviews(400, seed=2)
    df["text"] = [f"{t} It was not {w} at all, but" if i % 3 else t
                  for i, (t, w) in enumerate(zip(df["text"], ["good", "bad", "dull", "fun"] * 100, strict=True))]
    cleaner = Cleaner()
    tokens = [cleaner.tokens(t) for t in df["text"]]
    y = (df["label"] == "positive").to_numpy().astype(int)
    m = LinearTextClassifier(LinearConfig(kind=kind, ngram_range=[1, 3], min_df=1, negation_scope=3)).fit(tokens, y)
    assert any(w.startswith("NOT_") for w in m.vocabulary_)
    texts = [*df["text"], "Not bad. NOT BAD at all!", "wasn't great", ""]
    np.testing.assert_allclose(m.predict_proba_texts([cleaner.for_tokenizer(t) for t in texts]),
                               m.predict_proba([cleaner.tokens(t) for t in texts]), rtol=1e-6, atol=1e-6)
    assert not any(w.startswith("NOT_") for w in m.word_weights()[0])  # words a text holds, not their marks


def test_a_trained_model_keeps_its_scope_in_the_bundle(tmp_path):
    train = tmp_path / "train.csv"
    nouns = ["film", "plot", "cast", "score", "app", "menu", "hotel", "book", "game", "show"]
    pairs = [("not bad", "positive"), ("bad", "negative"), ("not good", "negative"), ("good", "positive")]
    rows = [f"the {n} was {t},{lab}" for n in nouns for t, lab in pairs]
    train.write_text("\n".join(["text,label", *rows * 3]) + "\n")
    senti.train(tmp_path / "run", train=str(train), preset="nbsvm", progress=False, report=False,
                model={"ngram_range": [1, 1], "min_df": 1, "C": 10.0, "negation_scope": 2})
    assert json.loads((tmp_path / "run" / "config.json").read_text())["model"]["negation_scope"] == 2
    loaded = senti.load(tmp_path / "run")
    assert list(loaded.predict(["the car was not bad", "the car was not good"])) == ["positive", "negative"]


def test_a_bad_scope_is_refused():
    with pytest.raises(ValueError, match="negation_scope"):
        LinearConfig(kind="nbsvm", negation_scope=-1)

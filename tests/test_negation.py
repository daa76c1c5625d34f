"""Negation marking (senti.text.negation, ``clean.negation_scope``) and the models that read marked text."""

from __future__ import annotations

import json

import numpy as np
import pytest

import senti
from senti.config import CleanConfig
from senti.errors import ConfigError
from senti.models.linear import LinearConfig, LinearTextClassifier
from senti.text.clean import Cleaner
from senti.text.negation import mark_negation, unmark

from .conftest import synthetic_reviews


def test_the_words_after_a_negation_are_marked_up_to_the_scope():
    text = "the plot was not good at all and the cast"
    assert mark_negation(text, 3) == "the plot was not xxnotgood xxnotat xxnotall and the cast"
    assert mark_negation(text, 0) == text
    assert mark_negation("a fine film", 3) == "a fine film"


def test_contractions_and_capitals_negate_and_a_clause_mark_or_contrast_word_ends_the_scope():
    assert mark_negation("I didn't hate it, loved it", 5) == "I didn't xxnothate xxnotit, loved it"
    assert mark_negation("Never boring! fun", 3) == "Never xxnotboring! fun"
    assert mark_negation("not great but fun", 3) == "not xxnotgreat but fun"
    assert mark_negation("no no way", 1) == "no xxnotno xxnotway"  # a negation in scope starts anew
    assert mark_negation("It wasn’t 10 times better", 2) == "It wasn’t 10 xxnottimes xxnotbetter"  # words only


def test_every_tokeniser_path_reads_a_marked_word_as_one_token():
    cleaner = Cleaner(CleanConfig(negation_scope=3))
    text = "The food was NOT bad at all. Café wasn't great!"
    assert cleaner.tokens(text) == ["the", "food", "was", "not", "xxnotbad", "xxnotat", "xxnotall", "café",
                                    "wasn't", "xxnotgreat", "!"]
    assert cleaner.tokens(text) == senti.text.tokenize(cleaner.for_tokenizer(text))
    assert [unmark(t) for t in cleaner.tokens(text)] == Cleaner().tokens(text)


def test_a_bad_scope_is_refused():
    with pytest.raises(ConfigError, match="negation_scope"):
        Cleaner(CleanConfig(negation_scope=-1))


def _bag_of_words(scope: int) -> tuple[Cleaner, LinearTextClassifier]:
    # With unigrams alone, "not bad" (positive) and "not good" (negative) hold the same words as "bad" and
    # "good" plus "not": no weights separate the four, unless the negated words are words of their own.
    cleaner = Cleaner(CleanConfig(negation_scope=scope))
    texts = ["good", "bad", "not good", "not bad", "really good", "really bad", "not really good", "not really bad"]
    y = np.array([1, 0, 0, 1, 1, 0, 0, 1] * 5)
    m = LinearTextClassifier(LinearConfig(kind="nbsvm", ngram_range=[1, 1], min_df=1, C=10.0))
    return cleaner, m.fit([cleaner.tokens(t) for t in texts] * 5, y)


def test_marking_lets_a_bag_of_words_read_a_negated_word():
    texts = ["not bad", "not good", "bad", "good"]
    cleaner, marked = _bag_of_words(3)
    assert list(marked.predict_proba([cleaner.tokens(t) for t in texts])[:, 1] > 0.5) == [True, False, False, True]
    cleaner, plain = _bag_of_words(0)
    assert list(plain.predict_proba([cleaner.tokens(t) for t in texts])[:, 1] > 0.5) != [True, False, False, True]


@pytest.mark.parametrize("kind", ["nbsvm", "tfidf-logreg"])
def test_the_compiled_text_path_scores_marked_text_as_the_token_path_does(kind):
    df = synthetic_reviews(400, seed=2)
    df["text"] = [f"{t} It was not {w} at all, but" if i % 3 else t
                  for i, (t, w) in enumerate(zip(df["text"], ["good", "bad", "dull", "fun"] * 100, strict=True))]
    cleaner = Cleaner(CleanConfig(negation_scope=3))
    y = (df["label"] == "positive").to_numpy().astype(int)
    m = LinearTextClassifier(LinearConfig(kind=kind, ngram_range=[1, 3], min_df=1))
    m.fit([cleaner.tokens(t) for t in df["text"]], y)
    assert any(w.startswith("xxnot") for w in m.vocabulary_)
    texts = [*df["text"], "Not bad. NOT BAD at all!", "wasn't great", "naïve, not bad", ""]
    np.testing.assert_allclose(m.predict_proba_texts([cleaner.for_tokenizer(t) for t in texts]),
                               m.predict_proba([cleaner.tokens(t) for t in texts]), rtol=1e-6, atol=1e-6)
    assert not any(w.startswith("xxnot") for w in m.word_weights()[0])  # words a text holds, not their marks


def _tiny_negation_data(path):
    nouns = ["film", "plot", "cast", "score", "app", "menu", "hotel", "book", "game", "show"]
    pairs = [("not bad", "positive"), ("bad", "negative"), ("not good", "negative"), ("good", "positive")]
    rows = [f"the {n} was {t},{lab}" for n in nouns for t, lab in pairs]
    path.write_text("\n".join(["text,label", *rows * 3]) + "\n")
    return path


def test_a_trained_model_keeps_its_scope_in_the_bundle(tmp_path):
    train = _tiny_negation_data(tmp_path / "train.csv")
    senti.train(tmp_path / "run", train=str(train), preset="nbsvm", progress=False, report=False,
                clean={"negation_scope": 2}, model={"ngram_range": [1, 1], "min_df": 1, "C": 10.0})
    assert json.loads((tmp_path / "run" / "config.json").read_text())["clean"]["negation_scope"] == 2
    loaded = senti.load(tmp_path / "run")
    assert loaded.clean_config.negation_scope == 2
    assert list(loaded.predict(["the car was not bad", "the car was not good"])) == ["positive", "negative"]


def test_a_network_and_a_stack_read_marked_text_and_explanations_name_the_written_words(tmp_path):
    train = _tiny_negation_data(tmp_path / "train.csv")
    senti.train(tmp_path / "run", train=str(train), preset="rnn+nbsvm", progress=False, report=False,
                negation_scope=2, epochs=2, embedding_dim=16, hidden_size=16)
    model = senti.load(tmp_path / "run")
    for member in ("bigru", "nbsvm3"):
        config = json.loads((tmp_path / "run" / "members" / member / "config.json").read_text())
        assert config["clean"]["negation_scope"] == 2
    vocab = json.loads((tmp_path / "run" / "members" / "bigru" / "vocab.json").read_text())
    assert "xxnotbad" in json.dumps(vocab)
    bigru = senti.load(tmp_path / "run" / "members" / "bigru")
    [explanation] = bigru.explain(["the car was not bad"], method="integrated-gradients")
    assert [w.word for w in explanation.words] == ["the", "car", "was", "not", "bad"]
    assert explanation.words[-1].score != 0  # "bad", read as "xxnotbad", keeps its attribution
    assert model.predict_proba(["the car was not bad"]).shape == (1, 2)


def _marked_word_by_word(text: str, scope: int) -> str:
    """The rule read literally: every word and clause mark in turn, a countdown after each negation."""
    import re

    from senti.text.negation import ENDS_SCOPE, PREFIX, is_negation

    out, last, left = [], 0, 0
    for m in re.finditer(r"[^\W\d_]+(?:['’][^\W\d_]+)*|[.,;:!?()\"]", text):
        word = m.group(0)
        if not word[0].isalpha():
            left = 0
            continue
        if word.lower() in ENDS_SCOPE:
            left = 0
        elif left > 0:
            out += [text[last:m.start()], PREFIX]
            last = m.start()
        left -= 1
        if is_negation(word):
            left = scope
    return "".join([*out, text[last:]])


def test_marking_reads_only_after_negations_yet_marks_what_the_word_by_word_rule_does():
    rng = np.random.default_rng(0)
    pieces = ["not", "Not", "NOT", "DIDN’T", "İ", "no", "nothing", "notable", "knot", "didn't", "don’t", "can't",
              "n't", "x'not", "no'",
              "but", "But", "good", "bad", "café", "at", "all", "10", "_", "-", "'", "’", ",", ".", "!", "?", "(",
              "\"", " ", " ", " ", "  ", "\n", "never", "nobody", "nowhere", "cannot", "without", "é", "rock'n'roll"]
    for _ in range(3000):
        text = "".join(rng.choice(pieces, size=int(rng.integers(1, 14))))
        for scope in (1, 2, 3):
            assert mark_negation(text, scope) == _marked_word_by_word(text, scope), (text, scope)

"""The VADER lexicon prior on rationale spans: look-ups of tweet spellings, polarity towards a label, and how it
moves a span when the classifier does not know a word."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import senti
from senti.explain.lexicon import lexicon_prior, vader_lexicon, valence
from senti.explain.rationale import attributions_for, evaluate_rationales

from .conftest import synthetic_reviews


def test_vader_ships_with_its_package():
    lex = vader_lexicon()
    assert len(lex) > 7000
    assert lex["good"] > 0 > lex["bad"]


def test_valence_reads_tweet_spellings():
    v = valence(["GREAT!!!", "gooood", "Sooo", ":)", "(sad)", "I`m", "table", ""])
    lex = vader_lexicon()
    assert v[0] == lex["great"]  # case and punctuation
    assert v[1] == lex["good"]  # letter runs cut to two, then to one
    assert v[3] == lex[":)"] > 0  # emoticons are looked up as written, before punctuation is stripped
    assert v[4] == lex["sad"] < 0
    assert v[5] == 0 and v[6] == 0 and v[7] == 0  # not rated: no evidence either way
    assert v[2] == lex.get("soo", lex.get("so", 0.0))


def test_the_prior_points_towards_the_label_and_never_below_zero():
    words = ["good", "bad", "table"]
    neg = lexicon_prior(words, "negative")
    pos = lexicon_prior(words, "positive")
    assert neg[0] == 0 and neg[1] > 0 and neg[2] == 0
    assert pos[0] > 0 and pos[1] == 0 and pos[2] == 0
    assert not lexicon_prior(words, "neutral").any()
    assert not lexicon_prior(words, "1").any()  # a label without a polarity
    assert (lexicon_prior(words, "pos") == pos).all() and (lexicon_prior(words, "neg") == neg).all()  # IMDB


@pytest.fixture(scope="module")
def synthetic_model():
    """NB-SVM on synthetic reviews: it knows the conftest sentiment words, not 'splendid' or 'dreadful'."""
    return senti.train(None, train=synthetic_reviews(400), model="nbsvm", progress=False, report=False).model


def test_the_lexicon_finds_a_word_the_classifier_never_saw(synthetic_model):
    texts = ["the plot was splendid and the actors", "this story was dreadful and the film"]
    labels = ["positive", "negative"]
    df = pd.DataFrame({"text": texts, "label": labels, "selected_text": ["splendid", "dreadful"]})
    without, _ = evaluate_rationales(synthetic_model, df, sentiment="label", lexicon=0.0)
    with_, rows1 = evaluate_rationales(synthetic_model, df, sentiment="label", lexicon=0.5)
    assert rows1["span"].tolist() == ["splendid", "dreadful"] and with_["jaccard"] == 1.0
    assert without["jaccard"] < 1.0 and with_["lexicon"] == 0.5 and without["lexicon"] == 0.0
    # Known words keep their place: the lexicon adds to the classifier's log-odds, it does not replace them.
    _, _, scores = attributions_for(synthetic_model, ["a boring film"], ["negative"], "word-alone", lexicon=0.5)
    assert int(np.argmax(scores[0])) == 1


def test_the_lexicon_only_adds_to_word_alone_log_odds(synthetic_model):
    with pytest.raises(ValueError, match="word-alone"):
        attributions_for(synthetic_model, ["a great film"], ["positive"], "occlusion", lexicon=0.5)
    with pytest.raises(ValueError, match=">= 0"):
        attributions_for(synthetic_model, ["a great film"], ["positive"], "word-alone", lexicon=-1.0)
    m, _ = evaluate_rationales(synthetic_model, pd.DataFrame({"text": ["a great film"], "label": ["positive"],
                                                              "selected_text": ["great"]}), method="occlusion")
    assert m["lexicon"] == 0.0  # the default weight is for word-alone only

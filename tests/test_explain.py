"""Per-word explanations: offsets into the original text, occlusion and integrated gradients on real small
models, every model type, the CLI, and faithfulness on real tweets."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import senti
from senti.cli import main
from senti.explain import Explanation, attribute, word_spans
from senti.explain.faithfulness import deletion_test
from senti.text import Cleaner

from .conftest import DATA_DIR, needs_data, synthetic_reviews

CLASSES = ("negative", "neutral", "positive")


@pytest.fixture(scope="module")
def gru3(tmp_path_factory):
    """A small 3-class GRU trained in a few seconds on synthetic reviews, saved as a run."""
    out = tmp_path_factory.mktemp("explain") / "gru3"
    return senti.train(out, train=synthetic_reviews(900, seed=5, classes=CLASSES), model="gru", epochs=6,
                       embedding_dim=32, hidden_size=32, min_count=1, progress=False, report=False)


def test_words_carry_offsets_into_the_original_text(gru3):
    texts = ["  The <b>plot</b> was   great!!\nLoved it 😀 http://x.y/z @someone",
             "", "   ", "one"]
    for text, e in zip(texts, gru3.model.explain(texts), strict=True):
        assert isinstance(e, Explanation)
        assert [w.word for w in e.words] == text.split()
        assert all(text[w.start:w.end] == w.word for w in e.words)
        assert e.label in CLASSES and abs(sum(e.probabilities.values()) - 1) < 1e-5
        d = e.to_dict()
        assert set(d) == {"label", "probabilities", "words"}
        assert all(set(w) == {"word", "start", "end", "score"} for w in d["words"])
        json.dumps(d)  # plain types only, ready for the HTTP server


@pytest.mark.parametrize("method", ["occlusion", "integrated-gradients"])
def test_the_sentiment_word_gets_the_largest_score(gru3, method):
    texts = ["the movie was really wonderful and the plot", "the actors and the story was awful it",
             "it was a decent film and the plot"]
    for expected, e in zip(["wonderful", "awful", "decent"], gru3.model.explain(texts, method=method), strict=True):
        assert max(e.words, key=lambda w: w.score).word == expected, (method, e.label, e.words)


def test_occlusion_is_the_probability_drop_when_the_word_is_deleted(gru3):
    model = gru3.model
    text = "The story was dull, the actors superb"
    proba, (scores,) = attribute(model, [text], "occlusion")
    k = int(proba[0].argmax())
    for (a, b), s in zip(word_spans(text), scores, strict=True):
        deleted = model.predict_proba([text[:a] + " " + text[b:]])[0, k]
        assert s == pytest.approx(proba[0, k] - deleted, abs=1e-6)


def test_integrated_gradients_is_complete(gru3):
    """The word scores add up to p(class | text) - p(class | all-padding input) (the IG completeness axiom), both
    through the calibration temperature."""
    model = gru3.model
    text = "Brilliant acting, the plot was fun and the story moving"
    proba, (scores,) = attribute(model, [text], "integrated-gradients", steps=128)
    k = int(proba[0].argmax())
    ids = torch.tensor([model.encode([text])[0]])
    lengths = torch.tensor([ids.shape[1]])
    with torch.no_grad():
        logits = model.net(ids, lengths, embedded=torch.zeros(*ids.shape, 32))
        baseline = torch.softmax(logits / model.temperature, -1)[0, k]  # calibrated, as the scores are
    assert scores.sum() == pytest.approx(proba[0, k] - float(baseline), abs=0.02)


def test_integrated_gradients_on_truncated_texts_scores_only_what_the_model_read(gru3):
    model = gru3.model
    text = " ".join(["wonderful"] * 10 + ["the"] * 500 + ["awful"] * 10)  # max_length 400, truncate "both"
    (e,) = model.explain([text], method="integrated-gradients")
    scores = np.array([w.score for w in e.words])
    assert len(scores) == 520 and np.isfinite(scores).all()
    # "both" keeps the first 100 tokens and the last 300: the middle was never read, so never credited.
    assert (scores[100:220] == 0).all() and scores[:100].any() and scores[220:].any()


@pytest.mark.parametrize("preset", ["tfidf-logreg", "nbsvm", "random-forest", "conv1d"])
def test_every_model_type_explains(preset):
    kw = {"epochs": 10, "embedding_dim": 32, "num_filters": 32} if preset == "conv1d" else {}
    run = senti.train(None, train=synthetic_reviews(600, seed=2, classes=CLASSES), model=preset, min_count=1,
                      progress=False, report=False, **kw)
    for method in ("occlusion", "word-alone"):
        (e,) = run.model.explain(["the plot was superb and the actors brilliant"], method=method)
        assert e.label == "positive"
        assert max(e.words, key=lambda w: w.score).word in {"superb", "brilliant"}, (method, e.words)
    if preset == "conv1d":
        (g,) = run.model.explain(["the plot was superb"], method="integrated-gradients")
        assert max(g.words, key=lambda w: w.score).word == "superb"
    else:
        with pytest.raises(ValueError, match="needs a neural network"):
            run.model.explain(["x"], method="integrated-gradients")


def test_word_alone_is_the_log_odds_of_each_word_read_alone_against_chance(gru3):
    model = gru3.model
    text = "superb plot"
    _, (scores,) = attribute(model, [text], "word-alone", targets=[2])  # towards "positive"
    p = model.predict_proba(["superb", "plot"])[:, 2]
    expected = np.log(p / (1 - p)) - np.log(1 / 2)  # chance for three classes: p = 1/3, odds 1/2
    np.testing.assert_allclose(scores, expected, rtol=1e-4)
    assert scores[0] > scores[1]  # a sentiment word says more than filler


def test_bad_arguments_fail_clearly(gru3):
    with pytest.raises(ValueError, match="method must be one of"):
        gru3.model.explain(["x"], method="lime")
    with pytest.raises(TypeError, match="single str"):
        gru3.model.explain("a text, not a list")


def test_backquote_apostrophes_of_the_kaggle_tweets_are_apostrophes():
    assert Cleaner()("I don`t know, it`s `quoted`") == "i don't know, it's `quoted`"


def test_cli_predict_explain_colours_words_and_json_has_them(gru3):
    run_dir = str(gru3.run_dir)
    human = CliRunner().invoke(main, ["predict", run_dir, "--explain", "the plot was wonderful"], color=True)
    assert human.exit_code == 0, human.output
    assert "\x1b[32m" in human.output and "wonderful" in human.output  # green: towards the predicted class
    out = CliRunner().invoke(main, ["predict", run_dir, "--explain", "--json", "--method", "integrated-gradients",
                                    "awful plot", "fine film"])
    rows = [json.loads(line) for line in out.output.splitlines()]
    assert [r["text"] for r in rows] == ["awful plot", "fine film"]
    first = rows[0]["words"][0]
    assert (first["word"], first["start"], first["end"]) == ("awful", 0, 5) and isinstance(first["score"], float)
    bad = CliRunner().invoke(main, ["predict", run_dir, "--explain", "--input", "x.csv"])
    assert bad.exit_code == 2 and "--explain" in bad.output


@pytest.fixture(scope="module")
def tweets_model():
    """A small GRU trained on 4,000 real tweets (seconds), and 250 test tweets of 8 words or more."""
    from senti.training.run import DATASET_DEFAULTS

    train = senti.load_dataset("tweets", "train", DATA_DIR).sample(4000, random_state=0)
    test = senti.load_dataset("tweets", "test", DATA_DIR)
    test = test[test["text"].str.split().str.len() >= 8].sample(250, random_state=0)
    run = senti.train(None, train=train, model="gru", epochs=3, embedding_dim=32, hidden_size=32,
                      progress=False, report=False, **DATASET_DEFAULTS["tweets"])
    return run.model, test["text"].tolist()


@pytest.mark.slow
@needs_data
@pytest.mark.parametrize("method", ["occlusion", "integrated-gradients"])
def test_deleting_top_attributed_words_changes_predictions_more_than_random_words(tweets_model, method):
    model, texts = tweets_model
    effect = deletion_test(model, texts, method, ks=(2,), steps=16)[2]
    top, rand = effect["top"], effect["random"]
    assert top["probability_drop"] > 3 * max(rand["probability_drop"], 0.01), effect
    assert top["flipped"] > 2 * max(rand["flipped"], 0.02), effect

"""Rationale spans: the Kaggle Jaccard, span selection, the fixed partition, and the command on real tweets."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import senti
from senti.cli import main
from senti.explain.rationale import (
    SpanSettings,
    best_span,
    evaluate_rationales,
    expected_jaccard_span,
    extra_spaces,
    jaccard,
    kaggle_offsets,
    load_selections,
    partition,
    select_rows,
    select_span,
    top_word,
)

from .conftest import DATA_DIR, needs_data


def test_jaccard_is_the_competition_metric():
    assert jaccard("Sooo SAD", "sooo sad") == 1.0
    assert jaccard("so sad today", "sad") == pytest.approx(1 / 3)
    assert jaccard("sad sad", "sad") == 1.0  # sets of words
    assert jaccard("sad!", "sad") == 0.0  # whitespace words: punctuation counts
    assert jaccard("", "") == 1.0 and jaccard("x", "") == 0.0


def test_best_span_trades_score_against_length():
    s = np.array([0.1, 1.0, 0.9, -0.5, 0.2])
    assert best_span(s, 0.5) == (1, 3)  # the two strong words, together
    assert best_span(s, 0.95) == (1, 2)  # only the strongest pays for itself
    assert best_span(s, 0.0) == (0, 3)  # free words: the run with the largest total
    assert best_span(np.array([-0.2, -0.1]), 0.5) == (0, 2)  # no evidence: the whole text


def test_expected_jaccard_span_weighs_length_against_dilution():
    assert expected_jaccard_span(np.array([0.0, 1.0, 0.0, 0.0])) == (1, 2)  # one sentiment word stands alone
    assert expected_jaccard_span(np.array([0.1, 1.0, 0.9, -0.5])) == (1, 3)  # two sure words, together
    assert expected_jaccard_span(np.array([0.0, 1.0, 0.1, 0.8, 0.0])) == (1, 4)  # a weak word between two sure
    # The soft threshold: a word at 0.3 of the top joins with the default steep slope (p = 0.69), not with a
    # gentle one centred higher (p = 0.31: its dilution of a one-word span costs more than it brings).
    assert expected_jaccard_span(np.array([1.0, 0.3, 0.0])) == (0, 2)
    assert expected_jaccard_span(np.array([1.0, 0.3, 0.0]), slope=4.0, midpoint=0.5) == (0, 1)
    assert expected_jaccard_span(np.array([-0.2, -0.1])) == (0, 2)  # no evidence: the whole text
    assert expected_jaccard_span(np.array([0.5])) == (0, 1)
    rng = np.random.default_rng(0)  # the vectorised search is the brute-force argmax of the expected Jaccard
    for _ in range(50):
        s = rng.normal(size=int(rng.integers(1, 12)))
        if s.max() <= 0:
            continue
        p = 1 / (1 + np.exp(-4.0 * (s / s.max() - 0.1)))

        def expected(i, j, p=p):
            return p[i:j].sum() / ((j - i) + p.sum() - p[i:j].sum())
        spans = [(i, j) for i in range(len(s)) for j in range(i + 1, len(s) + 1)]
        assert expected(*expected_jaccard_span(s, 4.0, 0.1)) == pytest.approx(max(expected(*ij) for ij in spans))


def test_kaggle_offsets_shift_spans_after_extra_spaces():
    text = " Go the bath!!!  Always relaxing now"
    a = text.index("relaxing")
    assert extra_spaces(text, a) == 2 and extra_spaces("a b", 2) == 0 and extra_spaces("  a   b", 6) == 4
    start, end = kaggle_offsets(text, a, a + len("relaxing"))
    assert text[start:end] == "s relaxing"  # two extra spaces: starts 2 early, ends 2 - 2 = 0 early
    assert kaggle_offsets(text, a, a + 8, after=3) == (a, a + 8)  # below the threshold: unchanged
    one = " Go the bath!!! Always relaxing"
    b = one.index("relaxing")
    assert kaggle_offsets(one, b, b + 8) == (b, b + 8)  # one extra space (the leading one): unchanged
    eight = "   so      sad"  # 3 leading + 5 inner extra spaces: 8 characters early at the start, 6 at the end
    assert extra_spaces(eight, 11) == 8 and kaggle_offsets(eight, 11, 14) == (3, 8)
    assert kaggle_offsets("x          sad", 11, 14) == (11, 14)  # a shift onto spaces only is no span
    settings = SpanSettings(selection="max-subarray", penalty=0.5, shift_after_spaces=2)
    assert select_span(text, np.array([0, 0, 0, 0, 1.0, 0]), "positive", settings) == "s relaxing"
    assert select_span(text, np.array([0, 0, 0, 0, 1.0, 0]), "positive",
                       SpanSettings(selection="max-subarray", penalty=0.5)) == "relaxing"  # off by default


def test_select_span_keeps_the_original_text():
    text = "  I  LOVED it,   really!! "
    scores = np.array([0.0, 1.0, 0.1, 0.7])
    kadane = SpanSettings(penalty=0.3, min_words=2, selection="max-subarray")
    assert select_span(text, scores, "positive", kadane) == "LOVED it,   really!!"
    assert select_span(text, scores, "positive") == "LOVED it,   really!!"  # expected-jaccard agrees here
    assert select_span(text, np.array([0.0, 1.0, 0.0, 0.0]), "positive") == "LOVED"
    with pytest.raises(ValueError, match="selection"):
        SpanSettings(selection="greedy")
    assert select_span(text, scores, "neutral") == text
    assert select_span("so good", np.array([0.1, 1.0]), "positive") == "so good"  # short: the whole text
    assert top_word(text, scores, "positive") == "LOVED" and top_word(text, scores, "neutral") == text


@needs_data
def test_partition_is_fixed_disjoint_and_stratified():
    df = load_selections("tweets", "train", DATA_DIR)
    assert len(df) == 27_480 and {"text", "label", "selected_text"} <= set(df.columns)  # the empty row dropped
    parts, again = partition(df), partition(df)
    assert all(parts[k].index.equals(again[k].index) for k in parts)
    fit, dev, ev = (set(parts[k].index) for k in ("fit", "dev", "eval"))
    assert not (fit & dev or fit & ev or dev & ev) and len(fit | dev | ev) == len(df)
    assert len(ev) == pytest.approx(0.1 * len(df), abs=1)
    shares = parts["eval"]["label"].value_counts(normalize=True) - df["label"].value_counts(normalize=True)
    assert shares.abs().max() < 0.005


@needs_data
def test_no_spans_in_the_test_split():
    with pytest.raises(senti.DataError, match="only in the train split"):
        load_selections("tweets", "test", DATA_DIR)
    rows = select_rows("tweets", "test", "eval", DATA_DIR)  # no partition without human spans: all of it
    assert len(rows) == 3534 and "selected_text" not in rows.columns


@pytest.fixture(scope="module")
def tweets_run(tmp_path_factory):
    """NB-SVM on the fit part of the tweets (seconds), saved as a run."""
    from senti.training.run import DATASET_DEFAULTS

    fit = partition(load_selections("tweets", "train", DATA_DIR))["fit"]
    out = tmp_path_factory.mktemp("rationale") / "nbsvm"
    return senti.train(out, train=fit[["text", "label"]], model="nbsvm", progress=False, report=False,
                       **DATASET_DEFAULTS["tweets"])


@pytest.mark.slow
@needs_data
def test_spans_beat_the_whole_text_on_held_out_tweets(tweets_run):
    df = partition(load_selections("tweets", "train", DATA_DIR))["eval"]
    m, rows = evaluate_rationales(tweets_run.model, df, sentiment="label")
    assert m["n"] == len(rows) == 2748
    assert m["method"] == "word-alone" and m["lexicon"] > 0  # the defaults
    assert m["jaccard"] > m["jaccard_whole_text"] + 0.08 and m["jaccard"] > 0.675  # 0.680 when measured
    # The VADER prior lifts the spans of the same model (eval +0.012 when measured; cross-fitted +0.007).
    plain, _ = evaluate_rationales(tweets_run.model, df, sentiment="label", lexicon=0.0)
    assert m["jaccard"] > plain["jaccard"] + 0.005
    for label in ("negative", "positive"):  # where the span matters
        r = m["per_label"][label]
        assert r["jaccard"] > r["jaccard_whole_text"] + 0.01, (label, r)
    assert m["per_label"]["neutral"]["jaccard"] == m["per_label"]["neutral"]["jaccard_whole_text"]
    assert all(span in text for span, text in zip(rows["span"], rows["text"], strict=True))
    # A model that is never sure enough keeps every whole text.
    unsure, _ = evaluate_rationales(tweets_run.model, df, settings=SpanSettings(min_confidence=1.01))
    assert unsure["jaccard"] == unsure["jaccard_whole_text"]


def test_a_committee_needs_the_same_classes(tmp_path):
    from .conftest import synthetic_reviews

    two = senti.train(None, train=synthetic_reviews(200), model="tfidf-logreg", progress=False, report=False)
    three = senti.train(None, train=synthetic_reviews(300, classes=("negative", "neutral", "positive")),
                        model="tfidf-logreg", progress=False, report=False)
    df = pd.DataFrame({"text": ["a wonderful film"], "label": ["positive"], "selected_text": ["wonderful"]})
    with pytest.raises(ValueError, match="same classes"):
        evaluate_rationales([two.model, three.model], df)
    m, rows = evaluate_rationales([three.model, three.model], df, sentiment="label")
    assert rows["span"].tolist() == ["wonderful"] and m["jaccard"] == 1.0


@pytest.mark.slow
@needs_data
def test_rationale_command(tweets_run, tmp_path):
    out = tmp_path / "spans.csv"
    r = CliRunner().invoke(main, ["rationale", str(tweets_run.run_dir), "--dataset", "tweets", "--split", "train",
                                  "--limit", "200", "--data-dir", str(DATA_DIR), "--json", "-o", str(out)])
    assert r.exit_code == 0, r.output
    m = json.loads(r.stdout)
    assert m["n"] == 200 and m["rows"] == "eval" and m["sentiment"] == "predicted"
    # The printed figures are those of the spans written, each scored against the human span.
    rows = pd.read_csv(out, keep_default_na=False)
    assert len(rows) == 200 and all(span in text for span, text in zip(rows["span"], rows["text"], strict=True))
    recomputed = [jaccard(a, b) for a, b in zip(rows["span"], rows["selected_text"], strict=True)]
    np.testing.assert_allclose(rows["jaccard_span"], recomputed, atol=1e-9)
    assert m["jaccard"] == pytest.approx(np.mean(recomputed))
    assert m["jaccard_whole_text"] == pytest.approx(rows["jaccard_text"].mean())
    # With the predicted sentiment (not the given one) spans are about as good as whole texts: 0.553 vs 0.555
    # when measured; a span finder that picked words at random would fall far below.
    assert m["jaccard"] > 0.5



@pytest.mark.slow
@needs_data
def test_rationale_command_extracts_spans_where_there_are_no_human_ones(tweets_run, tmp_path):
    """The Kaggle test split has no selected_text: its spans are written, one row per tweet, ready to submit."""
    out = tmp_path / "test-spans.csv"
    r = CliRunner().invoke(main, ["rationale", str(tweets_run.run_dir), "--split", "test", "--sentiment", "label",
                                  "--data-dir", str(DATA_DIR), "-o", str(out)])
    assert r.exit_code == 0, r.output
    spans = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert len(spans) == 3534 and {"textID", "label", "sentiment", "span", "start", "end"} <= set(spans.columns)
    assert (spans["sentiment"] == spans["label"]).all()  # the given sentiment, as in the competition
    assert all(t[int(a):int(b)] == s for t, s, a, b in spans[["text", "span", "start", "end"]].itertuples(index=False))
    neutral = spans["label"] == "neutral"
    assert (spans.loc[neutral, "span"] == spans.loc[neutral, "text"]).all()
    assert spans.loc[~neutral, "span"].str.split().str.len().median() <= 3  # a few words, not the tweet

    api = tweets_run.model.rationales(["so happy today!!", "I hate Mondays"], ["positive", "neutral"])
    assert api["span"].tolist() == ["happy", "I hate Mondays"] and api["sentiment"].tolist() == ["positive", "neutral"]
    assert api[["start", "end"]].values.tolist() == [[3, 8], [0, 14]]

    typed = CliRunner().invoke(main, ["rationale", str(tweets_run.run_dir), "--json",
                                      "--text", "so happy today!!", "--text", "going to the shop"])
    assert typed.exit_code == 0, typed.output
    rows = [json.loads(line) for line in typed.stdout.splitlines()]
    assert [r["span"] for r in rows] == ["happy", "going to the shop"]
    assert [r["sentiment"] for r in rows] == ["positive", "neutral"] and 0 < rows[0]["probability"] <= 1

    csv = tmp_path / "mine.csv"
    pd.DataFrame({"tweet": ["what an awful, awful day", "lovely weather"],
                  "mood": ["negative", "positive"]}).to_csv(csv, index=False)
    given = CliRunner().invoke(main, ["rationale", str(tweets_run.run_dir), "--input", str(csv), "--text-column",
                                      "tweet", "--label-column", "mood", "--sentiment", "label", "--json"])
    assert given.exit_code == 0, given.output
    # Two words are their own rationale (min_words).
    assert [json.loads(line)["span"] for line in given.stdout.splitlines()] == ["awful, awful", "lovely weather"]
    for args, message in ((["--input", str(csv), "--sentiment", "label"], "--label-column"),
                          (["--input", str(csv), "--text", "hi"], "not both")):
        bad = CliRunner().invoke(main, ["rationale", str(tweets_run.run_dir), *args])
        assert bad.exit_code == 2 and message in bad.output

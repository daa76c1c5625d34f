"""Label spellings (issue 23 defects 1-2, issue 22's label map): float labels in the estimator, case variants
refused or merged, --label-map for training, --test and evaluate, and 0.0 matching 0 without a map."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import senti
from senti.data.labels import canonical_label, parse_label_map, suggest_label_map
from senti.errors import ConfigError, DataError

from .conftest import synthetic_reviews

SENTI = [sys.executable, "-m", "senti"]
NBSVM = {"model": "nbsvm", "progress": False, "report": False}


def _with_case_variants(n: int = 300) -> pd.DataFrame:
    df = synthetic_reviews(n, seed=5)
    df.loc[df.index[:12], "label"] = df["label"][:12].str.capitalize()  # a few rows say Positive / Negative
    return df


def test_canonical_label_spellings():
    for one in (1, 1.0, "1", " 1 ", "1.0", "1.00", np.int64(1), np.float32(1.0), np.float64(1.0)):
        assert canonical_label(one) == "1", one
    assert canonical_label(-1.0) == "-1" and canonical_label("0.0") == "0"
    assert canonical_label(0.5) == "0.5" and canonical_label(" positive ") == "positive"
    assert canonical_label(True) == "True"  # a bool is not the number 1


def test_parse_label_map():
    assert parse_label_map("0=negative, 1 = positive") == {"0": "negative", "1": "positive"}
    assert parse_label_map({0.0: "negative", "1.0": "positive"}) == {"0": "negative", "1": "positive"}
    assert parse_label_map(None) == {} and parse_label_map("") == {}
    with pytest.raises(ConfigError, match="not FROM=TO"):
        parse_label_map("0:negative")
    with pytest.raises(ConfigError, match="both 'negative' and 'positive'"):
        parse_label_map("0=negative,0.0=positive")
    with pytest.raises(ConfigError, match="both sides"):
        parse_label_map("0=")


def test_suggested_maps():
    assert suggest_label_map(["Negative", "Positive"], ["negative", "positive"]) == (
        "--label-map Negative=negative,Positive=positive")
    assert suggest_label_map(["1", "0"], ["positive", "negative"]).startswith(
        "--label-map 0=negative,1=positive (check")


def test_estimator_with_float_labels_keeps_them():
    # Defect 1: 0.0/1.0 became the classes "0"/"1", then KeyError: '0' looking up "0.0".
    df = synthetic_reviews(300, seed=2)
    y = (df["label"] == "positive").astype(float).tolist()
    clf = senti.SentimentClassifier(model="nbsvm").fit(df["text"].tolist(), y)
    assert clf.classes_.tolist() == [0.0, 1.0] and clf.classes_.dtype == np.float64
    assert clf.predict(["loved it, wonderful, brilliant", "awful, boring, the worst"]).tolist() == [1.0, 0.0]
    assert clf.score(df["text"].tolist(), y) > 0.9


def test_labels_differing_only_in_case_are_refused_naming_them(tmp_path):
    # Defect 2: a 2-class file with a few "Positive" rows trained as 4 classes, silently.
    _with_case_variants().to_csv(tmp_path / "d.csv", index=False)
    with pytest.raises(DataError, match=r"'Negative' / 'negative'; 'Positive' / 'positive'.*--label-map.*"
                                        r"--fold-label-case"):
        senti.train(None, train=tmp_path / "d.csv", **NBSVM)


@pytest.mark.parametrize("way", [{"fold_label_case": True}, {"label_map": "Positive=positive,Negative=negative"},
                                 {"label_map": {"Positive": "positive", "Negative": "negative"}}])
def test_case_variants_merge_on_request(tmp_path, way):
    _with_case_variants().to_csv(tmp_path / "d.csv", index=False)
    run = senti.train(tmp_path / "run", train=tmp_path / "d.csv", **NBSVM, **way)
    assert run.model.labels == ["negative", "positive"]
    recorded = json.loads((tmp_path / "run" / "config.json").read_text())["data"]
    assert {k: recorded[k] for k in way} == way  # the run says how its labels were read (and resumes so)


def test_cli_fold_label_case_and_the_error_line(tmp_path):
    _with_case_variants().to_csv(tmp_path / "d.csv", index=False)
    base = [*SENTI, "train", "--train", str(tmp_path / "d.csv"), "--model", "nbsvm", "--no-report", "-q"]
    failed = subprocess.run([*base, "-o", str(tmp_path / "a")], capture_output=True, text=True, timeout=300)
    assert failed.returncode == 1 and "differ only in case" in failed.stderr
    assert "Traceback" not in failed.stderr
    done = subprocess.run([*base, "-o", str(tmp_path / "b"), "--fold-label-case"], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert senti.load(tmp_path / "b").labels == ["negative", "positive"]


@pytest.fixture(scope="module")
def word_model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("labels")
    synthetic_reviews(400, seed=6).to_csv(folder / "train.csv", index=False)
    test = synthetic_reviews(120, seed=7)
    test.to_csv(folder / "test-words.csv", index=False)
    test.assign(label=(test["label"] == "positive").astype(int)).to_csv(folder / "test-01.csv", index=False)
    senti.train(folder / "run", train=folder / "train.csv", **NBSVM)
    return folder


def test_test_file_with_other_spellings_needs_a_map_and_takes_one(word_model, tmp_path):
    kw = {"train": word_model / "train.csv", "test": str(word_model / "test-01.csv"), **NBSVM}
    with pytest.raises(DataError, match=r"lacks .*--label-map 0=negative,1=positive"):
        senti.train(None, **kw)
    mapped = senti.train(None, **kw, label_map="0=negative,1=positive")
    words = senti.train(None, **{**kw, "test": str(word_model / "test-words.csv")})
    assert mapped.metrics["accuracy"] == words.metrics["accuracy"] > 0.8


def test_evaluate_maps_label_spellings(word_model):
    run = str(word_model / "run")

    def evaluate(*extra):
        return subprocess.run([*SENTI, "evaluate", run, "--input", str(word_model / "test-01.csv"), "--json",
                               *extra], capture_output=True, text=True, timeout=300)

    refused = evaluate()
    assert refused.returncode == 1 and "--label-map 0=negative,1=positive" in refused.stderr
    mapped = evaluate("--label-map", "0=negative,1=positive")
    assert mapped.returncode == 0, mapped.stderr
    words = subprocess.run([*SENTI, "evaluate", run, "--input", str(word_model / "test-words.csv"), "--json"],
                           capture_output=True, text=True, timeout=300)
    assert json.loads(mapped.stdout)["accuracy"] == json.loads(words.stdout)["accuracy"] > 0.8


def test_numeric_spellings_match_without_a_map(tmp_path):
    df = synthetic_reviews(300, seed=8)
    df = df.assign(label=(df["label"] == "positive").astype(int))
    df.to_csv(tmp_path / "train.csv", index=False)
    # A JSON Lines test file whose labels are the strings "0.0" / "1.0" (as some exports write them).
    test = df.iloc[:80].assign(label=df["label"][:80].map(lambda v: f"{v}.0"))
    test.to_json(tmp_path / "test.jsonl", orient="records", lines=True)
    run = senti.train(tmp_path / "run", train=tmp_path / "train.csv", test=str(tmp_path / "test.jsonl"), **NBSVM)
    assert run.model.labels == ["0", "1"] and run.metrics["n"] == 80
    model = senti.load(tmp_path / "run")
    texts = df["text"][:80].tolist()
    as_floats = model.evaluate(texts, [float(v) for v in df["label"][:80]])
    assert as_floats["accuracy"] == model.evaluate(texts, [str(v) for v in df["label"][:80]])["accuracy"]


def test_label_map_in_a_toml_config(word_model, tmp_path):
    (tmp_path / "run.toml").write_text(
        f'[data]\ntrain = "{word_model / "train.csv"}"\ntest = "{word_model / "test-01.csv"}"\n'
        '[data.label_map]\n0 = "negative"\n1 = "positive"\n')
    run = senti.train(None, config=str(tmp_path / "run.toml"), **NBSVM)
    assert run.metrics["n"] == 120 and run.model.labels == ["negative", "positive"]

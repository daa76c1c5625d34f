"""The behaviour suite (`senti check`): its cases, its labels (a rule-based model must fail exactly where its rule
is blind), the runner on a real model, the label mapping and the command."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from senti.errors import ConfigError
from senti.evaluation.behaviour import (
    TEMPLATES,
    TESTS,
    Case,
    generate,
    map_labels,
    run_suite,
    template_half,
)
from senti.evaluation.behaviour import lexicon as lex
from senti.evaluation.behaviour.runner import judge

from .conftest import DATA_DIR, synthetic_reviews

SENTI = str(Path(sys.executable).parent / "senti")
NBSVM = Path(__file__).parent / "fixtures" / "legacy" / "nbsvm"  # a small n-gram bundle (negative, positive)

POS_WORDS = {*lex.POSITIVE, *lex.MILD_POSITIVE, "impressed", "loved", "joy", "worth", "recommend", "exceeded",
             "best", "delighted", "gladly", "happily", "like", "enjoy", "pleasure"}
NEG_WORDS = {*lex.NEGATIVE, *lex.MILD_NEGATIVE, *(w for d in lex.DOMAIN_WORDS.values() for w in d["dull"]),
             "disappointed", "hated", "regret", "waste", "letdown", "miserable", "worst", "angry", "annoyed",
             "disaster", "broke", "crashed", "froze", "dragged", "complaints", "disliked", "bad"}


class WordCounter:
    """Scores a text by its count of positive minus negative words, blind to negation and to clause order."""

    def __init__(self, labels=("negative", "positive")):
        self.labels = list(labels)

    def predict_proba(self, texts):
        score = np.array([sum((w in POS_WORDS) - (w in NEG_WORDS) for w in re.findall(r"[a-z-]+", t.lower()))
                          for t in texts], dtype=float)
        p = 1 / (1 + np.exp(-2 * score))
        return np.stack([1 - p, p], axis=1) if self.labels[0] == "negative" else np.stack([p, 1 - p], axis=1)


# -- the cases ------------------------------------------------------------------------------------------
def test_the_suite_has_at_least_300_cases_and_every_test_has_cases_in_both_halves():
    cases = generate()
    assert len(cases) >= 300
    counts = Counter((c.test, c.half) for c in cases)
    for t in TESTS:
        assert counts[(t.name, "dev")] >= 8 and counts[(t.name, "heldout")] >= 8, (t.name, counts)
    assert {t.test for t in TEMPLATES} == {t.name for t in TESTS}
    assert len({t.id for t in TEMPLATES}) == len(TEMPLATES), "template ids must be unique"


def test_generation_is_deterministic_and_the_halves_partition_the_templates():
    assert generate() == generate()
    dev, held = generate("dev"), generate("heldout")
    assert sorted(map(repr, dev + held)) == sorted(map(repr, generate()))
    assert not {c.template for c in dev} & {c.template for c in held}
    # The split is by a hash of the template id alone, so it cannot drift with the order or number of templates.
    assert all(c.half == template_half(c.template) for c in dev + held)
    assert generate(seed=1) != generate(seed=0)


def test_generation_does_not_depend_on_the_process():
    code = ("import hashlib; from senti.evaluation.behaviour import generate; "
            "print(hashlib.sha256(repr(generate()).encode()).hexdigest())")
    digests = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True,
                              env={**os.environ, "PYTHONHASHSEED": seed}).stdout for seed in ("1", "2")}
    assert len(digests) == 1


def test_cases_are_well_formed():
    kinds = {t.name: t.kind for t in TESTS}
    for c in generate():
        assert "{" not in c.text and "}" not in (c.variant or ""), c
        assert c.text[0].isupper() or c.text[0].isdigit(), c
        if kinds[c.test] == "MFT":
            assert c.variant is None and c.expect in ("positive", "negative", "not negative"), c
        else:
            assert c.variant and c.variant != c.text, c
            assert (c.expect is None) == (kinds[c.test] == "INV"), c


def test_typos_change_one_word_that_carries_no_sentiment():
    sentiment = POS_WORDS | NEG_WORDS
    for c in generate(tests=["typos"]):
        a, b = c.text.split(), c.variant.split()
        changed = [(x, y) for x, y in zip(a, b, strict=False) if x != y]
        assert len(a) == len(b) and len(changed) == 1, c
        assert changed[0][0].strip(".,").lower() not in sentiment, c


# -- the labels: a rule-based model fails where its rule is blind, and only there --------------------------
def test_a_word_counting_model_passes_plain_polarity_and_fails_negation():
    r = run_suite(WordCounter())
    assert r.rates["polarity"] >= 0.9
    assert r.rates["intensifier"] >= 0.9 and r.rates["downtoner"] >= 0.9
    assert r.rates["names"] == r.rates["typos"] == r.rates["punctuation"] == 1.0
    # It counts "good" in "not good" and "boring" in "never boring": the suite's negation labels say otherwise.
    assert r.rates["negation"] <= 0.2
    assert r.rates["negated_negative"] <= 0.2
    assert r.rates["not_bad"] <= 0.2
    # Contrast sentences hold one word of each polarity: a count cannot tell which clause decides.
    assert r.rates["contrast"] <= 0.6
    assert r.failures["negation"] and not r.failures["names"]


def test_the_label_order_does_not_matter():
    a = run_suite(WordCounter(("negative", "positive")))
    b = run_suite(WordCounter(("positive", "negative")))
    assert a.rates == b.rates


def test_a_model_that_ignores_the_text_fails_invariance_only_when_it_moves():
    class Constant:
        labels = ("negative", "positive")

        def predict_proba(self, texts):
            return np.tile([0.3, 0.7], (len(texts), 1))

    r = run_suite(Constant())
    assert r.rates["names"] == 1.0 and r.rates["add_positive"] == 1.0
    assert r.rates["polarity"] == pytest.approx(0.5, abs=0.1)  # half the polarity cases are negative
    assert r.rates["negation"] == 0.0 and r.rates["negated_negative"] == 1.0


def test_judge_applies_the_stated_tolerances():
    inv = Case("names", "x", "dev", "a", "b")
    p = np.array([0.3, 0.0, 0.7])
    assert judge(inv, p, p + np.array([0.09, 0, -0.09]), "INV").passed
    assert not judge(inv, p, p + np.array([0.11, 0, -0.11]), "INV").passed
    up = Case("add_positive", "x", "dev", "a", "b", "+positive")
    assert judge(up, p, p + np.array([0.04, 0, -0.04]), "DIR").passed
    assert not judge(up, p, p + np.array([0.06, 0, -0.06]), "DIR").passed
    down = Case("downtoner_dir", "x", "dev", "a", "b", "-positive")
    assert not judge(down, p, p + np.array([-0.06, 0, 0.06]), "DIR").passed
    not_negative = Case("not_bad", "x", "dev", "a", None, "not negative")
    assert judge(not_negative, np.array([0.2, 0.6, 0.2]), None, "MFT").passed  # neutral is not negative
    assert not judge(not_negative, np.array([0.6, 0.2, 0.2]), None, "MFT").passed


# -- label mapping --------------------------------------------------------------------------------------
def test_labels_are_recognised_by_name_or_given():
    assert map_labels(["neg", "pos"]).positive == ("pos",)
    three = map_labels(["negative", "neutral", "positive"])
    assert (three.positive, three.negative) == (("positive",), ("negative",))
    five = map_labels(["very negative", "negative", "neutral", "positive", "very positive"])
    assert set(five.positive) == {"positive", "very positive"}
    numeric = map_labels(["0", "1"])
    assert (numeric.positive, numeric.negative, numeric.guessed) == (("1",), ("0",), True)
    given = map_labels(["bad", "good"], positive=["good"], negative=["bad"])
    assert (given.positive, given.negative) == (("good",), ("bad",))


@pytest.mark.parametrize("labels, kwargs, message", [
    (["sports", "politics"], {}, r"cannot tell .* positive and negative; name them with --positive"),
    (["negative", "other"], {}, r"is positive;"),
    (["negative", "positive"], {"positive": ["good"]}, r"'good' is not one of the model's labels"),
    (["a", "b"], {"positive": ["a"], "negative": ["a"]}, r"given as both positive and negative"),
])
def test_label_mapping_errors_are_clear(labels, kwargs, message):
    with pytest.raises(ConfigError, match=message):
        map_labels(labels, **kwargs)


def test_a_three_class_model_runs_with_neutral_as_other():
    class Neutral(WordCounter):
        def predict_proba(self, texts):
            two = WordCounter().predict_proba(texts)
            return np.stack([two[:, 0] * 0.8, np.full(len(texts), 0.2), two[:, 1] * 0.8], axis=1)

    r = run_suite(Neutral(("negative", "neutral", "positive")))
    assert r.rates["polarity"] >= 0.9 and r.rates["negation"] <= 0.2


# -- a real model ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def nbsvm_model(tmp_path_factory):
    """An NB-SVM on 4,000 IMDB training reviews when the real data is here, else on synthetic reviews."""
    import senti

    if DATA_DIR is not None:
        df = pd.read_csv(DATA_DIR / "imdb" / "train.csv.gz", keep_default_na=False, usecols=["text", "label"])
        df = df.sample(4000, random_state=0).reset_index(drop=True)
    else:
        df = synthetic_reviews(1000, seed=3)
    run = senti.train(tmp_path_factory.mktemp("behaviour") / "nbsvm", train=df, model="nbsvm", progress=False,
                      report=False)
    return run.model


def test_a_trained_model_gets_rates_that_differ_by_capability(nbsvm_model):
    r = run_suite(nbsvm_model)
    rates = r.rates
    assert set(rates) == {t.name for t in TESTS}
    assert len({round(v, 3) for v in rates.values()}) >= 4, rates
    if DATA_DIR is not None:  # from 4,000 reviews it learns plain polarity, but a bag of n-grams misses negation
        assert rates["polarity"] >= 0.7, rates
        assert rates["negation"] < 0.5 * rates["polarity"], rates
    d = r.to_dict(show=2)
    assert d["cases"]["all"] == d["cases"]["dev"] + d["cases"]["heldout"] == len(generate())
    assert all(len(t["failures"]) <= 2 for t in d["tests"])
    # Both halves run: the examples shown come from dev only, so the held-out sentences stay unread.
    assert d["examples_from"] == "dev" and {f["half"] for t in d["tests"] for f in t["failures"]} == {"dev"}
    assert any(o.case.half == "heldout" for fails in r.failures.values() for o in fails)
    assert all(t["failed"]["all"] == t["failed"]["dev"] + t["failed"]["heldout"] for t in d["tests"])
    assert json.loads(json.dumps(d)) == d


def test_a_split_runs_only_its_half(nbsvm_model):
    dev = run_suite(nbsvm_model, split="dev")
    full = run_suite(nbsvm_model)
    assert {o.case.half for o in dev.outcomes} == {"dev"}
    for t in TESTS:
        assert dev.rate(t.name) == full.rate(t.name, "dev")
    with pytest.raises(ConfigError, match="split must be one of"):
        run_suite(nbsvm_model, split="test")


# -- the command ----------------------------------------------------------------------------------------
def _senti(*args):
    return subprocess.run([SENTI, *map(str, args)], capture_output=True, text=True, timeout=300)


def test_check_prints_a_table_and_failing_examples():
    p = _senti("check", NBSVM, "--show", "1")
    assert p.returncode == 0, p.stderr
    for t in TESTS:
        assert re.search(rf"^{t.name} +{t.capability} +{t.kind} ", p.stdout, re.M), t.name
    assert re.search(r"^overall \(cases\) +[\d.]+% +[\d.]+% +[\d.]+% +\d+$", p.stdout, re.M)
    assert "dev  heldout      all" in p.stdout
    assert "failing examples, up to 1 per test, from the dev half" in p.stdout
    shown = re.findall(r"^  \[([a-z]+\.\d\d)\]", p.stdout, re.M)
    assert shown and all(template_half(t) == "dev" for t in shown)


def test_check_json_parses_and_a_split_limits_it():
    p = _senti("check", NBSVM, "--json", "--split", "heldout", "--show", "0")
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    assert d["split"] == "heldout" and set(d["overall"]) == {"heldout"}
    assert d["cases"]["heldout"] == len(generate("heldout"))
    assert all(t["failures"] == [] for t in d["tests"]) and d["examples_from"] == "heldout"
    assert d["labels"] == {"positive": ["positive"], "negative": ["negative"], "guessed": False}


def test_check_label_errors_are_one_line():
    p = _senti("check", NBSVM, "--positive", "pos")
    assert p.returncode == 1
    assert p.stderr.strip().splitlines() == [
        "error: label 'pos' is not one of the model's labels (negative, positive)"]
    swapped = _senti("check", NBSVM, "--positive", "negative", "--negative", "positive", "--json")
    assert swapped.returncode == 0, swapped.stderr
    assert json.loads(swapped.stdout)["labels"]["positive"] == ["negative"]

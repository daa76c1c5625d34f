"""Lemmatizing beside stemming (issue 22): lemmas from simplemma's shipped tables; old configs and bundles keep
meaning what they meant; a bundle trained with lemmas applies them at prediction."""

from __future__ import annotations

import json
import random
from dataclasses import asdict

import pandas as pd
import pytest

from senti.config import CleanConfig
from senti.errors import ConfigError
from senti.text import Cleaner

pytest.importorskip("simplemma", reason="the lemma extra: pip install 'senti[lemma]'")


def clean(text: str, **options) -> str:
    return Cleaner(CleanConfig(**options))(text)


def test_words_become_their_lemmas_which_stay_real_words():
    assert clean("movies were running", lemmatize=True) == "movie be run"
    assert Cleaner(CleanConfig(lemmatize=True)).tokens("The geese LOVED the films!") == [
        "the", "goose", "love", "the", "film", "!"]


def test_contractions_and_non_words_are_kept():
    # simplemma reads "didn't" as "do": the negation would be lost.
    assert clean("I didn't like it, wasn't good", lemmatize=True) == "i didn't like it, wasn't good"
    assert clean("12 xxurl 😍 !", lemmatize=True) == "12 xxurl 😍 !"
    assert clean("running, hated.", lemmatize=True) == "run, hate."


def test_the_default_and_old_configs_do_not_lemmatize():
    assert CleanConfig().lemmatize is False
    old = {k: v for k, v in asdict(CleanConfig()).items() if k != "lemmatize"}  # a config saved before the option
    assert clean("movies were running", **old) == "movies were running"


def test_stem_and_lemmatize_together_are_refused():
    with pytest.raises(ConfigError, match="stem.*or lemmatize"):
        Cleaner(CleanConfig(stem="snowball", lemmatize=True))


POS_BASE, NEG_BASE = ["love", "enjoy", "adore"], ["hate", "dislike", "detest"]
FILLER = ["the", "film", "story", "and", "it", "this", "cast", "plot"]


def _base_forms(n: int, seed: int = 0) -> pd.DataFrame:
    """Reviews that only ever use the base form of their sentiment verb."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        label, verbs = ("positive", POS_BASE) if i % 2 else ("negative", NEG_BASE)
        words = [rng.choice(FILLER) for _ in range(rng.randint(3, 8))]
        words.insert(rng.randrange(len(words) + 1), rng.choice(verbs))
        rows.append((" ".join(words), label))
    return pd.DataFrame(rows, columns=["text", "label"])


@pytest.mark.parametrize("lemmatize", [True, False])
def test_a_bundle_trained_with_lemmas_applies_them_at_prediction(tmp_path, lemmatize):
    import senti

    df = _base_forms(300)
    df.to_csv(tmp_path / "train.csv", index=False)
    run = senti.train(tmp_path / "run", train=tmp_path / "train.csv", model="nbsvm", clean={"lemmatize": lemmatize},
                      progress=False, report=False)
    manifest = json.loads((run.run_dir / "model" / "senti-model.json").read_text())
    assert manifest["clean"]["lemmatize"] is lemmatize
    model = senti.load(run.run_dir)
    inflected = ["they loved it", "we enjoyed the film", "she adored this", "they hated it",
                 "we disliked the film", "she detested this"]
    proba = model.predict_proba(inflected)
    assert (proba == run.model.predict_proba(inflected)).all()
    positive = list(model.labels).index("positive")
    if lemmatize:  # "hated" reads as "hate", which the model learned
        assert list(model.predict(inflected)) == ["positive"] * 3 + ["negative"] * 3
        assert (proba[:3, positive] > 0.7).all() and (proba[3:, positive] < 0.3).all()
    else:  # the inflected verbs were never seen: the model cannot tell these texts apart
        assert abs(proba[:3, positive].mean() - proba[3:, positive].mean()) < 0.1


def test_senti_train_lemmatize_flag_reaches_the_bundle(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    _base_forms(120).to_csv(tmp_path / "train.csv", index=False)
    senti_cli = Path(sys.executable).with_name("senti")
    p = subprocess.run([str(senti_cli), "train", "--train", str(tmp_path / "train.csv"), "--model", "nbsvm",
                        "--lemmatize", "--no-report", "-q", "-o", str(tmp_path / "run")],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert json.loads((tmp_path / "run" / "config.json").read_text())["clean"]["lemmatize"] is True
    p = subprocess.run([str(senti_cli), "predict", str(tmp_path / "run"), "they hated it", "--json"],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout.splitlines()[0])["label"] == "negative"

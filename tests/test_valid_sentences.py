"""Validation on whole sentences for treebank data (SST-2 trains on phrases, tests on sentences): the split holds
out sentences, never phrases, and trains on nothing that only a held-out sentence contains."""

import random

import pandas as pd
import pytest

from senti.config import nest
from senti.data.phrases import sentence_split
from senti.data.splits import load_splits, text_key
from senti.errors import DataError
from senti.training.resolve import resolve_config

from .conftest import DATA_DIR, needs_data

GOOD = ["great", "moving", "warm", "clever", "lovely", "sharp"]
BAD = ["dull", "tedious", "flat", "clumsy", "lifeless", "muddled"]
NOUNS = ["film", "script", "cast", "plot", "ending", "score", "story", "pacing"]


def _treebank(n: int, seed: int = 0) -> tuple[pd.DataFrame, list[str]]:
    """n sentences with a unique tag word each, and every contiguous phrase of each one as a row (as SST's
    phrases are), labelled by the sentence."""
    rng = random.Random(seed)
    rows, sentences = [], []
    for i in range(n):
        positive = i % 2 == 0
        adjective = rng.choice(GOOD if positive else BAD)
        words = ["the", rng.choice(NOUNS), f"tag{i}", "is", adjective, "."]
        sentences.append(" ".join(words))
        label = "positive" if positive else "negative"
        rows += [(" ".join(words[a:b]), label) for a in range(len(words)) for b in range(a + 1, len(words) + 1)]
    return pd.DataFrame(rows, columns=["text", "label"]), sentences


def _split(df: pd.DataFrame, fraction: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    return sentence_split(df, text_key(df["text"]), fraction, seed)


def _spans(sentence: str) -> set[str]:
    w = sentence.split()
    return {" ".join(w[a:b]) for a in range(len(w)) for b in range(a + 1, len(w) + 1)}


def test_validation_holds_whole_sentences_and_training_none_of_their_own_phrases():
    df, sentences = _treebank(60)
    fit, held = sentence_split(df, text_key(df["text"]), 0.2, seed=1)
    assert len(held) == 12 and set(held["text"]) <= set(sentences)
    assert held["label"].value_counts().to_dict() == {"positive": 6, "negative": 6}  # stratified
    kept = [s for s in sentences if s not in set(held["text"])]
    allowed = set().union(*map(_spans, kept))
    # Training has every phrase of the kept sentences, shared ones ("the", "is great") included …
    assert set(fit["text"]) == allowed
    # … and none that only a held-out sentence contains (its tag, the sentence itself).
    for s in held["text"]:
        assert s not in set(fit["text"]) and s.split()[2] not in set(fit["text"])
    assert "is" in set(fit["text"]) and "the" in set(fit["text"])


def test_the_split_repeats_with_a_seed_and_changes_with_another():
    df, _ = _treebank(40)
    a = _split(df.sample(frac=1, random_state=0), 0.25, seed=5)[1]["text"].tolist()
    b = _split(df, 0.25, seed=5)[1]["text"].tolist()
    c = _split(df, 0.25, seed=6)[1]["text"].tolist()
    assert sorted(a) == sorted(b) and sorted(b) != sorted(c)


def test_too_few_sentences_is_a_clear_error():
    df, _ = _treebank(1)
    with pytest.raises(DataError, match="too few to hold out whole sentences"):
        _split(df, 0.1, seed=0)


def test_the_option_reaches_the_split_and_refuses_a_group_column_beside_it(tmp_path):
    df, sentences = _treebank(50)
    df.to_csv(tmp_path / "d.csv", index=False)
    cfg = resolve_config(nest({"train_file": str(tmp_path / "d.csv"), "valid_sentences": True, "model": "nbsvm"}))
    train, valid, _ = load_splits(cfg)
    assert set(valid["text"]) <= set(sentences) and not set(text_key(valid["text"])) & set(text_key(train["text"]))
    # data.json says how validation was drawn and what training lost to it.
    assert train.attrs["data_report"]["validation"] == {"split": "sentences", "rows": len(valid),
                                                        "training_rows_left_out": len(df) - len(train) - len(valid)}
    df.assign(group=df.index % 7).to_csv(tmp_path / "g.csv", index=False)
    cfg = resolve_config(nest({"train_file": str(tmp_path / "g.csv"), "valid_sentences": True,
                               "group_column": "group", "model": "nbsvm"}))
    with pytest.raises(DataError, match="not both"):
        load_splits(cfg)


def test_sst2_validates_on_sentences_by_default_and_can_be_told_not_to():
    assert resolve_config(nest({"dataset": "sst2", "model": "nbsvm"})).data.valid_sentences is True
    off = resolve_config(nest({"dataset": "sst2", "model": "nbsvm", "valid_sentences": False}))
    assert off.data.valid_sentences is False
    assert resolve_config(nest({"dataset": "tweets", "model": "nbsvm"})).data.valid_sentences is False


@needs_data
def test_sst2_validation_looks_like_its_dev_sentences():
    cfg = resolve_config(nest({"dataset": "sst2", "model": "nbsvm", "data_dir": str(DATA_DIR)}))
    train, valid, test = load_splits(cfg)
    # About a tenth of SST-2's 6,885 training sentences, as long as the dev sentences, none seen in training.
    assert 650 <= len(valid) <= 720 and len(train) > 60_000
    words = valid["text"].str.split().str.len().mean()
    assert abs(words - test["text"].str.split().str.len().mean()) < 3 and words > 15
    assert not set(text_key(valid["text"])) & set(text_key(train["text"]))

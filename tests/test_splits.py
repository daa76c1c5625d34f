"""The automatic validation split (issue 22: 2, 4, 5), DataFrames given to senti.train (22: 3), the aclImdb root
as --train, and the order SST-5's labels are listed in. Small n-gram runs: a second each."""

import logging

import pandas as pd
import pytest

import senti
from senti.config import nest
from senti.data.datasets import describe_datasets
from senti.data.splits import load_splits, text_key
from senti.errors import DataError
from senti.training.resolve import resolve_config

from .conftest import synthetic_reviews

QUIET = {"progress": False, "report": False}
TINY_GRU = {"model": "gru", "epochs": 1, "embedding_dim": 8, "hidden_size": 8, "min_count": 1}


def _splits(path, **options):
    return load_splits(resolve_config(nest({"train_file": str(path), **options})))


def test_repeated_texts_stay_on_one_side_of_the_validation_split(tmp_path, caplog):
    base = synthetic_reviews(240, seed=11)
    # The same rows three times, one copy in other case and spacing: one text for a reader, so one side.
    shouted = base.assign(text=base["text"].str.upper().str.replace(" ", "  "))
    pd.concat([base, base, shouted]).to_csv(tmp_path / "d.csv", index=False)
    with caplog.at_level(logging.WARNING, "senti"):
        train, valid, _ = _splits(tmp_path / "d.csv")
    assert not set(text_key(train["text"])) & set(text_key(valid["text"]))
    assert len(train) + len(valid) == 720 and 60 <= len(valid) <= 84  # about 10 % of the 240 texts, 3 rows each
    assert "240 text(s) appear more than once (720 rows in all)" in caplog.text


def test_without_repeats_the_split_is_unchanged(tmp_path):
    from sklearn.model_selection import train_test_split

    df = synthetic_reviews(200, seed=12).drop_duplicates("text")
    df.to_csv(tmp_path / "d.csv", index=False)
    _, valid, _ = _splits(tmp_path / "d.csv", seed=3)
    read = pd.read_csv(tmp_path / "d.csv")
    _, expected = train_test_split(read, test_size=round(len(read) * 0.1), random_state=3, stratify=read["label"])
    assert valid["text"].tolist() == expected["text"].tolist()


def test_a_small_class_is_validated_and_a_thin_one_named(tmp_path, caplog):
    rows = [(f"a fine good film number {i}", "positive") for i in range(100)]
    rows += [(f"awful terrible broken thing {i}", "negative") for i in range(5)]
    pd.DataFrame(rows, columns=["text", "label"]).to_csv(tmp_path / "d.csv", index=False)
    with caplog.at_level(logging.WARNING, "senti"):
        train, valid, _ = _splits(tmp_path / "d.csv")
    assert set(valid["label"]) == {"negative", "positive"} and set(train["label"]) == {"negative", "positive"}
    assert len(valid) == 10 and len(train) == 95
    assert "only 1 example(s) of class(es) 'negative'" in caplog.text


@pytest.mark.parametrize("rows", [[("good", "1"), ("bad", "0")],
                                  [("bad", "0"), ("awful", "0"), ("dull", "0"), ("poor", "0"), ("weak", "0"),
                                   ("good", "1")]], ids=["one-each", "five-and-one"])
def test_a_class_with_one_example_is_never_taken_by_the_split(tmp_path, rows):
    pd.DataFrame(rows, columns=["text", "label"]).to_csv(tmp_path / "d.csv", index=False)
    if len(rows) == 2:
        with pytest.raises(DataError, match="single example: a validation split would take a class's only") as e:
            senti.train(None, train=tmp_path / "d.csv", **TINY_GRU, **QUIET)
        assert "single class" not in str(e.value)
        return
    run = senti.train(None, train=tmp_path / "d.csv", **TINY_GRU, **QUIET)
    assert run.model.labels == ["0", "1"]


def test_dataframes_honour_the_column_and_empty_options():
    df = synthetic_reviews(80, seed=13).rename(columns={"text": "review", "label": "sentiment"})
    run = senti.train(None, train=df, text_column="review", label_column="sentiment", model="nbsvm", **QUIET)
    assert run.model.labels == ["negative", "positive"]
    holed = df.copy()
    holed.loc[3, "review"] = "  "
    with pytest.raises(DataError, match=r"train DataFrame: 1 row\(s\) have an empty text"):
        senti.train(None, train=holed, text_column="review", label_column="sentiment", empty="error", **QUIET)
    with pytest.raises(DataError, match="no text column 'text'"):
        senti.train(None, train=df, model="nbsvm", **QUIET)


def test_the_root_of_an_aclimdb_tree_trains_on_train_and_tests_on_test(tmp_path):
    df = synthetic_reviews(60, seed=14)
    for split, part in (("train", df.iloc[:40]), ("test", df.iloc[40:])):
        for i, (text, label) in enumerate(part.itertuples(index=False)):
            folder = tmp_path / "aclImdb" / split / label[:3]
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{i}_7.txt").write_text(text)
    run = senti.train(None, train=tmp_path / "aclImdb", model="nbsvm", **QUIET)
    assert run.config.data.train == str(tmp_path / "aclImdb" / "train")
    assert run.config.data.test == str(tmp_path / "aclImdb" / "test") and run.metrics["n"] == 20


def test_sst5_labels_are_listed_in_their_order(tmp_path):
    folder = tmp_path / "sst5"
    folder.mkdir()
    df = pd.DataFrame({"text": [f"sentence {i}" for i in range(10)], "label": [str(i % 5) for i in range(10)]})
    for name in ("train.csv.gz", "dev.csv.gz"):
        df.to_csv(folder / name, index=False)
    row = next(r for r in describe_datasets(tmp_path) if r["name"] == "sst5")
    assert row["labels"] == ["very negative", "negative", "neutral", "positive", "very positive"]

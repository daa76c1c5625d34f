"""What a run leaves in its folder (issue 22: 1, 6, 8), a DataFrame run that resumes (23: 9), the full config in the
bundle, TOML configs (preset under [model], paths relative to the file) and run.validation."""

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import senti
from senti.errors import ConfigError, DataError

from .conftest import interrupt_at_step, synthetic_reviews

TINY_GRU = {"model": "gru", "epochs": 2, "embedding_dim": 8, "hidden_size": 8, "min_count": 1, "progress": False}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("rundir-data")
    df = synthetic_reviews(300, seed=41)
    df.iloc[:240].to_csv(d / "train.csv", index=False)
    df.iloc[240:].to_csv(d / "test.csv", index=False)
    df.iloc[:240].rename(columns={"text": "review", "label": "sentiment"}).to_csv(d / "reviews.csv", index=False)
    pd.DataFrame({"text": ["a", "b", "c"], "label": ["pos"] * 3}).to_csv(d / "one-class.csv", index=False)
    return d


def _names(folder):
    return sorted(p.name for p in folder.iterdir())


def test_overwrite_leaves_only_the_new_run_and_the_users_files(files, tmp_path):
    out = tmp_path / "same"
    out.mkdir()
    (out / "notes.txt").write_text("my notes")
    senti.train(out, train=files / "train.csv", test=str(files / "test.csv"), **TINY_GRU)
    for name in ("metrics.json", "errors.json", "vocab.json", "checkpoints", "embeddings.png", "confusion_matrix.png"):
        assert (out / name).exists(), name
    (out / "later.md").write_text("added after the first run")
    run = senti.train(out, train=files / "reviews.csv", text_column="review", label_column="sentiment",
                      model="nbsvm", overwrite=True, progress=False)
    assert run.metrics is None
    written = json.loads((out / "run-files.json").read_text())
    assert _names(out) == sorted([*written, "notes.txt", "later.md"])
    for name in ("metrics.json", "errors.json", "vocab.json", "checkpoints", "embeddings.png", "confusion_matrix.png"):
        assert not (out / name).exists(), name
    assert (out / "notes.txt").read_text() == "my notes" and (out / "later.md").is_file()
    assert "test accuracy" not in (out / "report.html").read_text()


@pytest.mark.parametrize("case", ["single class", "unknown validation label", "negative lr", "epochs 0"])
def test_a_failed_run_leaves_nothing_that_blocks_the_retry(files, tmp_path, case):
    out = tmp_path / "run"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    bad = {"single class": ({"train": files / "one-class.csv"}, DataError),
           "unknown validation label": ({"train": files / "train.csv", "valid": str(files / "one-class.csv")},
                                        DataError),
           "negative lr": ({"train": files / "train.csv", "lr": -1}, ConfigError),
           "epochs 0": ({"train": files / "train.csv", "epochs": 0}, ConfigError)}[case]
    with pytest.raises(bad[1]):
        senti.train(out, **{**TINY_GRU, **bad[0]})
    assert _names(out) == ["notes.txt"]
    senti.train(out, train=files / "train.csv", **TINY_GRU)  # no --overwrite needed
    assert (out / "model").is_dir() and (out / "notes.txt").read_text() == "mine"


def test_a_folder_of_the_users_own_files_is_not_a_run(files, tmp_path):
    out = tmp_path / "project"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    (out / "reviews.csv").write_bytes((files / "train.csv").read_bytes())
    senti.train(out, train=out / "reviews.csv", **TINY_GRU)
    assert (out / "notes.txt").read_text() == "mine" and (out / "config.json").is_file()
    with pytest.raises(FileExistsError, match="already holds a run"):
        senti.train(out, train=out / "reviews.csv", **TINY_GRU)


def test_zero_epochs_is_refused_by_the_cli_too(files, tmp_path):
    from senti.cli import main

    result = CliRunner().invoke(main, ["train", "--train", str(files / "train.csv"), "--epochs", "0",
                                       "-o", str(tmp_path / "r"), "-q"])
    assert result.exit_code == 1 and "train.epochs must be a whole number ≥ 1, got 0" in result.output
    assert not (tmp_path / "r").exists()
    with pytest.raises(DataError, match="single class"):  # fails after the folder was made: it goes again
        senti.train(tmp_path / "new", train=files / "one-class.csv", **TINY_GRU)
    assert not (tmp_path / "new").exists()


def test_a_run_from_a_dataframe_resumes(tmp_path, monkeypatch):
    df = synthetic_reviews(300, seed=42).rename(columns={"text": "review"})
    kw = {**TINY_GRU, "text_column": "review", "epochs": 3, "patience": 0, "checkpoint_every": 3, "report": False}
    full = senti.train(tmp_path / "full", train=df, **kw)
    interrupt_at_step(monkeypatch, 12)
    with pytest.raises(senti.TrainingInterrupted):
        senti.train(tmp_path / "cut", train=df, **kw)
    monkeypatch.undo()
    assert json.loads((tmp_path / "cut" / "config.json").read_text())["data"]["train"] == "<in-memory DataFrame>"
    resumed = senti.resume(tmp_path / "cut", progress=False, report=False)
    texts = df["review"][:30].tolist()
    np.testing.assert_array_equal(resumed.model.predict_proba(texts), full.model.predict_proba(texts))


def test_a_dataframe_run_from_an_older_senti_is_refused_clearly(tmp_path, monkeypatch):
    df = synthetic_reviews(300, seed=43)
    interrupt_at_step(monkeypatch, 7)  # 5 steps an epoch
    with pytest.raises(senti.TrainingInterrupted):
        senti.train(tmp_path / "cut", train=df, **{**TINY_GRU, "checkpoint_every": 3, "report": False})
    monkeypatch.undo()
    import shutil

    shutil.rmtree(tmp_path / "cut" / "frames")  # as a run of the senti that did not keep them
    with pytest.raises(DataError, match="in-memory DataFrames.*cannot resume"):
        senti.resume(tmp_path / "cut", progress=False)


def test_the_bundle_records_the_full_run_config(files, tmp_path):
    run = senti.train(tmp_path / "r", train=files / "train.csv", **TINY_GRU, report=False)
    manifest = json.loads((tmp_path / "r" / "model" / "senti-model.json").read_text())
    assert manifest["run_config"] == run.config.to_dict()
    assert manifest["run_config"]["train"]["epochs"] == 2 and manifest["run_config"]["data"]["valid_fraction"] == 0.1
    assert senti.load(tmp_path / "r").metadata["run_config"]["vocab"]["min_count"] == 1


def test_toml_preset_under_model_and_paths_from_the_config_folder(files, tmp_path, monkeypatch):
    folder = tmp_path / "project"
    (folder / "data").mkdir(parents=True)
    (folder / "data" / "train.csv").write_bytes((files / "train.csv").read_bytes())
    (folder / "run.toml").write_text('[data]\ntrain = "data/train.csv"\n\n[model]\npreset = "nbsvm"\n')
    monkeypatch.chdir(tmp_path)  # not the config's folder
    run = senti.train(None, config=folder / "run.toml", progress=False, report=False)
    assert run.config.preset == "nbsvm" and run.config.data.train == str(folder / "data" / "train.csv")
    (folder / "clash.toml").write_text('preset = "gru"\n[model]\npreset = "nbsvm"\n')
    with pytest.raises(ConfigError, match="disagree"):
        senti.train(None, config=folder / "clash.toml", progress=False)


def test_run_validation_holds_the_kept_epochs_scores(files):
    run = senti.train(None, train=files / "train.csv", **TINY_GRU, report=False)
    best = run.model.metadata["training"]["best_epoch"]
    assert run.metrics is None
    assert run.validation["accuracy"] == run.history[best - 1]["val_accuracy"] and run.validation["epoch"] == best

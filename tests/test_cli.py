"""End to end: the installed ``senti`` command, run as a user would."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from .conftest import DATA_DIR, needs_data, synthetic_reviews

SENTI = str(Path(sys.executable).parent / "senti")


def run(*args, input=None, check=True):
    p = subprocess.run([SENTI, *map(str, args)], capture_output=True, text=True, input=input, timeout=300)
    if check and p.returncode != 0:
        raise AssertionError(f"senti {' '.join(map(str, args))} exited {p.returncode}:\n{p.stderr}")
    return p


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    df = synthetic_reviews(500, seed=7).rename(columns={"text": "review", "label": "sentiment"})
    df.iloc[:400].to_csv(d / "train.csv", index=False)
    df.iloc[400:].to_csv(d / "test.csv", index=False)
    p = run("train", "--train", d / "train.csv", "--test", d / "test.csv", "--text-column", "review",
            "--label-column", "sentiment", "--model", "gru", "--epochs", "3", "--embedding-dim", "32",
            "--hidden-size", "32", "--min-count", "1", "-o", d / "run", "-q")
    return d, p


def test_train_prints_metrics_and_writes_the_run(cli_run):
    d, p = cli_run
    assert "accuracy=" in p.stdout and "confusion matrix" in p.stdout
    assert "run directory" in p.stderr and "run directory" not in p.stdout  # logs never mixed into data
    for name in ("config.json", "env.json", "history.json", "metrics.json", "model/model.safetensors"):
        assert (d / "run" / name).is_file()


def test_evaluate_json(cli_run):
    d, _ = cli_run
    m = json.loads(run("evaluate", d / "run", "--input", d / "test.csv", "--text-column", "review",
                       "--label-column", "sentiment", "--json").stdout)
    assert m["n"] == 100 and m["accuracy"] > 0.8
    assert set(m["per_class"]) == {"negative", "positive"} and len(m["confusion_matrix"]) == 2


def test_predict_texts(cli_run):
    d, _ = cli_run
    out = run("predict", d / "run", "loved it, wonderful and brilliant", "awful, the worst", "--json").stdout
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["label"] for r in rows] == ["positive", "negative"]
    assert abs(sum(rows[0]["probabilities"].values()) - 1) < 1e-5
    human = run("predict", d / "run", "a superb film").stdout
    assert human.startswith("positive") and "positive=" in human


def test_predict_file_keeps_every_row_in_order(cli_run, tmp_path):
    d, _ = cli_run
    texts = ["superb and moving", "", "dull, a waste", "<br />", "😀", "great"]
    pd.DataFrame({"id": range(len(texts)), "review": texts}).to_csv(tmp_path / "in.csv", index=False)
    for suffix in ("csv", "jsonl"):
        out = tmp_path / f"out.{suffix}"
        run("predict", d / "run", "--input", tmp_path / "in.csv", "--text-column", "review", "--output", out)
        df = pd.read_csv(out, keep_default_na=False) if suffix == "csv" else pd.read_json(out, lines=True)
        assert df["id"].tolist() == list(range(len(texts)))
        assert set(df["pred_label"]) <= {"negative", "positive"}
        assert ((df["prob_negative"] + df["prob_positive"]) - 1).abs().max() < 1e-5
    assert not list(tmp_path.glob(".out*"))  # no temp files left behind


def test_predict_stdin(cli_run):
    d, _ = cli_run
    out = run("predict", d / "run", "-", input="wonderful film\nterrible film\n").stdout
    assert [json.loads(line)["pred_label"] for line in out.splitlines()] == ["positive", "negative"]


def test_errors_are_one_clear_line(cli_run, tmp_path):
    d, _ = cli_run
    p = run("train", "--train", d / "train.csv", "-o", tmp_path / "x", check=False)
    assert p.returncode == 1
    assert "error:" in p.stderr and "columns present: ['review', 'sentiment']" in p.stderr
    assert "Traceback" not in p.stderr
    p = run("predict", tmp_path, "text", check=False)
    assert p.returncode == 1 and "not a senti model" in p.stderr
    p = run("train", "--train", d / "train.csv", check=False)
    assert p.returncode == 2 and "--output is required" in p.stderr


@needs_data
def test_datasets_listing(cli_run):
    rows = json.loads(run("datasets", "--data-dir", DATA_DIR, "--json").stdout)
    assert {r["name"]: r.get("train") for r in rows}["sst2"] == 67_349


def test_sigint_saves_a_checkpoint_and_resume_finishes_identically(tmp_path):
    df = synthetic_reviews(1200, seed=8)
    df.iloc[:1000].to_csv(tmp_path / "train.csv", index=False)
    df.iloc[1000:].to_csv(tmp_path / "test.csv", index=False)
    args = ["train", "--train", tmp_path / "train.csv", "--test", tmp_path / "test.csv", "--model", "bigru",
            "--epochs", "3", "--patience", "0", "--min-count", "1", "--embedding-dim", "64", "--hidden-size", "64",
            "--batch-size", "16", "--checkpoint-every", "10", "-q"]
    proc = subprocess.Popen([SENTI, *map(str, args), "-o", tmp_path / "cut"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    ckpt = tmp_path / "cut" / "checkpoints" / "last.ckpt"
    deadline = time.time() + 120
    while not ckpt.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "senti train --resume" in err
    assert not (tmp_path / "cut" / "metrics.json").exists()
    run("train", "--resume", tmp_path / "cut", "-q")
    run(*args, "-o", tmp_path / "full")
    cut = json.loads((tmp_path / "cut" / "metrics.json").read_text())
    full = json.loads((tmp_path / "full" / "metrics.json").read_text())
    assert cut["accuracy"] == full["accuracy"] and cut["confusion_matrix"] == full["confusion_matrix"]
    h_cut = json.loads((tmp_path / "cut" / "history.json").read_text())["epochs"]
    h_full = json.loads((tmp_path / "full" / "history.json").read_text())["epochs"]
    assert [r["val_loss"] for r in h_cut] == [r["val_loss"] for r in h_full]


def test_env_var_data_dir_is_honoured(tmp_path):
    env = {**os.environ, "SENTI_DATA_DIR": str(tmp_path)}
    p = subprocess.run([SENTI, "train", "--dataset", "sst2", "-o", tmp_path / "r"], capture_output=True, text=True,
                       env=env, timeout=60)
    assert p.returncode == 1 and f"not found in {tmp_path}" in p.stderr


def test_compare_and_report_commands(cli_run, tmp_path):
    d, _ = cli_run
    p = run("compare", "--models", "gru,tfidf-logreg", "--train", d / "train.csv", "--test", d / "test.csv",
            "--text-column", "review", "--label-column", "sentiment", "--epochs", "2", "--embedding-dim", "16",
            "--hidden-size", "16", "--min-count", "1", "-o", tmp_path / "cmp", "-q")
    assert p.stdout.startswith("| model | accuracy |") and "tfidf-logreg" in p.stdout and "gru" in p.stdout
    for name in ("comparison.md", "comparison.csv", "comparison.json", "comparison.png", "comparison.html",
                 "gru/report.html", "tfidf-logreg/report.html", "tfidf-logreg/top_words.png"):
        assert (tmp_path / "cmp" / name).is_file(), name
    assert not (tmp_path / "cmp" / "tfidf-logreg" / "embeddings.png").exists()  # a linear model has none
    (d / "run" / "report.html").unlink()
    assert run("report", d / "run").stdout.strip().endswith("report.html")
    assert (d / "run" / "report.html").is_file()
    p = run("compare", "--models", "gru,transformer", "--train", d / "train.csv", "-o", tmp_path / "x", check=False)
    assert p.returncode == 1 and "unknown model 'transformer'" in p.stderr

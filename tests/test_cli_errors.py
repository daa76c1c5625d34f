"""The CLI's error contract (a user's mistake: one `error:` line, status 1; a bug: its traceback, status 3) and
the messages of issues #22 and #23 that used to be tracebacks, Python words or wrong."""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

import senti
from senti.cli import main
from senti.cli.app import EXIT_BUG

from .conftest import DATA_DIR, needs_data

SENTI = str(Path(sys.executable).parent / "senti")
NBSVM = Path(__file__).parent / "fixtures" / "legacy" / "nbsvm"  # a small n-gram bundle (negative, positive)
ENSEMBLE = Path(__file__).parent / "fixtures" / "legacy" / "ensemble"


def invoke(*args: object):
    return CliRunner().invoke(main, [str(a) for a in args])


def one_error_line(result) -> str:
    assert result.exit_code == 1, (result.exit_code, result.output, result.exception)
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


# --- the contract -----------------------------------------------------------------------------------------------

def test_a_user_error_is_one_line_and_status_1(tmp_path):
    pd.DataFrame({"text": ["good", "bad"], "label": ["good", "bad"]}).to_csv(tmp_path / "t.csv", index=False)
    line = one_error_line(invoke("evaluate", NBSVM, "--input", tmp_path / "t.csv"))
    assert "not among the model's classes" in line


def test_a_missing_file_is_one_line(tmp_path):
    line = one_error_line(invoke("predict", NBSVM, "--input", tmp_path / "absent.csv"))
    assert "absent.csv" in line


@pytest.mark.parametrize("exc", [KeyError("boom"), ValueError("boom"), TypeError("boom")])
def test_a_bug_keeps_its_traceback_and_says_it_is_a_bug(monkeypatch, exc):
    import senti.data.datasets as datasets

    def broken(*args, **kwargs):
        raise exc

    monkeypatch.setattr(datasets, "describe_datasets", broken)
    result = invoke("datasets")
    assert result.exit_code == EXIT_BUG == 3
    assert "Traceback" in result.stderr and f"{type(exc).__name__}: " in result.stderr
    assert "bug in senti" in result.stderr and "error: boom" not in result.stderr


def test_a_missing_optional_package_is_one_line_with_the_install_hint(monkeypatch):
    import senti.data.datasets as datasets

    def no_gensim(*args, **kwargs):
        raise ModuleNotFoundError("No module named 'gensim'", name="gensim")

    monkeypatch.setattr(datasets, "describe_datasets", no_gensim)
    assert "pip install gensim" in one_error_line(invoke("datasets"))


def test_senti_debug_shows_the_traceback_of_a_user_error(tmp_path, monkeypatch):
    monkeypatch.setenv("SENTI_DEBUG", "1")
    result = invoke("predict", NBSVM, "--input", tmp_path / "absent.csv")
    assert result.exit_code == 1 and "Traceback" in result.stderr and "error: " in result.stderr


def test_usage_errors_stay_clicks():
    result = invoke("predict", NBSVM)
    assert result.exit_code == 2 and "give texts as arguments" in result.stderr


# --- issue #23 ----------------------------------------------------------------------------------------------------

def test_rationale_with_a_label_the_model_does_not_know_is_one_line(tmp_path):  # #23.5
    pd.DataFrame({"text": ["what a day", "loved it"], "sentiment": ["neutral", "positive"]}).to_csv(
        tmp_path / "in.csv", index=False)
    line = one_error_line(invoke("rationale", NBSVM, "--input", tmp_path / "in.csv", "--label-column",
                                 "sentiment", "--sentiment", "label"))
    assert "'neutral'" in line and "not among the model's classes" in line


def test_rationale_with_known_labels_still_answers(tmp_path):
    pd.DataFrame({"text": ["loved it, wonderful", "awful and dull"], "sentiment": ["positive", "negative"]}).to_csv(
        tmp_path / "in.csv", index=False)
    result = invoke("rationale", NBSVM, "--input", tmp_path / "in.csv", "--label-column", "sentiment",
                    "--sentiment", "label", "--json")
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["sentiment"] for r in rows] == ["positive", "negative"]


def _tree_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def test_compare_size_counts_ensemble_members_and_not_exports(tmp_path):  # #23.7
    from senti.evaluation.report import summarize_run
    from senti.evaluation.sizes import model_size

    run = tmp_path / "run"
    shutil.copytree(ENSEMBLE, run / "model")
    (run / "config.json").write_text(json.dumps({"preset": "rnn+nbsvm"}))
    (run / "metrics.json").write_text(json.dumps({"accuracy": 0.9, "macro_f1": 0.9, "train_seconds": 1.0, "n": 10,
                                                  "eval_seconds": 0.1}))
    loaded = _tree_bytes(run / "model")
    assert _tree_bytes(run / "model" / "members") > loaded / 2  # the members are most of it
    # An ONNX export beside the bundle, as `senti export` writes one: not part of what the model loads.
    manifest = json.loads((run / "model" / "senti-model.json").read_text())
    (run / "model" / "model.onnx").write_bytes(b"\0" * 300_000)
    manifest["exports"] = {"onnx": {"file": "model.onnx"}}
    (run / "model" / "senti-model.json").write_text(json.dumps(manifest))
    loaded = _tree_bytes(run / "model") - 300_000
    size = model_size(run)
    assert size.model_bytes == loaded and size.export_bytes == 300_000
    assert summarize_run(run)["model_mib"] * 2**20 == pytest.approx(loaded)


# --- issue #22 friction ----------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def scored_inputs(tmp_path_factory):
    d = tmp_path_factory.mktemp("inputs")
    df = pd.DataFrame({"id": [1, 2, 3], "review": ["loved it; wonderful", "awful, dull", "great fun"]})
    df.to_parquet(d / "in.parquet")
    df.to_csv(d / "semi.csv", sep=";", index=False)
    return d, df


def test_predict_reads_parquet(scored_inputs, tmp_path):
    d, df = scored_inputs
    result = invoke("predict", NBSVM, "--input", d / "in.parquet", "--text-column", "review", "-o",
                    tmp_path / "out.csv")
    assert result.exit_code == 0, result.output
    out = pd.read_csv(tmp_path / "out.csv")
    assert out["id"].tolist() == [1, 2, 3] and out["review"].tolist() == df["review"].tolist()
    expected = senti.load(NBSVM).predict(df["review"].tolist())
    assert out["pred_label"].tolist() == list(expected)


def test_predict_takes_a_separator(scored_inputs, tmp_path):
    d, df = scored_inputs
    result = invoke("predict", NBSVM, "--input", d / "semi.csv", "--sep", ";", "--text-column", "review", "-o",
                    tmp_path / "out.jsonl", "--threads", "1")
    assert result.exit_code == 0, result.output
    out = pd.read_json(tmp_path / "out.jsonl", lines=True)
    assert out["review"].tolist() == df["review"].tolist()  # "loved it; wonderful" kept whole
    assert "--sep" in one_error_line(invoke("predict", NBSVM, "--input", d / "in.parquet", "--sep", ";",
                                            "--text-column", "review"))
    without = one_error_line(invoke("predict", NBSVM, "--input", d / "semi.csv", "--text-column", "review"))
    assert "pass --sep ';'" in without


def test_integrated_gradients_on_an_ngram_model_speaks_cli():
    line = one_error_line(invoke("predict", NBSVM, "a fine film", "--explain", "--method", "integrated-gradients"))
    assert "--method occlusion" in line and "method='occlusion'" not in line


def test_load_of_a_missing_folder_says_it_does_not_exist(tmp_path):
    with pytest.raises(senti.BundleError, match="does not exist"):
        senti.load(tmp_path / "missing")


def test_train_help_lists_every_preset():
    from senti.models.registry import PRESETS

    text = " ".join(invoke("train", "--help").stdout.split())
    text = re.sub(r"(?<=\w)- (?=\w)", "-", text)  # click wraps lines at hyphens: "stacked-\nlstm"
    for name in PRESETS:
        assert f" {name}," in text or f" {name};" in text or f" {name} [" in text, name


@needs_data
def test_datasets_does_not_mention_options_it_lacks():
    p = subprocess.run([SENTI, "datasets", "--data-dir", str(DATA_DIR)], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0 and "tweets" in p.stdout
    assert "--empty" not in p.stderr + p.stdout


def test_serve_on_a_busy_port_fails_before_loading_the_model():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        p = subprocess.run([SENTI, "serve", str(NBSVM), "--port", str(port)], capture_output=True, text=True,
                           timeout=120)
    assert p.returncode == 1, p.stderr
    assert p.stderr.strip() == f"error: port {port} on 127.0.0.1 is already in use (another senti serve?): stop " \
                               "that server or choose another --port"


@pytest.mark.parametrize("headers", [{}, {"content-type": "application/x-www-form-urlencoded"},
                                     {"content-type": "text/plain"}])
def test_a_json_body_without_a_json_content_type_is_read_as_json(headers):
    from starlette.testclient import TestClient

    from senti.serving.app import create_app

    model = senti.load(NBSVM)
    with TestClient(create_app(model)) as client:
        r = client.post("/v1/predict", content=b'{"texts": ["loved it, wonderful"]}', headers=headers)
        assert r.status_code == 200, r.text
        assert r.json()["predictions"][0]["label"] == model.predict(["loved it, wonderful"])[0]
        bad = client.post("/v1/predict", content=b"texts=hello", headers=headers)
        assert bad.status_code == 422 and "JSON" in bad.text

"""ONNX export and runtime: exact agreement with PyTorch, int8 within tolerance, damaged files refused."""

import itertools
import json
import logging
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch

import senti
from senti import BundleError, SentimentModel
from senti.bundle import write_manifest
from senti.io import sha256_file
from senti.models.batching import collate
from senti.models.cnn import CNNClassifier, CNNConfig
from senti.models.rnn import RNNClassifier, RNNConfig
from senti.runtime.onnx import OnnxSession, export_onnx
from senti.runtime.onnx_graph import to_onnx

from .conftest import DATA_DIR, needs_data, synthetic_reviews

SENTI = [sys.executable, "-m", "senti.cli"]


def _session(net: torch.nn.Module, tmp_path) -> OnnxSession:
    path = tmp_path / "m.onnx"
    path.write_bytes(to_onnx(net.eval()).SerializeToString())
    return OnnxSession(path, threads=1)


@pytest.mark.parametrize(("cell", "bidirectional", "pooling", "layers"), [
    *itertools.product(["gru", "lstm", "rnn"], [True, False], ["last", "maxmean", "attention"], [1]),
    ("lstm", True, "last", 2), ("gru", True, "max", 2), ("lstm", False, "mean", 2)])
def test_every_rnn_variant_matches_pytorch_exactly(cell, bidirectional, pooling, layers, tmp_path):
    torch.manual_seed(0)
    net = RNNClassifier(RNNConfig(vocab_size=300, num_classes=3, embedding_dim=12, cell=cell, hidden_size=8,
                                  bidirectional=bidirectional, pooling=pooling, num_layers=layers, dense_size=6))
    rng = np.random.default_rng(0)
    ids, lengths = collate([list(rng.integers(1, 300, size=n)) for n in (17, 1, 9, 17, 2)])
    with torch.no_grad():
        expected = torch.softmax(net.eval()(ids, lengths), -1).numpy()
    got = _session(net, tmp_path)(ids.numpy(), lengths.numpy())
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_cnn_matches_pytorch(tmp_path):
    torch.manual_seed(0)
    net = CNNClassifier(CNNConfig(vocab_size=300, embedding_dim=12, kernel_sizes=[2, 3, 5], num_filters=4))
    ids, lengths = collate([[5, 6, 7, 8, 9, 10], [3], [4, 5, 6]])
    with torch.no_grad():
        expected = torch.softmax(net.eval()(ids, lengths), -1).numpy()
    np.testing.assert_allclose(_session(net, tmp_path)(ids.numpy(), lengths.numpy()), expected, atol=1e-5)


@pytest.fixture(scope="module")
def lstm_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("onnx") / "bilstm"
    df = synthetic_reviews(600, seed=3)
    return senti.train(out, train=df.iloc[:500], test=df.iloc[500:], model="lstm", bidirectional=True, epochs=3,
                       embedding_dim=24, hidden_size=16, min_count=1, progress=False)


def test_export_roundtrip_prefers_the_fastest_verified_runtime(lstm_run, tmp_path):
    run_dir = shutil.copytree(lstm_run.run_dir, tmp_path / "run")
    texts = synthetic_reviews(200, seed=9)["text"].tolist()
    reference = SentimentModel.load(run_dir, runtime="torch").predict_proba(texts)

    export_onnx(run_dir)
    fp32 = SentimentModel.load(run_dir)
    assert fp32.runtime == "onnx"
    np.testing.assert_allclose(fp32.predict_proba(texts), reference, atol=1e-4)

    export_onnx(run_dir, quantize="int8")
    manifest = json.loads((run_dir / "model" / "senti-model.json").read_text())
    assert set(manifest["exports"]) == {"onnx", "onnx-int8"}
    int8 = SentimentModel.load(run_dir)
    assert int8.runtime == "onnx-int8"
    got = int8.predict_proba(texts)
    assert np.abs(got - reference).max() < 0.05
    assert (got.argmax(1) == reference.argmax(1)).mean() >= 0.98
    assert (run_dir / "model" / "model.int8.onnx").stat().st_size < (run_dir / "model" / "model.onnx").stat().st_size


def test_damaged_or_foreign_onnx_is_refused_and_pytorch_still_answers(lstm_run, tiny_run, tmp_path, caplog):
    run_dir = shutil.copytree(lstm_run.run_dir, tmp_path / "run")
    onnx_path = export_onnx(run_dir)
    texts = ["Great fun, loved it!", "Awful and boring."]
    reference = SentimentModel.load(run_dir, runtime="torch").predict_proba(texts)

    data = bytearray(onnx_path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    onnx_path.write_bytes(bytes(data))
    with pytest.raises(BundleError, match="checksum mismatch"):
        SentimentModel.load(run_dir, runtime="onnx")
    with caplog.at_level(logging.WARNING, logger="senti"):
        model = SentimentModel.load(run_dir)
    assert model.runtime == "torch" and "scoring with PyTorch instead" in caplog.text
    np.testing.assert_array_equal(model.predict_proba(texts), reference)

    # An intact ONNX file of another model, with its checksum recorded: caught by the agreement probe.
    other = export_onnx(shutil.copytree(tiny_run.run_dir, tmp_path / "other"))
    shutil.copy(other, onnx_path)
    manifest_path = run_dir / "model" / "senti-model.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["exports"]["onnx"]["sha256"] = sha256_file(onnx_path)
    write_manifest(manifest_path.parent, manifest)  # with the manifest's own checksum recomputed
    with pytest.raises(BundleError, match="does not fit|disagrees"):
        SentimentModel.load(run_dir, runtime="onnx")
    assert SentimentModel.load(run_dir).runtime == "torch"


def test_linear_models_have_no_onnx_export(tmp_path):
    df = synthetic_reviews(200)
    senti.train(tmp_path / "lr", train=df, model="tfidf-logreg", progress=False)
    with pytest.raises(ValueError, match="neural models"):
        export_onnx(tmp_path / "lr")
    with pytest.raises(BundleError, match="no onnx export"):
        SentimentModel.load(tmp_path / "lr", runtime="onnx")


def test_cli_export_then_predict_with_each_runtime(lstm_run, tmp_path):
    run_dir = shutil.copytree(lstm_run.run_dir, tmp_path / "run")
    done = subprocess.run([*SENTI, "export", str(run_dir), "--quantize", "int8"], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("model.int8.onnx")
    outputs = {}
    for runtime in ("torch", "onnx-int8"):
        done = subprocess.run([*SENTI, "predict", str(run_dir), "--runtime", runtime, "--json", "Loved it, superb!"],
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        outputs[runtime] = json.loads(done.stdout)
    assert outputs["torch"]["label"] == outputs["onnx-int8"]["label"] == "positive"
    done = subprocess.run([*SENTI, "predict", str(run_dir), "--runtime", "onnx", "x"], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 1 and done.stderr.startswith("error:") and "senti export" in done.stderr


@needs_data
@pytest.mark.slow
def test_runtimes_agree_on_real_reviews(tmp_path):
    run = senti.train(tmp_path / "imdb", dataset="imdb", data_dir=str(DATA_DIR), model="lstm", bidirectional=True,
                      embedding_dim=32, hidden_size=16, epochs=2, max_train_samples=800, max_test_samples=10,
                      max_length=150, progress=False)
    test = senti.load_dataset("imdb", "test", str(DATA_DIR)).sample(300, random_state=0)
    texts, labels = test["text"].tolist(), test["label"].to_numpy()
    reference = SentimentModel.load(run.run_dir, runtime="torch").predict_proba(texts)
    export_onnx(run.run_dir)
    export_onnx(run.run_dir, quantize="int8")
    fp32 = SentimentModel.load(run.run_dir, runtime="onnx").predict_proba(texts)
    int8 = SentimentModel.load(run.run_dir, runtime="onnx-int8").predict_proba(texts)
    np.testing.assert_allclose(fp32, reference, atol=1e-4)
    assert np.abs(int8 - reference).max() < 0.1
    classes = run.model.classes_
    acc = {name: float((classes[p.argmax(1)] == labels).mean()) for name, p in (("torch", reference),
                                                                               ("int8", int8))}
    assert abs(acc["torch"] - acc["int8"]) <= 0.01, acc

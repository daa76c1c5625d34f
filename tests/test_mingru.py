"""The minGRU: its recurrence against a step-by-step reference, and the folded NumPy runtime against PyTorch."""

import subprocess
import sys

import numpy as np
import pytest
import torch

import senti
from senti import BundleError, SentimentModel
from senti.models.batching import collate
from senti.models.mingru import POOLINGS, MinGRUClassifier, MinGRUConfig, linear_recurrence
from senti.runtime.folded import FoldedSession

from .conftest import DATA_DIR, needs_data, synthetic_reviews


def _net(**kw) -> MinGRUClassifier:
    torch.manual_seed(0)
    cfg = {"vocab_size": 300, "num_classes": 3, "embedding_dim": 16, "hidden_size": 8, **kw}
    return MinGRUClassifier(MinGRUConfig(**cfg)).eval()


def _batch(lengths: list[int], vocab: int = 300, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return collate([torch.randint(2, vocab, (n,), generator=g).tolist() for n in lengths])


def test_recurrence_gradients_are_exact():
    a = torch.rand(9, 3, 4, dtype=torch.double, requires_grad=True)
    b = torch.randn(9, 3, 4, dtype=torch.double, requires_grad=True)
    assert torch.autograd.gradcheck(linear_recurrence, (a, b))


def test_network_is_the_mingru_of_the_paper_step_by_step():
    """h_t = (1 − z_t) h_{t−1} + z_t h̃_t per direction, the backward one reading the text from its end."""
    net = _net(pooling="maxmean")
    ids, lengths = _batch([7])
    x = net.embedding(ids)[0]  # (T, E)
    H = net.config.hidden_size
    g = net.gates(x).view(7, 2, 2, H)
    states = []
    for d, steps in ((0, range(7)), (1, range(6, -1, -1))):
        h, out = torch.zeros(H), [None] * 7
        for t in steps:
            z = torch.sigmoid(g[t, d, 0])
            h = (1 - z) * h + z * g[t, d, 1]
            out[t] = h
        states.append(torch.stack(out))
    h = torch.cat(states, dim=1)  # (T, 2H)
    feats = torch.cat([h.max(0).values, h.mean(0)])
    expected = net.classifier(feats.unsqueeze(0))
    torch.testing.assert_close(net(ids, lengths), expected, atol=1e-6, rtol=1e-5)


def test_word_order_matters():
    net = _net(pooling="last", bidirectional=False)
    ids = torch.tensor([[5, 9, 17]])
    assert not torch.allclose(net(ids, torch.tensor([3])), net(ids.flip(1), torch.tensor([3])))


@pytest.mark.parametrize("pooling", POOLINGS)
@pytest.mark.parametrize("bidirectional", [True, False])
@pytest.mark.parametrize("dense", [0, 12])
def test_folded_runtime_matches_pytorch(pooling, bidirectional, dense):
    net = _net(pooling=pooling, bidirectional=bidirectional, dense_size=dense)
    ids, lengths = _batch([5, 40, 1, 17, 40, 3, 2, 33])
    with torch.no_grad():
        ref = torch.softmax(net(ids, lengths), -1).numpy()
    out = FoldedSession(net)(ids.numpy(), lengths.numpy())
    np.testing.assert_allclose(out, ref, atol=1e-6)
    assert out.dtype == np.float32


def test_folded_runtime_keeps_the_input_order_and_ignores_padding_columns():
    net = _net()
    session = FoldedSession(net)
    ids, lengths = _batch([3, 12, 7])
    wide = torch.cat([ids, torch.zeros(3, 20, dtype=torch.long)], dim=1)  # extra padding past every length
    alone = np.concatenate([session(ids[i:i + 1, :n].numpy(), lengths[i:i + 1].numpy())
                            for i, n in enumerate(lengths.tolist())])
    np.testing.assert_allclose(session(wide.numpy(), lengths.numpy()), alone, atol=1e-6)


def test_folded_runtime_refuses_ids_outside_the_vocabulary():
    session = FoldedSession(_net())
    with pytest.raises(ValueError, match="token ids must lie in"):
        session(np.array([[5, 300]]), np.array([2]))
    with pytest.raises(ValueError, match="must be"):
        session(np.array([5, 6]), np.array([2]))
    with pytest.raises(ValueError, match="lengths must be at most"):  # the compiled loop would read past the row
        session(np.array([[5, 6]]), np.array([3]))


def test_folded_runtime_scores_empty_texts_like_pytorch():
    net = _net()
    ids, lengths = torch.zeros(2, 1, dtype=torch.long), torch.ones(2, dtype=torch.long)
    with torch.no_grad():
        ref = torch.softmax(net(ids, lengths), -1).numpy()
    session = FoldedSession(net)
    np.testing.assert_allclose(session(ids.numpy(), np.zeros(2, dtype=np.int64)), ref, atol=1e-6)
    np.testing.assert_allclose(session(np.zeros((2, 0), dtype=np.int64), np.zeros(2, dtype=np.int64)), ref,
                               atol=1e-6)


@pytest.fixture(scope="module")
def mingru_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "mingru"
    df = synthetic_reviews(800, seed=3)
    train_csv, test_csv = out.parent / "train.csv", out.parent / "test.csv"
    df.iloc[:600].to_csv(train_csv, index=False)
    df.iloc[600:].to_csv(test_csv, index=False)
    return senti.train(out, train=train_csv, test=str(test_csv), model="mingru", epochs=3, embedding_dim=32,
                       hidden_size=16, min_count=1, progress=False)


def test_a_trained_mingru_learns_and_loads_with_the_folded_runtime(mingru_run):
    assert mingru_run.metrics["accuracy"] > 0.8
    texts = synthetic_reviews(60, seed=9)["text"].tolist()
    auto = senti.load(mingru_run.run_dir)
    assert auto.runtime == "folded"
    reference = SentimentModel.load(mingru_run.run_dir, runtime="torch")
    assert reference.runtime == "torch"
    np.testing.assert_allclose(auto.predict_proba(texts), reference.predict_proba(texts), atol=1e-5)
    assert list(auto.predict(texts)) == list(reference.predict(texts))


def test_folded_runtime_is_refused_for_other_networks(tiny_run):
    with pytest.raises(BundleError, match="folded runtime is for minGRU"):
        SentimentModel.load(tiny_run.run_dir, runtime="folded")


def test_cli_predicts_with_the_folded_runtime(mingru_run):
    done = subprocess.run([sys.executable, "-m", "senti.cli", "predict", str(mingru_run.run_dir), "--runtime",
                           "folded", "--json", "A wonderful, moving film."], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert '"label"' in done.stdout


@needs_data
@pytest.mark.slow
def test_folded_runtime_agrees_with_pytorch_on_real_reviews(tmp_path):
    run = senti.train(tmp_path / "imdb", dataset="imdb", data_dir=str(DATA_DIR), model="mingru", epochs=1,
                      embedding_dim=32, hidden_size=32, max_train_samples=1500, max_test_samples=10, progress=False)
    test = senti.load_dataset("imdb", "test", str(DATA_DIR)).sample(400, random_state=0)
    texts = test["text"].tolist()
    reference = SentimentModel.load(run.run_dir, runtime="torch").predict_proba(texts)
    fast = SentimentModel.load(run.run_dir, runtime="folded")
    np.testing.assert_allclose(fast.predict_proba(texts), reference, atol=1e-5)
    single = np.concatenate([fast.predict_proba([t]) for t in texts[:40]])  # the short-batch scan
    np.testing.assert_allclose(single, reference[:40], atol=1e-5)


@pytest.mark.parametrize("pooling", POOLINGS)
@pytest.mark.parametrize("bidirectional", [True, False])
def test_onnx_export_matches_pytorch(pooling, bidirectional, tmp_path):
    from senti.runtime.onnx import OnnxSession
    from senti.runtime.onnx_graph import to_onnx

    net = _net(pooling=pooling, bidirectional=bidirectional, dense_size=6)
    path = tmp_path / "m.onnx"
    path.write_bytes(to_onnx(net).SerializeToString())
    ids, lengths = _batch([5, 40, 1, 17, 2])
    with torch.no_grad():
        ref = torch.softmax(net(ids, lengths), -1).numpy()
    np.testing.assert_allclose(OnnxSession(path, threads=1)(ids.numpy(), lengths.numpy()), ref, atol=1e-6)


def test_exported_mingru_still_loads_folded_unless_onnx_is_asked_for(mingru_run, tmp_path):
    import shutil

    from senti.runtime.onnx import export_onnx

    run = shutil.copytree(mingru_run.run_dir, tmp_path / "run")
    export_onnx(run)
    assert senti.load(run).runtime == "folded"
    onnx = SentimentModel.load(run, runtime="onnx")
    texts = synthetic_reviews(30, seed=4)["text"].tolist()
    np.testing.assert_allclose(onnx.predict_proba(texts), senti.load(run).predict_proba(texts), atol=1e-5)


def test_folded_runtime_on_two_processes(mingru_run):
    model = senti.load(mingru_run.run_dir)
    texts = synthetic_reviews(4_500, seed=12)["text"].tolist()
    np.testing.assert_allclose(model.predict_proba(texts, n_process=2), model.predict_proba(texts), atol=1e-6)


@pytest.mark.parametrize("method", ["occlusion", "integrated-gradients"])
def test_a_mingru_explains_its_predictions(mingru_run, method):
    model = senti.load(mingru_run.run_dir)
    text = "A wonderful, moving film with a dull ending."
    (e,) = model.explain([text], method=method)
    assert [w.word for w in e.words] == text.split()
    assert e.label in model.labels and any(w.score != 0 for w in e.words)
    assert e.probabilities == pytest.approx(dict(zip(model.labels, model.predict_proba([text])[0].tolist(),
                                                     strict=True)), abs=1e-5)

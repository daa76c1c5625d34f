"""Starting points learned from unlabelled text: a language-model-pretrained encoder (senti pretrain, --encoder),
word vectors (--embeddings, senti pretrain-embeddings), and the fine-tuning schedule (--lr-decay,
--gradual-unfreeze, --freeze-embeddings). Everything trains tiny models on synthetic text in about a second."""

import dataclasses
import json
import math
import random
import shutil

import numpy as np
import pandas as pd
import pytest
import torch
from click.testing import CliRunner
from safetensors.torch import load_file

import senti
from senti.cli import main
from senti.config import CleanConfig, TrainConfig, VocabConfig, nest
from senti.models.registry import build_model, full_model_config
from senti.models.rnn import RNNClassifier
from senti.text import Vocabulary, tokenize
from senti.text.vectors import read_vectors, write_vectors
from senti.training import trainer as trainer_mod
from senti.training.lm import ENCODER_PREFIXES, PretrainConfig, load_encoder, pretrain_encoder
from senti.training.resolve import resolve_config

from .conftest import FILLER, NEG, POS, interrupt_at_step, synthetic_reviews

# A two-layer bidirectional GRU: small enough for a second of training, deep enough for every code path
# (the second layer is where the directions would see each other, and where gradual unfreezing has work to do).
SMALL_RNN = {"architecture": "senti.rnn.v1", "cell": "gru", "embedding_dim": 16, "hidden_size": 16, "num_layers": 2,
             "bidirectional": True, "init": "torch"}
ENCODER_CLEAN = CleanConfig(numbers=True, repeated_chars=True)  # not the default, so adopting it shows
QUIET = {"progress": False, "report": False}


@pytest.fixture(scope="module")
def reviews() -> pd.DataFrame:
    return synthetic_reviews(400, seed=21)


@pytest.fixture(scope="module")
def encoder(tmp_path_factory, reviews):
    """An encoder pretrained for one epoch on the review texts (labels unused)."""
    out = tmp_path_factory.mktemp("enc") / "encoder"
    pretrain_encoder(reviews["text"].tolist(), out, model=SMALL_RNN, clean=ENCODER_CLEAN,
                     vocab=VocabConfig(min_count=1), config=PretrainConfig(epochs=1, lr=1e-2, batch_size=32,
                                                                           num_sampled=16), progress=False)
    return out


def _states(net: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in net.state_dict().items()}


def _encoder_part(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v for k, v in state.items() if k.startswith(ENCODER_PREFIXES)}


def _assert_same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert sorted(a) == sorted(b)
    for k in a:
        assert torch.equal(a[k], b[k]), k


def _spy_on_training(monkeypatch) -> list[dict[str, torch.Tensor]]:
    """The network's weights before training (item 0), then at the end of each epoch's training (validation
    runs right after it)."""
    snaps: list[dict[str, torch.Tensor]] = []
    real_fit, real_validate = trainer_mod.Trainer.fit, trainer_mod.Trainer.validate

    def fit(self, *args):
        snaps.append(_states(self.net))
        return real_fit(self, *args)

    def validate(self, *args):
        snaps.append(_states(self.net))
        return real_validate(self, *args)

    monkeypatch.setattr(trainer_mod.Trainer, "fit", fit)
    monkeypatch.setattr(trainer_mod.Trainer, "validate", validate)
    return snaps


# -- language-model pretraining ----------------------------------------------------------------------------------

def _cyclic_texts(n: int, seed: int = 0) -> list[str]:
    """Runs of a fixed cycle of words: each word decides the next and the previous, so an LM can learn it."""
    cycle = FILLER + POS + NEG
    rng = random.Random(seed)
    texts = []
    for _ in range(n):
        start, length = rng.randrange(len(cycle)), rng.randint(6, 20)
        texts.append(" ".join(cycle[(start + k) % len(cycle)] for k in range(length)))
    return texts


def test_pretrain_writes_an_encoder_bundle_and_held_out_loss_falls(tmp_path, monkeypatch):
    isolated = []
    real_encode = RNNClassifier.encode

    def encode(self, *args, isolate_directions=False, **kwargs):
        isolated.append(isolate_directions)
        return real_encode(self, *args, isolate_directions=isolate_directions, **kwargs)

    monkeypatch.setattr(RNNClassifier, "encode", encode)
    out = tmp_path / "enc"
    cfg = PretrainConfig(epochs=3, lr=2e-2, batch_size=16, num_sampled=8)
    record = pretrain_encoder(_cyclic_texts(300), out, model=SMALL_RNN, vocab=VocabConfig(min_count=1), config=cfg,
                              progress=False, source="cycle")
    assert sorted(p.name for p in out.iterdir()) == ["history.json", "model.safetensors", "senti-model.json",
                                                     "vocab.json"]
    manifest = json.loads((out / "senti-model.json").read_text())
    assert manifest["kind"] == "encoder" and manifest["labels"] == []
    assert manifest["pretraining"]["source"] == "cycle" and manifest["pretraining"]["epochs_run"] == 3
    assert {k: manifest["model"][k] for k in SMALL_RNN} == SMALL_RNN
    assert json.loads((out / "history.json").read_text()) == record["history"]
    weights = load_file(out / "model.safetensors")
    assert all(k.startswith(ENCODER_PREFIXES) for k in weights)  # no classifier head in an encoder
    assert {"embedding.weight", "forward_layers.1.weight_ih_l0", "backward_layers.1.weight_hh_l0"} <= set(weights)
    enc = load_encoder(out)
    assert enc.vocab.itos == json.loads((out / "vocab.json").read_text()) and len(enc.vocab) == 30  # 28 words + 2
    assert enc.model["vocab_size"] == 30 and enc.clean == dataclasses.asdict(CleanConfig())

    # Each word of the cycle decides its neighbours: the held-out loss must fall every epoch, far below the
    # sampled softmax's chance level, log(1 + num_sampled).
    val = [r["val_loss"] for r in record["history"]]
    assert len(val) == 3 and val[0] > val[1] > val[2], val
    assert val[2] < 0.6 * math.log(1 + cfg.num_sampled), val
    assert isolated and all(isolated)  # neither direction may read the words it predicts


def test_an_encoder_is_not_a_classifier_and_its_checksums_are_verified(tmp_path, encoder, reviews):
    with pytest.raises(senti.BundleError, match="a pretrained encoder, not a classifier; fine-tune it with "
                                                "senti train --encoder"):
        senti.load(encoder)
    bad = tmp_path / "bad"
    shutil.copytree(encoder, bad)
    data = bytearray((bad / "model.safetensors").read_bytes())
    data[-1] ^= 0x01  # one bit of one weight
    (bad / "model.safetensors").write_bytes(bytes(data))
    with pytest.raises(senti.BundleError, match="checksum mismatch"):
        load_encoder(bad)
    with pytest.raises(senti.BundleError, match="checksum mismatch"):
        senti.train(None, train=reviews, encoder=str(bad), epochs=1, **QUIET)


def test_isolate_directions_keeps_each_direction_causal():
    torch.manual_seed(0)
    net = build_model(full_model_config({**SMALL_RNN, "vocab_size": 50})).eval()
    H = SMALL_RNN["hidden_size"]
    lengths = torch.tensor([12, 9])  # the second row is padded: the backward pass reverses within the length
    ids = torch.randint(2, 50, (2, 12))
    ids[1, 9:] = 0
    t = 5
    later, earlier = ids.clone(), ids.clone()
    later[0, t + 1:12] = torch.randint(2, 50, (12 - t - 1,))
    later[1, t + 1:9] = torch.randint(2, 50, (9 - t - 1,))
    earlier[:, :t] = torch.randint(2, 50, (2, t))
    assert not torch.equal(later, ids) and not torch.equal(earlier, ids)

    def top(x: torch.Tensor, isolate: bool) -> torch.Tensor:
        with torch.no_grad():
            return net.encode(x, lengths, isolate_directions=isolate)[0]  # (B, T, 2H)

    for isolate in (True, False):
        h, h_later, h_earlier = top(ids, isolate), top(later, isolate), top(earlier, isolate)
        fwd_causal = torch.allclose(h[:, :t + 1, :H], h_later[:, :t + 1, :H], atol=1e-6)
        bwd_causal = torch.allclose(h[0, t:, H:], h_earlier[0, t:, H:], atol=1e-6) and torch.allclose(
            h[1, t:9, H:], h_earlier[1, t:9, H:], atol=1e-6)
        # Isolated: forward states up to t never saw the words after t, backward states from t on never saw
        # the words before t. Not isolated, the second layer reads both directions of the first, so both leak.
        assert fwd_causal is isolate and bwd_causal is isolate, isolate
    # The states still depend on what they may see.
    h, h_later = top(ids, True), top(later, True)
    assert not torch.allclose(h[0, t + 1:, :H], h_later[0, t + 1:, :H])


# -- fine-tuning a pretrained encoder ----------------------------------------------------------------------------

def test_fine_tuning_starts_from_the_encoder_and_adopts_its_vocabulary_and_cleaning(tmp_path, encoder, reviews,
                                                                                    monkeypatch):
    snaps = _spy_on_training(monkeypatch)
    run = senti.train(tmp_path / "ft", train=reviews, encoder=str(encoder), epochs=2, lr=1e-2, **QUIET)
    enc = load_encoder(encoder)
    _assert_same(_encoder_part(snaps[0]), enc.weights)  # after 0 steps
    assert not torch.equal(run.model.net.embedding.weight, enc.weights["embedding.weight"])  # then fine-tuned
    assert json.loads((tmp_path / "ft" / "model" / "vocab.json").read_text()) == enc.vocab.itos
    assert dataclasses.asdict(run.config.clean) == enc.clean == dataclasses.asdict(ENCODER_CLEAN)
    assert run.model.clean_config == ENCODER_CLEAN
    assert {k: run.config.model[k] for k in SMALL_RNN} == SMALL_RNN
    starts = json.loads((tmp_path / "ft" / "pretrained.json").read_text())
    assert starts["encoder"]["path"] == str(encoder.resolve()) and starts["encoder"]["pretraining"]["texts"] > 300
    assert senti.load(tmp_path / "ft").metadata["training"]["encoder"] == starts["encoder"]
    assert run.model.predict(["wonderful, brilliant", "awful and boring"]).shape == (2,)


def test_encoder_conflicts_fail_clearly(encoder):
    def resolve(**options):
        return resolve_config(nest({"encoder": str(encoder), **options}))

    with pytest.raises(ValueError, match=r"--hidden-size 32 does not fit the encoder .*which has hidden_size = 16"):
        resolve(hidden_size=32)
    with pytest.raises(ValueError, match="--num-layers 1 does not fit"):
        resolve(num_layers=1)
    with pytest.raises(ValueError, match="--bidirectional False does not fit"):
        resolve(bidirectional=False)
    with pytest.raises(ValueError, match="either --encoder .* or --embeddings, not both"):
        resolve(embeddings=str(encoder / "vocab.json"))
    for preset in ("conv1d", "nbsvm"):
        with pytest.raises(ValueError, match=f"--encoder needs a recurrent model; '{preset}' is not one"):
            resolve(model=preset)
    # What the encoder agrees with, or does not fix (pooling, dropout), is fine.
    cfg = resolve(hidden_size=16, pooling="attention", dropout=0.1, model="bilstm")
    assert cfg.model["cell"] == "gru" and cfg.model["hidden_size"] == 16 and cfg.model["pooling"] == "attention"


def test_loading_a_classifier_as_an_encoder_fails_clearly(tmp_path, reviews):
    senti.train(tmp_path / "clf", train=reviews, model="gru", epochs=1, embedding_dim=8, hidden_size=8, **QUIET)
    with pytest.raises(senti.BundleError, match="a trained classifier, not a pretrained encoder"):
        load_encoder(tmp_path / "clf")
    with pytest.raises(senti.BundleError, match="not a pretrained encoder"):
        senti.train(None, train=reviews, encoder=str(tmp_path / "clf"), epochs=1, **QUIET)


def test_resuming_an_encoder_run_matches_an_uninterrupted_one_without_the_encoder(tmp_path, encoder, reviews,
                                                                                  monkeypatch):
    reviews.to_csv(tmp_path / "train.csv", index=False)
    enc = tmp_path / "enc-copy"
    shutil.copytree(encoder, enc)
    kw = {"train": tmp_path / "train.csv", "encoder": str(enc), "epochs": 2, "batch_size": 16, "lr": 1e-2,
          "checkpoint_every": 4, "patience": 0, "lr_decay": 0.5, **QUIET}
    full = senti.train(tmp_path / "full", **kw)

    interrupt_at_step(monkeypatch, 30)  # 23 steps an epoch: in epoch 2, between two checkpoints
    with pytest.raises(senti.TrainingInterrupted, match="epoch 2"):
        senti.train(tmp_path / "cut", **kw)
    monkeypatch.undo()
    shutil.rmtree(enc)  # the checkpoint holds the weights: resuming needs the encoder no more
    resumed = senti.resume(tmp_path / "cut", progress=False, report=False)
    assert [r["val_loss"] for r in resumed.history] == [r["val_loss"] for r in full.history]
    texts = reviews["text"][:60].tolist()
    np.testing.assert_array_equal(resumed.model.predict_proba(texts), full.model.predict_proba(texts))
    assert resumed.model.metadata["training"]["encoder"]["path"] == str(enc.resolve())


# -- the fine-tuning schedule -------------------------------------------------------------------------------------

def _encoded(reviews: pd.DataFrame) -> tuple[Vocabulary, list[list[int]], np.ndarray]:
    tokens = [tokenize(t.lower()) for t in reviews["text"]]
    vocab = Vocabulary.build(tokens, 1000, 1)
    y = (reviews["label"] == "positive").to_numpy().astype(int)
    return vocab, [vocab.encode(t) for t in tokens], y


def test_lr_decay_gives_each_layer_group_its_learning_rate():
    net = build_model(full_model_config({**SMALL_RNN, "vocab_size": 40}))
    trainer = trainer_mod.Trainer(net, TrainConfig(lr=0.01, lr_decay=0.5), progress=False)
    groups = trainer.optimizer.param_groups
    assert [g["lr"] for g in groups] == pytest.approx([0.00125, 0.0025, 0.005, 0.01])  # embeddings, RNN 1, 2, head
    names = {id(p): n for n, p in net.named_parameters()}
    assert [names[id(p)] for p in groups[0]["params"]] == ["embedding.weight"]
    assert {names[id(p)].split(".")[0] + names[id(p)].split(".")[1] for p in groups[1]["params"]} == {
        "forward_layers0", "backward_layers0"}
    assert all(names[id(p)].startswith("classifier.") for p in groups[3]["params"])
    assert sum(len(g["params"]) for g in groups) == len(list(net.parameters()))  # each parameter exactly once
    flat = trainer_mod.Trainer(build_model(full_model_config({**SMALL_RNN, "vocab_size": 40})),
                               TrainConfig(lr=0.01), progress=False)
    assert [g["lr"] for g in flat.optimizer.param_groups] == [0.01] * 4
    cnn = build_model(full_model_config({"architecture": "senti.cnn.v1", "vocab_size": 40, "embedding_dim": 8,
                                         "num_filters": 4}))
    assert [g["lr"] for g in trainer_mod.Trainer(cnn, TrainConfig(lr=0.01, lr_decay=0.1),
                                                 progress=False).optimizer.param_groups] == pytest.approx([1e-3, 1e-2])


def test_gradual_unfreeze_trains_one_more_layer_group_per_epoch(reviews):
    vocab, ids, y = _encoded(reviews)
    torch.manual_seed(0)
    net = build_model(full_model_config({**SMALL_RNN, "vocab_size": len(vocab)}))
    names = {id(p): n for n, p in net.named_parameters()}
    initial = _states(net)
    snaps = []
    trainer = trainer_mod.Trainer(net, TrainConfig(epochs=4, lr=1e-2, batch_size=32, patience=0,
                                                   gradual_unfreeze=True), progress=False,
                                  on_epoch_end=lambda s: snaps.append(_states(net)))
    groups = [[names[id(p)] for p in g] for g in trainer.groups]
    trainer.fit(ids[:320], y[:320], ids[320:], y[320:])
    assert len(snaps) == 4
    for epoch, snap in enumerate(snaps, 1):
        changed = [i for i, g in enumerate(groups) if any(not torch.equal(snap[n], initial[n]) for n in g)]
        # Epoch 1: the head alone; each later epoch one more group from the top; epoch 4: all four.
        assert changed == list(range(4 - epoch, 4)), (epoch, changed)


def test_gradual_unfreeze_keeps_the_pretrained_encoder_through_the_first_epoch(tmp_path, encoder, reviews,
                                                                            monkeypatch):
    snaps = _spy_on_training(monkeypatch)
    senti.train(tmp_path / "gu", train=reviews, encoder=str(encoder), epochs=2, gradual_unfreeze=True, lr=1e-2,
                patience=0, **QUIET)
    enc = load_encoder(encoder).weights
    assert len(snaps) == 3
    _assert_same(_encoder_part(snaps[0]), enc)
    _assert_same(_encoder_part(snaps[1]), enc)  # epoch 1: only the head trained ...
    head = [k for k in snaps[0] if k.startswith("classifier.")]
    assert head and all(not torch.equal(snaps[1][k], snaps[0][k]) for k in head)
    # Epoch 2: the top RNN layer joins; the first layer and the embeddings stay as pretrained.
    for k, v in _encoder_part(snaps[2]).items():
        assert torch.equal(v, enc[k]) is not k.startswith(("forward_layers.1", "backward_layers.1")), k


# -- pretrained word vectors ----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def vectors_file(tmp_path_factory):
    """12-dimensional vectors for most of the synthetic reviews' words, a few unknown words, not 'film' or 'fun'."""
    words = [w for w in FILLER + POS + NEG if w not in ("film", "fun")] + ["xylophone", "quasar"]
    vecs = np.random.default_rng(0).normal(size=(len(words), 12)).astype(np.float32)
    path = tmp_path_factory.mktemp("vectors") / "vectors.txt"
    write_vectors(path, words, vecs)
    return path


def _rows_equal_to_file(embedding: torch.Tensor, vocab: Vocabulary, path) -> list[bool]:
    words, vecs = read_vectors(path)
    return [np.array_equal(embedding[vocab.stoi[w]].numpy(), v) for w, v in zip(words, vecs, strict=True)
            if w in vocab.stoi]


def test_frozen_embeddings_keep_the_file_vectors_and_follow_their_size(tmp_path, reviews, vectors_file):
    run = senti.train(tmp_path / "emb", train=reviews, model="gru", hidden_size=16, min_count=1, epochs=2,
                      lr=1e-2, embeddings=str(vectors_file), freeze_embeddings=-1, **QUIET)
    assert run.config.model["embedding_dim"] == 12  # the preset's 128 gives way to the file's size
    model = senti.load(tmp_path / "emb")
    assert model.net.embedding.weight.shape == (len(model.vocab), 12)
    found = _rows_equal_to_file(model.net.embedding.weight.detach(), model.vocab, vectors_file)
    assert len(found) == 26 and all(found)
    unknown = [model.vocab.stoi[w] for w in ("film", "fun")]
    _, vecs = read_vectors(vectors_file)
    assert not any(np.array_equal(model.net.embedding.weight[i].detach().numpy(), v) for i in unknown for v in vecs)
    coverage = json.loads((tmp_path / "emb" / "pretrained.json").read_text())["embeddings"]["coverage"]
    # The vocabulary: <pad>, <unk>, the 28 words and "!"; the file has 26 of them.
    assert coverage["found"] == 26 and coverage["vocab_size"] == len(model.vocab) == 31 and coverage["dim"] == 12
    assert coverage["fraction"] == pytest.approx(26 / 29) and 0.7 < coverage["token_fraction"] < 1
    assert sorted(coverage["missing_examples"]) == ["!", "film", "fun"]
    meta = model.metadata["training"]["embeddings"]
    assert meta["path"] == str(vectors_file) and meta["coverage"] == coverage
    assert run.config.train.freeze_embeddings == -1


def test_embeddings_frozen_for_one_epoch_train_from_the_second(tmp_path, reviews, vectors_file, monkeypatch):
    snaps = _spy_on_training(monkeypatch)
    run = senti.train(tmp_path / "emb1", train=reviews, model="gru", hidden_size=16, min_count=1, epochs=2,
                      lr=1e-2, patience=0, embeddings=str(vectors_file), freeze_embeddings=1, **QUIET)
    assert len(snaps) == 3
    vocab = run.model.vocab
    assert all(_rows_equal_to_file(snaps[0]["embedding.weight"], vocab, vectors_file))  # initialised from the file
    assert all(_rows_equal_to_file(snaps[1]["embedding.weight"], vocab, vectors_file))  # frozen in epoch 1
    assert not any(_rows_equal_to_file(snaps[2]["embedding.weight"], vocab, vectors_file))  # fine-tuned in epoch 2
    rnn = "forward_layers.0.weight_ih_l0"
    assert not torch.equal(snaps[0][rnn], snaps[1][rnn])  # the rest trained from the start


# -- the command line, end to end --------------------------------------------------------------------------------

def _cli(*args: object, ok: bool = True):
    result = CliRunner().invoke(main, [str(a) for a in args])
    if ok:
        assert result.exit_code == 0, f"senti {' '.join(map(str, args))}:\n{result.output}\n{result.exception!r}"
    return result


def _predict(run_dir, *texts: str) -> list[str]:
    out = _cli("predict", run_dir, *texts, "--json").stdout
    return [json.loads(line)["label"] for line in out.splitlines()]


def test_cli_pretrain_embeddings_then_train_with_them(tmp_path, reviews):
    reviews.to_csv(tmp_path / "tiny.csv", index=False)
    _cli("pretrain-embeddings", "--input", tmp_path / "tiny.csv", "--output", tmp_path / "vecs", "--dim", 16,
         "--epochs", 2, "--threads", 1, "--min-count", 2, "-q")
    assert sorted(p.name for p in (tmp_path / "vecs").iterdir()) == ["embeddings.json", "vectors.bin",
                                                                     "vectors.txt"]
    _cli("train", "--train", tmp_path / "tiny.csv", "--embeddings", tmp_path / "vecs" / "vectors.txt",
         "--freeze-embeddings", "all", "--model", "gru", "--hidden-size", 16, "--min-count", 2, "--epochs", 3,
         "--lr", 0.01, "-o", tmp_path / "run", "-q", "--no-report")
    cfg = json.loads((tmp_path / "run" / "config.json").read_text())
    assert cfg["model"]["embedding_dim"] == 16 and cfg["train"]["freeze_embeddings"] == -1
    coverage = json.loads((tmp_path / "run" / "pretrained.json").read_text())["embeddings"]["coverage"]
    # Both read the text through the same cleaning and tokenizer: every vocabulary word has its vector.
    assert coverage["fraction"] == 1.0 and coverage["token_fraction"] == 1.0
    model = senti.load(tmp_path / "run")
    assert all(_rows_equal_to_file(model.net.embedding.weight.detach(), model.vocab,
                                   tmp_path / "vecs" / "vectors.txt"))
    assert len(_predict(tmp_path / "run", "a wonderful film", "awful")) == 2
    bad = _cli("train", "--train", tmp_path / "tiny.csv", "--freeze-embeddings", "some", "-o", tmp_path / "x",
               ok=False)
    assert bad.exit_code == 2 and "neither a number of epochs nor 'all'" in bad.output


def test_cli_pretrain_then_fine_tune_then_predict(tmp_path, reviews):
    reviews.to_csv(tmp_path / "tiny.csv", index=False)
    out = _cli("pretrain", "--input", tmp_path / "tiny.csv", "--output", tmp_path / "enc", "--epochs", 1,
               "--model", "gru", "--num-sampled", 16, "--batch-size", 32, "-q").stdout
    assert "encoder pretrained on" in out and (tmp_path / "enc" / "senti-model.json").is_file()
    again = _cli("pretrain", "--input", tmp_path / "tiny.csv", "--output", tmp_path / "enc", "--epochs", 1, "-q",
                 ok=False)
    assert again.exit_code == 1 and "is not empty" in again.stderr and "--overwrite" in again.stderr
    _cli("train", "--train", tmp_path / "tiny.csv", "--encoder", tmp_path / "enc", "--epochs", 3, "--lr", 0.01,
         "--lr-decay", 0.5, "--gradual-unfreeze", "-o", tmp_path / "run", "-q", "--no-report")
    cfg = json.loads((tmp_path / "run" / "config.json").read_text())
    assert cfg["model"]["cell"] == "gru" and not cfg["model"]["bidirectional"]  # the encoder's shape, not default's
    assert cfg["train"]["lr_decay"] == 0.5 and cfg["train"]["gradual_unfreeze"] is True
    assert cfg["train"]["encoder"] == str((tmp_path / "enc").resolve())
    assert json.loads((tmp_path / "run" / "model" / "vocab.json").read_text()) == json.loads(
        (tmp_path / "enc" / "vocab.json").read_text())
    assert len(_predict(tmp_path / "run", "loved it, wonderful", "the worst, awful")) == 2

    clash = _cli("train", "--train", tmp_path / "tiny.csv", "--encoder", tmp_path / "enc", "--hidden-size", 64,
                 "-o", tmp_path / "x", ok=False)
    assert clash.exit_code == 1 and "--hidden-size 64 does not fit the encoder" in clash.stderr
    assert "Traceback" not in clash.output and not (tmp_path / "x").exists()
    wrong = _cli("predict", tmp_path / "enc", "some text", ok=False)
    assert wrong.exit_code == 1 and "a pretrained encoder, not a classifier" in wrong.stderr

"""The default model (issue #19): what `senti train` trains without --model, and the two training settings it
brings, word2vec trained inside the run (`train.word2vec`) and fewer epochs for a big corpus
(`train.epoch_tokens`)."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

import senti
from senti.training.resolve import resolve_config

from .conftest import synthetic_reviews

TINY = {"hidden_size": 8, "embedding_dim": 16, "min_count": 1, "progress": False, "report": False}


def test_the_default_is_a_calibrated_stack_of_a_bigru_on_word2vec_and_nbsvm3():
    cfg = resolve_config({})
    assert cfg.preset == "default"
    assert cfg.model["members"] == ["bigru", "nbsvm3"] and cfg.model["refit"] == "none"
    assert (cfg.model["seeds"], cfg.model["seeds_max_words"]) == (2, 1_000_000)  # a second BiGRU on small data
    assert cfg.train.word2vec == 3 and cfg.train.epoch_tokens == 3_000_000 and cfg.train.calibrate
    # Epochs a user asks for are the epochs run: the corpus-size cap gives way unless asked for too.
    assert resolve_config({"train": {"epochs": 5}}).train.epoch_tokens == 0
    assert resolve_config({"train": {"epochs": 5, "epoch_tokens": 100}}).train.epoch_tokens == 100
    # IMDB's validation keeps movies apart, and its unlabelled reviews feed word2vec.
    imdb = resolve_config({"data": {"dataset": "imdb"}})
    assert imdb.data.group_column == "group" and imdb.data.unlabelled == "imdb_unsup"
    assert resolve_config({"data": {"dataset": "imdb", "group_column": "none"}}).data.group_column is None


def test_an_encoder_without_a_model_fine_tunes_a_network_not_a_stack():
    assert resolve_config({"train": {}}).preset == "default"
    # (resolve_config would load the encoder; the preset choice comes first and is what this checks)
    with pytest.raises(senti.BundleError):
        resolve_config({"train": {"encoder": "/nonexistent/encoder"}})
    from senti.training import resolve

    seen = {}
    original = resolve._adopt_encoder
    try:
        resolve._adopt_encoder = lambda cfg, overrides: seen.setdefault("preset", cfg.preset)
        resolve_config({"train": {"encoder": "/nonexistent/encoder"}})
    finally:
        resolve._adopt_encoder = original
    assert seen["preset"] == "bigru"


def _embeddings(run_dir) -> torch.Tensor:
    return load_file(str(run_dir / "model" / "model.safetensors"))["embedding.weight"]


def test_word2vec_in_a_run_starts_the_embeddings_from_vectors_of_its_own_and_unlabelled_texts(tmp_path):
    data = synthetic_reviews(240, seed=3)
    unlabelled = tmp_path / "unlabelled.csv"
    synthetic_reviews(300, seed=4)[["text"]].to_csv(unlabelled, index=False)
    common = dict(train=data, model="bigru", epochs=1, lr=1e-9, seed=0, **TINY)  # lr ~0: weights stay as started
    senti.train(tmp_path / "plain", **common)
    senti.train(tmp_path / "w2v", word2vec=2, unlabelled=str(unlabelled), **common)
    info = json.loads((tmp_path / "w2v" / "pretrained.json").read_text())["word2vec"]
    assert info["epochs"] == 2 and info["unlabelled_texts"] == 300 and 300 < info["texts"] < 300 + 240
    assert info["coverage"]["found"] > 0.8 * info["coverage"]["vocab_size"]
    e_plain, e_w2v = _embeddings(tmp_path / "plain"), _embeddings(tmp_path / "w2v")
    assert e_plain.shape == e_w2v.shape and not torch.allclose(e_plain, e_w2v)
    # A seed gives the same vectors again (one gensim worker, a hash that is the same in every process).
    senti.train(tmp_path / "again", word2vec=2, unlabelled=str(unlabelled), **common)
    assert torch.equal(e_w2v, _embeddings(tmp_path / "again"))


def test_epoch_tokens_trains_fewer_epochs_on_a_big_corpus_and_the_config_says_so(tmp_path):
    data = synthetic_reviews(200, seed=5)
    big = senti.train(tmp_path / "big", train=data, model="gru", epochs=3, epoch_tokens=1, patience=0, **TINY)
    assert len(big.history) == 1  # any corpus is "big" against a budget of one token: one epoch, never none
    assert json.loads((tmp_path / "big" / "config.json").read_text())["train"]["epochs"] == 1
    small = senti.train(tmp_path / "small", train=data, model="gru", epochs=3, epoch_tokens=10**9, patience=0,
                        **TINY)
    assert len(small.history) == 3

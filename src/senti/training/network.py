"""The neural branch of a run: vocabulary, optional pretrained starting points (word vectors, an encoder),
the network, and the training loop with its checkpoints."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from senti.config import RunConfig
from senti.io import read_json
from senti.models.registry import build_model, full_model_config
from senti.pipeline import SentimentModel
from senti.text import Cleaner, Vocabulary, tokenize
from senti.training import distributed
from senti.training.rundir import tensorboard_logger, write_history, write_run_files
from senti.training.trainer import Trainer, TrainState, checkpoint_path, describe_state

log = logging.getLogger("senti")

# Called after every epoch of every network this process trains, after the run's own callbacks (senti.tuning
# reports each epoch's validation score to its pruner here; raising stops the run).
EPOCH_END_HOOKS: list[Callable[[TrainState], None]] = []


def train_network(cfg: RunConfig, run_dir: Path | None, resume: bool, progress: bool, labels: list[str],
                  train_df: pd.DataFrame, train_y: np.ndarray, valid_df: pd.DataFrame, valid_y: np.ndarray,
                  test_df: pd.DataFrame | None, t0: float) -> tuple[SentimentModel, TrainState]:
    """Build (or, resuming, restore) the vocabulary and the network, then fit it; returns the model with the
    best epoch's weights and the training state. With several processes every rank reads the same data and
    builds the same network; rank 0 alone writes to ``run_dir`` (the others only read it, to resume)."""
    writes = run_dir if distributed.is_main() else None
    cleaner = Cleaner(cfg.clean)
    train_tokens = [tokenize(cleaner(t)) for t in train_df["text"]]
    encoder = None
    if cfg.train.encoder and not resume:  # a resumed run has the weights in its checkpoint
        from senti.training.lm import load_encoder

        encoder = load_encoder(cfg.train.encoder)
    if resume and run_dir is not None:
        vocab = Vocabulary(read_json(run_dir / "vocab.json"))
    elif encoder is not None:
        vocab = encoder.vocab
    else:
        vocab = Vocabulary.build(train_tokens, cfg.vocab.max_size, cfg.vocab.min_count)
    vectors, starts = None, {}
    if cfg.train.embeddings and not resume:
        vectors, coverage = _read_embeddings(cfg, vocab, train_tokens)
        starts["embeddings"] = {"path": cfg.train.embeddings, "coverage": coverage}
    elif cfg.train.word2vec and not resume and encoder is None:
        vectors, starts["word2vec"] = _word2vec(cfg, vocab, train_tokens, cleaner)
    if resume and run_dir is not None and (run_dir / "pretrained.json").is_file():
        starts = read_json(run_dir / "pretrained.json")
    if encoder is not None:
        starts["encoder"] = {"path": cfg.train.encoder, "pretraining": {
            k: encoder.pretraining.get(k) for k in ("source", "texts", "tokens", "epochs_run", "seconds")}}
    v = cfg.vocab
    train_ids = [vocab.encode(t, v.max_length, v.truncate) for t in train_tokens]
    del train_tokens
    valid_ids = [vocab.encode(tokenize(cleaner(t)), v.max_length, v.truncate) for t in valid_df["text"]]
    if cfg.train.epoch_tokens:
        _fit_epochs_to_corpus(cfg, train_ids)
    log.info("data: %d train / %d validation / %s test examples, %d classes %s, vocabulary %d, %.1fs to prepare",
             len(train_ids), len(valid_ids), len(test_df) if test_df is not None else "no", len(labels), labels,
             len(vocab), time.perf_counter() - t0)

    cfg.model = full_model_config({**cfg.model, "vocab_size": len(vocab), "num_classes": len(labels)})
    torch.manual_seed(cfg.train.seed)
    net = build_model(cfg.model)
    if encoder is not None and not resume:
        from senti.training.lm import load_encoder_weights

        load_encoder_weights(net, encoder)
        log.info("encoder: embeddings and %d RNN layer(s) from %s", cfg.model["num_layers"], cfg.train.encoder)
    if vectors is not None:
        with torch.no_grad():
            net.embedding.weight.copy_(torch.from_numpy(vectors))
    if not resume:
        write_run_files(writes, cfg, vocab=vocab.itos, **({"pretrained": starts} if starts else {}))
    callbacks = [lambda s: write_history(writes, s)] if writes else []
    if cfg.train.tensorboard and writes is not None:
        callbacks.append(tensorboard_logger(writes / "tensorboard"))

    def on_epoch_end(state: TrainState) -> None:
        for callback in [*callbacks, *EPOCH_END_HOOKS]:
            callback(state)

    trainer = Trainer(net, cfg.train, checkpoint_dir=writes / "checkpoints" if writes else None,
                      progress=progress, on_epoch_end=on_epoch_end)
    if resume and run_dir is not None:
        trainer.load_checkpoint(checkpoint_path(run_dir))
        log.info("resuming %s at epoch %d, step %d", run_dir, trainer.state.epoch + 1, trainer.state.step)
    state = trainer.fit(train_ids, train_y, valid_ids, valid_y)
    net.cpu().eval()

    training = {**describe_state(state), "preset": cfg.preset, "dataset": cfg.data.dataset or cfg.data.train, **starts}
    if distributed.world_size() > 1:
        training["processes"] = distributed.world_size()
    model = SentimentModel.from_parts(net, vocab, labels, cfg.clean, cfg.vocab, cfg.model, {"training": training})
    return model, state


def _fit_epochs_to_corpus(cfg: RunConfig, train_ids: list[list[int]]) -> None:
    """``train.epoch_tokens``: a big corpus trains fewer epochs. Before the run files are written, so the run's
    config records the epochs it ran (a resumed run computes the same figure from the same data)."""
    per_epoch = sum(len(ids) for ids in train_ids)
    epochs = max(1, min(cfg.train.epochs, math.ceil(cfg.train.epoch_tokens / max(per_epoch, 1))))
    if epochs < cfg.train.epochs:
        log.info("training: %s tokens an epoch, so %d epoch%s of %d (train.epoch_tokens %s; --epochs N runs N)",
                 f"{per_epoch:,}", epochs, "" if epochs == 1 else "s", cfg.train.epochs,
                 f"{cfg.train.epoch_tokens:,}")
        cfg.train.epochs = epochs


def _word2vec(cfg: RunConfig, vocab: Vocabulary, train_tokens: list[list[str]], cleaner: Cleaner
              ) -> tuple[np.ndarray, dict[str, Any]]:
    """``train.word2vec``: vectors trained now on the training texts and ``data.unlabelled``, read with the
    run's own cleaning and tokeniser (a name is a dataset, anything else a file)."""
    from senti.data.datasets import DATASETS, unlabelled_texts
    from senti.training.word2vec import run_vectors

    extra = None
    if cfg.data.unlabelled:
        named = cfg.data.unlabelled in DATASETS
        texts, _ = unlabelled_texts(datasets=[cfg.data.unlabelled] if named else [],
                                    files=[] if named else [cfg.data.unlabelled], data_dir=cfg.data.data_dir,
                                    text_column=cfg.data.text_column)
        extra = [tokenize(cleaner(t)) for t in texts]
    dim = int(cfg.model.get("embedding_dim") or 128)
    return run_vectors(train_tokens, vocab.itos, dim=dim, epochs=cfg.train.word2vec, seed=cfg.train.seed,
                       unlabelled=extra)


def _read_embeddings(cfg: RunConfig, vocab: Vocabulary, train_tokens: list[list[str]]
                     ) -> tuple[np.ndarray, dict[str, Any]]:
    """Pretrained vectors for the vocabulary (found words; random rows of the same scale for the rest); the
    embedding size follows the vectors. Coverage is logged and kept in the run's data.json."""
    from collections import Counter

    from senti.text.vectors import align_vectors, read_vectors

    words, vectors = read_vectors(cfg.train.embeddings, set(vocab.itos))
    counts = Counter(t for tokens in train_tokens for t in tokens)
    matrix, coverage = align_vectors(vocab.itos, words, vectors, counts=counts, seed=cfg.train.seed)
    if cfg.model.get("embedding_dim") != matrix.shape[1]:
        log.info("embeddings: embedding size %d, from the vectors", matrix.shape[1])
        cfg.model["embedding_dim"] = int(matrix.shape[1])
    log.info("embeddings: %d of %d vocabulary words found in %s (%.1f%% of training tokens)%s", coverage["found"],
             coverage["vocab_size"], cfg.train.embeddings, 100 * (coverage["token_fraction"] or 0),
             "; frozen" if cfg.train.freeze_embeddings else "")
    return matrix, coverage

"""The n-gram and forest branch of a run: one fit with scikit-learn, scored on the validation split."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd

from senti.config import RunConfig
from senti.models.registry import build_model, full_model_config
from senti.pipeline import SentimentModel
from senti.text import Cleaner, tokenize
from senti.training.rundir import write_run_files
from senti.training.trainer import TrainState, validation_row

log = logging.getLogger("senti")


def train_ngram(cfg: RunConfig, run_dir: Path | None, labels: list[str], train_df: pd.DataFrame,
                train_y: np.ndarray, valid_df: pd.DataFrame, valid_y: np.ndarray) -> tuple[SentimentModel, TrainState]:
    """Classical baselines: one fit with scikit-learn; the run then evaluates and saves it as it does a network."""
    cleaner = Cleaner(cfg.clean)
    train_tokens = [tokenize(cleaner(t)) for t in train_df["text"]]
    cfg.model = {**cfg.model, "num_classes": len(labels)}
    if cfg.model.get("architecture") == "senti.forest.v1":
        cfg.model.setdefault("seed", cfg.train.seed)
    net = build_model(cfg.model)
    write_run_files(run_dir, cfg)
    t_fit = time.perf_counter()
    net.fit(train_tokens, train_y)
    cfg.model = full_model_config(cfg.model) | {"vocab_size": net.config.vocab_size}
    training = {"preset": cfg.preset, "dataset": cfg.data.dataset or cfg.data.train}
    model = SentimentModel.from_parts(net, None, labels, cfg.clean, cfg.vocab, cfg.model, {"training": training})
    proba = model.predict_proba(valid_df["text"].tolist())
    state = TrainState(epoch=1, elapsed=time.perf_counter() - t_fit, best_epoch=1)
    state.history = [{"epoch": 1, **validation_row(valid_y, proba, len(labels)),
                      "samples_per_s": len(train_y) / max(state.elapsed, 1e-9), "elapsed_s": state.elapsed}]
    state.best = state.history[0]["val_accuracy"]
    log.info("%s: %d n-gram features, fitted in %.1fs, val_acc %.4f", cfg.model["kind"], net.config.vocab_size,
             state.elapsed, state.best)
    return model, state

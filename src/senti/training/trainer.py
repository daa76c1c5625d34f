"""The training loop: plain PyTorch, Keras habits (a progress bar per epoch, early stopping that restores
the best weights, a history), and checkpoints from which an interrupted run resumes *exactly*.

Exact resume works because everything random is a function of saved state: the batch order of an epoch
depends only on ``(seed, epoch)``, and the torch RNG (dropout) is saved with the model and optimizer, so a
run stopped at step k of epoch e and resumed gives the same weights as one that never stopped. Ctrl-C only
sets a flag that the loop reads between steps, so a checkpoint never holds half a step.
"""

from __future__ import annotations

import io
import logging
import math
import pickle
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from senti.config import TrainConfig
from senti.errors import ConfigError, TrainingError, TrainingInterrupted
from senti.io import atomic_write_bytes
from senti.models.batching import bucket_batches, collate
from senti.training import distributed

log = logging.getLogger("senti")

CHECKPOINT = "last.ckpt"


@dataclass
class TrainState:
    epoch: int = 0  # completed epochs
    step: int = 0  # completed steps within the current epoch
    history: list[dict[str, float]] = field(default_factory=list)
    best: float | None = None
    best_epoch: int = -1
    bad_epochs: int = 0
    elapsed: float = 0.0
    running: dict[str, float] = field(default_factory=lambda: {"loss": 0.0, "correct": 0.0, "seen": 0.0})
    stopped_early: bool = False


def make_optimizer(params, cfg: TrainConfig) -> torch.optim.Optimizer:
    name = cfg.optimizer.lower()
    if name == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    if name == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=0.9, weight_decay=cfg.weight_decay)
    raise ConfigError(f"train.optimizer must be adam, adamw, rmsprop or sgd, got {cfg.optimizer!r}")


def layer_groups(net: nn.Module) -> list[list[nn.Parameter]]:
    """The network's parameters from the bottom up (embeddings first), each exactly once."""
    groups = net.layer_groups() if hasattr(net, "layer_groups") else [list(net.parameters())]
    grouped = {id(p) for g in groups for p in g}
    rest = [p for p in net.parameters() if id(p) not in grouped]
    if rest:  # a module the architecture's groups forgot still trains, with the top
        groups[-1] = [*groups[-1], *rest]
    return groups


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("train.device is 'cuda' but no CUDA device is available")
    return torch.device(name)


class Trainer:
    """Fit a network on encoded examples, evaluating on a validation set after each epoch."""

    def __init__(self, net: nn.Module, config: TrainConfig, checkpoint_dir: Path | None = None,
                 progress: bool = True, on_epoch_end: Callable[[TrainState], None] | None = None):
        self.net = net
        self.config = config
        self.checkpoint_dir = checkpoint_dir
        # Several processes (senti.training.distributed): rank 0 alone shows progress and writes checkpoints.
        self.world, self.rank = distributed.world_size(), distributed.rank()
        self.progress = progress and self.rank == 0
        self.on_epoch_end = on_epoch_end
        if config.monitor not in ("val_accuracy", "val_loss", "val_macro_f1"):
            raise ConfigError(f"train.monitor must be val_accuracy, val_loss or val_macro_f1, got {config.monitor!r}")
        if self.world > 1 and config.device == "cuda":
            raise ConfigError("training on several processes runs on CPUs (gloo); leave out --device cuda")
        self.device = resolve_device("cpu" if self.world > 1 else config.device)
        self.net.to(self.device)
        self.groups = layer_groups(net)
        # Discriminative learning rates (ULMFiT): pretrained lower layers move less than the fresh head.
        self.optimizer = make_optimizer([{"params": g, "lr": config.lr * config.lr_decay ** (len(self.groups) - 1 - i)}
                                         for i, g in enumerate(self.groups)], config)
        self.state = TrainState()
        self.best_weights: dict[str, torch.Tensor] | None = None
        self.ddp: nn.Module | None = None  # the DistributedDataParallel wrapper of net, with several processes
        self._ddp_trains: tuple[bool, ...] = ()
        if self.rank:  # the same network everywhere, but each rank its own dropout masks
            distributed.seed_rank(config.seed)

    # -- checkpoints ----------------------------------------------------------------------------------
    def save_checkpoint(self) -> None:
        # With several processes every rank comes here (at the same step): the running sums and the RNG
        # states are gathered first; rank 0 writes them.
        shared = distributed.checkpoint_extras(self.state.running) if self.world > 1 else {}
        if self.checkpoint_dir is None:
            return
        s = self.state
        payload = {
            "model": self.net.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "best_weights": self.best_weights or {},
            "torch_rng": torch.get_rng_state(),
            "state": {"epoch": s.epoch, "step": s.step, "history": s.history, "best": s.best,
                      "best_epoch": s.best_epoch, "bad_epochs": s.bad_epochs, "elapsed": s.elapsed,
                      "running": s.running, "stopped_early": s.stopped_early},
        }
        if shared:
            payload["state"]["running"] = shared.pop("running")
            payload.update(shared)
        # Serialised in memory first, so that a full disk surfaces as an OSError from one plain write.
        buf = io.BytesIO()
        torch.save(payload, buf)
        path = self.checkpoint_dir / CHECKPOINT
        try:
            atomic_write_bytes(path, buf.getvalue())
        except OSError as e:
            raise TrainingError(f"{e.strerror}; the previous checkpoint, if any, is intact: free some space, then "
                                f"continue with senti train --resume {self.checkpoint_dir.parent}") from e

    def load_checkpoint(self, path: Path) -> None:
        try:
            # weights_only=True: tensors and plain containers only, never arbitrary pickled objects.
            payload = torch.load(path, map_location=self.device, weights_only=True)
            self.net.load_state_dict(payload["model"])
            self.optimizer.load_state_dict(payload["optimizer"])
            self.best_weights = payload["best_weights"] or None
            torch.set_rng_state(payload["torch_rng"].cpu())
            self.state = TrainState(**payload["state"])
            distributed.resume_ranks(self.state, payload, self.config.seed)
        except (pickle.UnpicklingError, RuntimeError, EOFError, KeyError, TypeError, ValueError) as e:
            reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise TrainingError(f"{path}: not a checkpoint this run can resume from ({reason}); "
                                "start a new run with --output") from e

    def _wrap(self) -> None:
        """(Re)build the DistributedDataParallel wrapper when the set of parameters that train changes."""
        trains = tuple(p.requires_grad for p in self.net.parameters())
        if self.ddp is None or trains != self._ddp_trains:
            self.ddp, self._ddp_trains = distributed.wrap(self.net), trains

    # -- loop -------------------------------------------------------------------------------------------
    def fit(self, train_ids: Sequence[Sequence[int]], train_y: np.ndarray,
            valid_ids: Sequence[Sequence[int]], valid_y: np.ndarray) -> TrainState:
        s = self.state
        started = time.perf_counter() - s.elapsed
        with sigint_requests_stop() as stop:
            self._loop(train_ids, train_y, valid_ids, valid_y, started, stop)
        if self.best_weights is not None:
            self.net.load_state_dict(self.best_weights)  # restore_best_weights=True
        distributed.write_digest(self.net, "final")
        return s

    def _loop(self, train_ids, train_y, valid_ids, valid_y, started: float, stop: threading.Event) -> None:
        cfg, s = self.config, self.state
        lengths = [len(x) for x in train_ids]
        y_all = torch.tensor(np.asarray(train_y), dtype=torch.long)
        while s.epoch < cfg.epochs and not s.stopped_early:
            batches = bucket_batches(lengths, cfg.batch_size, seed=cfg.seed * 1_000_003 + s.epoch)
            self.net.train()
            self._freeze_for_epoch(s.epoch)
            if self.world > 1:  # one global order, the same on every rank; rank r takes batches r, r + N, ...
                batches = distributed.shard_batches(batches, self.rank, self.world)
                self._wrap()
            # Redirected to a file or CI log, a bar that redraws ten times a second is noise: update every 30 s.
            bar = tqdm(total=len(batches), initial=s.step, desc=f"epoch {s.epoch + 1}/{cfg.epochs}",
                       disable=not self.progress, leave=True, dynamic_ncols=True, unit="batch",
                       mininterval=0.1 if sys.stderr.isatty() else 30.0)
            epoch_start = time.perf_counter()
            seen_at_start = s.running["seen"]
            try:
                for b in batches[s.step:]:
                    # Ctrl-C: stop here, between two steps, with a checkpoint of this point
                    if self._stop_requested(stop):
                        bar.close()
                        s.elapsed = time.perf_counter() - started
                        self.save_checkpoint()
                        raise TrainingInterrupted(f"interrupted at epoch {s.epoch + 1}, step {s.step}")
                    self._step(train_ids, y_all, b)
                    s.step += 1
                    r = s.running
                    bar.update(1)
                    bar.set_postfix(loss=f"{r['loss'] / r['seen']:.4f}", acc=f"{r['correct'] / r['seen']:.4f}",
                                    refresh=False)
                    if cfg.checkpoint_every and s.step % cfg.checkpoint_every == 0:
                        s.elapsed = time.perf_counter() - started
                        self.save_checkpoint()
            except KeyboardInterrupt:
                # A second Ctrl-C (or one outside the main thread) lands anywhere, possibly between the optimizer
                # step and the step count: the state is no snapshot, so the last checkpoint stays as it is.
                bar.close()
                raise TrainingInterrupted(f"interrupted at epoch {s.epoch + 1}, step {s.step}, inside a step; "
                                          f"{self._last_checkpoint()}") from None
            bar.close()
            train_secs = time.perf_counter() - epoch_start
            r = s.running
            if self.world > 1:  # the epoch's figures are every rank's together
                r = distributed.total_running(r)
                seen_at_start = distributed.all_sum([seen_at_start])[0]
            val_loss, val_acc, val_f1 = self.validate(valid_ids, valid_y)
            row = {"epoch": s.epoch + 1, "loss": r["loss"] / r["seen"], "accuracy": r["correct"] / r["seen"],
                   "val_loss": val_loss, "val_accuracy": val_acc, "val_macro_f1": val_f1,
                   "samples_per_s": (r["seen"] - seen_at_start) / max(train_secs, 1e-9),
                   "elapsed_s": time.perf_counter() - started}
            if self.world > 1:  # rank 0's row and clock: early stopping and the time budget decide alike everywhere
                row = distributed.from_main(row)
            s.history.append(row)
            self._early_stopping(row)
            log.info("epoch %d: loss %.4f acc %.4f | val_loss %.4f val_acc %.4f val_f1 %.4f | %.0f samples/s",
                     row["epoch"], row["loss"], row["accuracy"], val_loss, val_acc, val_f1, row["samples_per_s"])
            s.epoch += 1
            s.step = 0
            s.running = {"loss": 0.0, "correct": 0.0, "seen": 0.0}
            s.elapsed = time.perf_counter() - started
            if self.world > 1:
                s.elapsed = distributed.from_main(s.elapsed)
            if cfg.max_minutes is not None and s.elapsed > cfg.max_minutes * 60 and s.epoch < cfg.epochs:
                log.info("stopping: the time budget of %.1f minutes is spent", cfg.max_minutes)
                s.stopped_early = True
            self.save_checkpoint()
            if self.on_epoch_end:
                self.on_epoch_end(s)
            if self._stop_requested(stop) and s.epoch < cfg.epochs and not s.stopped_early:
                raise TrainingInterrupted(f"interrupted after epoch {s.epoch}")

    def _stop_requested(self, stop: threading.Event) -> bool:
        if self.world > 1:  # a Ctrl-C seen by one rank stops them all at the same step
            return distributed.any_rank(stop.is_set())
        return stop.is_set()

    def _last_checkpoint(self) -> str:
        if self.checkpoint_dir is None or not (self.checkpoint_dir / CHECKPOINT).is_file():
            return "no checkpoint had been written yet"
        return "resuming starts from the last checkpoint, written before it"

    def _freeze_for_epoch(self, epoch: int) -> None:
        """Which layer groups train in this epoch: a function of the epoch alone, so resuming agrees."""
        cfg, n = self.config, len(self.groups)
        frozen = set()
        if cfg.freeze_embeddings < 0 or epoch < cfg.freeze_embeddings:
            frozen.add(0)
        if cfg.gradual_unfreeze:
            frozen |= {i for i in range(n) if n - 1 - i > epoch}
        for i, group in enumerate(self.groups):
            for p in group:
                p.requires_grad_(i not in frozen)
        if frozen:
            log.info("epoch %d: training layer groups %s of %d (0 = embeddings)", epoch + 1,
                     [i for i in range(n) if i not in frozen], n)

    def _step(self, ids: Sequence[Sequence[int]], y_all: torch.Tensor, batch: np.ndarray) -> None:
        cfg, r = self.config, self.state.running
        x, lengths = collate([ids[i] for i in batch])
        y = y_all[batch]
        x, lengths, y = x.to(self.device), lengths.to(self.device), y.to(self.device)
        with self._autocast():
            logits = (self.net if self.ddp is None else self.ddp)(x, lengths)
        loss = nn.functional.cross_entropy(logits.float(), y)
        if not torch.isfinite(loss):
            raise TrainingError(
                f"the loss became {loss.item()} at epoch {self.state.epoch + 1}, step {self.state.step + 1}; "
                f"lower the learning rate (--lr, now {cfg.lr:g}), keep gradient clipping on (--clip-grad-norm 1.0, "
                f"now {cfg.clip_grad_norm}){', or turn off --bf16' if cfg.bf16 else ''}")
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.clip_grad_norm:
            nn.utils.clip_grad_norm_(self.net.parameters(), cfg.clip_grad_norm)
        self.optimizer.step()
        n = len(batch)
        r["loss"] += loss.item() * n
        r["correct"] += (logits.argmax(1) == y).sum().item()
        r["seen"] += n

    def _autocast(self):
        if self.config.bf16:
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return nullcontext()

    @torch.inference_mode()
    def validate(self, ids: Sequence[Sequence[int]], y: np.ndarray) -> tuple[float, float, float]:
        from sklearn.metrics import f1_score

        self.net.eval()
        y_all = y
        if self.world > 1:  # each rank scores every N-th example; the sums and predictions are put together
            ids, y = [ids[i] for i in range(self.rank, len(ids), self.world)], np.asarray(y)[self.rank::self.world]
        loss_sum, preds = 0.0, np.empty(len(ids), dtype=np.int64)
        y_t = torch.tensor(np.asarray(y), dtype=torch.long)
        for b in bucket_batches([len(x) for x in ids], 256):
            x, lengths = collate([ids[i] for i in b])
            with self._autocast():
                logits = self.net(x.to(self.device), lengths.to(self.device)).float().cpu()
            loss_sum += nn.functional.cross_entropy(logits, y_t[b], reduction="sum").item()
            preds[b] = logits.argmax(1).numpy()
        self.net.train()
        if self.world > 1:
            y, loss_sum, preds = np.asarray(y_all), *distributed.merge_shards(loss_sum, preds)
            return (loss_sum / len(y), float((preds == y).mean()), float(f1_score(y, preds, average="macro")))
        return (loss_sum / len(ids), float((preds == y).mean()),
                float(f1_score(y, preds, average="macro")))

    def _early_stopping(self, row: dict[str, float]) -> None:
        cfg, s = self.config, self.state
        value = row[cfg.monitor]
        sign = -1.0 if cfg.monitor == "val_loss" else 1.0
        if s.best is None or sign * value > sign * s.best + 1e-6:
            s.best, s.best_epoch, s.bad_epochs = value, int(row["epoch"]), 0
            self.best_weights = {k: v.detach().clone() for k, v in self.net.state_dict().items()}
        else:
            s.bad_epochs += 1
            if cfg.patience and s.bad_epochs >= cfg.patience:
                log.info("early stopping: %s has not improved for %d epoch(s); best was epoch %d (%.4f)",
                         cfg.monitor, s.bad_epochs, s.best_epoch, s.best)
                s.stopped_early = True
        if math.isnan(value):
            raise TrainingError(f"{cfg.monitor} is NaN at epoch {row['epoch']}; lower the learning rate")


@contextmanager
def sigint_requests_stop():
    """Turn the first Ctrl-C into a request (the event it yields) to stop at the next step boundary, so the
    checkpoint written is a consistent snapshot; a second Ctrl-C interrupts at once, without a checkpoint."""
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def handler(signum, frame):
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        log.warning("stopping after this step (Ctrl-C again to abort without a checkpoint)")

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)


def validation_row(y: np.ndarray, proba: np.ndarray, n_classes: int) -> dict[str, float]:
    """Validation loss, accuracy and macro-F1 from predicted probabilities (models fitted in one go, and the
    stacker), under the names the training loop's history uses."""
    from sklearn.metrics import f1_score, log_loss

    pred = proba.argmax(1)
    return {"val_loss": float(log_loss(y, proba, labels=range(n_classes))),
            "val_accuracy": float((pred == y).mean()),
            "val_macro_f1": float(f1_score(y, pred, average="macro"))}


def checkpoint_path(run_dir: Path) -> Path:
    return run_dir / "checkpoints" / CHECKPOINT


def describe_state(state: TrainState) -> dict[str, Any]:
    return {"epochs_run": state.epoch, "best_epoch": state.best_epoch, "best_value": state.best,
            "stopped_early": state.stopped_early, "train_seconds": state.elapsed}

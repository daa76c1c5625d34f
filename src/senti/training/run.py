"""``train()``, ``resume()`` and ``stack()``: from a config to a finished run directory.

The jobs live beside this file: config resolution in ``resolve.py``, the data splits in ``senti.data.splits``,
the run directory's files in ``rundir.py`` (its layout is described there), the network and n-gram branches in
``network.py`` and ``ngram.py``, the ensemble in ``stacking.py``. This module only puts them in order.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from senti.config import SECTION_OF, RunConfig, nest
from senti.data.datasets import DATASET_DEFAULTS
from senti.data.readers import DataError
from senti.data.splits import IN_MEMORY, class_labels, load_splits, user_frames
from senti.errors import ConfigError
from senti.evaluation.data_profile import record_data_profile
from senti.evaluation.insights import confident_errors
from senti.evaluation.metrics import classification_metrics
from senti.io import read_json, remove_stale_temps, write_json
from senti.models.registry import is_ensemble, is_neural
from senti.pipeline import SentimentModel, configure_cpu
from senti.training import distributed, rundir
from senti.training.network import train_network
from senti.training.ngram import train_ngram
from senti.training.resolve import resolve_config
from senti.training.stacking import check_stackable, copy_members, gather_runs, train_ensemble
from senti.training.trainer import TrainState, checkpoint_path

# Names other modules import from here (the CLI, tests, benchmarks).
__all__ = ["DATASET_DEFAULTS", "SECTION_OF", "Run", "load_splits", "nest", "resolve_config", "resume", "stack",
           "train"]

log = logging.getLogger("senti")


@dataclass
class Run:
    """What ``train()`` returns: the model, its history and test metrics (None without a test set; the best
    epoch's validation scores are in ``validation``), and where it was written."""

    model: SentimentModel
    history: list[dict[str, float]]
    metrics: dict[str, Any] | None
    run_dir: Path | None
    config: RunConfig

    @property
    def validation(self) -> dict[str, float]:
        """Accuracy, macro-F1 and loss on the validation split at the epoch the model keeps (early stopping's
        best), e.g. ``run.validation["accuracy"]`` for a run without a test set."""
        best = self.model.metadata.get("training", {}).get("best_epoch", -1)
        row = next((r for r in self.history if r.get("epoch") == best), self.history[-1] if self.history else {})
        return {"accuracy": row.get("val_accuracy"), "macro_f1": row.get("val_macro_f1"),
                "loss": row.get("val_loss"), "epoch": row.get("epoch")}


def train(output: str | Path | None = None, *, overwrite: bool = False, progress: bool = True,
          report: bool = True, nproc: int = 1, **overrides: Any) -> Run:
    """Train a model; ``overrides`` are config sections (``data={...}, model={...}, train={...}``) or
    flat options (``dataset="imdb", preset="bilstm", epochs=3``), the same as the CLI flags. ``train``,
    ``valid`` and ``test`` may be DataFrames; their columns are named by ``text_column``/``label_column``.
    ``nproc`` > 1 trains a network on that many processes of this machine (``senti.training.distributed``)."""
    if nproc > 1:
        return _launch(nproc, "train", output, overwrite, dict(progress=progress, report=report, **overrides))
    frames = {k: overrides.pop(k) for k in ("train", "valid", "test") if isinstance(overrides.get(k), pd.DataFrame)}
    cfg = resolve_config(nest(overrides))
    if frames:
        frames = user_frames(frames, cfg.data)  # the column and empty-text options checked before anything
        for name in frames:
            setattr(cfg.data, name, getattr(cfg.data, name) or IN_MEMORY)
    run_dir = Path(output) if output is not None else None
    writes = run_dir is not None and distributed.is_main()
    created = writes and not run_dir.exists()
    try:
        with distributed.process_group():
            if writes:
                rundir.prepare_run_dir(run_dir, overwrite)
            return _train(cfg, run_dir, resume=False, progress=progress, frames=frames, report=report,
                          overwrite=overwrite)
    except BaseException:
        if created and run_dir.is_dir() and not any(run_dir.iterdir()):
            run_dir.rmdir()  # a run that failed before it began leaves no trace, not even its empty folder
        raise


def resume(run_dir: str | Path, progress: bool = True, epochs: int | None = None, report: bool = True,
           nproc: int = 1) -> Run:
    """Continue an interrupted run from its last checkpoint, with the config it was started with (on ``nproc``
    processes, whatever number of processes wrote the checkpoint)."""
    run_dir = Path(run_dir)
    if not (run_dir / "config.json").is_file():
        raise DataError(f"{run_dir}: not a senti run directory (no config.json)")
    cfg = RunConfig.from_dict(read_json(run_dir / "config.json"))
    # An ensemble keeps its checkpoints in its members' runs (members/NAME), which resume one by one.
    if not checkpoint_path(run_dir).is_file() and not is_ensemble(cfg.model):
        raise DataError(f"{run_dir}: no checkpoint to resume from (checkpoints/last.ckpt)")
    if nproc > 1:
        _check_distributable(cfg)
        return _launch(nproc, "resume", run_dir, False, dict(progress=progress, epochs=epochs, report=report))
    if epochs is not None:
        cfg.train.epochs = epochs
    cfg.validate()
    frames = rundir.load_frames(run_dir) if cfg.data.train == IN_MEMORY else None
    with distributed.process_group():
        if distributed.is_main():  # the other ranks only read the run directory
            for folder in (run_dir, run_dir / "checkpoints"):
                for p in remove_stale_temps(folder):  # left by a process that was killed mid-write
                    log.info("removed %s, an unfinished write", p)
            rundir.check_writable(run_dir)
        return _train(cfg, run_dir, resume=True, progress=progress, frames=frames, report=report)


def _check_distributable(cfg: RunConfig) -> None:
    """Several processes train networks; an n-gram model or a stack trains in one process, as before."""
    if is_ensemble(cfg.model) or not is_neural(cfg.model):
        kind = "a stack" if is_ensemble(cfg.model) else "an n-gram model"
        raise ConfigError(f"--nproc / torchrun train a network on several processes; {cfg.preset!r} is {kind}, "
                          "which trains in one process: leave out --nproc (and torchrun)")


def _launch(nproc: int, kind: str, run_dir: str | Path | None, overwrite: bool, options: dict[str, Any]) -> Run:
    """``train`` or ``resume`` on ``nproc`` processes of this machine (PyTorch's elastic launcher, as torchrun);
    what they wrote read back as the Run that training in this process would have returned."""
    if run_dir is None:
        raise ConfigError("training on several processes needs a run directory (--output): rank 0 writes the "
                          "model there")
    run_dir = Path(run_dir)
    created = False
    if kind == "train":  # what can be checked here is checked before any process starts
        plain = {k: v for k, v in options.items() if k not in ("progress", "report")
                 and not isinstance(v, pd.DataFrame)}
        _check_distributable(resolve_config(nest(plain)))
        created = not run_dir.exists()
        rundir.prepare_run_dir(run_dir, overwrite)
        options["overwrite"] = overwrite
    root = logging.getLogger()
    fmt = root.handlers[0].formatter._fmt if root.handlers and root.handlers[0].formatter else None
    try:
        distributed.launch(nproc, _worker, kind, str(run_dir), options, (root.getEffectiveLevel(), fmt))
    except BaseException:
        if created and run_dir.is_dir() and not any(run_dir.iterdir()):
            run_dir.rmdir()
        raise
    return _read_run(run_dir)


def _worker(kind: str, run_dir: str, options: dict[str, Any], logging_: tuple[int, str | None]) -> None:
    """One of the processes ``_launch`` starts (the launcher set RANK, WORLD_SIZE, ...)."""
    import sys

    logging.basicConfig(level=logging_[0], format=logging_[1] or logging.BASIC_FORMAT, stream=sys.stderr, force=True)
    if kind == "train":
        train(run_dir, **options)
    else:
        resume(run_dir, **options)


def _read_run(run_dir: Path) -> Run:
    """A finished run read back from its directory."""
    model = SentimentModel.load(run_dir / "model")
    history = read_json(run_dir / "history.json").get("epochs", [])
    metrics = read_json(run_dir / "metrics.json") if (run_dir / "metrics.json").is_file() else None
    return Run(model, history, metrics, run_dir, RunConfig.from_dict(read_json(run_dir / "config.json")))


def stack(run_dirs: list[str | Path], output: str | Path, *, overwrite: bool = False, refit: str = "linear",
          progress: bool = True, report: bool = True) -> Run:
    """Stack finished runs (any model types) into one ensemble: a logistic regression on their
    log-probabilities, fitted on the validation split they share. The runs must have read the same data with
    the same split; they are copied into OUTPUT/members/ and the ensemble bundle holds them all (with the
    n-gram members trained again on train + validation unless ``refit="none"``)."""
    runs = [Path(r) for r in run_dirs]
    cfg = gather_runs(runs, refit)
    frames = rundir.load_frames(runs[0]) if cfg.data.train == IN_MEMORY else None
    out = Path(output)
    rundir.prepare_run_dir(out, overwrite)
    return _train(cfg, out, resume=False, progress=progress, frames=frames, report=report, overwrite=overwrite,
                  on_begin=lambda: copy_members(runs, out))


def _train(cfg: RunConfig, run_dir: Path | None, resume: bool, progress: bool,
           frames: dict[str, pd.DataFrame] | None = None, report: bool = True, overwrite: bool = False,
           on_begin: Callable[[], None] | None = None,
           splits: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame | None] | None = None) -> Run:
    """Check the data, begin the run directory, train the branch the model calls for, finish. A run that fails
    before it can be resumed leaves its folder as the user had it. ``splits`` (train, validation, test) are the
    data already read and split: a stack's members get the stack's, without its test set (the stack scores
    every member on it in one pass), instead of reading the files and scoring the test texts once each."""
    t0 = time.perf_counter()
    if distributed.active():
        _check_distributable(cfg)
        configure_cpu(cfg.train.num_threads or distributed.threads_per_process())  # N processes x threads = cores
        log.info("distributed: %d processes on %s machine(s), %d torch thread(s) each", distributed.world_size(),
                 os.environ.get("GROUP_WORLD_SIZE", "?"), torch.get_num_threads())
    else:
        configure_cpu(cfg.train.num_threads)
    torch.manual_seed(cfg.train.seed)
    train_df, valid_df, test_df = splits if splits is not None else load_splits(cfg, frames)
    labels = class_labels(cfg, train_df, valid_df, test_df)
    if is_ensemble(cfg.model):
        check_stackable(valid_df, labels)
    users = None
    if run_dir is not None and not resume and distributed.is_main():
        users = rundir.begin_run(run_dir, overwrite)
    try:
        if users is not None:
            if frames:
                rundir.save_frames(run_dir, frames)
            write_json(run_dir / "data.json", train_df.attrs.get("data_report", {}))
            if splits is None:  # a stack's member: the stack's report profiles the data
                record_data_profile(run_dir, cfg, labels, train_df, valid_df, test_df)  # the report's data section
            if on_begin is not None:
                on_begin()
        model, state, scored, valid_raw = _train_branch(cfg, run_dir, resume, progress, frames, labels, train_df,
                                                        valid_df, test_df, t0)
        if not distributed.is_main():  # rank 0 calibrates, tests and writes; the others wait at a barrier
            return Run(model, state.history, None, None, cfg)
        if cfg.train.calibrate:
            scored = _calibrate(model, valid_df, scored, valid_raw)
        run = _finish(model, state, cfg, run_dir, test_df, t0, report, scored)
    except BaseException:
        if users is not None and not rundir.is_resumable(run_dir):
            rundir.discard_run(run_dir, users)
        raise
    if run_dir is not None:
        rundir.record_run(run_dir, users if users is not None else rundir.user_names(run_dir))
    return run


def _train_branch(cfg: RunConfig, run_dir: Path | None, resume: bool, progress: bool,
                  frames: dict[str, pd.DataFrame] | None, labels: list[str], train_df: pd.DataFrame,
                  valid_df: pd.DataFrame, test_df: pd.DataFrame | None, t0: float
                  ) -> tuple[SentimentModel, TrainState, tuple[np.ndarray, float] | None, np.ndarray | None]:
    """The model, its training state, its test probabilities if the branch scored them (and the seconds that
    took), and its raw probabilities on the validation split if scoring it again would not give honest ones
    (a stack's cross-validated scores)."""
    if is_ensemble(cfg.model):
        def train_member(member_cfg: RunConfig, member_dir: Path | None, resume_member: bool) -> Run:
            shared = (train_df, valid_df, None)
            if resume_member:
                return _train(member_cfg, member_dir, True, progress, frames, report=False, splits=shared)
            if member_dir is not None:
                rundir.prepare_run_dir(member_dir, overwrite=True)
            return _train(member_cfg, member_dir, False, progress, frames, report=False, overwrite=True,
                          splits=shared)

        return train_ensemble(cfg, run_dir, resume, labels, train_df, valid_df, test_df, t0, train_member)
    index = {lab: i for i, lab in enumerate(labels)}
    train_y = train_df["label"].map(index).to_numpy()
    valid_y = valid_df["label"].map(index).to_numpy()
    if not is_neural(cfg.model):
        return (*train_ngram(cfg, run_dir, labels, train_df, train_y, valid_df, valid_y), None, None)
    return (*train_network(cfg, run_dir, resume, progress, labels, train_df, train_y, valid_df, valid_y, test_df,
                           t0), None, None)


def _calibrate(model: SentimentModel, valid_df: pd.DataFrame, scored: tuple[np.ndarray, float] | None,
               valid_raw: np.ndarray | None = None) -> tuple[np.ndarray, float] | None:
    """Temperature scaling fitted on the validation split (senti.calibration), kept in the model's metadata;
    test probabilities the branch already scored are calibrated the same way. ``valid_raw``: the branch's own
    honest probabilities of the validation texts (a stack's cross-validated ones), used instead of scoring them."""
    from senti.calibration import apply_temperature

    fitted_on = "validation" if valid_raw is None else "cross-validated validation"
    cal = model.calibrate(valid_df["text"].tolist(), valid_df["label"].tolist(), fitted_on, raw=valid_raw)
    log.info("calibration: temperature %.3f on %d validation examples, ECE %.4f -> %.4f, Brier %.4f -> %.4f",
             cal["temperature"], cal["n"], cal["ece_before"], cal["ece_after"], cal["brier_before"],
             cal["brier_after"])
    return None if scored is None else (apply_temperature(scored[0], cal["temperature"]), scored[1])


def _finish(model: SentimentModel, state: TrainState, cfg: RunConfig, run_dir: Path | None,
            test_df: pd.DataFrame | None, t0: float, report: bool = True,
            scored: tuple[np.ndarray, float] | None = None) -> Run:
    """Test metrics (once, at the end), history, metrics.json and the bundle. ``scored``: the test
    probabilities and the seconds they took, when the caller already has them."""
    metrics, errors = None, []
    if test_df is not None:
        t_eval = time.perf_counter()
        texts, truth = test_df["text"].tolist(), test_df["label"].tolist()
        proba, before = scored if scored is not None else (model.predict_proba(texts), 0.0)
        metrics = classification_metrics(truth, None, model.labels, proba)  # with ece, brier, reliability
        if "calibration" in model.metadata:
            metrics["calibration"] = {k: v for k, v in model.metadata["calibration"].items() if k != "reliability"}
        metrics["eval_seconds"] = before + time.perf_counter() - t_eval
        errors = confident_errors(texts, truth, proba, model.labels)
        metrics["train_seconds"] = state.elapsed
        metrics["total_seconds"] = time.perf_counter() - t0
        log.info("test: accuracy %.4f, macro-F1 %.4f, ECE %.4f on %d examples", metrics["accuracy"],
                 metrics["macro_f1"], metrics["ece"], metrics["n"])
    # The bundle says exactly how the model was made: the whole resolved config of its run.
    model.metadata["run_config"] = cfg.to_dict()
    if run_dir is not None:
        rundir.write_history(run_dir, state)
        model.metadata["metrics"] = {k: metrics[k] for k in ("accuracy", "macro_f1", "n")} if metrics else None
        model.save(run_dir / "model")
        if metrics is not None:
            write_json(run_dir / "metrics.json", metrics)
            write_json(run_dir / "errors.json", errors)
        if report:
            from senti.evaluation.report import write_report

            log.info("report: %s", write_report(run_dir, model))
    return Run(model, state.history, metrics, run_dir, cfg)

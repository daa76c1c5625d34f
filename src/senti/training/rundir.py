"""The run directory: checked before anything is read, begun once the config and data are known to be usable,
its record files written in one place, the history after each epoch, and the list of what the run wrote.

    RUN_DIR/
      config.json        the resolved config (every hyper-parameter)
      env.json           library versions, machine, seed, command
      vocab.json         the vocabulary built from the training split
      data.json          rows read, empty texts skipped, duplicates, test texts also in train, how validation was drawn
      history.json/.csv  per-epoch train/validation loss and accuracy
      metrics.json       test metrics (when there is a test set)
      checkpoints/       last.ckpt: resumable state (model, optimizer, RNG, epoch, step)
      frames/            the DataFrames a run was given in memory (Parquet), so that it can resume
      model/             the bundle that senti.load() reads
      run-files.json     what the run wrote: all that --overwrite removes (the user's own files stay)

A folder is "a run" once it holds config.json, a checkpoint, a model or members; other files in it are the
user's, and senti neither calls them a run nor removes them.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import platform
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from senti.config import RunConfig
from senti.errors import DataError
from senti.io import TMP_SUFFIX, atomic_write, write_json
from senti.training.trainer import TrainState, checkpoint_path, describe_state

log = logging.getLogger("senti")

MIN_FREE_MB = 100  # a run needs room for checkpoints and the bundle; $SENTI_MIN_FREE_MB overrides
FILES = "run-files.json"
# What a run of senti before run-files.json wrote, for overwriting those runs.
KNOWN = ("config.json", "env.json", "vocab.json", "data.json", "pretrained.json", "history.json", "history.csv",
         "metrics.json", "errors.json", "report.html", "learning_curves.png", "confusion_matrix.png", "per_class.png",
         "top_words.png", "embeddings.png", "checkpoints", "model", "members", "tensorboard", FILES)


def holds_run(run_dir: Path) -> bool:
    return any((run_dir / name).exists() for name in ("config.json", "checkpoints/last.ckpt", "model", "members"))


def is_resumable(run_dir: Path) -> bool:
    return checkpoint_path(run_dir).is_file() or (run_dir / "members").is_dir()


def prepare_run_dir(run_dir: Path, overwrite: bool) -> None:
    """Refuse a folder that holds a run (unless ``overwrite``), create it, check it is writable; writes nothing
    that stays."""
    if run_dir.is_dir() and holds_run(run_dir) and not overwrite:
        hint = " or --resume to continue it" if is_resumable(run_dir) else ""
        raise FileExistsError(f"{run_dir} already holds a run; choose another --output, pass --overwrite{hint}")
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OSError(f"cannot create {run_dir}: {e.strerror}; choose another --output") from e
    check_writable(run_dir)


def check_writable(run_dir: Path) -> None:
    """Fail before any training if the run directory is read-only or its disk nearly full, not hours later."""
    probe = run_dir / f".write-test{TMP_SUFFIX}"
    try:
        with open(probe, "wb") as f:
            f.write(b"0" * 4096)
            os.fsync(f.fileno())
    except OSError as e:
        raise OSError(f"cannot write to {run_dir}: {e.strerror}; choose another --output or free some space") from e
    finally:
        with contextlib.suppress(OSError):  # on a read-only file system even removing a missing file fails
            probe.unlink(missing_ok=True)
    need = float(os.environ.get("SENTI_MIN_FREE_MB", MIN_FREE_MB))
    free = shutil.disk_usage(run_dir).free / 2**20
    if free < need:
        raise OSError(f"only {free:.0f} MiB free on the disk of {run_dir}; a run needs at least {need:.0f} MiB for "
                      "checkpoints and the model (free some space or choose another --output)")


def begin_run(run_dir: Path, overwrite: bool) -> set[str]:
    """Make the folder ready for a new run's files: the files of a run it held go (with ``overwrite``); the
    user's own stay. Returns the names that are the user's, so that the run can tell its own files apart."""
    if overwrite:
        old = _run_names(run_dir)
        for name in sorted(old):
            path = run_dir / name
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            elif path.exists() or path.is_symlink():
                path.unlink()
        if old:
            log.info("--overwrite: removed the previous run's %d file(s) and folder(s) from %s", len(old), run_dir)
    return {p.name for p in run_dir.iterdir()}


def record_run(run_dir: Path, users: set[str]) -> None:
    """List what this run wrote (all but the user's files) in run-files.json: what --overwrite will remove."""
    mine = sorted({p.name for p in run_dir.iterdir()} - users | {FILES})
    write_json(run_dir / FILES, mine)


def discard_run(run_dir: Path, users: set[str]) -> None:
    """Remove what a run that failed before it could be resumed wrote, leaving the folder as the user had it."""
    for path in sorted(run_dir.iterdir()):
        if path.name in users:
            continue
        with contextlib.suppress(OSError):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()


def user_names(run_dir: Path) -> set[str]:
    """The names in a run's folder that no run wrote."""
    return {p.name for p in run_dir.iterdir()} - _run_names(run_dir)


def _run_names(run_dir: Path) -> set[str]:
    names = set(KNOWN)
    with contextlib.suppress(OSError, ValueError):
        listed = json.loads((run_dir / FILES).read_text())
        names |= {n for n in listed if isinstance(n, str) and n and "/" not in n and n not in (".", "..")}
    return {n for n in names if (run_dir / n).exists() or (run_dir / n).is_symlink()}


def save_frames(run_dir: Path, frames: dict[str, pd.DataFrame]) -> None:
    """Keep the DataFrames a run was given (as senti read them) in RUN_DIR/frames/, so ``resume`` has its data."""
    folder = run_dir / "frames"
    folder.mkdir(exist_ok=True)
    for name, df in frames.items():
        atomic_write(folder / f"{name}.parquet", lambda tmp, df=df: df.to_parquet(tmp, index=False))


def load_frames(run_dir: Path) -> dict[str, pd.DataFrame]:
    folder = run_dir / "frames"
    if not (folder / "train.parquet").is_file():
        raise DataError(f"{run_dir}: this run trained on in-memory DataFrames, which a run of an older senti did not "
                        "save with it, so it cannot resume; train it again")
    return {p.stem: pd.read_parquet(p) for p in sorted(folder.glob("*.parquet"))}


def environment(seed: int) -> dict[str, Any]:
    import sklearn

    from senti import __version__

    return {
        "senti": __version__, "python": platform.python_version(), "torch": torch.__version__,
        "numpy": np.__version__, "pandas": pd.__version__, "scikit-learn": sklearn.__version__,
        "platform": platform.platform(), "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.is_available(), "seed": seed, "argv": sys.argv,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def write_run_files(run_dir: Path | None, cfg: RunConfig, **files: Any) -> None:
    """The run's record: config.json, env.json and any other ``name=content`` as ``name.json``."""
    if run_dir is None:
        return
    write_json(run_dir / "config.json", cfg.to_dict())
    write_json(run_dir / "env.json", environment(cfg.train.seed))
    for name, content in files.items():
        write_json(run_dir / f"{name}.json", content)


def write_history(run_dir: Path, state: TrainState) -> None:
    write_json(run_dir / "history.json", {"epochs": state.history, **describe_state(state)})
    if state.history:
        df = pd.DataFrame(state.history)
        atomic_write(run_dir / "history.csv", lambda tmp: df.to_csv(tmp, index=False))


def tensorboard_logger(log_dir: Path):
    """Per-epoch scalars for TensorBoard; an optional extra (pip install tensorboard)."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as e:
        raise ImportError("--tensorboard needs the tensorboard package: pip install tensorboard") from e
    writer = SummaryWriter(str(log_dir))

    def log_epoch(state: TrainState) -> None:
        row = state.history[-1]
        for key, value in row.items():
            if key != "epoch":
                writer.add_scalar(key, value, int(row["epoch"]))
        writer.flush()

    return log_epoch

"""The run directory: made ready before training, its record files written in one place, the history after
each epoch.

    RUN_DIR/
      config.json        the resolved config (every hyper-parameter)
      env.json           library versions, machine, seed, command
      vocab.json         the vocabulary built from the training split
      data.json          rows read, empty texts skipped, duplicates, test texts also in train
      history.json/.csv  per-epoch train/validation loss and accuracy
      metrics.json       test metrics (when there is a test set)
      checkpoints/       last.ckpt: resumable state (model, optimizer, RNG, epoch, step)
      model/             the bundle that senti.load() reads
"""

from __future__ import annotations

import contextlib
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
from senti.io import TMP_SUFFIX, atomic_write, write_json
from senti.training.trainer import TrainState, checkpoint_path, describe_state

MIN_FREE_MB = 100  # a run needs room for checkpoints and the bundle; $SENTI_MIN_FREE_MB overrides


def prepare_run_dir(run_dir: Path, overwrite: bool) -> None:
    if run_dir.exists() and any(run_dir.iterdir()) and not overwrite:
        resumable = checkpoint_path(run_dir).is_file() or (run_dir / "members").is_dir()
        hint = " or --resume to continue it" if resumable else ""
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

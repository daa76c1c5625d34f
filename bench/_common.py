"""Shared helpers for the benchmark scripts: machine description and peak memory."""

from __future__ import annotations

import os
import platform
import resource
import subprocess
import time
from typing import Any


def machine_info() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError):
        mem_gib = None
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(mem_gib, 1) if mem_gib else None,
            "platform": platform.platform(), "python": platform.python_version(),
            "load_average_1m_at_start": load, "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "git_commit": _git_commit()}


def _git_commit() -> str | None:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def uci_folds(folds: int = 5) -> tuple[list[tuple[Any, Any]], dict[str, Any]]:
    """UCI sentences (its train and test files pooled) in the stratified folds (seed 0) that every benchmark here
    cross-validates on: [(train, test) frames], and the dataset's own options for ``senti.train``."""
    import pandas as pd
    from sklearn.model_selection import StratifiedKFold

    from senti.data.datasets import DATASET_DEFAULTS, load_dataset

    data = pd.concat([load_dataset("uci_sentences", s) for s in ("train", "test")], ignore_index=True)
    options = {k: v for section in DATASET_DEFAULTS["uci_sentences"].values() for k, v in section.items()}
    splits = StratifiedKFold(folds, shuffle=True, random_state=0).split(data, data["label"])
    return [(data.iloc[tr], data.iloc[te]) for tr, te in splits], options

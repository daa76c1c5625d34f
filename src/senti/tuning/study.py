"""The study on disk: Optuna's journal file in the study folder, so a study continues where it stopped.

``DIR/study.journal`` is an append-only log (``JournalFileBackend``, with file locks), which several worker
processes may append to at once. A trial still RUNNING when a command starts was killed (one command owns a
study folder at a time: ``DIR/.tune.lock``), so it is marked FAIL and not counted. Trials are asked for under
another file lock, so that two workers never start more trials than asked for.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from senti.errors import ConfigError

log = logging.getLogger("senti")

JOURNAL = "study.journal"
STUDY_NAME = "senti"
SEED = 20260  # the sampler's seed (plus the trials already run, plus the worker's number)


def storage(folder: Path) -> Any:
    import optuna
    from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock

    path = str(folder / JOURNAL)
    return optuna.storages.JournalStorage(JournalFileBackend(path, lock_obj=JournalFileOpenLock(path)))


def open_study(folder: Path, direction: str = "maximize", seed_offset: int = 0, startup_trials: int = 5,
               warmup_epochs: int = 0) -> Any:
    """The study in ``folder`` (created when new), with a TPE sampler seeded by the trials already run (a
    resumed study does not draw its first random points again) and a median pruner on the epochs."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    store = storage(folder)
    done = 0
    with contextlib.suppress(KeyError):
        done = len(optuna.load_study(study_name=STUDY_NAME, storage=store).get_trials(deepcopy=False))
    sampler = optuna.samplers.TPESampler(seed=SEED + done + 7919 * seed_offset, n_startup_trials=startup_trials)
    pruner = optuna.pruners.MedianPruner(n_startup_trials=startup_trials, n_warmup_steps=warmup_epochs)
    return optuna.create_study(study_name=STUDY_NAME, storage=store, sampler=sampler, pruner=pruner,
                               direction=direction, load_if_exists=True)


@contextlib.contextmanager
def owned(folder: Path) -> Iterator[None]:
    """Hold ``folder``'s study for this command: a second ``senti tune`` on it is refused while one runs."""
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / ".tune.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConfigError(f"{folder}: another senti tune is running on this study; wait for it or use "
                              "another --output") from None
        yield
    finally:
        os.close(fd)


@contextlib.contextmanager
def asking(folder: Path) -> Iterator[None]:
    """Serialise "count the trials, then ask for one" across the worker processes."""
    fd = os.open(folder / ".ask.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def fail_stale(study: Any) -> list[int]:
    """Mark FAIL the trials a killed command left RUNNING (called while :func:`owned` holds the folder, so no
    live process is running them); returns their numbers."""
    from optuna.trial import TrialState

    stale = [t for t in study.get_trials(deepcopy=False) if t.state == TrialState.RUNNING]
    for t in stale:
        study.tell(t.number, state=TrialState.FAIL)
    return [t.number for t in stale]


def counted(study: Any, running: bool = True) -> int:
    """Trials that count towards ``--trials``: finished (complete or pruned), and those running now."""
    from optuna.trial import TrialState

    states = (TrialState.COMPLETE, TrialState.PRUNED, *((TrialState.RUNNING,) if running else ()))
    return len(study.get_trials(deepcopy=False, states=states))


def check_same_study(folder: Path, signature: dict[str, Any], trials: int) -> None:
    """A study folder holds one search: the same model, data, metric and space. Continuing it with another
    would mix incomparable trials, so it is refused (while it holds no trial, e.g. after a typo in a column
    name, the new signature replaces the old)."""
    path = folder / "study.json"
    if not path.is_file() or trials == 0:
        path.write_text(json.dumps(signature, indent=2, sort_keys=True) + "\n")
        return
    before = json.loads(path.read_text())
    changed = sorted(k for k in set(before) | set(signature) if before.get(k) != signature.get(k))
    if changed:
        was = ", ".join(f"{k}: {before.get(k)!r}" for k in changed)
        raise ConfigError(f"{folder} holds a study with other {', '.join(changed)} ({was}); continue it with the "
                          "same options, or use another --output")


def read_signature(folder: Path) -> dict[str, Any]:
    path = folder / "study.json"
    if not (folder / JOURNAL).is_file() or not path.is_file():
        raise ConfigError(f"{folder}: not a senti tune folder (no {JOURNAL})")
    return json.loads(path.read_text())

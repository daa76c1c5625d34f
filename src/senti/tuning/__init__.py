"""Hyper-parameter search (``senti tune``) on Optuna: search spaces as data (space.py), the study on disk
(study.py), the trials and the search (search.py), what a study leaves in its folder (outputs.py, report.py).

Needs optuna (``pip install 'senti[tune]'``); nothing here is imported by ``import senti``."""

from __future__ import annotations

from typing import Any

__all__ = ["show", "tune"]


def __getattr__(name: str) -> Any:
    if name == "tune":
        from senti.tuning.search import tune

        return tune
    if name == "show":
        from senti.tuning.outputs import show

        return show
    raise AttributeError(f"module 'senti.tuning' has no attribute {name!r}")

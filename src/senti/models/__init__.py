"""Networks (recurrent and convolutional) and the registry of named architectures and presets. The names below
are imported on first use (PEP 562): ``senti.models.linear`` does not need the networks, nor torch."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from senti.models.registry import ARCHITECTURES, PRESETS, build_model

__all__ = ["ARCHITECTURES", "PRESETS", "build_model"]


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module 'senti.models' has no attribute {name!r}")
    return getattr(importlib.import_module("senti.models.registry"), name)

"""Several presets trained on the same data, split and seed, then compared (`senti compare`)."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

log = logging.getLogger("senti")


def options_for(preset: str, options: dict[str, Any]) -> dict[str, Any]:
    """Drop the model options that a preset's architecture does not have (e.g. --hidden-size for nbsvm)."""
    from senti.config import SECTION_OF
    from senti.models.registry import ARCHITECTURES, resolve_preset

    _, config_cls = ARCHITECTURES[resolve_preset(preset)["model"]["architecture"]]
    known = {f.name for f in dataclasses.fields(config_cls)}
    return {k: v for k, v in options.items() if SECTION_OF.get(k) != "model" or k in known}


def train_presets(presets: Sequence[str], output: str | Path, overwrite: bool = False, progress: bool = True,
                  **options: Any) -> list[Path]:
    """Train each preset into ``output/PRESET`` with the same options (those a preset's architecture lacks are
    dropped), reusing a finished run unless ``overwrite``; returns the run directories in order."""
    from senti.models.registry import resolve_preset
    from senti.training.run import train

    for name in presets:
        resolve_preset(name)  # fail on a typo before hours of training
    runs = []
    for name in presets:
        run_dir = Path(output) / name
        if (run_dir / "metrics.json").is_file() and not overwrite:
            log.info("%s: already trained, reusing %s", name, run_dir)
        else:
            log.info("== %s", name)
            train(run_dir, overwrite=True, progress=progress, model=name, **options_for(name, options))
        runs.append(run_dir)
    return runs

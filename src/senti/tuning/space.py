"""Search spaces: what `senti tune` varies, per model family, as plain data.

A space maps a parameter to a distribution::

    {"lr": {"type": "float", "low": 3e-4, "high": 1e-2, "log": True},
     "hidden_size": {"type": "categorical", "choices": [64, 128, 256]}}

The names are the run config's own (``senti train`` flags without dashes): each lands in the section
``senti.config.SECTION_OF`` gives it (``lr`` in ``[train]``, ``max_length`` in ``[vocab]``), or in ``[model]``
when it is a field of the model's config (``C``, ``ngram_range``, ``nb_alpha``). A TOML file (``--space``)
replaces the family's default space, one table per parameter::

    [lr]
    type = "float"
    low = 1e-4
    high = 1e-2
    log = true

    [ngram_range]
    type = "categorical"
    choices = [[1, 2], [1, 3]]

Nothing here imports optuna: the distributions reach it through :func:`suggest`.
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
from pathlib import Path
from typing import Any

from senti.config import SECTION_OF
from senti.errors import ConfigError

Space = dict[str, dict[str, Any]]

_NETWORK: Space = {
    "lr": {"type": "float", "low": 3e-4, "high": 1e-2, "log": True},
    "embedding_dim": {"type": "categorical", "choices": [64, 128, 256]},
    "hidden_size": {"type": "categorical", "choices": [64, 128, 256]},
    "num_filters": {"type": "categorical", "choices": [64, 128, 256]},  # the CNN's width (it has no hidden_size)
    "dropout": {"type": "float", "low": 0.0, "high": 0.5},
    "max_length": {"type": "categorical", "choices": [64, 128, 256, 400]},
    "epochs": {"type": "int", "low": 2, "high": 6},
    "batch_size": {"type": "categorical", "choices": [32, 64, 128]},
}
_LINEAR: Space = {
    "C": {"type": "float", "low": 0.05, "high": 30.0, "log": True},
    "ngram_range": {"type": "categorical", "choices": [[1, 1], [1, 2], [1, 3]]},
    "min_df": {"type": "int", "low": 1, "high": 5},
    "nb_alpha": {"type": "float", "low": 0.1, "high": 2.0, "log": True},  # NB smoothing (nbsvm only)
    "negation_scope": {"type": "categorical", "choices": [0, 2, 3, 4]},  # [clean]: words marked after a negation
}
_FOREST: Space = {
    "n_estimators": {"type": "int", "low": 50, "high": 400, "step": 50},
    "min_samples_leaf": {"type": "int", "low": 1, "high": 5},
    "ngram_range": {"type": "categorical", "choices": [[1, 1], [1, 2]]},
    "min_df": {"type": "int", "low": 1, "high": 5},
}
# By architecture; a parameter the model's config has no field for is dropped (a CNN has no hidden_size, a
# TF-IDF model no NB smoothing), so one network space serves the RNN, the CNN and the minGRU.
SPACES: dict[str, Space] = {
    "senti.rnn.v1": _NETWORK, "senti.cnn.v1": _NETWORK, "senti.mingru.v1": _NETWORK,
    "senti.linear.v1": _LINEAR, "senti.forest.v1": _FOREST,
}
_TYPES = ("float", "int", "categorical")
_KEYS = {"float": {"type", "low", "high", "log", "step"}, "int": {"type", "low", "high", "log", "step"},
         "categorical": {"type", "choices"}}


def model_fields(model_cfg: dict[str, Any]) -> set[str]:
    """The option names of the model's config class (``C``, ``hidden_size`` …)."""
    from senti.models.registry import ARCHITECTURES

    arch = model_cfg.get("architecture")
    if arch not in ARCHITECTURES:
        raise ConfigError(f"unknown architecture {arch!r}")
    return {f.name for f in dataclasses.fields(ARCHITECTURES[arch][1])} - {"vocab_size", "num_classes"}


def section_of(name: str, model_cfg: dict[str, Any]) -> str | None:
    """Where a parameter lives in the run config, or None when this model has no such option."""
    if name in model_fields(model_cfg):
        return "model"
    section = SECTION_OF.get(name)
    if section in ("train", "vocab", "clean"):
        return section
    return None


def member_models(model_cfg: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A stack's members (``PRESET`` or ``PRESET@K``) and their presets' model configs."""
    from senti.models.registry import resolve_preset

    return {m: resolve_preset(m.partition("@")[0])["model"] for m in model_cfg.get("members", [])}


def default_space(model_cfg: dict[str, Any]) -> Space:
    """The family's space; a stack's is its members', each name prefixed with the member (``nbsvm3.C``)."""
    from senti.models.registry import is_ensemble, is_neural

    if is_ensemble(model_cfg):  # cleaning is the stack's, one for all its members: not a member's to vary
        return {f"{m}.{k}": v for m, cfg in member_models(model_cfg).items() for k, v in default_space(cfg).items()
                if section_of(k, cfg) != "clean"}
    space = SPACES.get(model_cfg.get("architecture", ""))
    if space is None:
        raise ConfigError(f"no search space for {model_cfg.get('architecture')!r}; give one with --space FILE.toml")
    keep = {k: dict(v) for k, v in space.items() if section_of(k, model_cfg) is not None}
    if model_cfg.get("kind") == "tfidf-logreg":
        keep.pop("nb_alpha", None)  # no naive-Bayes ratios in a TF-IDF model
    if not is_neural(model_cfg) and "epochs" in keep:
        keep.pop("epochs")
    return keep


def load_space(path: str | Path, model_cfg: dict[str, Any]) -> Space:
    """A space from a TOML file, checked: each table names a known option of this model's run config and a
    distribution optuna can sample. Errors name the file and the parameter."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            raw = tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such search-space file") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML ({e})") from None
    return check_space(raw, model_cfg, str(path))


def check_space(raw: dict[str, Any], model_cfg: dict[str, Any], source: str = "search space") -> Space:
    from senti.models.registry import is_ensemble

    if not raw:
        raise ConfigError(f"{source}: the search space is empty; give at least one [parameter] table")
    if is_ensemble(model_cfg):  # [MEMBER.param] tables (TOML nests them), or "MEMBER.param" keys
        members, space = member_models(model_cfg), {}
        for key, spec in raw.items():
            member, _, name = key.partition(".")
            if member not in members:
                raise ConfigError(f"{source}: [{key}]: a stack's parameters are its members' ([MEMBER.param]); "
                                  f"the members are {', '.join(members)}")
            sub = {name: spec} if name else spec
            if not isinstance(sub, dict) or not sub:
                raise ConfigError(f"{source}: [{key}] must hold the member's parameter tables")
            space.update({f"{member}.{k}": v for k, v in check_space(sub, members[member], source).items()})
        return space
    space = {}
    for name, spec in raw.items():
        where = f"{source}: [{name}]"
        if not isinstance(spec, dict):
            raise ConfigError(f"{where} must be a table (type = \"float\", low = …, high = …), got {spec!r}")
        if section_of(name, model_cfg) is None:
            known = sorted(model_fields(model_cfg) | {k for k, s in SECTION_OF.items() if s in ("train", "vocab")})
            raise ConfigError(f"{where}: {model_cfg.get('architecture')} runs have no option {name!r}; "
                              f"known: {', '.join(known)}")
        kind = spec.get("type", "categorical" if "choices" in spec else None)
        if kind not in _TYPES:
            raise ConfigError(f"{where}: type must be one of {', '.join(_TYPES)}, got {spec.get('type')!r}")
        extra = set(spec) - _KEYS[kind]
        if extra:
            raise ConfigError(f"{where}: unknown key(s) {sorted(extra)} for a {kind} parameter; "
                              f"known: {sorted(_KEYS[kind])}")
        space[name] = {**spec, "type": kind}
        if kind == "categorical":
            choices = spec.get("choices")
            if not isinstance(choices, list) or not choices:
                raise ConfigError(f"{where}: choices must be a non-empty list, got {choices!r}")
            continue
        low, high = spec.get("low"), spec.get("high")
        number = int if kind == "int" else (int, float)
        for key, value in (("low", low), ("high", high), ("step", spec.get("step"))):
            if (value is not None or key != "step") and (isinstance(value, bool) or not isinstance(value, number)):
                raise ConfigError(f"{where}: {key} must be {'a whole number' if kind == 'int' else 'a number'}, "
                                  f"got {value!r}")
        if not low < high:
            raise ConfigError(f"{where}: low must be below high, got low = {low!r}, high = {high!r}")
        if spec.get("log") and low <= 0:
            raise ConfigError(f"{where}: a log scale needs low > 0, got {low!r}")
        if spec.get("log") and spec.get("step") is not None:
            raise ConfigError(f"{where}: give log or step, not both")
    return space


def _encode(choice: Any) -> Any:
    """Optuna's categorical choices are scalars: a list (an n-gram range) travels as JSON text."""
    return json.dumps(choice) if isinstance(choice, (list, dict)) else choice


def decode(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "[{":
        return json.loads(value)
    return value


def suggest(trial: Any, space: Space) -> dict[str, Any]:
    """Sample one point of ``space`` with an optuna trial; returns plain values (an n-gram range as a list)."""
    params = {}
    for name, spec in space.items():
        if spec["type"] == "categorical":
            params[name] = decode(trial.suggest_categorical(name, [_encode(c) for c in spec["choices"]]))
        elif spec["type"] == "int":
            params[name] = trial.suggest_int(name, spec["low"], spec["high"], step=spec.get("step") or 1,
                                             log=bool(spec.get("log")))
        else:
            params[name] = trial.suggest_float(name, spec["low"], spec["high"], step=spec.get("step"),
                                               log=bool(spec.get("log")))
    return params


def member_params(params: dict[str, Any], member: str) -> dict[str, Any]:
    """A stack trial's parameters of one member, without the member's prefix."""
    return {k.partition(".")[2]: v for k, v in params.items() if k.partition(".")[0] == member}


def apply_params(config: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """A run config (``RunConfig.to_dict()``) with the trial's parameters in their sections."""
    out = {k: dict(v) if isinstance(v, dict) else v for k, v in config.items()}
    for name, value in params.items():
        section = section_of(name, out["model"])
        if section is None:
            raise ConfigError(f"{out['model'].get('architecture')} runs have no option {name!r}")
        out[section][name] = decode(value)
    return out


def describe(space: Space) -> str:
    """One line per parameter, for logs and the README."""
    lines = []
    for name, s in space.items():
        if s["type"] == "categorical":
            lines.append(f"{name}: one of {s['choices']}")
        else:
            scale = ", log scale" if s.get("log") else f", step {s['step']}" if s.get("step") else ""
            lines.append(f"{name}: {s['type']} {s['low']} to {s['high']}{scale}")
    return "\n".join(lines)

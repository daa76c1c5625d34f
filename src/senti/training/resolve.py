"""Config resolution: from the user's settings to the complete config of a run (and of an ensemble's members).

Preset < dataset defaults < user settings, with every model default filled in; a pretrained encoder then fixes
the cleaning, vocabulary and shape it was pretrained with. It lives here, not in ``senti.config``, because it
reads the model registry and pretrained encoders, which sit above the config in the layers."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from senti.config import CleanConfig, RunConfig, merge
from senti.data.datasets import DATASETS
from senti.data.readers import imdb_root
from senti.errors import ConfigError
from senti.models.registry import is_ensemble, is_neural, resolve_preset

log = logging.getLogger("senti")


def resolve_config(overrides: dict[str, Any]) -> RunConfig:
    """Preset < dataset defaults < user settings, with every model default filled in."""
    # A pretrained encoder is a recurrent network: without --model, fine-tuning it is the run, not a stack.
    preset = overrides.get("preset") or ("bigru" if (overrides.get("train") or {}).get("encoder") else "default")
    base = dict(resolve_preset(preset))
    dataset = (overrides.get("data") or {}).get("dataset")
    if dataset in DATASETS and DATASETS[dataset].defaults:
        base = merge(base, DATASETS[dataset].defaults)
    merged = merge(base, {**overrides, "preset": preset})
    cfg = RunConfig.from_dict(merged)
    given = overrides.get("train") or {}
    if "epochs" in given and "epoch_tokens" not in given:  # epochs the user asked for are the epochs run
        cfg.train.epoch_tokens = 0
    cfg.model = {k: v for k, v in cfg.model.items() if k not in ("vocab_size", "num_classes")}
    if is_ensemble(cfg.model):
        cfg.model = _network_options_of_stack(cfg.model)
    if cfg.data.group_column in ("", "none"):  # a random split where the dataset groups by default (imdb)
        cfg.data.group_column = None
    # Absolute paths, so that `--resume` works from any working directory.
    for name in ("train", "valid", "test", "data_dir"):
        value = getattr(cfg.data, name)
        if value and not value.startswith("<"):
            setattr(cfg.data, name, str(Path(value).expanduser().resolve()))
    for name in ("embeddings", "encoder"):
        value = getattr(cfg.train, name)
        if value:
            setattr(cfg.train, name, str(Path(value).expanduser().resolve()))
    if cfg.train.encoder and not is_ensemble(cfg.model):  # an ensemble passes it on to its neural member
        _adopt_encoder(cfg, overrides)
    _use_imdb_root(cfg)
    return cfg.validate()


def _network_options_of_stack(model: dict[str, Any]) -> dict[str, Any]:
    """A stack's own options stay; the others (``hidden_size``, ``dropout``, ...) are its neural members'."""
    import dataclasses

    from senti.models.ensemble import EnsembleConfig

    own = {f.name for f in dataclasses.fields(EnsembleConfig)} | {"architecture"}
    network = {**model.get("network", {}), **{k: v for k, v in model.items() if k not in own}}
    return {**{k: v for k, v in model.items() if k in own}, **({"network": network} if network else {})}


def _use_imdb_root(cfg: RunConfig) -> None:
    """``--train aclImdb`` (the archive's root, not its train/ folder) trains on aclImdb/train and, unless
    another test set is given, tests on aclImdb/test."""
    found = imdb_root(cfg.data.train) if cfg.data.train and not cfg.data.train.startswith("<") else None
    if found is None:
        return
    train, test = found
    log.info("data: %s holds train/%s: training on %s%s", cfg.data.train, " and test/" if test else "", train,
             f", testing on {test}" if test and not cfg.data.test else "")
    cfg.data.train = str(train)
    if test is not None and not cfg.data.test:
        cfg.data.test = str(test)


def _adopt_encoder(cfg: RunConfig, overrides: dict[str, Any]) -> None:
    """A pretrained encoder fixes the cleaning, the vocabulary and the shape of the network: fine-tuning
    must read text exactly as pretraining did. Pooling, dropout and the head stay the run's choice."""
    from senti.training.lm import ENCODER_SHAPE, load_encoder

    if cfg.train.embeddings:
        raise ConfigError("give either --encoder (pretrained embeddings and RNN) or --embeddings, not both")
    if not is_neural(cfg.model) or cfg.model.get("architecture") != "senti.rnn.v1":
        raise ConfigError(f"--encoder needs a recurrent model; {cfg.preset!r} is not one")
    enc = load_encoder(cfg.train.encoder)
    for key in ENCODER_SHAPE:
        if key in (overrides.get("model") or {}) and overrides["model"][key] != enc.model[key]:
            raise ConfigError(f"--{key.replace('_', '-')} {overrides['model'][key]} does not fit the encoder "
                             f"{cfg.train.encoder}, which has {key} = {enc.model[key]!r}")
    changed = {k: (cfg.model.get(k), enc.model[k]) for k in ENCODER_SHAPE
               if k != "vocab_size" and k in cfg.model and cfg.model[k] != enc.model[k]}
    if changed:
        log.warning("--encoder: the %s preset's %s give way to the encoder's", cfg.preset,
                    ", ".join(f"{k} {a!r} → {b!r}" for k, (a, b) in changed.items()))
    cfg.model = {**cfg.model, **{k: enc.model[k] for k in ENCODER_SHAPE if k != "vocab_size"}}
    cfg.clean = CleanConfig(**enc.clean)
    cfg.vocab.max_size, cfg.vocab.min_count = enc.vocab_config["max_size"], enc.vocab_config["min_count"]


def member_config(cfg: RunConfig, member: str) -> RunConfig:
    """The run's data, cleaning, vocabulary and training settings with the member's own model; an encoder
    or word vectors go to neural members only. ``PRESET@K`` is the preset trained with seed + K: another
    network for the stack, on the same split (the split keeps the ensemble's seed)."""
    preset, _, offset = member.partition("@")
    d = cfg.to_dict()
    network = d.pop("model").get("network") or {}
    if not is_neural(resolve_preset(preset)["model"]):
        d["train"] = {k: v for k, v in d["train"].items() if k not in ("encoder", "embeddings")}
    elif network:
        d["model"] = dict(network)
    d["data"]["split_seed"] = cfg.train.seed if cfg.data.split_seed is None else cfg.data.split_seed
    d["train"]["seed"] = cfg.train.seed + int(offset or 0)
    return resolve_config({**d, "preset": preset})


def split_of(cfg: RunConfig) -> dict[str, Any]:
    """The settings that decide which texts a run trained and validated on."""
    d = {k: getattr(cfg.data, k) for k in ("dataset", "train", "valid", "test", "valid_fraction", "group_column",
                                            "valid_sentences",
                                            "max_train_samples", "text_column", "label_column")}
    return {**d, "split_seed": cfg.train.seed if cfg.data.split_seed is None else cfg.data.split_seed}


def stack_config(cfg: RunConfig, members: list[str], refit: str) -> RunConfig:
    """The config of an ensemble stacked from finished runs: their shared data and split, the members' names."""
    cfg.data.split_seed = split_of(cfg)["split_seed"]
    cfg.preset = "stack"
    cfg.model = {"architecture": "senti.ensemble.v1", "members": members, "refit": refit}
    return cfg

"""One config object for a run: the CLI flags, a TOML file and ``senti.train(**kwargs)`` all build it.

The resolved config is written into every run directory and model bundle, so a model can always say
exactly how it was made (spaCy's habit). Sections mirror the data flow: data → clean → vocab → model → train.
"""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from senti.errors import ConfigError


@dataclass
class DataConfig:
    """Where the labelled examples come from: a named dataset, or the user's own files."""

    dataset: str | None = None
    train: str | None = None
    valid: str | None = None
    test: str | None = None
    text_column: str = "text"
    label_column: str = "label"
    data_dir: str | None = None
    valid_fraction: float = 0.1
    # Keep all texts of a group (a movie, a product) on one side of the validation split, so validation
    # measures generalisation to unseen items as the test split does. "group" uses a named dataset's own
    # grouping (IMDB: the movie); for files, name a column.
    group_column: str | None = None
    split_seed: int | None = None  # seed of the validation split and of sampling; None: the training seed
    max_train_samples: int | None = None
    max_test_samples: int | None = None
    encoding: str = "utf-8"  # of the data files; UTF-8 also reads through a byte-order mark
    encoding_errors: str = "strict"  # strict: fail naming the byte and row | replace: U+FFFD, counted
    empty: str = "skip"  # rows with an empty text: skip (counted in the log and data.json) | error
    # Rename labels as they are read ("0=negative,1=positive" or a table), e.g. to match a test file's spelling.
    label_map: str | dict[str, str] | None = None
    fold_label_case: bool = False  # Positive / positive: one class (the commoner spelling) instead of an error


@dataclass
class CleanConfig:
    """Text-cleaning steps; recorded in the bundle and applied identically at prediction time."""

    html: bool = True
    urls: bool = True
    emails: bool = True
    mentions: bool = False
    hashtags: bool = False
    numbers: bool = False
    punctuation: bool = False
    lowercase: bool = True
    repeated_chars: bool = False
    emoji: str = "keep"  # keep | map | drop
    stopwords: bool = False
    stem: str | None = None  # None | "snowball" (needs nltk)
    lemmatize: bool = False  # lemmas from simplemma's tables (pip install 'senti[lemma]'); not with stem


@dataclass
class VocabConfig:
    max_size: int = 30_000
    min_count: int = 2
    max_length: int = 400
    truncate: str = "both"  # head | tail | both (keep the start and the verdict at the end)


@dataclass
class TrainConfig:
    optimizer: str = "adamw"  # adam | adamw | rmsprop | sgd
    lr: float = 2e-3
    weight_decay: float = 0.0
    batch_size: int = 64
    epochs: int = 10
    patience: int = 2
    monitor: str = "val_accuracy"  # val_accuracy | val_loss | val_macro_f1
    clip_grad_norm: float | None = 1.0
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda
    bf16: bool = False
    num_threads: int | None = None
    max_minutes: float | None = None
    checkpoint_every: int = 200  # steps between resumable checkpoints
    tensorboard: bool = False  # also log per-epoch scalars to RUN_DIR/tensorboard (needs tensorboard)
    # Starting points learned from unlabelled text (`senti pretrain-embeddings`, `senti pretrain`, or GloVe).
    embeddings: str | None = None  # word vectors (GloVe / word2vec / fastText, text or binary) for the embeddings
    freeze_embeddings: int = 0  # epochs with the embeddings frozen; -1: frozen throughout; 0: fine-tuned throughout
    encoder: str | None = None  # a pretrained encoder (senti pretrain): its vocabulary, embeddings and RNN layers
    lr_decay: float = 1.0  # discriminative learning rates: a layer d groups below the top trains at lr × lr_decay^d
    gradual_unfreeze: bool = False  # first epoch trains the top only; each later epoch unfreezes one more layer

    def __post_init__(self) -> None:
        if self.freeze_embeddings == "all":  # as on the command line
            self.freeze_embeddings = -1
        if not isinstance(self.freeze_embeddings, int) or self.freeze_embeddings < -1:
            raise ConfigError(f"train.freeze_embeddings must be a number of epochs or 'all', got "
                             f"{self.freeze_embeddings!r}")


@dataclass
class RunConfig:
    preset: str = "default"
    data: DataConfig = field(default_factory=DataConfig)
    clean: CleanConfig = field(default_factory=CleanConfig)
    vocab: VocabConfig = field(default_factory=VocabConfig)
    model: dict[str, Any] = field(default_factory=dict)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunConfig:
        sections = {"data": DataConfig, "clean": CleanConfig, "vocab": VocabConfig, "train": TrainConfig}
        unknown = set(d) - {"preset", "model", *sections}
        if unknown:
            raise ConfigError(f"unknown config section(s) {sorted(unknown)}; expected {sorted(sections)}")
        kwargs: dict[str, Any] = {"preset": d.get("preset", "default"), "model": dict(d.get("model", {}))}
        for name, klass in sections.items():
            kwargs[name] = _build(klass, d.get(name, {}), name)
        return cls(**kwargs)


def _build(klass: type, values: dict[str, Any], section: str) -> Any:
    names = {f.name for f in fields(klass)}
    unknown = set(values) - names
    if unknown:
        raise ConfigError(f"unknown option(s) {sorted(unknown)} in [{section}]; known: {sorted(names)}")
    return klass(**values)


def load_toml(path: str | Path) -> dict[str, Any]:
    with open(path, "rb") as f:
        return tomllib.load(f)


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge ``override`` into a copy of ``base``; ``None`` values in ``override`` are ignored."""
    out = dict(base)
    for key, value in override.items():
        if value is None:
            continue
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


# Which section each flat option (a CLI flag, a keyword of ``senti.train``) belongs to.
SECTION_OF = {
    **{k: "data" for k in ("dataset", "train_file", "valid", "test", "text_column", "label_column", "data_dir",
                           "split_seed",
                           "valid_fraction", "group_column", "max_train_samples", "max_test_samples", "encoding",
                           "encoding_errors", "empty", "label_map", "fold_label_case")},
    **{k: "vocab" for k in ("max_size", "min_count", "max_length", "truncate")},
    **{k: "train" for k in ("optimizer", "lr", "weight_decay", "batch_size", "epochs", "patience", "monitor",
                            "clip_grad_norm", "seed", "device", "bf16", "num_threads", "max_minutes",
                            "checkpoint_every", "tensorboard", "embeddings", "freeze_embeddings", "encoder",
                            "lr_decay", "gradual_unfreeze")},
    **{k: "model" for k in ("cell", "embedding_dim", "hidden_size", "num_layers", "bidirectional", "pooling",
                            "dense_size", "dropout", "embedding_dropout", "kernel_sizes", "num_filters",
                            "architecture", "refit")},
    **{k: "clean" for k in ("html", "urls", "emails", "mentions", "hashtags", "numbers", "punctuation", "lowercase",
                            "repeated_chars", "emoji", "stopwords", "stem", "lemmatize")},
}


def nest(options: dict[str, Any]) -> dict[str, Any]:
    """Turn flat options (``epochs=3``) into config sections (``{"train": {"epochs": 3}}``); section dicts
    and ``preset`` pass through. ``train_file`` is the flat name of ``data.train``; ``model`` names a preset."""
    out: dict[str, Any] = {}
    for key, value in options.items():
        if value is None:
            continue
        if key == "model" and isinstance(value, str):
            out["preset"] = value
        elif key == "train" and isinstance(value, (str, Path)):
            out.setdefault("data", {})["train"] = str(value)
        elif key in ("data", "clean", "vocab", "model", "train") and isinstance(value, dict):
            out[key] = merge(out.get(key, {}), value)
        elif key in ("preset", "config"):
            out[key] = value
        elif key in SECTION_OF:
            section = SECTION_OF[key]
            out.setdefault(section, {})["train" if key == "train_file" else key] = (
                str(value) if isinstance(value, Path) else value)
        else:
            raise TypeError(f"unknown training option {key!r}")  # a keyword typo in senti.train(), as Python says it
    if "config" in out:
        out = merge(load_toml(out.pop("config")), out)
    return out

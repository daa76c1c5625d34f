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
    # The training rows are a treebank's sentences and the phrases inside them (SST-2): validation holds out
    # whole sentences, as the test split is, and training leaves out the phrases only they contain.
    valid_sentences: bool = False
    split_seed: int | None = None  # seed of the validation split and of sampling; None: the training seed
    max_train_samples: int | None = None
    max_test_samples: int | None = None
    # Unlabelled texts that train.word2vec reads besides the training texts: a named dataset (imdb_unsup) or a
    # file with a text column; never the test split.
    unlabelled: str | None = None
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
    # The words after a negation, up to this many, rewritten as negated words ("not xxnotgood"; 0: none;
    # senti.text.negation). Last of the steps.
    negation_scope: int = 0


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
    # A cap on epochs by the size of the corpus: at most ceil(epoch_tokens / tokens in an epoch) epochs, at least
    # one; 0: off. Big corpora need fewer passes than small ones (the default's BiGRU peaks after one epoch on
    # IMDB's 5M tokens, after three on SST-2's 0.6M), and the epochs a big corpus does not need are its costliest.
    epoch_tokens: int = 0
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
    calibrate: bool = True  # fit a temperature on the validation split at the end (senti.calibration)
    # Starting points learned from unlabelled text (`senti pretrain-embeddings`, `senti pretrain`, or GloVe).
    embeddings: str | None = None  # word vectors (GloVe / word2vec / fastText, text or binary) for the embeddings
    # Epochs of word2vec (CBOW, gensim) trained at the start of the run on its training texts and data.unlabelled,
    # to start the embeddings from; 0: none. Cheaper than a file of vectors to find, and fitted to this text.
    word2vec: int = 0
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
class PretrainConfig:
    """Language-model pretraining of an encoder (``senti pretrain``, ``senti.pretrain``): the one place its
    defaults live, read by the CLI's options too."""

    epochs: int = 5
    lr: float = 2e-3
    batch_size: int = 64
    num_sampled: int = 256  # words sampled per batch for the sampled softmax
    dropout: float = 0.1
    clip_grad_norm: float = 1.0
    max_minutes: float | None = None
    valid_texts: int = 1000  # held out to report perplexity (of the sampled softmax)
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda: a GPU pretrains a larger encoder in the same minutes


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

    def validate(self) -> RunConfig:
        """Refuse values no run can use, before anything is read or written; returns the config."""
        t, d, v = self.train, self.data, self.vocab
        _at_least("train.epochs", t.epochs, 1, integer=True, hint="a run needs at least one epoch")
        _at_least("train.batch_size", t.batch_size, 1, integer=True)
        _at_least("train.epoch_tokens", t.epoch_tokens, 0, integer=True, hint="0: every epoch of --epochs")
        _at_least("train.patience", t.patience, 0, integer=True, hint="0 turns early stopping off")
        _at_least("train.checkpoint_every", t.checkpoint_every, 0, integer=True, hint="0: at epoch ends only")
        _at_least("train.weight_decay", t.weight_decay, 0)
        _above_zero("train.lr", t.lr)
        _above_zero("train.lr_decay", t.lr_decay)
        if t.clip_grad_norm is not None:
            _at_least("train.clip_grad_norm", t.clip_grad_norm, 0, hint="0 turns clipping off")
        if t.max_minutes is not None:
            _above_zero("train.max_minutes", t.max_minutes, hint="leave it out for no time budget")
        _one_of("train.optimizer", str(t.optimizer).lower(), ("adam", "adamw", "rmsprop", "sgd"))
        _one_of("train.monitor", t.monitor, ("val_accuracy", "val_loss", "val_macro_f1"))
        if not isinstance(d.valid_fraction, (int, float)) or not 0 < d.valid_fraction < 1:
            raise ConfigError(f"data.valid_fraction must be between 0 and 1 (e.g. 0.1), got {d.valid_fraction!r}")
        for name in ("max_train_samples", "max_test_samples"):
            if getattr(d, name) is not None:
                _at_least(f"data.{name}", getattr(d, name), 1, integer=True)
        _one_of("data.empty", d.empty, ("skip", "error"))
        _one_of("data.encoding_errors", d.encoding_errors, ("strict", "replace"))
        _at_least("vocab.max_size", v.max_size, 1, integer=True)
        _at_least("vocab.min_count", v.min_count, 1, integer=True)
        _at_least("vocab.max_length", v.max_length, 1, integer=True)
        _one_of("vocab.truncate", v.truncate, ("head", "tail", "both"))
        return self


def _build(klass: type, values: dict[str, Any], section: str) -> Any:
    names = {f.name for f in fields(klass)}
    unknown = set(values) - names
    if unknown:
        raise ConfigError(f"unknown option(s) {sorted(unknown)} in [{section}]; known: {sorted(names)}")
    return klass(**values)


def _at_least(name: str, value: Any, minimum: float, integer: bool = False, hint: str = "") -> None:
    kind = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind) or value < minimum:
        what = "a whole number" if integer else "a number"
        raise ConfigError(f"{name} must be {what} ≥ {minimum}, got {value!r}" + (f" ({hint})" if hint else ""))


def _above_zero(name: str, value: Any, hint: str = "") -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ConfigError(f"{name} must be a number > 0, got {value!r}" + (f" ({hint})" if hint else ""))


def _one_of(name: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}; got {value!r}")


# Config values that name files; in a TOML file a relative one is relative to the TOML file's folder.
PATH_OPTIONS = {"data": ("train", "valid", "test", "data_dir"), "train": ("embeddings", "encoder")}


def load_toml(path: str | Path) -> dict[str, Any]:
    """A run config from a TOML file. Relative paths in it are read from the file's folder (not the working
    directory), so a config and its data can move together; ``preset`` may also sit under ``[model]``."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            d = tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML ({e})") from None
    for section, names in PATH_OPTIONS.items():
        values = d.get(section)
        for name in names:
            value = values.get(name) if isinstance(values, dict) else None
            if isinstance(value, str) and value and not value.startswith("<"):
                full = Path(value).expanduser()
                values[name] = str(full if full.is_absolute() else path.parent / full)
    return hoist_preset(d, str(path))


def hoist_preset(d: dict[str, Any], source: str) -> dict[str, Any]:
    """``model = "bilstm"`` or ``[model] preset = "bilstm"`` name a preset: move the name to ``preset``."""
    model = d.get("model")
    named = model if isinstance(model, str) else model.pop("preset", None) if isinstance(model, dict) else None
    if isinstance(model, str):
        d.pop("model")
    if named is not None:
        if d.get("preset") not in (None, named):
            raise ConfigError(f"{source}: preset {d['preset']!r} and model preset {named!r} disagree; give one")
        d["preset"] = named
    return d


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
                           "valid_fraction", "group_column", "valid_sentences", "max_train_samples", "max_test_samples",
                           "encoding",
                           "encoding_errors", "empty", "label_map", "fold_label_case", "unlabelled")},
    **{k: "vocab" for k in ("max_size", "min_count", "max_length", "truncate")},
    **{k: "train" for k in ("optimizer", "lr", "weight_decay", "batch_size", "epochs", "patience", "monitor",
                            "clip_grad_norm", "seed", "device", "bf16", "num_threads", "max_minutes",
                            "checkpoint_every", "tensorboard", "embeddings", "freeze_embeddings", "encoder",
                            "lr_decay", "gradual_unfreeze", "calibrate", "word2vec", "epoch_tokens")},
    **{k: "model" for k in ("cell", "embedding_dim", "hidden_size", "num_layers", "bidirectional", "pooling",
                            "dense_size", "dropout", "embedding_dropout", "kernel_sizes", "num_filters",
                            "architecture", "refit")},
    **{k: "clean" for k in ("html", "urls", "emails", "mentions", "hashtags", "numbers", "punctuation", "lowercase",
                            "repeated_chars", "emoji", "stopwords", "stem", "lemmatize",
                            "negation_scope")},
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
    return hoist_preset(out, "model options")

"""``train()``: from a config to a finished run directory.

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
import logging
import os
import platform
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from sklearn.model_selection import train_test_split

from senti.config import CleanConfig, DataConfig, RunConfig, merge
from senti.data.datasets import get_spec, load_dataset
from senti.data.readers import DataError, normalise, read_texts
from senti.evaluation.insights import confident_errors
from senti.evaluation.metrics import classification_metrics
from senti.io import TMP_SUFFIX, atomic_write, read_json, remove_stale_temps, write_json
from senti.models.registry import build_model, full_model_config, is_ensemble, is_neural, resolve_preset
from senti.pipeline import SentimentModel, configure_cpu
from senti.text import Cleaner, Vocabulary, tokenize
from senti.training.trainer import Trainer, TrainState, checkpoint_path, describe_state

log = logging.getLogger("senti")

MAX_CLASSES = 100  # more distinct labels than this is a wrong --label-column, not a sentiment scale
MIN_FREE_MB = 100  # a run needs room for checkpoints and the bundle; $SENTI_MIN_FREE_MB overrides

# Cleaning and length defaults that suit each kind of text; user settings override them.
DATASET_DEFAULTS: dict[str, dict[str, Any]] = {
    "tweets": {"clean": {"mentions": True, "hashtags": True, "repeated_chars": True, "emoji": "map"},
               "vocab": {"max_length": 64, "min_count": 1}},
    "airline_tweets": {"clean": {"mentions": True, "hashtags": True, "repeated_chars": True, "emoji": "map"},
                       "vocab": {"max_length": 64, "min_count": 1}},
    "uci_sentences": {"vocab": {"max_length": 64, "min_count": 1}},
    "sst2": {"vocab": {"max_length": 64, "min_count": 1}},
    "sst5": {"vocab": {"max_length": 64, "min_count": 1}},
}


@dataclass
class Run:
    """What ``train()`` returns: the model, its history and test metrics, and where it was written."""

    model: SentimentModel
    history: list[dict[str, float]]
    metrics: dict[str, Any] | None
    run_dir: Path | None
    config: RunConfig


def resolve_config(overrides: dict[str, Any]) -> RunConfig:
    """Preset < dataset defaults < user settings, with every model default filled in."""
    preset = overrides.get("preset") or "default"
    base = dict(resolve_preset(preset))
    dataset = (overrides.get("data") or {}).get("dataset")
    if dataset in DATASET_DEFAULTS:
        base = merge(base, DATASET_DEFAULTS[dataset])
    merged = merge(base, {**overrides, "preset": preset})
    cfg = RunConfig.from_dict(merged)
    cfg.model = {k: v for k, v in cfg.model.items() if k not in ("vocab_size", "num_classes")}
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
    return cfg


def _adopt_encoder(cfg: RunConfig, overrides: dict[str, Any]) -> None:
    """A pretrained encoder fixes the cleaning, the vocabulary and the shape of the network: fine-tuning
    must read text exactly as pretraining did. Pooling, dropout and the head stay the run's choice."""
    from senti.training.lm import ENCODER_SHAPE, load_encoder

    if cfg.train.embeddings:
        raise ValueError("give either --encoder (pretrained embeddings and RNN) or --embeddings, not both")
    if not is_neural(cfg.model) or cfg.model.get("architecture") != "senti.rnn.v1":
        raise ValueError(f"--encoder needs a recurrent model; {cfg.preset!r} is not one")
    enc = load_encoder(cfg.train.encoder)
    for key in ENCODER_SHAPE:
        if key in (overrides.get("model") or {}) and overrides["model"][key] != enc.model[key]:
            raise ValueError(f"--{key.replace('_', '-')} {overrides['model'][key]} does not fit the encoder "
                             f"{cfg.train.encoder}, which has {key} = {enc.model[key]!r}")
    changed = {k: (cfg.model.get(k), enc.model[k]) for k in ENCODER_SHAPE
               if k != "vocab_size" and k in cfg.model and cfg.model[k] != enc.model[k]}
    if changed:
        log.warning("--encoder: the %s preset's %s give way to the encoder's", cfg.preset,
                    ", ".join(f"{k} {a!r} → {b!r}" for k, (a, b) in changed.items()))
    cfg.model = {**cfg.model, **{k: enc.model[k] for k in ENCODER_SHAPE if k != "vocab_size"}}
    cfg.clean = CleanConfig(**enc.clean)
    cfg.vocab.max_size, cfg.vocab.min_count = enc.vocab_config["max_size"], enc.vocab_config["min_count"]


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


def load_splits(cfg: RunConfig, frames: dict[str, pd.DataFrame] | None = None
                ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame | None]:
    """Train, validation and (optional) test frames. Validation is carved out of train, never out of test."""
    d = cfg.data
    split_seed = cfg.train.seed if d.split_seed is None else d.split_seed
    frames = {k: normalise(v, f"{k} DataFrame") for k, v in (frames or {}).items()}
    if d.dataset and d.train:
        raise DataError("give either a named dataset (--dataset) or your own files (--train), not both")
    if d.dataset:
        if not get_spec(d.dataset).labelled:
            raise DataError(f"{d.dataset} is unlabelled and cannot train a classifier")
        train = load_dataset(d.dataset, "train", d.data_dir)
        test = load_dataset(d.dataset, "test", d.data_dir)
    elif "train" in frames:
        train, test = frames["train"], frames.get("test")
    elif d.train:
        train = _read(d, d.train, group_column=d.group_column)
        test = _read(d, d.test) if d.test else None
    else:
        raise DataError("nothing to train on: give --dataset NAME or --train FILE")
    report = data_report(train, test)
    if d.max_train_samples and len(train) > d.max_train_samples:
        train = _stratified_sample(train, d.max_train_samples, split_seed)
    if test is not None and d.max_test_samples and len(test) > d.max_test_samples:
        test = _stratified_sample(test, d.max_test_samples, split_seed)
    if "valid" in frames:
        valid = frames["valid"]
    elif d.valid:
        valid = _read(d, d.valid)
    elif d.group_column:
        train, valid = _grouped_split(train, d, split_seed)
    else:
        counts = train["label"].value_counts()
        n_valid = max(1, round(len(train) * d.valid_fraction))
        if len(train) - n_valid < 1:
            raise DataError(f"only {len(train)} training example(s): too few to carve out a validation split")
        # Stratifying needs two examples per class and a validation slot for each class.
        stratify = train["label"] if counts.min() >= 2 and n_valid >= len(counts) else None
        train, valid = train_test_split(train, test_size=n_valid, random_state=split_seed, stratify=stratify)
    train = train.reset_index(drop=True)
    train.attrs["data_report"] = report
    return train, valid.reset_index(drop=True), test


def _read(d: DataConfig, path: str, group_column: str | None = None) -> pd.DataFrame:
    return read_texts(path, d.text_column, d.label_column, group_column=group_column, encoding=d.encoding,
                      encoding_errors=d.encoding_errors, empty=d.empty)


def data_report(train: pd.DataFrame, test: pd.DataFrame | None) -> dict[str, Any]:
    """Counts of what is odd in the data (skipped empty texts, duplicates, test texts seen in training),
    logged as warnings and written to data.json: duplicates are kept, but never unnoticed."""
    report: dict[str, Any] = {"train": _split_report(train, "training")}
    if test is not None:
        report["test"] = _split_report(test, "test")
        seen = int(test["text"].isin(set(train["text"])).sum())
        report["test"]["texts_in_train"] = seen
        if seen:
            log.warning("data: %d test text(s) also appear in the training data; test metrics flatter the model",
                        seen)
    return report


def _split_report(df: pd.DataFrame, name: str) -> dict[str, int]:
    duplicates = int(df.duplicated(["text", "label"]).sum())
    labels_per_text = df.groupby("text", sort=False)["label"].nunique()
    conflicting = int((labels_per_text > 1).sum())
    out = {"rows": len(df), "empty_skipped": int(df.attrs.get("empty_skipped", 0)), "duplicate_rows": duplicates,
           "conflicting_texts": conflicting}
    if duplicates:
        log.warning("data: %d duplicate row(s) (same text and label) in the %s data, kept", duplicates, name)
    if conflicting:
        log.warning("data: %d text(s) appear with different labels in the %s data", conflicting, name)
    return out


def _grouped_split(train: pd.DataFrame, d: DataConfig, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Validation split with whole groups on one side, stratified by label as far as groups allow."""
    from sklearn.model_selection import StratifiedGroupKFold

    if "group" not in train.columns:
        raise DataError(f"--group-column {d.group_column!r}: this dataset has no grouping; for your own file name a "
                        "column that says what each text is about")
    n_splits = max(2, round(1 / d.valid_fraction))
    folds = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    train_idx, valid_idx = next(folds.split(train, train["label"], groups=train["group"]))
    return train.iloc[train_idx], train.iloc[valid_idx]


def _stratified_sample(df: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    counts = df["label"].value_counts()
    stratify = df["label"] if counts.min() >= 2 and n >= len(counts) else None
    part, _ = train_test_split(df, train_size=n, random_state=seed, stratify=stratify)
    return part.sort_index()


def sort_labels(labels: list[str]) -> list[str]:
    # Integers in numeric order ("2" before "10"), everything else alphabetically.
    return sorted(labels, key=lambda s: (0, int(s), "") if s.lstrip("-").isdigit() else (1, 0, s))


def train(output: str | Path | None = None, *, overwrite: bool = False, progress: bool = True,
          report: bool = True, **overrides: Any) -> Run:
    """Train a model; ``overrides`` are config sections (``data={...}, model={...}, train={...}``) or
    flat options (``dataset="imdb", preset="bilstm", epochs=3``), the same as the CLI flags."""
    frames = {k: overrides.pop(k) for k in ("train", "valid", "test") if isinstance(overrides.get(k), pd.DataFrame)}
    cfg = resolve_config(nest(overrides))
    if frames:
        cfg.data.train = cfg.data.train or "<in-memory DataFrame>"
    run_dir = Path(output) if output is not None else None
    if run_dir is not None:
        _prepare_run_dir(run_dir, overwrite)
    return _train(cfg, run_dir, resume=False, progress=progress, frames=frames, report=report)


def resume(run_dir: str | Path, progress: bool = True, epochs: int | None = None, report: bool = True) -> Run:
    """Continue an interrupted run from its last checkpoint, with the config it was started with."""
    run_dir = Path(run_dir)
    if not (run_dir / "config.json").is_file():
        raise DataError(f"{run_dir}: not a senti run directory (no config.json)")
    cfg = RunConfig.from_dict(read_json(run_dir / "config.json"))
    # An ensemble keeps its checkpoints in its members' runs (members/NAME), which resume one by one.
    if not checkpoint_path(run_dir).is_file() and not is_ensemble(cfg.model):
        raise DataError(f"{run_dir}: no checkpoint to resume from (checkpoints/last.ckpt)")
    for folder in (run_dir, run_dir / "checkpoints"):
        for p in remove_stale_temps(folder):  # left by a process that was killed mid-write
            log.info("removed %s, an unfinished write", p)
    check_writable(run_dir)
    if epochs is not None:
        cfg.train.epochs = epochs
    return _train(cfg, run_dir, resume=True, progress=progress, report=report)


def _prepare_run_dir(run_dir: Path, overwrite: bool) -> None:
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


def _train(cfg: RunConfig, run_dir: Path | None, resume: bool, progress: bool,
           frames: dict[str, pd.DataFrame] | None = None, report: bool = True) -> Run:
    t0 = time.perf_counter()
    configure_cpu(cfg.train.num_threads)
    torch.manual_seed(cfg.train.seed)
    train_df, valid_df, test_df = load_splits(cfg, frames)
    if run_dir is not None and not resume:
        write_json(run_dir / "data.json", train_df.attrs.get("data_report", {}))
    labels = sort_labels(train_df["label"].unique().tolist())
    if cfg.data.dataset and get_spec(cfg.data.dataset).label_names:
        # Ordinal scales keep their order (very negative … very positive), not the alphabet's.
        labels = [v for v in get_spec(cfg.data.dataset).label_names.values() if v in labels]
    if len(labels) < 2:
        raise DataError(f"the training data has a single class ({labels[0]!r}); a classifier needs at least two")
    if len(labels) > MAX_CLASSES:
        raise DataError(f"the training data has {len(labels)} distinct labels (e.g. {labels[:3]}); is "
                        f"--label-column {cfg.data.label_column!r} the column that holds the sentiment?")
    for name, df in (("validation", valid_df), ("test", test_df)):
        if df is not None:
            unknown = sorted(set(df["label"]) - set(labels))
            if unknown:
                raise DataError(f"the {name} data has label(s) {unknown} that the training data lacks "
                                f"(training labels: {labels})")

    if is_ensemble(cfg.model):
        return _train_ensemble(cfg, run_dir, resume, progress, frames, labels, train_df, valid_df, test_df, t0,
                               report)
    cleaner = Cleaner(cfg.clean)
    train_tokens = [tokenize(cleaner(t)) for t in train_df["text"]]
    index = {lab: i for i, lab in enumerate(labels)}
    train_y = train_df["label"].map(index).to_numpy()
    valid_y = valid_df["label"].map(index).to_numpy()
    if not is_neural(cfg.model):
        return _train_linear(cfg, run_dir, labels, train_tokens, train_y, valid_df, valid_y, test_df, t0, report)
    encoder = None
    if cfg.train.encoder and not resume:  # a resumed run has the weights in its checkpoint
        from senti.training.lm import load_encoder

        encoder = load_encoder(cfg.train.encoder)
    if resume and run_dir is not None:
        vocab = Vocabulary(read_json(run_dir / "vocab.json"))
    elif encoder is not None:
        vocab = encoder.vocab
    else:
        vocab = Vocabulary.build(train_tokens, cfg.vocab.max_size, cfg.vocab.min_count)
    vectors, starts = None, {}
    if cfg.train.embeddings and not resume:
        vectors, coverage = _read_embeddings(cfg, vocab, train_tokens)
        starts["embeddings"] = {"path": cfg.train.embeddings, "coverage": coverage}
    if resume and run_dir is not None and (run_dir / "pretrained.json").is_file():
        starts = read_json(run_dir / "pretrained.json")
    if encoder is not None:
        starts["encoder"] = {"path": cfg.train.encoder, "pretraining": {
            k: encoder.pretraining.get(k) for k in ("source", "texts", "tokens", "epochs_run", "seconds")}}
    v = cfg.vocab
    train_ids = [vocab.encode(t, v.max_length, v.truncate) for t in train_tokens]
    del train_tokens
    valid_ids = [vocab.encode(tokenize(cleaner(t)), v.max_length, v.truncate) for t in valid_df["text"]]
    log.info("data: %d train / %d validation / %s test examples, %d classes %s, vocabulary %d, %.1fs to prepare",
             len(train_ids), len(valid_ids), len(test_df) if test_df is not None else "no", len(labels), labels,
             len(vocab), time.perf_counter() - t0)

    cfg.model = full_model_config({**cfg.model, "vocab_size": len(vocab), "num_classes": len(labels)})
    torch.manual_seed(cfg.train.seed)
    net = build_model(cfg.model)
    if encoder is not None and not resume:
        from senti.training.lm import load_encoder_weights

        load_encoder_weights(net, encoder)
        log.info("encoder: embeddings and %d RNN layer(s) from %s", cfg.model["num_layers"], cfg.train.encoder)
    if vectors is not None:
        with torch.no_grad():
            net.embedding.weight.copy_(torch.from_numpy(vectors))
    if run_dir is not None and not resume:
        write_json(run_dir / "config.json", cfg.to_dict())
        write_json(run_dir / "env.json", environment(cfg.train.seed))
        write_json(run_dir / "vocab.json", vocab.itos)
        if starts:
            write_json(run_dir / "pretrained.json", starts)
    callbacks = [lambda s: _write_history(run_dir, s)] if run_dir else []
    if cfg.train.tensorboard and run_dir is not None:
        callbacks.append(_tensorboard_logger(run_dir / "tensorboard"))

    def on_epoch_end(state: TrainState) -> None:
        for callback in callbacks:
            callback(state)

    trainer = Trainer(net, cfg.train, checkpoint_dir=run_dir / "checkpoints" if run_dir else None,
                      progress=progress, on_epoch_end=on_epoch_end)
    if resume and run_dir is not None:
        trainer.load_checkpoint(checkpoint_path(run_dir))
        log.info("resuming %s at epoch %d, step %d", run_dir, trainer.state.epoch + 1, trainer.state.step)
    state = trainer.fit(train_ids, train_y, valid_ids, valid_y)
    net.cpu().eval()

    model = SentimentModel(net, vocab, labels, cfg.clean, cfg.vocab, cfg.model,
                           {"training": {**describe_state(state), "preset": cfg.preset,
                                         "dataset": cfg.data.dataset or cfg.data.train, **starts}})
    return _finish(model, state, cfg, run_dir, test_df, t0, report)


def _read_embeddings(cfg: RunConfig, vocab: Vocabulary, train_tokens: list[list[str]]
                     ) -> tuple[np.ndarray, dict[str, Any]]:
    """Pretrained vectors for the vocabulary (found words; random rows of the same scale for the rest); the
    embedding size follows the vectors. Coverage is logged and kept in the run's data.json."""
    from collections import Counter

    from senti.text.vectors import align_vectors, read_vectors

    words, vectors = read_vectors(cfg.train.embeddings, set(vocab.itos))
    counts = Counter(t for tokens in train_tokens for t in tokens)
    matrix, coverage = align_vectors(vocab.itos, words, vectors, counts=counts, seed=cfg.train.seed)
    if cfg.model.get("embedding_dim") != matrix.shape[1]:
        log.info("embeddings: embedding size %d, from the vectors", matrix.shape[1])
        cfg.model["embedding_dim"] = int(matrix.shape[1])
    log.info("embeddings: %d of %d vocabulary words found in %s (%.1f%% of training tokens)%s", coverage["found"],
             coverage["vocab_size"], cfg.train.embeddings, 100 * (coverage["token_fraction"] or 0),
             "; frozen" if cfg.train.freeze_embeddings else "")
    return matrix, coverage


def _finish(model: SentimentModel, state: TrainState, cfg: RunConfig, run_dir: Path | None,
            test_df: pd.DataFrame | None, t0: float, report: bool = True,
            scored: tuple[np.ndarray, float] | None = None) -> Run:
    """Test metrics (once, at the end), history, metrics.json and the bundle. ``scored``: the test
    probabilities and the seconds they took, when the caller already has them."""
    metrics, errors = None, []
    if test_df is not None:
        t_eval = time.perf_counter()
        texts, truth = test_df["text"].tolist(), test_df["label"].tolist()
        proba, before = scored if scored is not None else (model.predict_proba(texts), 0.0)
        metrics = classification_metrics(truth, list(model.classes_[proba.argmax(1)]), model.labels)
        metrics["eval_seconds"] = before + time.perf_counter() - t_eval
        errors = confident_errors(texts, truth, proba, model.labels)
        metrics["train_seconds"] = state.elapsed
        metrics["total_seconds"] = time.perf_counter() - t0
        log.info("test: accuracy %.4f, macro-F1 %.4f on %d examples", metrics["accuracy"], metrics["macro_f1"],
                 metrics["n"])
    if run_dir is not None:
        _write_history(run_dir, state)
        model.metadata["metrics"] = {k: metrics[k] for k in ("accuracy", "macro_f1", "n")} if metrics else None
        model.save(run_dir / "model")
        if metrics is not None:
            write_json(run_dir / "metrics.json", metrics)
            write_json(run_dir / "errors.json", errors)
        if report:
            from senti.evaluation.report import write_report

            log.info("report: %s", write_report(run_dir, model))
    return Run(model, state.history, metrics, run_dir, cfg)


def _train_linear(cfg: RunConfig, run_dir: Path | None, labels: list[str], train_tokens: list[list[str]],
                  train_y: np.ndarray, valid_df: pd.DataFrame, valid_y: np.ndarray, test_df: pd.DataFrame | None,
                  t0: float, report: bool = True) -> Run:
    """Classical baselines: one fit with scikit-learn, then the same evaluation and bundle as the networks."""
    from sklearn.metrics import f1_score, log_loss

    cfg.model = {**cfg.model, "num_classes": len(labels)}
    if cfg.model.get("architecture") == "senti.forest.v1":
        cfg.model.setdefault("seed", cfg.train.seed)
    net = build_model(cfg.model)
    if run_dir is not None:
        write_json(run_dir / "config.json", cfg.to_dict())
        write_json(run_dir / "env.json", environment(cfg.train.seed))
    t_fit = time.perf_counter()
    net.fit(train_tokens, train_y)
    cfg.model = full_model_config(cfg.model) | {"vocab_size": net.config.vocab_size}
    model = SentimentModel(net, None, labels, cfg.clean, cfg.vocab, cfg.model,
                           {"training": {"preset": cfg.preset, "dataset": cfg.data.dataset or cfg.data.train}})
    proba = model.predict_proba(valid_df["text"].tolist())
    pred = proba.argmax(1)
    state = TrainState(epoch=1, elapsed=time.perf_counter() - t_fit, best_epoch=1)
    state.history = [{"epoch": 1, "val_loss": float(log_loss(valid_y, proba, labels=range(len(labels)))),
                      "val_accuracy": float((pred == valid_y).mean()),
                      "val_macro_f1": float(f1_score(valid_y, pred, average="macro")),
                      "samples_per_s": len(train_y) / max(state.elapsed, 1e-9), "elapsed_s": state.elapsed}]
    state.best = state.history[0]["val_accuracy"]
    log.info("%s: %d n-gram features, fitted in %.1fs, val_acc %.4f", cfg.model["kind"], net.config.vocab_size,
             state.elapsed, state.best)
    return _finish(model, state, cfg, run_dir, test_df, t0, report)


def _train_ensemble(cfg: RunConfig, run_dir: Path | None, resume: bool, progress: bool,
                    frames: dict[str, pd.DataFrame] | None, labels: list[str], train_df: pd.DataFrame,
                    valid_df: pd.DataFrame, test_df: pd.DataFrame | None, t0: float, report: bool) -> Run:
    """Train each member as a run of its own (same data, split and seed) under RUN_DIR/members/NAME, then
    fit the stacker on the validation split, which no member trained on; then refit the n-gram members on
    train + validation (``refit``)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score, log_loss
    from sklearn.model_selection import cross_val_predict

    _warn_if_items_span_the_split(cfg)
    cfg.model = full_model_config({**cfg.model, "num_classes": len(labels)})
    if run_dir is not None and not resume:
        write_json(run_dir / "config.json", cfg.to_dict())
        write_json(run_dir / "env.json", environment(cfg.train.seed))
    net = build_model(cfg.model)
    member_metrics = {}
    for name in net.config.members:
        member_dir = run_dir / "members" / name if run_dir is not None else None
        if member_dir is not None and (member_dir / "model" / "senti-model.json").is_file():
            log.info("ensemble: member %s already trained in %s", name, member_dir)
            member = SentimentModel.load(member_dir, runtime="torch")
            metrics = read_json(member_dir / "metrics.json") if (member_dir / "metrics.json").is_file() else None
        else:
            log.info("ensemble: training member %s", name)
            if member_dir is not None and checkpoint_path(member_dir).is_file():
                run = _train(RunConfig.from_dict(read_json(member_dir / "config.json")), member_dir, True, progress,
                             report=False)
            else:
                if member_dir is not None:
                    _prepare_run_dir(member_dir, overwrite=True)
                run = _train(_member_config(cfg, name), member_dir, False, progress, frames, report=False)
            member, metrics = run.model, run.metrics
        net.members[name] = member
        member_metrics[name] = {k: metrics[k] for k in ("accuracy", "macro_f1")} if metrics else None
    index = {lab: i for i, lab in enumerate(labels)}
    valid_y = valid_df["label"].map(index).to_numpy()
    t_fit = time.perf_counter()
    features = net.features(valid_df["text"].tolist())
    # The stacker is fitted on the validation split, so its scores there are measured by cross-validation.
    proba = cross_val_predict(LogisticRegression(C=net.config.C, max_iter=1000), features, valid_y,
                              cv=min(5, int(np.bincount(valid_y).min())), method="predict_proba")
    pred = proba.argmax(1)
    net.fit_features(features, valid_y)
    row = {"epoch": 1, "val_loss": float(log_loss(valid_y, proba, labels=range(len(labels)))),
           "val_accuracy": float((pred == valid_y).mean()),
           "val_macro_f1": float(f1_score(valid_y, pred, average="macro")), "elapsed_s": time.perf_counter() - t_fit}
    state = TrainState(epoch=1, elapsed=time.perf_counter() - t0, best_epoch=1, best=row["val_accuracy"])
    state.history = [row]
    weights = net.member_weights()
    log.info("ensemble: stacker fitted on %d validation texts, cross-validated accuracy %.4f; member weights %s",
             len(valid_y), row["val_accuracy"], {k: round(v, 2) for k, v in weights.items()})
    refitted = _refit_members(net, pd.concat([train_df, valid_df], ignore_index=True))
    state.elapsed = time.perf_counter() - t0
    scored = None
    if test_df is not None:
        # One pass over the test texts gives the stack's probabilities and each refitted member's own.
        t_eval = time.perf_counter()
        test_features = net.features(test_df["text"].tolist())
        scored = (net.combine(test_features), time.perf_counter() - t_eval)
        k = len(labels)
        for name in refitted:
            i = net.config.members.index(name)
            member = net.members[name]
            pred = member.classes_[test_features[:, i * k:(i + 1) * k].argmax(1)]
            m = classification_metrics(test_df["label"].tolist(), list(pred), member.labels)
            member.metadata["metrics"] = {key: m[key] for key in ("accuracy", "macro_f1", "n")}
            refitted[name]["test_accuracy"] = m["accuracy"]
            log.info("ensemble: member %s refitted, test accuracy %.4f", name, m["accuracy"])
    model = SentimentModel(net, None, labels, cfg.clean, cfg.vocab, cfg.model,
                           {"training": {"preset": cfg.preset, "dataset": cfg.data.dataset or cfg.data.train,
                                         "members": member_metrics, "member_weights": weights,
                                         "refitted": refitted}})
    return _finish(model, state, cfg, run_dir, test_df, t0, report, scored)


def _refit_members(net: Any, data: pd.DataFrame) -> dict[str, Any]:
    """Train the n-gram members again on ``data`` (train + validation) once the stacker is fitted; the bundle
    keeps these, RUN_DIR/members/NAME keeps the member as the stacker saw it.

    Why: the validation split is 10 % more labelled text, and an n-gram model learns from every rare phrase it
    sees (NB-SVM uni+bi+trigrams on IMDB test: 91.57 % from 22.5k reviews, 91.71 % from 25k; the stack of it
    with a BiGRU and a CNN on word2vec: 92.44 → 92.55 %). The stacker's weights stay those learned from the
    members trained without validation, which are slightly weaker on unseen text than the refitted ones: the
    stack then trusts the n-gram model a little less than it could, never more. Networks are not refitted: a
    second training is another draw (the same BiGRU retrained on 25k for its best epoch scored 90.52 % against
    the first's 91.34 %), whose epoch count validation could no longer check.
    """
    if net.config.refit == "none":
        return {}
    done = {}
    for name, member in net.members.items():
        if is_neural(member.model_config):
            continue
        t = time.perf_counter()
        index = {lab: i for i, lab in enumerate(member.labels)}
        fresh = build_model(member.model_config)
        fresh.fit([member.tokens(text) for text in data["text"]], data["label"].map(index).to_numpy())
        refitted = SentimentModel(fresh, None, member.labels, member.clean_config, member.vocab_config,
                                  {**member.model_config, "vocab_size": fresh.config.vocab_size},
                                  {**member.metadata, "refit": {"texts": len(data), "of": "train + validation"}})
        done[name] = {"texts": len(data), "seconds": round(time.perf_counter() - t, 1)}
        net.members[name] = refitted
        log.info("ensemble: member %s refitted on %d texts (train + validation) in %.1fs", name, len(data),
                 done[name]["seconds"])
    return done


def _warn_if_items_span_the_split(cfg: RunConfig) -> None:
    """The stacker learns how far to trust each member from the validation split. When a dataset's texts come
    in groups (IMDB: up to 30 reviews per movie) and the split is random, a member that memorises the items
    looks better there than it is on unseen ones, and the stacker over-trusts it."""
    d = cfg.data
    if d.dataset and get_spec(d.dataset).group and not d.group_column and not d.valid:
        log.warning("ensemble: %s groups its texts (by %s) and this validation split is random, so it shares items "
                    "with training and the stacker over-trusts members that memorise them; --group-column group "
                    "keeps each item on one side, as the test split does", d.dataset, get_spec(d.dataset).group)


def stack(run_dirs: list[str | Path], output: str | Path, *, overwrite: bool = False, refit: str = "linear",
          progress: bool = True, report: bool = True) -> Run:
    """Stack finished runs (any model types) into one ensemble: a logistic regression on their
    log-probabilities, fitted on the validation split they share. The runs must have read the same data with
    the same split; they are copied into OUTPUT/members/ and the ensemble bundle holds them all (with the
    n-gram members trained again on train + validation unless ``refit="none"``)."""
    runs = [Path(r) for r in run_dirs]
    if len(runs) < 2:
        raise ValueError("stacking needs at least two runs")
    configs = []
    for r in runs:
        if not (r / "config.json").is_file() or not (r / "model" / "senti-model.json").is_file():
            raise DataError(f"{r}: not a finished senti run (config.json and model/ are needed)")
        configs.append(RunConfig.from_dict(read_json(r / "config.json")))
    names = [r.name for r in runs]
    if len(set(names)) != len(names):
        raise ValueError(f"runs to stack need distinct folder names, got {names}")

    def split_of(c: RunConfig) -> dict[str, Any]:
        d = {k: getattr(c.data, k) for k in ("dataset", "train", "valid", "test", "valid_fraction", "group_column",
                                              "max_train_samples", "text_column", "label_column")}
        return {**d, "split_seed": c.train.seed if c.data.split_seed is None else c.data.split_seed}

    for r, c in zip(runs[1:], configs[1:], strict=True):
        if split_of(c) != split_of(configs[0]):
            raise ValueError(f"{r} did not train on the same data and validation split as {runs[0]}: "
                             f"{split_of(c)} vs {split_of(configs[0])}; the stacker would fit on texts a member saw")
    cfg = configs[0]
    cfg.data.split_seed = split_of(cfg)["split_seed"]
    cfg.preset = "stack"
    cfg.model = {"architecture": "senti.ensemble.v1", "members": names, "refit": refit}
    out = Path(output)
    _prepare_run_dir(out, overwrite)
    for r in runs:
        target = out / "members" / r.name
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(r, target, ignore=shutil.ignore_patterns("checkpoints"))
    return _train(cfg, out, resume=False, progress=progress, report=report)


def _member_config(cfg: RunConfig, member: str) -> RunConfig:
    """The run's data, cleaning, vocabulary and training settings with the member's own model; an encoder
    or word vectors go to neural members only. ``PRESET@K`` is the preset trained with seed + K: another
    network for the stack, on the same split (the split keeps the ensemble's seed)."""
    preset, _, offset = member.partition("@")
    d = cfg.to_dict()
    d.pop("model")
    if not is_neural(resolve_preset(preset)["model"]):
        d["train"] = {k: v for k, v in d["train"].items() if k not in ("encoder", "embeddings")}
    d["data"]["split_seed"] = cfg.train.seed if cfg.data.split_seed is None else cfg.data.split_seed
    d["train"]["seed"] = cfg.train.seed + int(offset or 0)
    return resolve_config({**d, "preset": preset})


def _tensorboard_logger(log_dir: Path):
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


def _write_history(run_dir: Path, state: TrainState) -> None:
    write_json(run_dir / "history.json", {"epochs": state.history, **describe_state(state)})
    if state.history:
        df = pd.DataFrame(state.history)
        atomic_write(run_dir / "history.csv", lambda tmp: df.to_csv(tmp, index=False))


SECTION_OF = {
    **{k: "data" for k in ("dataset", "train_file", "valid", "test", "text_column", "label_column", "data_dir",
                           "split_seed",
                           "valid_fraction", "group_column", "max_train_samples", "max_test_samples", "encoding",
                           "encoding_errors", "empty")},
    **{k: "vocab" for k in ("max_size", "min_count", "max_length", "truncate")},
    **{k: "train" for k in ("optimizer", "lr", "weight_decay", "batch_size", "epochs", "patience", "monitor",
                            "clip_grad_norm", "seed", "device", "bf16", "num_threads", "max_minutes",
                            "checkpoint_every", "tensorboard", "embeddings", "freeze_embeddings", "encoder",
                            "lr_decay", "gradual_unfreeze")},
    **{k: "model" for k in ("cell", "embedding_dim", "hidden_size", "num_layers", "bidirectional", "pooling",
                            "dense_size", "dropout", "embedding_dropout", "kernel_sizes", "num_filters",
                            "architecture", "refit")},
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
        elif key in {"html", "urls", "emails", "mentions", "hashtags", "numbers", "punctuation", "lowercase",
                     "repeated_chars", "emoji", "stopwords", "stem"}:
            out.setdefault("clean", {})[key] = value
        else:
            raise TypeError(f"unknown training option {key!r}")
    if "config" in out:
        from senti.config import load_toml

        out = merge(load_toml(out.pop("config")), out)
    return out

"""A run's train / validation / test frames: read, sampled and split, with the oddities of the data counted.

Validation is carved out of the training data, never out of the test data."""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd
from sklearn.model_selection import train_test_split

from senti.config import DataConfig, RunConfig
from senti.data.datasets import get_spec, label_order, load_dataset
from senti.data.labels import settle_labels, suggest_label_map
from senti.data.phrases import sentence_split
from senti.data.readers import DataError, read_texts, select_texts

log = logging.getLogger("senti")

MAX_CLASSES = 100  # more distinct labels than this is a wrong --label-column, not a sentiment scale


def load_splits(cfg: RunConfig, frames: dict[str, pd.DataFrame] | None = None
                ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame | None]:
    """Train, validation and (optional) test frames. Validation is carved out of train, never out of test.
    ``frames``: the user's own DataFrames as :func:`user_frames` returns them."""
    d = cfg.data
    split_seed = cfg.train.seed if d.split_seed is None else d.split_seed
    frames = frames or {}
    if d.dataset and d.train and d.train != IN_MEMORY:
        raise DataError("give either a named dataset (--dataset) or your own files (--train), not both")
    if d.dataset:
        if not get_spec(d.dataset).labelled:
            raise DataError(f"{d.dataset} is unlabelled and cannot train a classifier")
        train = load_dataset(d.dataset, "train", d.data_dir)
        test = load_dataset(d.dataset, "test", d.data_dir)
    elif "train" in frames:
        train, test = frames["train"], frames.get("test")
    elif d.train == IN_MEMORY:
        raise DataError("this run trained on an in-memory DataFrame that was not saved with it; train it again")
    elif d.train:
        train = _read(d, d.train, group_column=d.group_column)
        test = _read(d, d.test) if d.test else None
    else:
        raise DataError("nothing to train on: give --dataset NAME or --train FILE")
    report = data_report(train, test)
    valid = frames["valid"] if "valid" in frames else _read(d, d.valid) if d.valid else None
    # One place for label spellings: the user's --label-map, and case variants merged or refused. Before the
    # split, so that the split stratifies by the classes the model will learn.
    train, valid, test = settle_labels([train, valid, test], d.label_map, d.fold_label_case)
    if d.max_train_samples and len(train) > d.max_train_samples:
        train = _stratified_sample(train, d.max_train_samples, split_seed)
    if test is not None and d.max_test_samples and len(test) > d.max_test_samples:
        test = _stratified_sample(test, d.max_test_samples, split_seed)
    classes = set(train["label"])
    if len(classes) > MAX_CLASSES:
        example = sort_labels(list(classes))[:3]
        raise DataError(f"the training data has {len(classes)} distinct labels (e.g. {example}); "
                        f"is --label-column {d.label_column!r} the column that holds the sentiment?")
    if valid is None and d.group_column and d.valid_sentences:
        raise DataError("give either --group-column or --valid-sentences: a validation split keeps groups or "
                        "sentences whole, not both")
    rows, how = len(train), "file"
    if valid is None and d.group_column:
        (train, valid), how = _grouped_split(train, d, split_seed), "groups"
    elif valid is None and d.valid_sentences:
        (train, valid), how = sentence_split(train, text_key(train["text"]), d.valid_fraction, split_seed), "sentences"
    elif valid is None:
        (train, valid), how = _validation_split(train, d.valid_fraction, split_seed), "random"
    report["validation"] = {"split": how, "rows": len(valid)}
    if how == "sentences":  # the phrases only held-out sentences contain, and repeats of those sentences
        report["validation"]["training_rows_left_out"] = rows - len(train) - len(valid)
    lost = sorted(classes - set(train["label"]))
    if lost:
        raise DataError(f"the validation split took every training example of class(es) {lost} (the data has "
                        f"{len(classes)} classes); add examples of them, or give a validation file with --valid")
    _warn_thin_validation(train, valid)
    train = train.reset_index(drop=True)
    train.attrs["data_report"] = report
    return train, valid.reset_index(drop=True), test


IN_MEMORY = "<in-memory DataFrame>"  # what a run's config records for data given as DataFrames
MIN_VALID_PER_CLASS = 5  # fewer validation examples of a class than this: its validation scores are noise


def user_frames(frames: dict[str, pd.DataFrame], d: DataConfig) -> dict[str, pd.DataFrame]:
    """The user's DataFrames (``train``, ``valid``, ``test``) as ``text``/``label`` frames, their columns named
    by ``d.text_column``/``d.label_column`` (and ``d.group_column`` for train), empty texts as ``d.empty`` says."""
    return {k: select_texts(v, f"{k} DataFrame", d.text_column, d.label_column,
                            d.group_column if k == "train" else None, empty=d.empty) for k, v in frames.items()}


def text_key(texts: pd.Series) -> pd.Series:
    """Texts compared as a reader would: case and runs of white space do not make two texts different."""
    return texts.str.casefold().str.split().str.join(" ")


def _validation_split(train: pd.DataFrame, fraction: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A random validation split, stratified by label, that keeps identical texts on one side (validation
    scores of a text the model trained on say nothing) and never takes a class's only example. On data with
    neither duplicates nor single-example classes it is exactly ``train_test_split``."""
    key = text_key(train["text"])
    repeated = key.duplicated(keep="first").to_numpy()
    units = train[~repeated]  # one row per distinct text
    if repeated.any():
        log.warning("data: %d text(s) appear more than once (%d rows in all); each stays on one side of the "
                    "validation split, as --group-column keeps a group", int(key[repeated].nunique()),
                    int(key.isin(set(key[repeated])).sum()))
    counts = units["label"].value_counts()
    lone = units[units["label"].isin(counts[counts < 2].index)]
    pool = units.drop(lone.index)
    n_valid = max(1, round(len(units) * fraction))
    if len(lone):
        shown = ", ".join(repr(v) for v in sorted(lone["label"])[:5]) + (", …" if len(lone) > 5 else "")
        if len(pool) - n_valid < 1:
            raise DataError(f"{len(units)} distinct training text(s) and class(es) {shown} have a single example: a "
                            "validation split would take a class's only example. Give each class at least two "
                            "examples, or a validation file with --valid")
        log.warning("data: class(es) %s have a single example, kept for training: validation cannot score them",
                    shown)
    if len(pool) - n_valid < 1:
        raise DataError(f"only {len(units)} training example(s): too few to carve out a validation split")
    pool_counts = pool["label"].value_counts()
    # Stratifying needs two examples per class and a validation slot for each class.
    stratify = pool["label"] if pool_counts.min() >= 2 and n_valid >= len(pool_counts) else None
    fit, held = train_test_split(pool, test_size=n_valid, random_state=seed, stratify=stratify)
    fit, held = _every_class_on_both_sides(fit, held, seed, validate_all=stratify is not None)
    if len(lone):
        fit = pd.concat([fit, lone])
    if not repeated.any():
        return fit, held
    in_valid = key.isin(set(key[held.index])).to_numpy()
    return train[~in_valid], train[in_valid]


def _every_class_on_both_sides(fit: pd.DataFrame, held: pd.DataFrame, seed: int, validate_all: bool
                               ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Swap single rows so that every class is trained and, when the split has room for each (``validate_all``),
    validated: a rounded stratified share of a small class can be zero. Each swap keeps both sizes."""
    import numpy as np

    rng = np.random.default_rng(seed)
    for label in sorted(set(held["label"]) - set(fit["label"])):
        held, fit = _swap(held, fit, label, rng)
    if validate_all:
        for label in sorted(set(fit["label"]) - set(held["label"])):
            fit, held = _swap(fit, held, label, rng)
    return fit, held


def _swap(src: pd.DataFrame, dst: pd.DataFrame, label: str, rng) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Move one row of ``label`` from ``src`` to ``dst``, and one row of ``dst``'s largest class back."""
    biggest = dst["label"].value_counts().idxmax()
    give = rng.choice(src.index[src["label"] == label].to_numpy())
    back = rng.choice(dst.index[dst["label"] == biggest].to_numpy())
    return pd.concat([src.drop(give), dst.loc[[back]]]), pd.concat([dst.drop(back), src.loc[[give]]])


def _warn_thin_validation(train: pd.DataFrame, valid: pd.DataFrame) -> None:
    counts = valid["label"].value_counts()
    thin = {label: int(counts.get(label, 0)) for label in sort_labels(train["label"].unique().tolist())
            if counts.get(label, 0) < MIN_VALID_PER_CLASS}
    if thin:
        log.warning("data: the validation split holds only %s example(s) of class(es) %s: validation scores (and "
                    "the epoch early stopping keeps) say little about them; give more examples or a larger "
                    "--valid-fraction", "/".join(str(n) for n in thin.values()), ", ".join(map(repr, thin)))


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


def class_labels(cfg: RunConfig, train: pd.DataFrame, valid: pd.DataFrame, test: pd.DataFrame | None) -> list[str]:
    """The classes a run learns, in the order the model reports them; refuses data that cannot train one."""
    labels = sort_labels(train["label"].unique().tolist())
    if cfg.data.dataset and get_spec(cfg.data.dataset).label_names:
        # Ordinal scales keep their order (very negative … very positive), not the alphabet's.
        labels = label_order(cfg.data.dataset, labels)
    if len(labels) < 2:
        raise DataError(f"the training data has a single class ({labels[0]!r}); a classifier needs at least two")
    if len(labels) > MAX_CLASSES:
        raise DataError(f"the training data has {len(labels)} distinct labels (e.g. {labels[:3]}); is "
                        f"--label-column {cfg.data.label_column!r} the column that holds the sentiment?")
    for name, df in (("validation", valid), ("test", test)):
        if df is not None:
            unknown = sorted(set(df["label"]) - set(labels))
            if unknown:
                raise DataError(f"the {name} data has label(s) {unknown} that the training data lacks "
                                f"(training labels: {labels}); if they are other spellings, map them with "
                                f"{suggest_label_map(unknown, labels)}")
    return labels

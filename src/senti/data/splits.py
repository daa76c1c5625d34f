"""A run's train / validation / test frames: read, sampled and split, with the oddities of the data counted.

Validation is carved out of the training data, never out of the test data."""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd
from sklearn.model_selection import train_test_split

from senti.config import DataConfig, RunConfig
from senti.data.datasets import get_spec, load_dataset
from senti.data.labels import settle_labels, suggest_label_map
from senti.data.readers import DataError, normalise, read_texts

log = logging.getLogger("senti")

MAX_CLASSES = 100  # more distinct labels than this is a wrong --label-column, not a sentiment scale


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
    # One place for label spellings: the user's --label-map, and case variants merged or refused.
    train, valid, test = settle_labels([train, valid, test], d.label_map, d.fold_label_case)
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


def class_labels(cfg: RunConfig, train: pd.DataFrame, valid: pd.DataFrame, test: pd.DataFrame | None) -> list[str]:
    """The classes a run learns, in the order the model reports them; refuses data that cannot train one."""
    labels = sort_labels(train["label"].unique().tolist())
    if cfg.data.dataset and get_spec(cfg.data.dataset).label_names:
        # Ordinal scales keep their order (very negative … very positive), not the alphabet's.
        labels = [v for v in get_spec(cfg.data.dataset).label_names.values() if v in labels]
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

"""Read labelled or unlabelled texts from the file formats users have: CSV, TSV, JSONL, Parquet, or a
folder laid out like aclImdb (``<label>/*.txt``). Every reader returns a DataFrame with ``text`` and, when
labelled, ``label`` columns (labels as strings)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

TABLE_SUFFIXES = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl",
                  ".json": "json", ".parquet": "parquet", ".pq": "parquet", ".txt": "txt"}
COMPRESSIONS = {".gz", ".bz2", ".xz", ".zip", ".zst"}


class DataError(ValueError):
    """Input data that cannot be used as asked; the message says what was found and what to do."""


def detect_format(path: str | Path) -> str:
    p = Path(path)
    if p.is_dir():
        return "folder"
    suffixes = [s.lower() for s in p.suffixes]
    while suffixes and suffixes[-1] in COMPRESSIONS:
        suffixes.pop()
    if suffixes and suffixes[-1] in TABLE_SUFFIXES:
        return TABLE_SUFFIXES[suffixes[-1]]
    raise DataError(f"{path}: cannot tell the format from the name; use one of "
                    f"{sorted(TABLE_SUFFIXES)} (optionally compressed) or a folder of <label>/*.txt")


def read_frame(path: str | Path, fmt: str | None = None) -> pd.DataFrame:
    """Read a whole table as strings (no NaN guessing: 'NA' stays a word, empty stays empty)."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    fmt = fmt or detect_format(path)
    try:
        if fmt in ("csv", "tsv"):
            return pd.read_csv(path, sep="," if fmt == "csv" else "\t", dtype=str, keep_default_na=False,
                               encoding="utf-8")
        if fmt == "jsonl":
            return pd.read_json(path, lines=True, dtype=False)
        if fmt == "json":
            return pd.read_json(path, dtype=False)
        if fmt == "parquet":
            return pd.read_parquet(path)
        if fmt == "txt":
            with open(path, encoding="utf-8") as f:
                return pd.DataFrame({"text": [line.rstrip("\n") for line in f]})
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: not valid UTF-8 at byte {e.start}: {e.reason}") from e
    except (ValueError, json.JSONDecodeError) as e:
        raise DataError(f"{path}: could not be read as {fmt}: {e}") from e
    if fmt == "folder":
        return read_folder(path)
    raise DataError(f"unknown format {fmt!r}")


def read_folder(path: str | Path, skip: tuple[str, ...] = ("unsup",)) -> pd.DataFrame:
    """Read ``path/<label>/*.txt`` (the aclImdb layout); the sub-folder name is the label."""
    path = Path(path)
    rows = []
    for label_dir in sorted(p for p in path.iterdir() if p.is_dir() and p.name not in skip):
        for f in sorted(label_dir.glob("*.txt"), key=_natural_key):
            try:
                rows.append((f.read_text(encoding="utf-8"), label_dir.name))
            except UnicodeDecodeError as e:
                raise DataError(f"{f}: not valid UTF-8 at byte {e.start}") from e
    if not rows:
        raise DataError(f"{path}: no <label>/*.txt files found (expected a layout like aclImdb/train/pos/0_9.txt)")
    return pd.DataFrame(rows, columns=["text", "label"])


def _natural_key(p: Path) -> tuple:
    stem = p.stem.split("_")[0]
    return (0, int(stem), p.name) if stem.isdigit() else (1, 0, p.name)


def read_texts(path: str | Path, text_column: str = "text", label_column: str | None = "label",
               fmt: str | None = None, group_column: str | None = None) -> pd.DataFrame:
    """Read a labelled (or, with ``label_column=None``, unlabelled) dataset into ``text``/``label`` columns,
    plus ``group`` (e.g. the product or movie a review is about) when ``group_column`` is given."""
    df = read_frame(path, fmt)
    if detect_format(path) == "folder":
        text_column, label_column = "text", "label" if label_column else None
    if text_column not in df.columns:
        raise DataError(f"{path}: no text column {text_column!r}; columns present: {list(df.columns)} "
                        f"(choose one with --text-column)")
    out = pd.DataFrame({"text": df[text_column]})
    if label_column:
        if label_column not in df.columns:
            raise DataError(f"{path}: no label column {label_column!r}; columns present: {list(df.columns)} "
                            f"(choose one with --label-column)")
        out["label"] = df[label_column]
    if group_column:
        if group_column not in df.columns:
            raise DataError(f"{path}: no group column {group_column!r}; columns present: {list(df.columns)}")
        out["group"] = df[group_column].astype(str)
    return normalise(out, str(path))


def normalise(df: pd.DataFrame, source: str) -> pd.DataFrame:
    """Coerce texts and labels to str and reject rows that would be silently wrong."""
    text = df["text"]
    missing = text.isna()
    if missing.any():
        raise DataError(f"{source}: {int(missing.sum())} row(s) have no text (first at row "
                        f"{int(missing.to_numpy().nonzero()[0][0])})")
    df = df.assign(text=text.astype(str))
    if "label" in df.columns:
        labels = df["label"]
        if labels.isna().any() or (labels.astype(str) == "").any():
            bad = labels.isna() | (labels.astype(str) == "")
            raise DataError(f"{source}: {int(bad.sum())} row(s) have an empty label (first at row "
                            f"{int(bad.to_numpy().nonzero()[0][0])})")
        df = df.assign(label=labels.map(_label_str))
    return df.reset_index(drop=True)


def _label_str(v: object) -> str:
    # 1 and 1.0 and "1" are one label, whether a spreadsheet stored it as a number or a string.
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()

"""Read labelled or unlabelled texts from the file formats users have: CSV, TSV, JSONL, Parquet, or a
folder laid out like aclImdb (``<label>/*.txt``). Every reader returns a DataFrame with ``text`` and, when
labelled, ``label`` columns (labels as strings).

Scraped files are messy, so every way a file can be wrong ends in a :class:`DataError` that names the file,
the row and what to do, and nothing is dropped without a count: undecodable bytes are located (byte, line,
row) or replaced on request (``encoding_errors="replace"``), empty texts are skipped with a warning or refused
(``empty="error"``), and labels that mix numbers and words are refused. Rows are numbered from 1, the first
row after the header.
"""

from __future__ import annotations

import bz2
import codecs
import contextlib
import csv
import gzip
import io
import json
import logging
import lzma
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pandas as pd

from senti.data.labels import canonical_label
from senti.errors import DataError

log = logging.getLogger("senti")

TABLE_SUFFIXES = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl",
                  ".json": "json", ".parquet": "parquet", ".pq": "parquet", ".txt": "txt"}
COMPRESSIONS = {".gz", ".bz2", ".xz", ".zip", ".zst"}
ENCODING_ERRORS = ("strict", "replace")
EMPTY_POLICIES = ("skip", "error")


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


def codec(encoding: str, errors: str = "strict") -> str:
    """The Python codec for a user's ``--encoding``; UTF-8 reads through a byte-order mark (Excel writes one)."""
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        raise DataError(f"unknown encoding {encoding!r}; try utf-8, cp1252 or latin-1") from None
    if errors not in ENCODING_ERRORS:
        raise DataError(f"errors must be one of {ENCODING_ERRORS}, got {errors!r}")
    return "utf-8-sig" if name == "utf-8" else name


def read_frame(path: str | Path, fmt: str | None = None, encoding: str = "utf-8",
               encoding_errors: str = "strict") -> pd.DataFrame:
    """Read a whole table as strings (no NaN guessing: 'NA' stays a word, empty stays empty)."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    fmt = fmt or detect_format(path)
    if fmt == "folder":
        return read_folder(path, encoding=encoding, encoding_errors=encoding_errors)
    enc = codec(encoding, encoding_errors)
    if path.stat().st_size == 0:
        raise DataError(f"{path}: the file is empty")
    with reading_errors(path, fmt, enc):
        if fmt in ("csv", "tsv"):
            return pd.read_csv(path, dtype=str, keep_default_na=False, encoding=enc, encoding_errors=encoding_errors,
                               **csv_options(path, fmt, enc, encoding_errors))
        if fmt == "jsonl":
            return next(iter_jsonl(path, enc, encoding_errors))
        if fmt == "json":
            return pd.read_json(path, dtype=False, encoding=enc, encoding_errors=encoding_errors)
        if fmt == "parquet":
            return pd.read_parquet(path)
        if fmt == "txt":
            with open_text(path, enc, encoding_errors) as f:
                return pd.DataFrame({"text": [line.rstrip("\r\n") for line in f]})
    raise DataError(f"unknown format {fmt!r}")


@contextlib.contextmanager
def reading_errors(path: str | Path, fmt: str, enc: str) -> Iterator[None]:
    """Turn what pandas and the codecs raise while reading ``path`` into one-line ``DataError``s."""
    try:
        with warnings.catch_warnings():
            # With index_col=False (csv_options) pandas only warns when the first rows hold more fields than the
            # header, and drops the extra ones; without it, it would take the first column as an index and shift
            # every text and label one column along.
            warnings.simplefilter("error", pd.errors.ParserWarning)
            yield
    except pd.errors.ParserWarning as e:
        raise DataError(f"{path}: a row has more fields than the header, so its text would be cut at a separator "
                        "or moved to another column; quote texts that contain the separator") from e
    except UnicodeDecodeError as e:
        raise DataError(decode_error_message(path, fmt, enc, e)) from e
    except pd.errors.EmptyDataError as e:
        raise DataError(f"{path}: the file is empty (no header row)") from e
    except DataError:
        raise
    except ValueError as e:  # pandas' ParserError: a malformed row
        raise DataError(unreadable_message(path, fmt, e)) from e
    except FileNotFoundError as e:
        raise DataError(f"{path}: no such file") from e


def iter_jsonl(path: str | Path, enc: str, errors: str = "strict", chunk_size: int | None = None
               ) -> Iterator[pd.DataFrame]:
    """JSON Lines as DataFrames of ``chunk_size`` records (one frame of all when None); blank lines are not rows,
    and a line that is not a JSON object is an error naming the line, not a row lost."""
    records: list[dict] = []
    with open_text(path, enc, errors) as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as e:
                raise DataError(f"{path}: line {n} is not valid JSON ({e.msg} at column {e.colno}); fix or remove "
                                "it") from e
            if not isinstance(record, dict):
                raise DataError(f"{path}: line {n} is a JSON {type(record).__name__}, not an object with named fields")
            records.append(record)
            if chunk_size and len(records) == chunk_size:
                yield pd.DataFrame.from_records(records)
                records = []
    if records or not chunk_size:
        yield pd.DataFrame.from_records(records)


def unreadable_message(path: str | Path, fmt: str, error: Exception) -> str:
    hint = "; quote texts that contain the separator" if isinstance(error, pd.errors.ParserError) else ""
    return f"{path}: could not be read as {fmt}: {_one_line(error)}{hint}"


def csv_options(path: str | Path, fmt: str, enc: str, errors: str) -> dict[str, object]:
    """``pandas.read_csv`` separator and quoting for a CSV or TSV file."""
    if fmt == "csv":
        return {"sep": ",", "index_col": False}
    return {"sep": "\t", "quoting": tsv_quoting(path, enc, errors), "index_col": False}


def tsv_quoting(path: str | Path, enc: str, errors: str = "strict") -> int:
    """CSV-style quoting when every quote in the file is well formed (what pandas and Excel write), else none.

    Corpus TSVs carry quotes as text (``"Wow" is all I can say<TAB>pos``); read with quoting, one stray quote
    would swallow the following rows into a single text and shift every label after it."""
    with open_text(path, enc, errors) as f:
        try:
            for _ in csv.reader(f, delimiter="\t", strict=True):
                pass
        except csv.Error:
            log.info("%s: quotes that do not enclose whole fields; reading quotes as text", path)
            return csv.QUOTE_NONE
    return csv.QUOTE_MINIMAL


def open_binary(path: str | Path) -> IO[bytes]:
    """Open a possibly compressed file for reading its decompressed bytes."""
    suffix = Path(path).suffix.lower()
    opener = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}.get(suffix, open)
    return opener(path, "rb")


def open_text(path: str | Path, enc: str, errors: str = "strict") -> IO[str]:
    return io.TextIOWrapper(open_binary(path), encoding=enc, errors=errors, newline="")


def decode_error_message(path: str | Path, fmt: str, enc: str, error: UnicodeDecodeError) -> str:
    """One line that says where the first undecodable byte is and how to read the file anyway."""
    where = locate_undecodable(path, fmt, enc)
    at = f"byte {where[0]} (line {where[1]}, row {where[2]})" if where else f"byte {error.start}"
    return (f"{path}: not valid {_display(enc)} at {at}: {error.reason}; re-save it as UTF-8, "
            "name its encoding with --encoding (e.g. cp1252), or pass --errors replace")


def _display(enc: str) -> str:
    return "UTF-8" if enc == "utf-8-sig" else enc


def locate_undecodable(path: str | Path, fmt: str, enc: str) -> tuple[int, int, int] | None:
    """(byte offset, line, row) of the first byte that does not decode, streaming the file.

    Rows count records after the header, so a quoted newline inside a text does not shift them."""
    found: dict[str, int] = {}
    lines = _lines_until_undecodable(path, enc, found)
    try:
        if fmt in ("csv", "tsv"):
            records = sum(1 for _ in csv.reader(lines, delimiter="," if fmt == "csv" else "\t"))
            row = records - 1  # the header is record 0
        else:
            row = sum(1 for _ in lines)
    except csv.Error:
        return None
    if "byte" not in found:
        return None
    return found["byte"], found["line"], row


def _lines_until_undecodable(path: str | Path, enc: str, found: dict[str, int]) -> Iterator[str]:
    """Decoded lines up to and including the one with the first bad byte (cut there, plus a marker)."""
    decoder = codecs.getincrementaldecoder(enc)("strict")
    offset, line, tail = 0, 0, ""
    with open_binary(path) as f:
        while block := f.read(1 << 16):
            pending = len(decoder.getstate()[0])
            try:
                text = decoder.decode(block)
            except UnicodeDecodeError as e:
                found["byte"] = offset - pending + e.start
                parts = (tail + e.object[:e.start].decode(enc, "replace")).split("\n")
                found["line"] = line + len(parts)
                yield from (p + "\n" for p in parts[:-1])
                yield parts[-1] + "\ufffd"  # the bad byte, so the row holding it is counted even if it starts there
                return
            offset += len(block)
            parts = (tail + text).split("\n")
            tail = parts.pop()
            line += len(parts)
            yield from (p + "\n" for p in parts)


def read_folder(path: str | Path, skip: tuple[str, ...] = ("unsup",), encoding: str = "utf-8",
                encoding_errors: str = "strict") -> pd.DataFrame:
    """Read ``path/<label>/*.txt`` (the aclImdb layout); the sub-folder name is the label."""
    path = Path(path)
    enc = codec(encoding, encoding_errors)
    rows = []
    for label_dir in sorted(p for p in path.iterdir() if p.is_dir() and p.name not in skip):
        for f in sorted(label_dir.glob("*.txt"), key=_natural_key):
            try:
                rows.append((f.read_bytes().decode(enc, encoding_errors), label_dir.name))
            except UnicodeDecodeError as e:
                raise DataError(f"{f}: not valid {_display(enc)} at byte {e.start}: {e.reason}; "
                                "name its encoding with --encoding, or pass --errors replace") from e
    if not rows:
        raise DataError(f"{path}: no <label>/*.txt files found (expected a layout like aclImdb/train/pos/0_9.txt)")
    return pd.DataFrame(rows, columns=["text", "label"])


def imdb_root(path: str | Path) -> tuple[Path, Path | None] | None:
    """``(ROOT/train, ROOT/test or None)`` when ``path`` is the root of an aclImdb-like tree
    (``ROOT/train/<label>/*.txt``) rather than a folder of ``<label>/*.txt`` itself; else None."""
    root = Path(path)
    if not root.is_dir() or _has_label_folders(root, skip=("train", "test", "unsup")):
        return None
    if not _has_label_folders(root / "train"):
        return None
    return root / "train", root / "test" if _has_label_folders(root / "test") else None


def _has_label_folders(path: Path, skip: tuple[str, ...] = ("unsup",)) -> bool:
    return path.is_dir() and any(next(d.glob("*.txt"), None) is not None
                                 for d in path.iterdir() if d.is_dir() and d.name not in skip)


def _natural_key(p: Path) -> tuple:
    stem = p.stem.split("_")[0]
    return (0, int(stem), p.name) if stem.isdigit() else (1, 0, p.name)


def read_texts(path: str | Path, text_column: str = "text", label_column: str | None = "label",
               fmt: str | None = None, group_column: str | None = None, *, encoding: str = "utf-8",
               encoding_errors: str = "strict", empty: str = "skip") -> pd.DataFrame:
    """Read a labelled (or, with ``label_column=None``, unlabelled) dataset into ``text``/``label`` columns,
    plus ``group`` (e.g. the product or movie a review is about) when ``group_column`` is given.

    ``encoding``/``encoding_errors`` say how to decode the bytes; ``empty`` what to do with rows whose text is empty
    or missing: ``"skip"`` them with a warning that counts them, or fail (``"error"``)."""
    df = read_frame(path, fmt, encoding, encoding_errors)
    if detect_format(path) == "folder":
        text_column, label_column = "text", "label" if label_column else None
    if encoding_errors == "replace":
        _warn_replaced(_column(df, text_column, path, "text").astype(str), path)
    return select_texts(df, str(path), text_column, label_column, group_column, empty=empty)


def select_texts(df: pd.DataFrame, source: str, text_column: str = "text", label_column: str | None = "label",
                 group_column: str | None = None, empty: str = "skip") -> pd.DataFrame:
    """The ``text``/``label`` (and ``group``) columns of a table a user gave (a file read, or their own
    DataFrame), named by the column options, normalised as :func:`normalise` does."""
    out = pd.DataFrame({"text": _column(df, text_column, source, "text")})
    if label_column:
        out["label"] = _column(df, label_column, source, "label")
    if group_column:
        out["group"] = _column(df, group_column, source, "group").astype(str)
    out = normalise(out, source, empty=empty)
    if out.empty:
        raise DataError(f"{source}: no rows with a text" + (" (all were empty)" if out.attrs["empty_skipped"] else ""))
    return out


def _column(df: pd.DataFrame, name: str, path: str | Path, role: str) -> pd.Series:
    if name not in df.columns:
        raise DataError(f"{path}: no {role} column {name!r}; columns present: {list(df.columns)} "
                        f"(choose one with --{role}-column)")
    return df[name]


def _warn_replaced(texts: pd.Series, path: str | Path) -> None:
    replaced = texts.astype(str).str.contains("\ufffd", regex=False)
    if replaced.any():
        log.warning("%s: %d row(s) had undecodable bytes, replaced by U+FFFD (first at row %d)", path,
                    int(replaced.sum()), _first_row(replaced))


def normalise(df: pd.DataFrame, source: str, empty: str = "skip") -> pd.DataFrame:
    """Coerce texts and labels to str and deal, loudly, with rows that would be silently wrong.

    The number of rows skipped for an empty text is kept in ``df.attrs["empty_skipped"]``."""
    if empty not in EMPTY_POLICIES:
        raise DataError(f"empty must be one of {EMPTY_POLICIES}, got {empty!r}")
    blank = _blank(df["text"])
    n_blank = int(blank.sum())
    if n_blank and empty == "error":
        raise DataError(f"{source}: {n_blank} row(s) have an empty text (first at row {_first_row(blank)}); "
                        "fill them in, or pass --empty skip to leave them out")
    if n_blank:
        log.warning("%s: skipped %d row(s) with an empty text (first at row %d); --empty error refuses them",
                    source, n_blank, _first_row(blank))
    df = df[~blank.to_numpy()]
    df = df.assign(text=df["text"].astype(str))
    if "label" in df.columns:
        df = df.assign(label=_labels(df["label"], source))
    df = df.reset_index(drop=True)
    df.attrs["empty_skipped"] = n_blank
    return df


def _blank(text: pd.Series) -> pd.Series:
    missing = text.isna()
    return missing | text.where(~missing, "").astype(str).str.strip().eq("")


def _labels(labels: pd.Series, source: str) -> pd.Series:
    """Labels as strings: 1, 1.0 and "1" are one label; empty labels and mixed numbers/words are errors."""
    bad = labels.isna() | (labels.astype(str).str.strip() == "")
    if bad.any():
        raise DataError(f"{source}: {int(bad.sum())} row(s) have an empty label (first at row "
                        f"{_first_row(bad)}); fill them in or remove those rows")
    out = labels.map(_label_str)
    numeric = out.str.fullmatch(r"[+-]?\d+(\.\d+)?")
    if numeric.any() and not numeric.all():
        # Two labelling schemes in one file (0/1 and neg/pos) would silently become four classes.
        odd = ~numeric if numeric.sum() >= len(out) / 2 else numeric
        raise DataError(f"{source}: labels mix numbers {sorted(set(out[numeric]))[:5]} and words "
                        f"{sorted(set(out[~numeric]))[:5]} (e.g. row {_first_row(odd)}); map them to one scheme")
    return out


def _first_row(mask: pd.Series) -> int:
    return int(mask.to_numpy().nonzero()[0][0]) + 1


def _one_line(e: Exception) -> str:
    return " ".join(str(e).split())


def _label_str(v: object) -> str:
    # 1 and 1.0 and "1" (and "1.0") are one label, whether a spreadsheet stored it as a number or a string.
    return canonical_label(v)

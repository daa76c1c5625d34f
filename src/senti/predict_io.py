"""Score files in bounded memory: read chunks, predict, append rows to the output; one output row per input
row, in input order. The output appears atomically when the whole input is scored."""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import pandas as pd

from senti.data.readers import (
    DataError,
    codec,
    csv_options,
    detect_format,
    iter_jsonl,
    open_text,
    reading_errors,
)
from senti.io import atomic_write

if TYPE_CHECKING:
    from senti.pipeline import SentimentModel
from senti.scoring.records import prediction_columns


def iter_chunks(path: str, text_column: str, chunk_size: int, encoding: str = "utf-8",
                encoding_errors: str = "strict", sep: str | None = None) -> Iterator[tuple[pd.DataFrame, list[str]]]:
    """Chunks of the input (all original columns kept) with their texts. ``sep`` overrides the separator of a
    CSV or TSV file (e.g. ``;`` for the CSV a European spreadsheet writes)."""
    enc = codec(encoding, encoding_errors)
    if path == "-":
        raw = getattr(sys.stdin, "buffer", None)  # a test or notebook may have replaced stdin with a text stream
        stdin = io.TextIOWrapper(raw, encoding=enc, errors=encoding_errors) if raw else sys.stdin
        try:
            yield from _line_chunks(stdin, chunk_size)
        except UnicodeDecodeError as e:
            raise DataError(f"stdin: not valid {encoding} ({e.reason}); name the encoding with --encoding, "
                            "or pass --errors replace") from e
        return
    fmt = detect_format(path)
    if fmt not in ("csv", "tsv", "jsonl", "txt", "parquet"):
        raise DataError(f"{path}: predict reads CSV, TSV, JSONL, Parquet or text files, not {fmt}")
    if sep is not None and fmt not in ("csv", "tsv"):
        raise DataError(f"{path}: a separator (--sep) applies to CSV and TSV files, not {fmt}")
    if Path(path).is_file() and Path(path).stat().st_size == 0:
        raise DataError(f"{path}: the file is empty")
    if fmt == "parquet":
        yield from _parquet_chunks(path, text_column, chunk_size)
        return
    if fmt in ("csv", "tsv"):
        options = csv_options(path, fmt, enc, encoding_errors)
        hint = "" if sep is not None else _separator_hint(path, enc, str(options["sep"]))
        if sep is not None:
            options["sep"] = _separator(sep)
        try:
            with reading_errors(path, fmt, enc):
                # Every line a row, as in a text file: pandas' blank-line skipping also drops a line of spaces,
                # which is how to_csv writes a text of white space, so the output lost that row.
                reader = pd.read_csv(path, dtype=str, keep_default_na=False, chunksize=chunk_size, encoding=enc,
                                     encoding_errors=encoding_errors, skip_blank_lines=False, **options)
                for chunk in reader:
                    yield _with_text(chunk, text_column, path)
        except DataError as e:
            raise DataError(f"{e}{hint}") from e
        return
    with reading_errors(path, fmt, enc):
        if fmt == "jsonl":
            for chunk in iter_jsonl(path, enc, encoding_errors, chunk_size):
                yield _with_text(chunk, text_column, path)
        else:
            with open_text(path, enc, encoding_errors) as f:
                yield from _line_chunks(f, chunk_size)


def _separator(sep: str) -> str:
    named = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}
    sep = named.get(sep.lower(), sep)
    if len(sep) != 1:
        raise DataError(f"--sep must be one character (or tab, comma, semicolon, pipe), got {sep!r}")
    return sep


def _separator_hint(path: str, enc: str, sep: str) -> str:
    """When the header line holds no ``sep`` but another separator: the file is most likely separated by that."""
    with open_text(path, enc, "replace") as f:
        header = f.readline()
    found = next((c for c in (";", "\t", "|", ",") if c != sep and c in header), None)
    if sep in header or found is None:
        return ""
    return f"; the header looks separated by {found!r}: pass --sep {'tab' if found == chr(9) else repr(found)}"


def _parquet_chunks(path: str, text_column: str, chunk_size: int) -> Iterator[tuple[pd.DataFrame, list[str]]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as e:
        raise DataError(f"{path}: not a readable Parquet file ({e})") from e
    if text_column not in parquet.schema_arrow.names:
        raise DataError(f"{path}: no text column {text_column!r}; columns present: {parquet.schema_arrow.names} "
                        "(choose one with --text-column)")
    for batch in parquet.iter_batches(batch_size=chunk_size):
        yield _with_text(batch.to_pandas(), text_column, path)


def _line_chunks(f: TextIO, chunk_size: int) -> Iterator[tuple[pd.DataFrame, list[str]]]:
    buf: list[str] = []
    for line in f:
        buf.append(line.rstrip("\r\n"))
        if len(buf) == chunk_size:
            yield pd.DataFrame({"text": buf}), buf
            buf = []
    if buf:
        yield pd.DataFrame({"text": buf}), buf


def _with_text(chunk: pd.DataFrame, text_column: str, path: str) -> tuple[pd.DataFrame, list[str]]:
    if text_column not in chunk.columns:
        raise DataError(f"{path}: no text column {text_column!r}; columns present: {list(chunk.columns)} "
                        "(choose one with --text-column)")
    # A missing cell (JSON null) is scored as an empty text, so the output keeps one row per input row.
    texts = ["" if v is None or (isinstance(v, float) and v != v) else str(v) for v in chunk[text_column]]
    return chunk, texts


def score_frame(model: SentimentModel, chunk: pd.DataFrame, texts: list[str], batch_size: int | None = None,
                n_process: int = 1) -> pd.DataFrame:
    proba = model.predict_proba(texts, batch_size, n_process)
    out = chunk.copy()
    for name, values in prediction_columns(model.labels, proba, texts).items():
        out[name] = values
    return out


def score_file(model: SentimentModel, src: str, dst: str | None, text_column: str = "text",
               chunk_size: int = 10_000, batch_size: int | None = None, encoding: str = "utf-8",
               encoding_errors: str = "strict", n_process: int = 1, sep: str | None = None) -> int:
    """Score ``src`` into ``dst`` (CSV/TSV/JSONL by extension; JSONL on stdout when ``dst`` is None)."""
    if dst is None:
        return _write_stream(model, iter_chunks(src, text_column, chunk_size, encoding, encoding_errors, sep),
                             sys.stdout, "jsonl", batch_size, n_process)
    out_fmt = detect_format(dst)
    if out_fmt not in ("csv", "tsv", "jsonl"):
        raise DataError(f"{dst}: predictions are written as .csv, .tsv or .jsonl")
    n = 0

    def write(tmp: str) -> None:
        nonlocal n
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            n = _write_stream(model, iter_chunks(src, text_column, chunk_size, encoding, encoding_errors, sep), f,
                              out_fmt, batch_size, n_process)

    atomic_write(dst, write)
    return n


def _write_stream(model: SentimentModel, chunks: Iterator[tuple[pd.DataFrame, list[str]]], f: TextIO, fmt: str,
                  batch_size: int | None, n_process: int = 1) -> int:
    n, first = 0, True
    for chunk, texts in chunks:
        scored = score_frame(model, chunk, texts, batch_size, n_process)
        if fmt == "jsonl":
            buf = io.StringIO()
            for rec in scored.to_dict(orient="records"):
                buf.write(json.dumps(rec, ensure_ascii=False) + "\n")
            f.write(buf.getvalue())
        else:
            # Every text quoted: minimal quoting leaves a bare "\r" unquoted, and readers take it for a row end.
            scored.to_csv(f, sep="," if fmt == "csv" else "\t", index=False, header=first,
                          quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n")
        f.flush()
        first = False
        n += len(scored)
    return n


"""Rationale spans in and out of files: the rows to extract spans from (given texts, a file, or a named
dataset's split) and the spans written as CSV, JSON lines or one readable line per text. `senti rationale` is
a thin layer over this and :mod:`senti.explain.rationale`."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path

import pandas as pd

from senti.errors import ConfigError


def span_rows(texts: Sequence[str] = (), input_file: str | Path | None = None, text_column: str = "text",
              label_column: str | None = None, sentiment: str = "predicted", dataset: str = "tweets",
              split: str = "train", rows: str = "eval", data_dir: str | Path | None = None,
              limit: int | None = None) -> pd.DataFrame:
    """The rows to find spans in: ``texts``, else the texts of ``input_file`` (with their ``label`` when
    ``sentiment="label"``), else the ``rows`` part of a named dataset's split (with human spans in
    ``selected_text`` where the split has them). At most ``limit`` rows."""
    from senti.data.readers import read_texts
    from senti.explain.rationale import select_rows

    if texts and input_file:
        raise ConfigError("give texts or an input file, not both")
    if not texts and not input_file:
        return select_rows(dataset, split, rows, data_dir, limit)
    if sentiment == "label" and not (input_file and label_column):
        raise ConfigError("the given sentiment (--sentiment label) needs an input file with a label column "
                          "(--input FILE --label-column NAME)")
    df = (pd.DataFrame({"text": list(texts)}) if texts
          else read_texts(input_file, text_column, label_column if sentiment == "label" else None))
    return df.iloc[:limit] if limit else df


def write_csv(df: pd.DataFrame, path: str | Path) -> None:
    from senti.io import atomic_write

    atomic_write(Path(path), lambda tmp: df.to_csv(tmp, index=False))


def span_lines(rows: pd.DataFrame, as_json: bool = False) -> Iterator[str]:
    """One line per text: a JSON object of every column (probability rounded to 6 places), or the sentiment,
    its probability, the span and the start of the text."""
    for r in rows.to_dict("records"):
        if as_json:
            yield json.dumps({k: (round(float(v), 6) if k == "probability" else v) for k, v in r.items()},
                             ensure_ascii=False, default=str)
        else:
            text = " ".join(r["text"].split())
            yield (f"{r['sentiment']:<10} {r['probability']:.3f}  {r['span'].strip()!r}  ←  "
                   f"{text if len(text) <= 70 else text[:67] + '...'}")

"""The one shape of a prediction, whoever asks: ``senti predict --json``, the server's ``/v1/predict`` and the
columns of a scored file.

    {"label": "positive", "confidence": 0.98, "probabilities": {"negative": 0.02, "positive": 0.98}}

plus ``"empty": true`` for a text with nothing but white space in it: the model still answers (its prior, in
effect), and the mark says that the answer is about no words at all. A scored file carries the same record
flat: ``pred_label``, ``pred_confidence``, ``prob_<label>`` and ``pred_empty``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def is_empty(text: str) -> bool:
    return not text or text.isspace()


def prediction_records(labels: Sequence[str], rows: Sequence[Sequence[float]], texts: Sequence[str],
                       digits: int | None = None) -> list[dict[str, Any]]:
    """One record per text from probability rows of plain floats; ``digits``: round the probabilities shown
    (the label is chosen before rounding)."""
    out = []
    for row, text in zip(rows, texts, strict=True):
        best = max(range(len(row)), key=row.__getitem__)
        if digits is not None:
            row = [round(v, digits) for v in row]
        record: dict[str, Any] = {"label": labels[best], "confidence": row[best],
                                  "probabilities": dict(zip(labels, row, strict=True))}
        if is_empty(text):
            record["empty"] = True
        out.append(record)
    return out


def prediction_columns(labels: Sequence[str], proba: np.ndarray, texts: Sequence[str], digits: int = 6
                       ) -> dict[str, Any]:
    """The records as table columns, in this order: ``pred_label``, ``pred_confidence``, ``prob_<label>`` per
    class, ``pred_empty``."""
    columns: dict[str, Any] = {"pred_label": np.asarray(labels, dtype=object)[proba.argmax(1)],
                               "pred_confidence": proba.max(1).round(digits)}
    for j, lab in enumerate(labels):
        columns[f"prob_{lab}"] = proba[:, j].round(digits)
    columns["pred_empty"] = np.fromiter((is_empty(t) for t in texts), dtype=bool, count=len(texts))
    return columns

"""Classification metrics (scikit-learn), calibration measures (senti.calibration) and their plain-text
rendering."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

from senti.calibration import N_BINS, brier_score, ece_noise, expected_calibration_error, reliability


def classification_metrics(y_true: Sequence[str], y_pred: Sequence[str] | None, labels: Sequence[str],
                           proba: np.ndarray | None = None) -> dict:
    """Accuracy, macro-F1, per-class precision/recall/F1/support and the confusion matrix. With ``proba``
    ((N, C), columns ordered like ``labels``): ``y_pred`` may be None (the arg max is taken), and the result
    also has ``ece`` (expected calibration error, 15 equal-width bins of the top-class confidence: see
    :func:`senti.calibration.expected_calibration_error`), ``ece_floor`` and ``ece_p`` (the ECE a perfectly
    calibrated model would show on this many examples, and how likely it would show this much: see
    :func:`senti.calibration.ece_noise`), ``brier`` (multi-class Brier score) and ``reliability`` (the bin
    table a reliability diagram draws)."""
    labels = list(labels)
    if y_pred is None:
        if proba is None:
            raise ValueError("give y_pred or proba")
        y_pred = [labels[i] for i in np.asarray(proba).argmax(axis=1)]
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    out = {
        "n": len(y_true),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_f1": float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)),
        "per_class": {
            lab: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i])}
            for i, lab in enumerate(labels)
        },
        "labels": labels,
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
    }
    if proba is not None:
        index = {lab: i for i, lab in enumerate(labels)}
        y = np.asarray([index[t] for t in y_true], dtype=np.int64)
        out["ece"] = expected_calibration_error(proba, y, N_BINS)
        out.update(ece_noise(proba, y, N_BINS))
        out["brier"] = brier_score(proba, y)
        out["reliability"] = reliability(proba, y, N_BINS)
    return out


def format_metrics(m: dict) -> str:
    labels = m["labels"]
    w = max(12, *(len(lab) for lab in labels))
    head = f"N={m['n']}  accuracy={m['accuracy']:.4f}  macro-F1={m['macro_f1']:.4f}"
    if "ece" in m:
        head += f"  ECE={m['ece']:.4f}  Brier={m['brier']:.4f}"
        if "ece_floor" in m:  # metrics.json files written before the floor existed lack it
            head += f"\n(a perfectly calibrated model shows ECE {m['ece_floor']:.4f} on {m['n']:,} examples by " \
                    f"chance; p = {m['ece_p']:.2f} that it shows {m['ece']:.4f} or more)"
    lines = [head, ""]
    lines.append(f"{'class':<{w}} {'precision':>9} {'recall':>9} {'f1':>9} {'support':>8}")
    for lab in labels:
        c = m["per_class"][lab]
        lines.append(f"{lab:<{w}} {c['precision']:9.4f} {c['recall']:9.4f} {c['f1']:9.4f} {c['support']:8d}")
    lines += ["", "confusion matrix (rows: true, columns: predicted)"]
    cw = max(8, *(len(lab) for lab in labels))
    lines.append(" " * w + " " + " ".join(f"{lab:>{cw}}" for lab in labels))
    for lab, row in zip(labels, np.asarray(m["confusion_matrix"]), strict=True):
        lines.append(f"{lab:<{w}} " + " ".join(f"{v:>{cw}d}" for v in row))
    return "\n".join(lines)

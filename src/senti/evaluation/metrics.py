"""Classification metrics (scikit-learn) and their plain-text rendering."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support


def classification_metrics(y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str]) -> dict:
    """Accuracy, macro-F1, per-class precision/recall/F1/support and the confusion matrix."""
    labels = list(labels)
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    return {
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


def format_metrics(m: dict) -> str:
    labels = m["labels"]
    w = max(12, *(len(lab) for lab in labels))
    lines = [f"N={m['n']}  accuracy={m['accuracy']:.4f}  macro-F1={m['macro_f1']:.4f}", ""]
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

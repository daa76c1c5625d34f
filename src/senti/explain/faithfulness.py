"""Faithfulness by deletion (DeYoung et al. 2020, "comprehensiveness"): if the words an explanation ranks
highest really drive the prediction, deleting them must change it more than deleting as many random words."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from senti.explain.attribution import attribute, word_spans

if TYPE_CHECKING:
    from senti.scoring import Classifier


def deletion_test(model: Classifier, texts: Sequence[str], method: str = "occlusion",
                  ks: Sequence[int] = (1, 2, 3), seed: int = 0, steps: int = 32) -> dict[int, dict[str, dict]]:
    """For each ``k``: delete the ``k`` top-attributed words, or ``k`` random words, of every text (texts need
    more than ``max(ks)`` words) and report the mean drop of the predicted class's probability and the share of
    predictions that change: ``{k: {"top": {...}, "random": {...}}}``."""
    rng = np.random.default_rng(seed)
    proba, scores = attribute(model, texts, method, steps=steps)
    pred = proba.argmax(1)
    rows = np.arange(len(texts))
    result = {}
    for k in ks:
        variants: dict[str, list[str]] = {"top": [], "random": []}
        for text, s in zip(texts, scores, strict=True):
            spans = word_spans(text)
            if len(spans) <= k:
                raise ValueError(f"every text needs more than {k} words; got {text!r}")
            for name, chosen in (("top", np.argsort(-s, kind="stable")[:k]),
                                 ("random", rng.choice(len(spans), k, replace=False))):
                drop = set(chosen.tolist())
                variants[name].append(" ".join(text[a:b] for i, (a, b) in enumerate(spans) if i not in drop))
        result[k] = {}
        for name, texts_without in variants.items():
            p = model.predict_proba(texts_without)
            result[k][name] = {"probability_drop": float(np.mean(proba[rows, pred] - p[rows, pred])),
                               "flipped": float(np.mean(p.argmax(1) != pred))}
    return result

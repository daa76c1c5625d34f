"""Rationales: the span of a tweet that carries its sentiment, taken from a classifier's word attributions
(no training on human spans), scored against the human ``selected_text`` of Kaggle's Tweet Sentiment Extraction
with that competition's word-level Jaccard.

The span is the contiguous run of words that maximises ``sum(score_i / max_score - penalty)``: each word earns
its share of the strongest word's contribution and pays a fixed price, so one strong word stands alone and a
phrase of strong words stays whole. Neutral texts keep the whole text (the human spans for neutral tweets are
the whole tweet 97 % of the time), as do very short texts and, when the sentiment is the model's own, predictions
it is unsure of. Several models can vote: their probabilities and scaled word scores are averaged.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from senti.explain.attribution import attribute, word_spans

if TYPE_CHECKING:
    from senti.pipeline import SentimentModel

# A fixed, stratified partition of the train split (independent of any run seed): "fit" may train a classifier,
# "dev" chooses the span settings, "eval" is the reported score. selected_text exists only in train.
PARTITION_SEED = 20_200_617
DEV_FRACTION = EVAL_FRACTION = 0.1
ROWS = ("eval", "dev", "holdout", "fit", "all")
NEUTRAL = "neutral"


@dataclass(frozen=True)
class SpanSettings:
    """How attributions become a span; the defaults were chosen on the dev rows (see bench/tweets.py)."""

    penalty: float = 0.2  # price of each word in units of the strongest word's score
    min_words: int = 2  # texts this short are their own rationale
    min_confidence: float = 0.9  # predicted sentiment only: a less sure prediction keeps the whole text


def jaccard(a: str, b: str) -> float:
    """Word-level Jaccard of the Kaggle competition: lower-cased whitespace words as sets."""
    x, y = set(a.lower().split()), set(b.lower().split())
    if not x and not y:
        return 1.0
    return len(x & y) / len(x | y)


def best_span(scores: np.ndarray, penalty: float) -> tuple[int, int]:
    """Word indices ``[i, j)`` of the contiguous run maximising ``sum(scores / max(scores) - penalty)``
    (Kadane's maximum subarray); ``(0, n)`` when no word has a positive score."""
    n = len(scores)
    top = float(np.max(scores)) if n else 0.0
    if top <= 0:
        return 0, n
    gain = scores / top - penalty
    best, best_i, best_j = -np.inf, 0, n
    run, run_i = 0.0, 0
    for j, g in enumerate(gain):
        if run <= 0:
            run, run_i = 0.0, j
        run += g
        if run > best:
            best, best_i, best_j = run, run_i, j + 1
    return best_i, best_j


def select_span(text: str, scores: np.ndarray, label: str, settings: SpanSettings = SpanSettings()) -> str:
    """The rationale of ``text`` for ``label`` given one attribution score per whitespace word."""
    spans = word_spans(text)
    if label == NEUTRAL or len(spans) <= settings.min_words:
        return text
    i, j = best_span(np.asarray(scores, dtype=np.float64), settings.penalty)
    return text[spans[i][0]:spans[j - 1][1]]


def top_word(text: str, scores: np.ndarray, label: str) -> str:
    """Baseline: the whole text for neutral, else the single highest-scoring word."""
    spans = word_spans(text)
    if label == NEUTRAL or not spans:
        return text
    a, b = spans[int(np.argmax(scores))]
    return text[a:b]


def load_selections(dataset: str = "tweets", split: str = "train", data_dir: str | Path | None = None
                    ) -> pd.DataFrame:
    """``text``, ``label``, ``selected_text`` (and ``textID``) of a dataset whose rows carry human spans."""
    from senti.data.datasets import find_data_dir, get_spec
    from senti.data.readers import DataError

    spec = get_spec(dataset)
    root = find_data_dir(dataset, data_dir)
    if root is None:
        raise DataError(f"dataset {dataset!r} not found; point senti at shared/data with --data-dir or SENTI_DATA_DIR")
    if split not in spec.files:
        raise DataError(f"{dataset} has no {split!r} split (it has {', '.join(spec.files)})")
    df = pd.read_csv(root / spec.folder / spec.files[split], dtype=str, keep_default_na=False)
    if "selected_text" not in df.columns:
        raise DataError(f"{dataset} {split} has no selected_text column: human spans exist only in the train split "
                        "of tweets (Kaggle Tweet Sentiment Extraction)")
    df = df[df["text"].str.strip() != ""]  # one train row is empty, as in the original
    return df.reset_index(drop=True)


def partition(df: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The fixed fit / dev / eval partition of a train split (stratified by label), plus ``holdout`` = dev + eval
    and ``all``."""
    fit, holdout = train_test_split(df, test_size=DEV_FRACTION + EVAL_FRACTION, random_state=PARTITION_SEED,
                                    stratify=df["label"])
    dev, evaluation = train_test_split(holdout, test_size=EVAL_FRACTION / (DEV_FRACTION + EVAL_FRACTION),
                                       random_state=PARTITION_SEED, stratify=holdout["label"])
    parts = {"fit": fit, "dev": dev, "eval": evaluation, "holdout": holdout, "all": df}
    return {k: v.sort_index() for k, v in parts.items()}


def select_rows(dataset: str = "tweets", split: str = "train", rows: str = "eval",
                data_dir: str | Path | None = None, limit: int | None = None) -> pd.DataFrame:
    """The rows of a split to score: one part of the fixed partition (train only) or ``all``; the first
    ``limit`` of them."""
    if rows not in ROWS:
        raise ValueError(f"rows must be one of {ROWS}, got {rows!r}")
    df = load_selections(dataset, split, data_dir)
    df = partition(df)[rows] if rows != "all" else df
    return df.iloc[:limit] if limit else df


def attributions_for(models: SentimentModel | Sequence[SentimentModel], texts: Sequence[str],
                     labels: Sequence[str] | None = None, method: str = "occlusion", batch_size: int = 256
                     ) -> tuple[list[str], np.ndarray, list[np.ndarray]]:
    """For each text: the sentiment its rationale is for (the given ``labels``, else the predicted one), the
    probability of that sentiment, and one score per word towards it.

    Several models form a committee: probabilities are averaged, and word scores too, each model's scaled by
    its largest magnitude in the text (a probability drop of a linear model and of a network differ in scale).
    """
    models = [models] if not isinstance(models, Sequence) else list(models)
    classes = models[0].labels
    if any(m.labels != classes for m in models):
        raise ValueError(f"a committee needs models with the same classes; got {[m.labels for m in models]}")
    proba = np.mean([m.predict_proba(texts, batch_size) for m in models], axis=0)
    index = {lab: i for i, lab in enumerate(classes)}
    target = proba.argmax(1) if labels is None else np.array([index[lab] for lab in labels])
    total = [np.zeros(len(word_spans(t)), dtype=np.float64) for t in texts]
    for m in models:
        _, scores = attribute(m, texts, method, targets=target, batch_size=batch_size)
        for acc, sc in zip(total, scores, strict=True):
            top = np.abs(sc).max(initial=0.0)
            acc += sc / top if top > 0 else 0.0
    chosen = [classes[k] for k in target]
    return chosen, proba[np.arange(len(texts)), target], [t / len(models) for t in total]


def evaluate_rationales(models: SentimentModel | Sequence[SentimentModel], df: pd.DataFrame,
                        method: str = "occlusion", sentiment: str = "predicted",
                        settings: SpanSettings = SpanSettings(), batch_size: int = 256) -> tuple[dict, pd.DataFrame]:
    """Jaccard of the extracted spans against ``selected_text``, next to the whole-text and top-word baselines
    computed from the same attributions. ``sentiment``: ``predicted`` (the model's label; a prediction less
    sure than ``settings.min_confidence`` keeps the whole text, as neutral does) or ``label`` (the given one, as
    in the competition, where the sentiment is an input). Returns (metrics, one row per text)."""
    if sentiment not in ("predicted", "label"):
        raise ValueError(f"sentiment must be 'predicted' or 'label', got {sentiment!r}")
    t0 = time.perf_counter()
    given = df["label"].tolist() if sentiment == "label" else None
    attributions = attributions_for(models, df["text"].tolist(), given, method, batch_size)
    seconds = time.perf_counter() - t0
    metrics, rows = score_spans(df, attributions, sentiment, settings)
    return {"method": method, **metrics, "attribution_seconds": seconds}, rows


def score_spans(df: pd.DataFrame, attributions: tuple[list[str], np.ndarray, list[np.ndarray]], sentiment: str,
                settings: SpanSettings) -> tuple[dict, pd.DataFrame]:
    """Spans from precomputed :func:`attributions_for` output, scored (so settings can be compared cheaply)."""
    chosen, confidence, scores = attributions
    if sentiment == "predicted":
        chosen = [lab if p >= settings.min_confidence else NEUTRAL for lab, p in zip(chosen, confidence, strict=True)]
    texts = df["text"].tolist()
    rows = df[["text", "label", "selected_text"]].copy()
    rows["sentiment"] = chosen
    rows["span"] = [select_span(t, s, lab, settings) for t, s, lab in zip(texts, scores, chosen, strict=True)]
    rows["top_word"] = [top_word(t, s, lab) for t, s, lab in zip(texts, scores, chosen, strict=True)]
    for col in ("span", "top_word", "text"):
        rows[f"jaccard_{col}"] = [jaccard(a, b) for a, b in zip(rows[col], rows["selected_text"], strict=True)]
    metrics = {
        "n": len(rows), "sentiment": sentiment, **asdict(settings),
        "jaccard": float(rows["jaccard_span"].mean()),
        "jaccard_whole_text": float(rows["jaccard_text"].mean()),
        "jaccard_neutral_whole_else_top_word": float(rows["jaccard_top_word"].mean()),
        "per_label": {lab: {"n": len(g), "jaccard": float(g["jaccard_span"].mean()),
                            "jaccard_whole_text": float(g["jaccard_text"].mean()),
                            "jaccard_neutral_whole_else_top_word": float(g["jaccard_top_word"].mean())}
                      for lab, g in rows.groupby("label")},
        "sentiment_agreement": float((rows["sentiment"] == rows["label"]).mean()),
    }
    return metrics, rows


def format_rationale_metrics(m: dict) -> str:
    """A short human-readable summary of :func:`evaluate_rationales` metrics."""
    lines = [f"n={m['n']}  method={m['method']}  sentiment={m['sentiment']}  penalty={m['penalty']}  "
             f"min_words={m['min_words']}" + (f"  min_confidence={m['min_confidence']}" if m["sentiment"] == "predicted"
                                              else ""),
             f"jaccard={m['jaccard']:.4f}  whole text={m['jaccard_whole_text']:.4f}  "
             f"neutral whole + top word={m['jaccard_neutral_whole_else_top_word']:.4f}"]
    for lab, r in m["per_label"].items():
        lines.append(f"  {lab:<10} n={r['n']:<6} jaccard={r['jaccard']:.4f}  whole text={r['jaccard_whole_text']:.4f}"
                     f"  top word={r['jaccard_neutral_whole_else_top_word']:.4f}")
    return "\n".join(lines)

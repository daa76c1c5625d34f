"""Rationales: the span of a tweet that carries its sentiment, taken from a classifier's word attributions
(no training on human spans), scored against the human ``selected_text`` of Kaggle's Tweet Sentiment Extraction
with that competition's word-level Jaccard.

The word scores are best read alone (``word-alone`` attributions: each word's log-odds for the sentiment), with a
human-rated lexicon's valence added (``lexicon``, see ``senti.explain.lexicon``) and a slight preference for
earlier words (``SpanSettings.position``). Two ways to turn word scores into a span (``SpanSettings.selection``):

- ``expected-jaccard`` (the default): each word's score, as a share of the strongest word's, becomes the
  probability that a person includes the word, ``sigmoid(slope * (score / top - midpoint))``, and the span is the
  contiguous run with the highest expected Jaccard against such a selection (``expected_jaccard_span``). With the
  dev-chosen settings a word scoring a quarter of the top one is a coin flip, half of it nearly sure: the span
  takes in every clearly sentimental word and the weak ones between them when that pays, and its length follows
  from the expected score rather than from a fixed price per word.
- ``max-subarray``: the run that maximises ``sum(score_i / max_score - penalty)`` (Kadane): each word earns its
  share of the strongest word's contribution and pays a fixed price.

Neutral texts keep the whole text (the human spans for neutral tweets are the whole tweet 97 % of the time), as
do very short texts and, when the sentiment is the model's own, predictions it is unsure of. Several models can
vote: their probabilities and scaled word scores are averaged.

``shift_after_spaces`` optionally reproduces a quirk of the Kaggle labels (see ``kaggle_offsets``): where a
text has extra spaces before the span, the human ``selected_text`` tends to start that many characters early,
mid-word. It is off by default (it makes spans look worse to people) and exists to score against that data.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from senti.errors import ConfigError, DataError
from senti.explain.attribution import attribute, word_spans
from senti.explain.lexicon import lexicon_prior

if TYPE_CHECKING:
    from senti.scoring import Classifier

# A fixed, stratified partition of the train split (independent of any run seed): "fit" may train a classifier,
# "dev" chooses the span settings, "eval" is the reported score. selected_text exists only in train.
PARTITION_SEED = 20_200_617
DEV_FRACTION = EVAL_FRACTION = 0.1
ROWS = ("eval", "dev", "holdout", "fit", "all")
NEUTRAL = "neutral"
_SPACES = re.compile(r"\s{2,}")


SELECTIONS = ("expected-jaccard", "max-subarray")
# Weight of the VADER prior on word-alone log-odds (attributions_for), chosen with the span settings by 5-fold
# cross-fitting from 0 / 0.5 / 1 with NB-SVM scores (bench/tweets.py --rationales-only).
LEXICON_WEIGHT = 0.5


@dataclass(frozen=True)
class SpanSettings:
    """How attributions become a span. The defaults were chosen by 5-fold cross-fitting on the fit + dev rows
    (24,732 tweets; bench/tweets.py --rationales-only) with NB-SVM word-alone scores, the VADER prior at
    ``LEXICON_WEIGHT`` and the given sentiment, from slope 8 / 16 / 32 x midpoint 0.125 / 0.25 / 0.375 x
    position 0 / 0.05 / 0.1 x shift_after_spaces 0 / 2: cross-fitted Jaccard 0.6717, 0.6801 with
    shift_after_spaces 2 (eval rows: 0.6804, 0.6879). Neighbouring settings are within 0.001. For the BiGRU's
    occlusion or word-alone scores max-subarray and expected-jaccard were within 0.004 of each other on dev and
    eval. penalty is the old default, for max-subarray."""

    penalty: float = 0.2  # max-subarray: price of each word in units of the strongest word's score
    min_words: int = 2  # texts this short are their own rationale
    min_confidence: float = 0.9  # predicted sentiment only: a less sure prediction keeps the whole text
    selection: str = "expected-jaccard"  # or "max-subarray"
    slope: float = 16.0  # expected-jaccard: p(word selected) = sigmoid(slope * (score / top - midpoint))
    midpoint: float = 0.375
    shift_after_spaces: int = 0  # >0: Kaggle's offset quirk (kaggle_offsets) from this many extra spaces
    position: float = 0.1  # lower each score by this share of the largest |score| times its place (0 first .. 1 last)

    def __post_init__(self) -> None:
        if self.selection not in SELECTIONS:
            raise ConfigError(f"selection must be one of {SELECTIONS}, got {self.selection!r}")
        if self.shift_after_spaces < 0:
            raise ConfigError(f"shift_after_spaces must be >= 0, got {self.shift_after_spaces}")
        if self.position < 0:
            raise ConfigError(f"position must be >= 0, got {self.position}")


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


def expected_jaccard_span(scores: np.ndarray, slope: float = 16.0, midpoint: float = 0.25) -> tuple[int, int]:
    """Word indices ``[i, j)`` of the contiguous run with the highest expected Jaccard against a selection that
    includes word ``k`` with probability ``p_k = sigmoid(slope * (scores[k] / max(scores) - midpoint))``,
    independently: ``E|S ∩ H| / E|S ∪ H| = sum_{k in S} p_k / (|S| + sum_{k not in S} p_k)`` (the ratio of the
    expectations, which the expectation of the ratio approaches as spans grow). ``(0, n)`` when no word has a
    positive score.

    Why: on the dev rows, max-subarray spans (penalty 0.1) were strictly inside the human span for 46 % of the
    positive and negative tweets with some evidence (and contained it for only 2 %): people select more. The
    expected Jaccard weighs a longer span's extra chances against its dilution instead of a fixed price per word
    (dev +0.003; simply widening every span by a word or two, or to its clause, gained nothing).
    """
    n = len(scores)
    top = float(np.max(scores)) if n else 0.0
    if top <= 0:
        return 0, n
    z = np.clip(slope * (np.asarray(scores, dtype=np.float64) / top - midpoint), -50, 50)
    p = 1.0 / (1.0 + np.exp(-z))
    cum = np.concatenate([[0.0], np.cumsum(p)])
    i, j = np.triu_indices(n + 1, 1)
    inside = cum[j] - cum[i]
    k = int(np.argmax(inside / ((j - i) + cum[-1] - inside)))
    return int(i[k]), int(j[k])


def extra_spaces(text: str, pos: int) -> int:
    """Whitespace characters before ``pos`` beyond one between words: all the leading ones, and ``k - 1`` of
    every inner run of ``k``."""
    head = text[:pos]
    stripped = head.lstrip()
    lead = len(head) - len(stripped)
    return lead + sum(len(m.group()) - 1 for m in _SPACES.finditer(stripped))


def kaggle_offsets(text: str, start: int, end: int, after: int = 2) -> tuple[int, int]:
    """Where a Kaggle human span over the words ``text[start:end]`` would lie: with ``x >= after`` extra spaces
    (``extra_spaces``) before ``start``, ``x`` characters earlier at the start and ``x - 2`` at the end; else
    unchanged (also when that would leave nothing but spaces).

    Kaggle's ``selected_text`` was cut from the tweet with character offsets that disagree with its extra
    spaces: 16 % of the positive and negative spans of the dev rows start or end mid-word (``'s fun,'`` in
    ``"It`s fun, believe me!"``). Against the whole words a person meant, the max-subarray spans would score
    0.689 on the dev rows instead of 0.670. The shift is the regular part: with two or more extra spaces before
    the span, the human span begins that many characters early about 60 % of the time on dev (with one, rarely),
    and its end moves by two fewer. On dev, shifting the start from two extra spaces on adds 0.006 to the Jaccard
    (from three: 0.002), and the end shift another 0.002 (shifting the end by ``x`` or ``x - 1`` loses 0.01).
    """
    x = extra_spaces(text, start)
    if after <= 0 or x < after:
        return start, end
    a, b = max(0, start - x), end - max(0, x - 2)
    return (a, b) if text[a:b].strip() else (start, end)


def select_span(text: str, scores: np.ndarray, label: str, settings: SpanSettings = SpanSettings()) -> str:
    """The rationale of ``text`` for ``label`` given one attribution score per whitespace word."""
    start, end = span_offsets(text, scores, label, settings)
    return text[start:end]


def span_offsets(text: str, scores: np.ndarray, label: str, settings: SpanSettings = SpanSettings()
                 ) -> tuple[int, int]:
    """Character offsets ``[start, end)`` of the rationale of ``text`` for ``label`` (``select_span``)."""
    spans = word_spans(text)
    if label == NEUTRAL or len(spans) <= settings.min_words:
        return 0, len(text)
    scores = np.asarray(scores, dtype=np.float64)
    # When a text says its sentiment more than once, people mark the earlier phrase a little more often than
    # the words' scores alone predict (cross-fitted Jaccard +0.0014 ± 0.0004 at 0.1).
    if settings.position and len(scores) > 1:
        scores = scores - settings.position * np.abs(scores).max() * np.linspace(0.0, 1.0, len(scores))
    if settings.selection == "max-subarray":
        i, j = best_span(scores, settings.penalty)
    else:
        i, j = expected_jaccard_span(scores, settings.slope, settings.midpoint)
    start, end = spans[i][0], spans[j - 1][1]
    if settings.shift_after_spaces:
        start, end = kaggle_offsets(text, start, end, settings.shift_after_spaces)
    return start, end


def top_word(text: str, scores: np.ndarray, label: str) -> str:
    """Baseline: the whole text for neutral, else the single highest-scoring word."""
    spans = word_spans(text)
    if label == NEUTRAL or not spans:
        return text
    a, b = spans[int(np.argmax(scores))]
    return text[a:b]


def load_rows(dataset: str = "tweets", split: str = "train", data_dir: str | Path | None = None) -> pd.DataFrame:
    """Every column of a named dataset's split as stored (``text``, ``label``, and for tweets ``textID`` and, in
    train, the human ``selected_text``), without rows whose text is empty."""
    from senti.data.datasets import find_data_dir, get_spec
    spec = get_spec(dataset)
    root = find_data_dir(dataset, data_dir)
    if root is None:
        raise DataError(f"dataset {dataset!r} not found; point senti at shared/data with --data-dir or SENTI_DATA_DIR")
    if split not in spec.files:
        raise DataError(f"{dataset} has no {split!r} split (it has {', '.join(spec.files)})")
    df = pd.read_csv(root / spec.folder / spec.files[split], dtype=str, keep_default_na=False)
    df = df[df["text"].str.strip() != ""]  # one train row is empty, as in the original
    return df.reset_index(drop=True)


def load_selections(dataset: str = "tweets", split: str = "train", data_dir: str | Path | None = None
                    ) -> pd.DataFrame:
    """``text``, ``label``, ``selected_text`` (and ``textID``) of a dataset whose rows carry human spans."""
    df = load_rows(dataset, split, data_dir)
    if "selected_text" not in df.columns:
        raise DataError(f"{dataset} {split} has no selected_text column: human spans exist only in the train split "
                        "of tweets (Kaggle Tweet Sentiment Extraction)")
    return df


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
    """The rows of a split: for a split with human spans (the train split of tweets), one part of the fixed
    partition or ``all``; a split without them (tweets test) is taken whole. The first ``limit`` of them."""
    if rows not in ROWS:
        raise ConfigError(f"rows must be one of {ROWS}, got {rows!r}")
    df = load_rows(dataset, split, data_dir)
    if "selected_text" in df.columns and rows != "all":
        df = partition(df)[rows]
    return df.iloc[:limit] if limit else df


def attributions_for(models: Classifier | Sequence[Classifier], texts: Sequence[str],
                     labels: Sequence[str] | None = None, method: str = "word-alone", batch_size: int = 256,
                     lexicon: float | None = None) -> tuple[list[str], np.ndarray, list[np.ndarray]]:
    """For each text: the sentiment its rationale is for (the given ``labels``, else the predicted one), the
    probability of that sentiment, and one score per word towards it.

    Several models form a committee: probabilities are averaged, and word scores too, each model's scaled by
    its largest magnitude in the text (a probability drop of a linear model and of a network differ in scale).

    ``lexicon`` > 0 adds that many times each word's VADER valence towards the sentiment (``lexicon_prior``) to
    every model's word-alone log-odds, before the scaling: both are in log-odds units, so only ``word-alone``
    takes it. ``None`` is ``LEXICON_WEIGHT`` for ``word-alone`` and 0 otherwise.
    """
    if lexicon is None:
        lexicon = LEXICON_WEIGHT if method == "word-alone" else 0.0
    if lexicon < 0:
        raise ConfigError(f"lexicon must be >= 0, got {lexicon}")
    if lexicon and method != "word-alone":
        raise ConfigError(f"the lexicon prior adds to word-alone log-odds; method {method!r} cannot take it")
    models = [models] if not isinstance(models, Sequence) else list(models)
    classes = models[0].labels
    if any(m.labels != classes for m in models):
        raise ConfigError(f"a committee needs models with the same classes; got {[m.labels for m in models]}")
    proba = np.mean([m.predict_proba(texts, batch_size) for m in models], axis=0)
    index = {lab: i for i, lab in enumerate(classes)}
    unknown = sorted({str(lab) for lab in labels} - set(index)) if labels is not None else []
    if unknown:
        raise DataError(f"sentiment label(s) {unknown} are not among the model's classes {classes}; give one of "
                        "those for each text, or use the predicted sentiment")
    target = proba.argmax(1) if labels is None else np.array([index[lab] for lab in labels])
    chosen = [classes[k] for k in target]
    spans = [word_spans(t) for t in texts]
    total = [np.zeros(len(sp), dtype=np.float64) for sp in spans]
    prior = [lexicon * lexicon_prior([t[a:b] for a, b in sp], lab) if lexicon else 0.0
             for t, sp, lab in zip(texts, spans, chosen, strict=True)]
    for m in models:
        _, scores = attribute(m, texts, method, targets=target, batch_size=batch_size)
        for acc, sc, pr in zip(total, scores, prior, strict=True):
            sc = sc + pr
            top = np.abs(sc).max(initial=0.0)
            acc += sc / top if top > 0 else 0.0
    return chosen, proba[np.arange(len(texts)), target], [t / len(models) for t in total]


def evaluate_rationales(models: Classifier | Sequence[Classifier], df: pd.DataFrame,
                        method: str = "word-alone", sentiment: str = "predicted",
                        settings: SpanSettings = SpanSettings(), batch_size: int = 256,
                        lexicon: float | None = None) -> tuple[dict, pd.DataFrame]:
    """Jaccard of the extracted spans against ``selected_text``, next to the whole-text and top-word baselines
    computed from the same attributions. ``sentiment``: ``predicted`` (the model's label; a prediction less
    sure than ``settings.min_confidence`` keeps the whole text, as neutral does) or ``label`` (the given one, as
    in the competition, where the sentiment is an input). ``lexicon``: weight of the VADER prior on word-alone
    scores (see :func:`attributions_for`); ``None`` is ``LEXICON_WEIGHT`` for ``word-alone`` and 0 otherwise.
    Returns (metrics, one row per text)."""
    if sentiment not in ("predicted", "label"):
        raise ConfigError(f"sentiment must be 'predicted' or 'label', got {sentiment!r}")
    if lexicon is None:  # resolved here too, to report it
        lexicon = LEXICON_WEIGHT if method == "word-alone" else 0.0
    t0 = time.perf_counter()
    given = df["label"].tolist() if sentiment == "label" else None
    attributions = attributions_for(models, df["text"].tolist(), given, method, batch_size, lexicon)
    seconds = time.perf_counter() - t0
    metrics, rows = score_spans(df, attributions, sentiment, settings)
    return {"method": method, "lexicon": lexicon, **metrics, "attribution_seconds": seconds}, rows


def extract_rationales(models: Classifier | Sequence[Classifier], texts: Sequence[str],
                       labels: Sequence[str] | None = None, method: str = "word-alone",
                       settings: SpanSettings = SpanSettings(), batch_size: int = 256,
                       lexicon: float | None = None, min_confidence: float = 0.0) -> pd.DataFrame:
    """The rationale of each text, for texts without human spans: one row per text with its ``sentiment`` (the
    given ``labels``, else the model's prediction), that sentiment's ``probability``, and the ``span`` with its
    character offsets ``start`` and ``end`` in the text. Neutral texts keep the whole text, and so does a
    predicted sentiment less sure than ``min_confidence`` (0 by default: the span of every prediction, with its
    probability to filter on; ``settings.min_confidence`` only applies when spans are scored). ``lexicon`` as
    in :func:`attributions_for`."""
    texts = list(texts)
    chosen, probability, scores = attributions_for(models, texts, labels, method, batch_size, lexicon)
    offsets = []
    for text, lab, p, sc in zip(texts, chosen, probability, scores, strict=True):
        sure = labels is not None or p >= min_confidence
        offsets.append(span_offsets(text, sc, lab if sure else NEUTRAL, settings))
    return pd.DataFrame({"text": texts, "sentiment": chosen, "probability": probability,
                         "span": [t[a:b] for t, (a, b) in zip(texts, offsets, strict=True)],
                         "start": [a for a, _ in offsets], "end": [b for _, b in offsets]})


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
    how = (f"penalty={m['penalty']}" if m.get("selection") == "max-subarray"
           else f"selection={m.get('selection')}  slope={m.get('slope')}  midpoint={m.get('midpoint')}")
    lines = [f"n={m['n']}  method={m['method']}  sentiment={m['sentiment']}  {how}  min_words={m['min_words']}"
             + (f"  min_confidence={m['min_confidence']}" if m["sentiment"] == "predicted" else "")
             + (f"  shift_after_spaces={m['shift_after_spaces']}" if m.get("shift_after_spaces") else "")
             + (f"  lexicon={m['lexicon']}" if m.get("lexicon") else ""),
             f"jaccard={m['jaccard']:.4f}  whole text={m['jaccard_whole_text']:.4f}  "
             f"neutral whole + top word={m['jaccard_neutral_whole_else_top_word']:.4f}"]
    for lab, r in m["per_label"].items():
        lines.append(f"  {lab:<10} n={r['n']:<6} jaccard={r['jaccard']:.4f}  whole text={r['jaccard_whole_text']:.4f}"
                     f"  top word={r['jaccard_neutral_whole_else_top_word']:.4f}")
    return "\n".join(lines)

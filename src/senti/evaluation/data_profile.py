"""A look at the data a run trained on, recorded in ``RUN_DIR/data_profile.json`` so that the report can show it
(and be rebuilt from the run's files alone): class balance per split, text lengths in tokens against
``max_length``, and each class's most distinctive words.

Lengths and words are counted on the tokens the model reads (after the run's cleaning), on at most
``sample`` texts per split drawn with a private random generator: the run's own random streams are untouched.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from senti.config import CleanConfig, RunConfig
from senti.io import read_json, write_json
from senti.models.registry import is_ensemble, is_neural, resolve_preset
from senti.text import Cleaner
from senti.text.clean import NEGATIONS_AND_DEGREE

PROFILE = "data_profile.json"
SPLITS = ("train", "validation", "test")
SAMPLE = 10_000  # texts per split whose tokens are counted; enough for a histogram and the word clouds
TOP_WORDS = 80
PRIOR = 0.01  # the Dirichlet prior's weight per observed token (see distinctive_words)
HIST_BINS = 40


def _stop_words() -> frozenset[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS - NEGATIONS_AND_DEGREE)


def profile_data(splits: Mapping[str, pd.DataFrame | None], labels: Sequence[str], clean: CleanConfig,
                 max_length: int | None, *, sample: int = SAMPLE, top: int = TOP_WORDS, seed: int = 0
                 ) -> dict[str, Any]:
    """The profile of ``splits`` ({"train": df, "validation": df, "test": df or None}, columns text and label).

    ``max_length`` is the number of tokens the model reads (None for models that read whole texts, the n-gram
    ones); the profile then says what share of texts, and of their tokens, truncation drops."""
    cleaner = Cleaner(clean)
    rng = np.random.default_rng(seed)
    labels = [str(lab) for lab in labels]
    present = {name: df for name, df in splits.items() if df is not None}
    counts = {name: {lab: int(n) for lab, n in _class_counts(df, labels).items()} for name, df in present.items()}
    lengths: dict[str, Any] = {}
    words: dict[str, Counter[str]] = {lab: Counter() for lab in labels}
    all_lengths = {}
    for name, df in present.items():
        part = df if len(df) <= sample else df.iloc[np.sort(rng.choice(len(df), sample, replace=False))]
        tokens = [cleaner.tokens(t) for t in part["text"]]
        n_tok = np.array([len(t) for t in tokens], dtype=np.int64)
        all_lengths[name] = n_tok
        lengths[name] = _length_summary(n_tok, len(df), max_length)
        if name == "train":
            for toks, lab in zip(tokens, part["label"].astype(str), strict=True):
                if lab in words:
                    words[lab].update(toks)
    edges = _edges(np.concatenate(list(all_lengths.values())) if all_lengths else np.zeros(0, np.int64),
                   max_length)
    return {
        "version": 1,
        "labels": labels,
        "class_counts": counts,
        "max_length": max_length,
        "lengths": lengths,
        # The last bin is open: it also counts the longer texts, so that one very long text does not squash
        # the others into a single bar.
        "histogram": {"edges": edges, "counts": {name: np.histogram(np.minimum(n, edges[-1] - 1), edges)[0].tolist()
                                                 for name, n in all_lengths.items()}},
        "distinctive_words": distinctive_words(words, top) if "train" in present else {},
        "words_from": lengths.get("train", {}).get("measured", 0),
    }


def write_profile(run_dir: str | Path, profile: Mapping[str, Any]) -> Path:
    path = Path(run_dir) / PROFILE
    write_json(path, profile)
    return path


def read_profile(run_dir: str | Path) -> dict[str, Any] | None:
    """The run's data profile, or None for a run trained before senti recorded one (or an unreadable file)."""
    path = Path(run_dir) / PROFILE
    if not path.is_file():
        return None
    try:
        profile = read_json(path)
    except ValueError:
        return None
    return profile if isinstance(profile, dict) and profile.get("version") == 1 else None


def distinctive_words(counts: Mapping[str, Counter[str]], top: int = TOP_WORDS) -> dict[str, list[list[Any]]]:
    """Each class's ``top`` words by the z-scored log-odds ratio of the class against the other classes, with
    an informative Dirichlet prior (Monroe, Colaresi and Quinn 2008, "Fightin' words").

    Raw frequency would crown "the" and "movie" in every class; a plain log-odds ratio crowns words seen
    twice in one class. The prior (each word's share of all text, scaled by ``PRIOR`` per token) smooths rare
    words, and dividing by the estimate's standard deviation ranks by evidence, so a class's cloud shows the
    words that set it apart. English stop words are left out of the ranking (not out of the counts), except
    negations and degree words ("not", "no", "very"), which carry sentiment. Returns {label: [[word, z], ...]}
    with positive z only, highest first."""
    total = Counter()
    for c in counts.values():
        total.update(c)
    n_all = sum(total.values())
    if not n_all:
        return {lab: [] for lab in counts}
    a0 = PRIOR * n_all
    stop = _stop_words()
    vocab = list(total)
    tot = np.array([total[w] for w in vocab], dtype=np.float64)
    alpha = a0 * tot / n_all
    out = {}
    for lab, c in counts.items():
        y_c = np.array([c.get(w, 0) for w in vocab], dtype=np.float64)
        y_r = tot - y_c
        n_c, n_r = y_c.sum(), n_all - y_c.sum()
        if n_c == 0 or n_r == 0:
            out[lab] = []
            continue
        delta = (np.log(y_c + alpha) - np.log(n_c + a0 - y_c - alpha)
                 - np.log(y_r + alpha) + np.log(n_r + a0 - y_r - alpha))
        z = delta / np.sqrt(1.0 / (y_c + alpha) + 1.0 / (y_r + alpha))
        order = [i for i in np.argsort(-z, kind="stable") if z[i] > 0 and vocab[i] not in stop][:top]
        out[lab] = [[vocab[i], round(float(z[i]), 3)] for i in order]
    return out


def _class_counts(df: pd.DataFrame, labels: Sequence[str]) -> dict[str, int]:
    seen = df["label"].astype(str).value_counts()
    out = {lab: int(seen.get(lab, 0)) for lab in labels}
    out.update({str(lab): int(n) for lab, n in seen.items() if str(lab) not in out})  # a label only the test has
    return out


def _length_summary(n_tok: np.ndarray, rows: int, max_length: int | None) -> dict[str, Any]:
    out: dict[str, Any] = {"rows": rows, "measured": len(n_tok)}
    if not len(n_tok):
        return out
    out.update({"mean": round(float(n_tok.mean()), 1), "median": float(np.median(n_tok)),
                "p90": float(np.percentile(n_tok, 90)), "p99": float(np.percentile(n_tok, 99)),
                "max": int(n_tok.max())})
    if max_length is not None:
        cut = np.clip(n_tok - max_length, 0, None)
        out["truncated_texts"] = round(float((n_tok > max_length).mean()), 4)
        out["dropped_tokens"] = round(float(cut.sum() / max(n_tok.sum(), 1)), 4)
    return out


def _edges(n_tok: np.ndarray, max_length: int | None) -> list[int]:
    """At most ``HIST_BINS`` + 1 equal bins from 0 past the lengths' 99.5th percentile and past ``max_length``."""
    hi = max(float(np.percentile(n_tok, 99.5)) if len(n_tok) else 1.0, float(max_length or 0) * 1.1, 1.0)
    step = max(1, math.ceil(hi / HIST_BINS))
    return list(range(0, step * (math.ceil(hi / step) + 1) + 1, step))


def truncation_length(cfg: RunConfig) -> int | None:
    """The tokens a run's model reads of each text: ``max_length`` for networks (and stacks holding one), None
    for the n-gram models, which read whole texts."""
    model = cfg.model
    if not is_ensemble(model):
        return cfg.vocab.max_length if is_neural(model) else None
    try:
        neural = any(is_neural(resolve_preset(str(m).partition("@")[0])["model"]) for m in model.get("members", []))
    except ValueError:  # members named after stacked runs, not presets: assume a network among them
        neural = True
    return cfg.vocab.max_length if neural else None


def record_data_profile(run_dir: Path | None, cfg: RunConfig, labels: Sequence[str], train: pd.DataFrame,
                        valid: pd.DataFrame, test: pd.DataFrame | None) -> Path | None:
    """Write ``RUN_DIR/data_profile.json`` for a run about to train (nothing without a run directory)."""
    if run_dir is None:
        return None
    profile = profile_data({"train": train, "validation": valid, "test": test}, labels, cfg.clean,
                           truncation_length(cfg))
    return write_profile(run_dir, profile)

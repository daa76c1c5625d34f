"""Honest probabilities: temperature scaling (Guo et al. 2017) and the measures of calibration.

A model's probabilities ``p`` become ``softmax(log p / T)`` with one scalar ``T > 0`` fitted on the validation
split. Working on log-probabilities makes it the same for every kind of model (network, n-gram, stack): for a
network ``log p`` is its logits up to a per-row constant, which softmax ignores.

The fit minimises the Brier score by default, not the negative log-likelihood of Guo et al.: both are proper
scoring rules, but one example the model gets wrong with a log-odds of -60 (an n-gram model on a long review
does this) costs 60 nats of NLL and at most 2 of Brier, so an NLL fit lets a handful of such examples choose
a temperature that leaves every other probability too timid (``objective="nll"`` keeps the classic fit).

``T`` never changes the arg max, so accuracy is unchanged. ``T = 1`` (a bundle without a ``calibration``
entry) returns the probabilities untouched.

NumPy only at import: the pipeline imports it on every ``senti predict``; SciPy is imported by the fit alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

N_BINS = 15
_T_BOUNDS = (0.25, 20.0)  # log T is searched between these: wider than the temperatures seen in practice


def temperature_of(metadata: Mapping[str, Any] | None) -> float:
    """The temperature a bundle's metadata (manifest) records; 1.0 without one (older bundles)."""
    cal = (metadata or {}).get("calibration") or {}
    return float(cal.get("temperature", 1.0)) if cal.get("method", "temperature") == "temperature" else 1.0


def _log(proba: np.ndarray) -> np.ndarray:
    # A probability that underflowed to 0 keeps a finite, very negative log: softmax gives it ~0 again.
    return np.log(np.clip(np.asarray(proba, dtype=np.float64), 1e-300, None))


def _softmax_rows(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def apply_temperature(proba: np.ndarray, temperature: float) -> np.ndarray:
    """``softmax(log proba / T)`` row by row, in ``proba``'s dtype; ``proba`` itself when ``T == 1``."""
    if temperature == 1.0 or len(proba) == 0:
        return proba
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    return _softmax_rows(_log(proba) / temperature).astype(proba.dtype, copy=False)


def nll(proba: np.ndarray, y: np.ndarray) -> float:
    """Mean negative log-likelihood of the true classes ``y`` (integer indices)."""
    return float(-_log(proba)[np.arange(len(y)), np.asarray(y)].mean())


OBJECTIVES = ("brier", "nll")


def fit_temperature(proba: np.ndarray, y: np.ndarray, objective: str = "brier") -> float:
    """The ``T`` minimising the Brier score (or the NLL) of ``softmax(log proba / T)`` on ``y`` (a bounded 1-D
    search on log T). 1.0 when every prediction is right: then any sharper ``T`` scores better, down to the
    bound, and the split says nothing about how sure the model should be."""
    from scipy.optimize import minimize_scalar

    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {OBJECTIVES}, got {objective!r}")
    y = np.asarray(y)
    if len(y) == 0 or (np.asarray(proba).argmax(axis=1) == y).all():
        return 1.0
    logp = _log(proba)
    logp = logp - logp.max(axis=1, keepdims=True)
    rows = np.arange(len(y))
    onehot = np.zeros_like(logp)
    onehot[rows, y] = 1.0

    def loss(log_t: float) -> float:
        z = logp / np.exp(log_t)
        z = z - z.max(axis=1, keepdims=True)
        if objective == "nll":
            return float((np.log(np.exp(z).sum(axis=1)) - z[rows, y]).mean())
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        return float(((p - onehot) ** 2).sum(axis=1).mean())

    res = minimize_scalar(loss, bounds=tuple(np.log(_T_BOUNDS)), method="bounded", options={"xatol": 1e-5})
    return float(np.exp(res.x))


def _bin_index(conf: np.ndarray, n_bins: int) -> tuple[np.ndarray, np.ndarray]:
    """The bin edges and each confidence's bin: bin i holds (edges[i], edges[i+1]], a confidence of 0 the first."""
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    return edges, np.clip(np.digitize(conf, edges[1:-1], right=True), 0, n_bins - 1)


def reliability(proba: np.ndarray, y: np.ndarray, n_bins: int = N_BINS) -> dict[str, list]:
    """The top-class confidence in ``n_bins`` equal-width bins of [0, 1] (a confidence of exactly 1 falls in
    the last bin): per bin its edges, the number of examples, their mean confidence and their accuracy
    (None for an empty bin)."""
    proba = np.asarray(proba, dtype=np.float64)
    conf = proba.max(axis=1)
    correct = proba.argmax(axis=1) == np.asarray(y)
    edges, idx = _bin_index(conf, n_bins)
    counts = np.bincount(idx, minlength=n_bins)
    conf_sum = np.bincount(idx, weights=conf, minlength=n_bins)
    acc_sum = np.bincount(idx, weights=correct.astype(np.float64), minlength=n_bins)
    return {"edges": edges.tolist(), "count": counts.astype(int).tolist(),
            "confidence": [float(c / n) if n else None for c, n in zip(conf_sum, counts, strict=True)],
            "accuracy": [float(a / n) if n else None for a, n in zip(acc_sum, counts, strict=True)]}


def expected_calibration_error(proba: np.ndarray, y: np.ndarray, n_bins: int = N_BINS) -> float:
    """Expected calibration error: the top-class confidence of each example is put in one of ``n_bins``
    equal-width bins of [0, 1] (bin i holds confidences in (i/n, (i+1)/n]); ECE = sum over bins of
    (bin count / N) * |accuracy in the bin - mean confidence in the bin|. 0 for a perfectly calibrated model."""
    table = reliability(proba, y, n_bins)
    n = max(sum(table["count"]), 1)
    return float(sum(c / n * abs(a - p) for c, a, p in zip(table["count"], table["accuracy"], table["confidence"],
                                                           strict=True) if c))


def ece_noise(proba: np.ndarray, y: np.ndarray, n_bins: int = N_BINS, n_sims: int = 500, seed: int = 0
              ) -> dict[str, float]:
    """How much ECE sampling noise alone gives on this many examples (consistency resampling, Bröcker & Smith
    2007). ECE over finite bins is biased upwards: a perfectly calibrated model, right on each example with
    exactly its confidence, still shows an ECE of about 0.025 on 900 examples of 85 % accuracy. ``n_sims``
    times, the outcome of every example is drawn as such a model's would be (right with probability its
    top-class confidence) and the ECE of the draw measured.

    Returns ``ece_floor``, the mean of those ECEs (what "calibrated" reads as on this data), and ``ece_p``,
    the share of them at least as large as the observed ECE (with the usual +1: small means the miscalibration
    is more than noise). Seeded: the same inputs give the same figures."""
    proba = np.asarray(proba, dtype=np.float64)
    conf = proba.max(axis=1)
    n = len(conf)
    if n == 0:
        return {"ece_floor": 0.0, "ece_p": 1.0}
    _, idx = _bin_index(conf, n_bins)
    onehot = np.zeros((n, n_bins), dtype=np.float32)
    onehot[np.arange(n), idx] = 1.0
    conf_sum = np.bincount(idx, weights=conf, minlength=n_bins)

    def ece_of(right: np.ndarray) -> np.ndarray:  # rows of outcomes (1 = right): the sum over bins of
        return np.abs(right @ onehot - conf_sum).sum(axis=1) / n  # |right in the bin - confidence in it| / n

    observed = ece_of((proba.argmax(axis=1) == np.asarray(y)).astype(np.float32)[None])[0]
    rng = np.random.default_rng(seed)
    chunk = max(1, min(n_sims, 2_000_000 // n))  # bounded memory: chunk x n draws at a time
    sims = np.concatenate([ece_of((rng.random((min(chunk, n_sims - start), n)) < conf).astype(np.float32))
                           for start in range(0, n_sims, chunk)])
    # float32 sums: a draw equal to the observed ECE may differ from it in the last bits, and counts as equal
    return {"ece_floor": float(sims.mean()), "ece_p": float((1 + (sims >= observed - 1e-6).sum()) / (1 + n_sims))}


def brier_score(proba: np.ndarray, y: np.ndarray) -> float:
    """Multi-class Brier score: the mean over examples of sum_k (p_k - [k == y])^2 (0 best, 2 worst)."""
    proba = np.asarray(proba, dtype=np.float64)
    onehot = np.zeros_like(proba)
    onehot[np.arange(len(proba)), np.asarray(y)] = 1.0
    return float(((proba - onehot) ** 2).sum(axis=1).mean())


def calibrate(proba: np.ndarray, y: np.ndarray, fitted_on: str = "validation", objective: str = "brier"
              ) -> dict[str, Any]:
    """Fit a temperature on raw probabilities and their true classes; the manifest's ``calibration`` entry:
    the temperature, what it minimised, the fit's size, NLL, Brier and ECE before and after, and the
    reliability table after."""
    proba = np.asarray(proba, dtype=np.float64)
    t = fit_temperature(proba, y, objective)
    after = apply_temperature(proba, t)
    return {"method": "temperature", "temperature": t, "objective": objective, "fitted_on": fitted_on,
            "n": len(y), "nll_before": nll(proba, y), "nll_after": nll(after, y),
            "brier_before": brier_score(proba, y), "brier_after": brier_score(after, y),
            "ece_before": expected_calibration_error(proba, y), "ece_after": expected_calibration_error(after, y),
            "reliability": reliability(after, y)}

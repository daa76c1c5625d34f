"""Score a model on the behaviour suite: label mapping, pass / fail per case, rates per test and half."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from senti.errors import ConfigError
from senti.evaluation.behaviour.generate import HALVES, SPLITS, Case, generate
from senti.evaluation.behaviour.templates import TESTS, Test

INV_TOLERANCE = 0.10  # INV: no polarity probability may move more than this
DIR_TOLERANCE = 0.05  # DIR: the named polarity's probability may move the wrong way by at most this

POSITIVE_NAMES = {"positive", "pos", "very positive", "strongly positive"}
NEGATIVE_NAMES = {"negative", "neg", "very negative", "strongly negative"}
_NUMERIC = {frozenset({"0", "1"}): ("1", "0"), frozenset({"-1", "1"}): ("1", "-1"),
            frozenset({"-1", "0", "1"}): ("1", "-1")}
POLARITIES = ("negative", "other", "positive")  # column order of the polarity probabilities


class Scorable(Protocol):
    @property
    def labels(self) -> list[str]: ...

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class LabelMap:
    """Which of the model's labels count as positive and as negative; the others (neutral) are ``other``."""

    positive: tuple[str, ...]
    negative: tuple[str, ...]
    guessed: bool = False  # from numeric names (1 / 0), not words

    def describe(self) -> str:
        note = " (guessed from numeric labels; pass --positive/--negative to say otherwise)" if self.guessed else ""
        return f"positive = {', '.join(self.positive)}; negative = {', '.join(self.negative)}{note}"


def map_labels(labels: Sequence[str], positive: Sequence[str] = (), negative: Sequence[str] = ()) -> LabelMap:
    """The model's positive and negative labels: those given, else recognised by name (positive / pos /
    very positive …, and 1 / 0 or 1 / -1 for numeric binary labels). :class:`ConfigError` when there are none."""
    labels = [str(v) for v in labels]
    for given in (*positive, *negative):
        if given not in labels:
            raise ConfigError(f"label {given!r} is not one of the model's labels ({', '.join(labels)})")
    if set(positive) & set(negative):
        raise ConfigError(f"label(s) {', '.join(sorted(set(positive) & set(negative)))} given as both positive "
                          "and negative")
    guessed = False
    if not positive or not negative:
        found_pos = [v for v in labels if v.strip().lower() in POSITIVE_NAMES]
        found_neg = [v for v in labels if v.strip().lower() in NEGATIVE_NAMES]
        numeric = _NUMERIC.get(frozenset(v.strip() for v in labels))
        if not (found_pos and found_neg) and numeric:
            found_pos = [v for v in labels if v.strip() == numeric[0]]
            found_neg = [v for v in labels if v.strip() == numeric[1]]
            guessed = True
        positive = tuple(positive) or tuple(v for v in found_pos if v not in negative)
        negative = tuple(negative) or tuple(v for v in found_neg if v not in positive)
    if not positive or not negative:
        missing = " and ".join(k for k, v in (("positive", positive), ("negative", negative)) if not v)
        raise ConfigError(f"cannot tell which of the model's labels ({', '.join(labels)}) is {missing}; "
                          "name them with --positive LABEL --negative LABEL")
    return LabelMap(tuple(positive), tuple(negative), guessed)


def polarity_proba(model: Scorable, texts: Sequence[str], label_map: LabelMap) -> np.ndarray:
    """(N, 3) probabilities of negative, other, positive: the model's columns summed by polarity."""
    labels = [str(v) for v in model.labels]
    proba = np.asarray(model.predict_proba(list(texts)), dtype=np.float64)
    pos = proba[:, [labels.index(v) for v in label_map.positive]].sum(axis=1)
    neg = proba[:, [labels.index(v) for v in label_map.negative]].sum(axis=1)
    return np.stack([neg, np.clip(1.0 - pos - neg, 0.0, 1.0), pos], axis=1)


@dataclass(frozen=True)
class Outcome:
    case: Case
    passed: bool
    got: str  # the predicted polarity (of the variant for INV / DIR)
    p_positive: float
    p_negative: float
    base: str | None = None  # INV / DIR: the prediction on the unchanged text
    delta: float | None = None  # INV: the largest polarity-probability change; DIR: the named one's change

    def to_dict(self) -> dict[str, Any]:
        c = self.case
        out: dict[str, Any] = {"template": c.template, "half": c.half, "text": c.text}
        if c.variant is not None:
            out["variant"] = c.variant
        if c.expect is not None:
            out["expect"] = c.expect
        out |= {"got": self.got, "p_positive": round(self.p_positive, 4), "p_negative": round(self.p_negative, 4)}
        if self.base is not None:
            out["base"] = self.base
        if self.delta is not None:
            out["delta"] = round(self.delta, 4)
        return out


def judge(case: Case, base: np.ndarray, variant: np.ndarray | None, kind: str,
          inv_tolerance: float = INV_TOLERANCE, dir_tolerance: float = DIR_TOLERANCE) -> Outcome:
    """Pass or fail of one case from the polarity probabilities of its text (and variant)."""
    p = base if variant is None else variant
    got = POLARITIES[int(np.argmax(p))]
    if kind == "MFT":
        passed = got != "negative" if case.expect == "not negative" else got == case.expect
        return Outcome(case, passed, got, float(p[2]), float(p[0]))
    assert variant is not None, f"{case.template}: an {kind} case needs a variant"
    was = POLARITIES[int(np.argmax(base))]
    if kind == "INV":
        delta = float(np.abs(variant - base)[[0, 2]].max())
        return Outcome(case, got == was and delta <= inv_tolerance, got, float(p[2]), float(p[0]), was, delta)
    sign, polarity = case.expect[0], case.expect[1:]
    col = POLARITIES.index(polarity)
    delta = float(variant[col] - base[col])
    passed = delta >= -dir_tolerance if sign == "+" else delta <= dir_tolerance
    return Outcome(case, passed, got, float(p[2]), float(p[0]), was, delta)


def _rate(outcomes: Sequence[Outcome]) -> float | None:
    return sum(o.passed for o in outcomes) / len(outcomes) if outcomes else None


@dataclass
class SuiteResult:
    """Outcomes of every case run; pass rates per test and per half (``dev``, ``heldout``, ``all``)."""

    split: str
    label_map: LabelMap
    outcomes: list[Outcome]
    inv_tolerance: float = INV_TOLERANCE
    dir_tolerance: float = DIR_TOLERANCE
    tests: list[Test] = field(default_factory=lambda: list(TESTS))

    @property
    def halves(self) -> tuple[str, ...]:
        return (*HALVES, "all") if self.split == "all" else (self.split,)

    def _of(self, test: str | None, half: str) -> list[Outcome]:
        return [o for o in self.outcomes
                if (test is None or o.case.test == test) and half in ("all", o.case.half)]

    @property
    def rates(self) -> dict[str, float]:
        """Pass rate per test over the cases run (the whole ``split``)."""
        return {t.name: r for t in self.tests if (r := _rate(self._of(t.name, "all"))) is not None}

    def rate(self, test: str | None = None, half: str = "all") -> float | None:
        """Pass rate of one test (None: every case) in one half; None when it has no case there."""
        return _rate(self._of(test, half))

    def macro(self, half: str = "all") -> float | None:
        """The mean of the tests' pass rates: each test counts the same, whatever its number of cases."""
        rates = [r for t in self.tests if (r := self.rate(t.name, half)) is not None]
        return sum(rates) / len(rates) if rates else None

    @property
    def failures(self) -> dict[str, list[Outcome]]:
        """The failing outcomes per test, in suite order (both halves when the split is ``all``)."""
        return {t.name: [o for o in self._of(t.name, "all") if not o.passed] for t in self.tests}

    @property
    def examples_half(self) -> str:
        """The half whose failures are shown: dev when both were run, so the held-out sentences stay unread
        unless asked for by name (``split="heldout"``)."""
        return "dev" if self.split == "all" else self.split

    def examples(self, test: str) -> list[Outcome]:
        return [o for o in self._of(test, self.examples_half) if not o.passed]

    def to_dict(self, show: int | None = None) -> dict[str, Any]:
        """JSON-ready: settings, per test its rates, counts and failures per half, and (up to ``show``) failing
        cases of :attr:`examples_half`."""
        tests = []
        for t in self.tests:
            tests.append({"name": t.name, "capability": t.capability, "kind": t.kind, "description": t.description,
                          "cases": {h: len(self._of(t.name, h)) for h in self.halves},
                          "pass_rate": {h: self.rate(t.name, h) for h in self.halves},
                          "failed": {h: sum(not o.passed for o in self._of(t.name, h)) for h in self.halves},
                          "failures": [o.to_dict() for o in self.examples(t.name)[:show]]})
        labels = {"positive": list(self.label_map.positive), "negative": list(self.label_map.negative),
                  "guessed": self.label_map.guessed}
        return {"split": self.split, "examples_from": self.examples_half, "labels": labels,
                "tolerance": {"INV": self.inv_tolerance, "DIR": self.dir_tolerance},
                "cases": {h: len(self._of(None, h)) for h in self.halves},
                "overall": {h: self.rate(None, h) for h in self.halves},
                "mean_of_tests": {h: self.macro(h) for h in self.halves},
                "tests": tests}

    def format(self, show: int = 3) -> str:
        """A table of pass rates per test and half, then up to ``show`` failing cases per test."""
        def pct(r: float | None) -> str:
            return "—" if r is None else f"{100 * r:.1f}%"

        head = f"{'test':<20} {'capability':<11} {'kind':<4} " + " ".join(f"{h:>8}" for h in self.halves)
        lines = [f"labels: {self.label_map.describe()}",
                 f"tolerances: INV {self.inv_tolerance:g}, DIR {self.dir_tolerance:g} (polarity probability)",
                 "", head + f" {'cases':>6}"]
        for t in self.tests:
            rates = " ".join(f"{pct(self.rate(t.name, h)):>8}" for h in self.halves)
            lines.append(f"{t.name:<20} {t.capability:<11} {t.kind:<4} {rates} {len(self._of(t.name, 'all')):>6}")
        for label, fn in (("overall (cases)", lambda h: self.rate(None, h)), ("mean of tests", self.macro)):
            rates = " ".join(f"{pct(fn(h)):>8}" for h in self.halves)
            extra = f" {len(self.outcomes):>6}" if label.startswith("overall") else ""
            lines.append(f"{label:<37} {rates}{extra}")
        if show > 0:
            half = self.examples_half
            lines += ["", f"failing examples, up to {show} per test, from the {half} half"
                      + (" (--split heldout shows the held-out ones)" if self.split == "all" else "") + ":"]
            for t in self.tests:
                failing = self.examples(t.name)
                if not failing:
                    continue
                lines += ["", f"{t.name} ({t.kind}: {t.description}): {len(failing)} of "
                          f"{len(self._of(t.name, half))} failed"]
                lines += [_describe(o, t.kind) for o in failing[:show]]
        return "\n".join(lines)


def _describe(o: Outcome, kind: str) -> str:
    c = o.case
    probs = f"P(pos) {o.p_positive:.2f}, P(neg) {o.p_negative:.2f}"
    if kind == "MFT":
        return f"  [{c.template}] {c.text!r}: expected {c.expect}, got {o.got} ({probs})"
    change = f"{o.base} → {o.got}" if o.base != o.got else o.got
    what = f"change {o.delta:+.2f}" if kind == "DIR" else f"largest change {o.delta:.2f}"
    expect = f", expected {c.expect}" if kind == "DIR" else ""
    return f"  [{c.template}] {c.text!r} → {c.variant!r}: {change}, {what}{expect} ({probs})"


def run_suite(model: Scorable, split: str = "all", positive: Sequence[str] = (), negative: Sequence[str] = (),
              tests: Sequence[str] | None = None, inv_tolerance: float = INV_TOLERANCE,
              dir_tolerance: float = DIR_TOLERANCE) -> SuiteResult:
    """Run the behaviour suite (``split``: ``all``, ``dev`` or ``heldout``) on any model with ``labels`` and
    ``predict_proba(texts)``: every text is scored once, in one call."""
    if split not in SPLITS:
        raise ConfigError(f"split must be one of {', '.join(SPLITS)}, not {split!r}")
    label_map = map_labels(model.labels, positive, negative)
    cases = generate(split, tests)
    texts = list(dict.fromkeys(t for c in cases for t in (c.text, c.variant) if t is not None))
    proba = polarity_proba(model, texts, label_map)
    row = {t: i for i, t in enumerate(texts)}
    kinds = {t.name: t.kind for t in TESTS}
    outcomes = [judge(c, proba[row[c.text]], None if c.variant is None else proba[row[c.variant]], kinds[c.test],
                      inv_tolerance, dir_tolerance) for c in cases]
    chosen = [t for t in TESTS if tests is None or t.name in tests]
    return SuiteResult(split, label_map, outcomes, inv_tolerance, dir_tolerance, chosen)

"""Label spellings: one canonical string per label, the user's label map, and spellings that differ only in case.

A file labelled ``1/0`` and a model that knows ``positive/negative``, a spreadsheet that stored ``1.0``, or a
file where a few rows say ``Positive``: each would otherwise become extra classes or an unexplained mismatch.
``--label-map 0=negative,1=positive`` (``label_map`` in a TOML ``[data]`` section or ``senti.train``) renames
labels as they are read; ``--fold-label-case`` (``fold_label_case``) merges spellings that differ only in case.
"""

from __future__ import annotations

import numbers
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from senti.errors import ConfigError, DataError

if TYPE_CHECKING:
    import pandas as pd

LabelMap = Mapping[str, str]
_WHOLE_FLOAT = re.compile(r"([+-]?\d+)\.0*")


def canonical_label(value: object) -> str:
    """The label as senti spells it: ``1``, ``1.0``, ``"1"`` and ``" 1.0 "`` are all ``"1"``; any other label is
    its string without surrounding space."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        number = float(value)
        if number.is_integer():
            return str(int(number))
    text = str(value).strip()
    whole = _WHOLE_FLOAT.fullmatch(text)
    return str(int(whole.group(1))) if whole else text


def parse_label_map(spec: str | Mapping[Any, Any] | None) -> dict[str, str]:
    """``"0=negative,1=positive"`` or a mapping ``{0: "negative", 1: "positive"}`` → ``{"0": "negative", ...}``,
    keys and values in canonical spelling."""
    if spec is None or spec == "":
        return {}
    if isinstance(spec, str):
        pairs = []
        for item in spec.split(","):
            if not item.strip():
                continue
            old, sep, new = item.partition("=")
            if not sep:
                raise ConfigError(f"label map item {item.strip()!r} is not FROM=TO; write e.g. "
                                  "--label-map 0=negative,1=positive")
            pairs.append((old, new))
    elif isinstance(spec, Mapping):
        pairs = list(spec.items())
    else:
        raise ConfigError(f"label_map must be a string like '0=negative,1=positive' or a mapping, got "
                          f"{type(spec).__name__}")
    out: dict[str, str] = {}
    for old, new in pairs:
        key, value = canonical_label(old), canonical_label(new)
        if not key or not value:
            raise ConfigError(f"label map item {old!r}={new!r}: both sides need a label")
        if out.get(key, value) != value:
            raise ConfigError(f"label map sends {key!r} to both {out[key]!r} and {value!r}")
        out[key] = value
    return out


def apply_label_map(labels: pd.Series, label_map: LabelMap) -> pd.Series:
    """Rename the labels (already in canonical spelling) that the map names; the others stay as they are."""
    if not label_map:
        return labels
    return labels.map(lambda v: label_map.get(v, v))


def _fold(label: str) -> str:
    return " ".join(label.split()).casefold()


def case_variants(labels: Iterable[str]) -> list[list[str]]:
    """Groups of distinct labels that differ only in case or spacing (``Positive`` / ``positive``)."""
    groups: dict[str, set[str]] = {}
    for label in labels:
        groups.setdefault(_fold(label), set()).add(label)
    return [sorted(g) for g in groups.values() if len(g) > 1]


def fold_case(series: Sequence[pd.Series]) -> dict[str, str]:
    """For each group of case variants across ``series``, its most common spelling (ties: the first in sort
    order): the renaming that ``fold_label_case`` applies to every split alike."""
    counts: Counter[str] = Counter()
    for s in series:
        counts.update(s.tolist())
    rename = {}
    for group in case_variants(counts):
        keep = min(group, key=lambda g: (-counts[g], g))
        rename.update({g: keep for g in group if g != keep})
    return rename


def settle_labels(frames: Sequence[pd.DataFrame | None], label_map: str | Mapping[Any, Any] | None = None,
                  fold_label_case: bool = False, source: str = "the training data"
                  ) -> list[pd.DataFrame | None]:
    """The label column of each frame (train, validation, test) renamed by ``label_map``, case variants
    merged when ``fold_label_case``, else refused: a 2-class file with a few ``Positive`` rows must not train
    as three or four classes."""
    mapping = parse_label_map(label_map)
    out = [None if f is None or "label" not in f.columns else f.assign(label=apply_label_map(f["label"], mapping))
           for f in frames]
    present = [f["label"] for f in out if f is not None]
    rename = fold_case(present)
    if fold_label_case:
        return [f if f is None or not rename else f.assign(label=apply_label_map(f["label"], rename)) for f in out]
    variants = sorted(case_variants({label for s in present for label in s.unique()}))
    if variants:
        shown = "; ".join(" / ".join(repr(v) for v in g) for g in variants[:5])
        example = ",".join(f"{old}={new}" for old, new in sorted(rename.items())[:4])
        raise DataError(f"{source}: labels that differ only in case or spacing would train as separate classes: "
                        f"{shown}. Map them to one spelling with --label-map '{example}' (label_map in a config or "
                        "senti.train), or merge them with --fold-label-case (fold_label_case)")
    return out


def match_labels(labels: Sequence[object], classes: Sequence[str], label_map: str | Mapping[Any, Any] | None = None,
                 what: str = "labels") -> list[str]:
    """``labels`` spelled as the model's ``classes`` (canonical spelling, then ``label_map``); a label that is still
    unknown is a DataError that shows both sets and the ``--label-map`` that would match them where it can tell."""
    mapping = parse_label_map(label_map)
    known = {canonical_label(c): c for c in classes}
    out, unknown = [], set()
    for label in labels:
        key = canonical_label(label)
        key = mapping.get(key, key)
        if key in known:
            out.append(known[key])
        else:
            out.append(key)
            unknown.add(key)
    if unknown:
        raise DataError(f"{what} {sorted(unknown)} are not among the model's classes {list(classes)}; "
                        f"map them with {suggest_label_map(sorted(unknown), list(classes))}")
    return out


def suggest_label_map(unknown: Sequence[str], classes: Sequence[str]) -> str:
    """A ``--label-map`` for the unknown labels: exact where they differ from a class only in case, else an
    example of the form pairing them in sorted order (to be checked)."""
    by_fold = {_fold(c): c for c in classes}
    pairs = [(u, by_fold[_fold(u)]) for u in unknown if _fold(u) in by_fold]
    if len(pairs) == len(unknown):
        return "--label-map " + ",".join(f"{u}={c}" for u, c in pairs)
    if len(unknown) == len(classes):
        pairs = list(zip(sorted(unknown, key=_order), sorted(classes, key=_order), strict=True))
        return ("--label-map " + ",".join(f"{u}={c}" for u, c in pairs)
                + " (check which is which; label_map in Python or a config)")
    return "--label-map FROM=TO,... (label_map in Python or a config)"


def _order(label: str) -> tuple:
    return (0, int(label), "") if re.fullmatch(r"[+-]?\d+", label) else (1, 0, label)

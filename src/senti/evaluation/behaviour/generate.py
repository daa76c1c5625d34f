"""Templates → cases: deterministic (seeded per template), and the dev / held-out split of the templates."""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass

from senti.errors import ConfigError
from senti.evaluation.behaviour.lexicon import words
from senti.evaluation.behaviour.templates import TEMPLATES, TESTS, Template

HALVES = ("dev", "heldout")
SPLITS = ("all", *HALVES)
CASES_PER_TEMPLATE = 8
SEED = 0
_SPLIT_SALT = b"senti-behaviour-split-v1:"
_SLOT = re.compile(r"\{([a-z]+)(\d?)(?:\|([a-z]+))?\}")


@dataclass(frozen=True)
class Case:
    test: str
    template: str  # the template's id
    half: str  # dev or heldout
    text: str
    variant: str | None = None  # INV / DIR: the changed text
    expect: str | None = None  # MFT: polarity; DIR: direction


def template_half(template_id: str) -> str:
    """``dev`` or ``heldout``, from the parity of the first byte of sha256(salt + id): fixed per template, so
    adding or removing a template never moves another one across."""
    return HALVES[hashlib.sha256(_SPLIT_SALT + template_id.encode()).digest()[0] % 2]


def _seed(seed: int, template_id: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{seed}:{template_id}".encode()).digest()[:8], "big")


def typo(word: str, rng: random.Random) -> str:
    """One typo in the longest word of ``word``: two inner letters swapped, one dropped or one doubled."""
    parts = word.split(" ")
    i = max(range(len(parts)), key=lambda k: len(parts[k]))
    w = parts[i]
    if len(w) < 4:
        return word
    while True:
        j = rng.randrange(1, len(w) - 2)
        op = rng.randrange(3)
        if op == 0:
            new = w[:j] + w[j + 1] + w[j] + w[j + 2:]
        elif op == 1:
            new = w[:j] + w[j + 1:]
        else:
            new = w[:j] + w[j] + w[j:]
        if new != w:
            parts[i] = new
            return " ".join(parts)


def _capital(s: str) -> str:
    return s[:1].upper() + s[1:]


def _render(pattern: str, fills: dict[str, str], rng: random.Random) -> str:
    def one(m: re.Match) -> str:
        value = fills[m.group(1) + m.group(2)]
        if m.group(3) == "typo":
            value = typo(value, rng)
        elif m.group(3) == "cap":
            value = _capital(value)
        elif m.group(3):
            raise ValueError(f"unknown slot filter {m.group(3)!r} in {pattern!r}")
        return value

    return _capital(_SLOT.sub(one, pattern))


def _fill(template: Template, domain: str, rng: random.Random) -> dict[str, str]:
    """One word per slot key; ``name`` and ``name2`` (any keys of one list) get different words."""
    keys = sorted({m.group(1) + m.group(2) for p in (template.text, template.variant or "")
                   for m in _SLOT.finditer(p)})
    fills: dict[str, str] = {}
    for key in keys:
        slot = key.rstrip("0123456789")
        taken = {v for k, v in fills.items() if k.rstrip("0123456789") == slot}
        fills[key] = rng.choice([w for w in words(slot, domain) if w not in taken])
    return fills


def expand(template: Template, n: int = CASES_PER_TEMPLATE, seed: int = SEED) -> list[Case]:
    """Up to ``n`` distinct cases of one template (fewer when its word lists have fewer combinations)."""
    rng = random.Random(_seed(seed, template.id))
    half = template_half(template.id)
    cases: dict[tuple[str, str | None], Case] = {}
    for attempt in range(n * 20):
        if len(cases) == n:
            break
        domain = template.domains[attempt % len(template.domains)]
        fills = _fill(template, domain, rng)
        text = _render(template.text, fills, rng)
        variant = _render(template.variant, fills, rng) if template.variant else None
        if variant == text:
            continue
        cases.setdefault((text, variant), Case(template.test, template.id, half, text, variant, template.expect))
    return list(cases.values())


def generate(split: str = "all", tests: Sequence[str] | None = None, n: int = CASES_PER_TEMPLATE,
             seed: int = SEED) -> list[Case]:
    """Every case of the suite (or of ``tests``) in ``split`` (``all``, ``dev`` or ``heldout``), in template
    order; the same arguments give the same cases."""
    if split not in SPLITS:
        raise ConfigError(f"split must be one of {', '.join(SPLITS)}, not {split!r}")
    known = [t.name for t in TESTS]
    unknown = sorted(set(tests or ()) - set(known))
    if unknown:
        raise ConfigError(f"unknown behaviour test(s) {', '.join(unknown)}; known: {', '.join(known)}")
    wanted = set(tests or known)
    return [c for t in TEMPLATES if t.test in wanted and split in ("all", template_half(t.id))
            for c in expand(t, n, seed)]

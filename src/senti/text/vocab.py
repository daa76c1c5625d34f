"""Frequency-ranked word vocabulary and the token → id encoding with truncation."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import TypeVar

from senti.text.tokenize import ascii_tokens, tokenize

PAD, UNK = "<pad>", "<unk>"
PAD_ID, UNK_ID = 0, 1
T = TypeVar("T")


class Vocabulary:
    """Map tokens to ids: ``0`` is padding, ``1`` is out-of-vocabulary, then tokens by frequency."""

    def __init__(self, tokens: Sequence[str]):
        if list(tokens[:2]) != [PAD, UNK]:
            raise ValueError("a vocabulary must start with the padding and unknown tokens")
        self.itos = list(tokens)
        self.stoi = {t: i for i, t in enumerate(self.itos)}
        self._ascii_stoi: dict[bytes, int] | None = None
        if len(self.stoi) != len(self.itos):
            raise ValueError("vocabulary tokens must be unique")

    @classmethod
    def build(cls, token_lists: Iterable[Sequence[str]], max_size: int = 30_000,
              min_count: int = 2) -> Vocabulary:
        if max_size < 3:
            raise ValueError(f"vocab.max_size must be at least 3, got {max_size}")
        counts: Counter[str] = Counter()
        for tokens in token_lists:
            counts.update(tokens)
        # Ties broken alphabetically so that the same data always gives the same ids.
        ranked = sorted((c, t) for t, c in counts.items() if c >= min_count and t not in (PAD, UNK))
        ranked.sort(key=lambda ct: (-ct[0], ct[1]))
        return cls([PAD, UNK] + [t for _, t in ranked[: max_size - 2]])

    def __len__(self) -> int:
        return len(self.itos)

    def encode_text(self, text: str, max_length: int = 400, truncate: str = "both") -> list[int]:
        """``encode(tokenize(text))`` for cleaned text, through the byte-level tokeniser when it is ASCII."""
        if not text.isascii():
            return self.encode(tokenize(text), max_length, truncate)
        if self._ascii_stoi is None:  # built on first use: the ASCII tokens, keyed by their bytes
            self._ascii_stoi = {t.encode(): i for t, i in self.stoi.items() if t.isascii()}
        get = self._ascii_stoi.get
        return _cut([get(t, UNK_ID) for t in ascii_tokens(text)], max_length, truncate)

    def encode(self, tokens: Sequence[str], max_length: int = 400, truncate: str = "both") -> list[int]:
        """Token ids, cut to ``max_length``; never empty (an empty text becomes one ``<unk>``)."""
        get = self.stoi.get
        return _cut([get(t, UNK_ID) for t in tokens], max_length, truncate)


def _cut(ids: list[int], max_length: int, truncate: str) -> list[int]:
    """``ids`` cut to ``max_length``; one ``<unk>`` for an empty text."""
    if len(ids) > max_length:
        ids = truncate_ids(ids, max_length, truncate)
    return ids or [UNK_ID]


def truncate_ids(ids: list[T], n: int, how: str) -> list[T]:
    """The ``n`` items of a too-long sequence that the model reads: the head, the tail, or both ends."""
    if how == "head":
        return ids[:n]
    if how == "tail":
        return ids[-n:]
    if how == "both":
        # Reviews open with context and close with the verdict: keep a quarter of the head, the rest of the tail.
        head = n // 4
        return ids[:head] + ids[len(ids) - (n - head):]
    raise ValueError(f"vocab.truncate must be 'head', 'tail' or 'both', got {how!r}")

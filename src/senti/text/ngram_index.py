"""Linear scores over word n-grams in one compiled pass: what scoring an NB-SVM or TF-IDF model costs without
building its sparse feature matrix.

The n-gram vocabulary becomes integers once: each word of its n-grams an id, each n-gram a key made of its
words' ids (``n`` then the ids, in base ``W``, the number of words), and an open-addressing hash table maps a
key to the n-gram's column. Scoring a text then turns its tokens into word ids (one dict look-up a token) and
a compiled loop (Numba) walks its n-grams: key, table probe, and the column's weights added to the text's
scores, each column once (binary features) or with its TF-IDF value. On IMDB reviews with uni- to trigrams
that is ~700 n-grams a review, which the Python path (:func:`senti.text.ngrams.ngram_counts`) pays with a string
join and a dict look-up each.

The scores equal those of the feature matrix times the weights up to float rounding (summation order):
tests/test_ngram_index.py checks both model kinds against the matrix path.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numba
import numpy as np

from senti.text.tokenize import ascii_tokens, tokenize

_EMPTY = -1
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing: multiply, keep the top bits


class NgramIndex:
    """The columns of an n-gram vocabulary (``vocabulary[j]`` is column ``j``: words joined by single spaces)
    as integer keys in a hash table."""

    def __init__(self, vocabulary: Sequence[str]):
        self.size = len(vocabulary)
        flat = " ".join(vocabulary).split(" ")  # every n-gram's words, in order
        orders = np.fromiter((g.count(" ") + 1 for g in vocabulary), dtype=np.int64, count=len(vocabulary))
        self.words: dict[str, int] = {}
        setdefault, words = self.words.setdefault, self.words
        ids = np.fromiter((setdefault(w, len(words)) for w in flat), dtype=np.int64, count=len(flat))
        self.base = max(len(self.words), 1)
        self.max_n = int(orders.max()) if len(orders) else 1
        if (self.max_n + 1) * float(self.base) ** self.max_n >= 2.0 ** 62:
            raise ValueError(f"{self.base} words in {self.max_n}-grams do not fit 63-bit keys")
        keys = orders.copy()
        starts = np.concatenate([[0], np.cumsum(orders)[:-1]])
        for k in range(self.max_n):  # digit k of every n-gram that has one
            has = orders > k
            keys[has] = keys[has] * self.base + ids[starts[has] + k]
        bits = max(int(np.ceil(np.log2(max(2 * len(keys), 2)))), 1)
        self.table_keys = np.full(1 << bits, _EMPTY, dtype=np.int64)
        self.table_cols = np.zeros(1 << bits, dtype=np.int32)
        self.shift = np.uint64(64 - bits)
        _fill(keys, self.table_keys, self.table_cols, self.shift)
        self._ascii_words: dict[bytes, int] | None = None  # built when first needed
        self._scratch = threading.local()  # per thread: the server's batch threads score at once, GIL released

    def word_ids(self, texts: Sequence[Sequence[str]]) -> tuple[np.ndarray, np.ndarray]:
        """All texts' word ids (-1 for a word no n-gram has) in one array, and each text's offsets into it."""
        get = self.words.get
        return _flatten([[get(w, -1) for w in t] for t in texts])

    def word_ids_of_texts(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """``word_ids`` of cleaned texts, tokenised here: ASCII ones by the byte-level tokeniser (the same
        tokens, twice as fast; most reviews are ASCII), with a dict keyed by bytes."""
        if self._ascii_words is None:
            self._ascii_words = {w.encode(): i for w, i in self.words.items() if w.isascii()}
        get, bget = self.words.get, self._ascii_words.get
        return _flatten([[bget(w, -1) for w in ascii_tokens(t)] if t.isascii() else [get(w, -1) for w in tokenize(t)]
                         for t in texts])

    def scores(self, texts: Sequence[Sequence[str]], ngram_range: tuple[int, int], weights: np.ndarray,
               idf: np.ndarray | None = None, sublinear_tf: bool = True) -> np.ndarray:
        """(len(texts), K) float64: each tokenised text's features times ``weights`` (F, K). Binary features
        when ``idf`` is None (NB-SVM: the weights already include the NB ratios); else TF-IDF values (raw or
        sublinear term frequency times idf, L2-normalised per text), as scikit-learn's TfidfVectorizer does."""
        return self.scores_of_ids(*self.word_ids(texts), ngram_range, weights, idf, sublinear_tf)

    def scores_of_ids(self, ids: np.ndarray, offsets: np.ndarray, ngram_range: tuple[int, int], weights: np.ndarray,
                      idf: np.ndarray | None = None, sublinear_tf: bool = True) -> np.ndarray:
        """``scores`` of texts given as ``word_ids`` (or ``word_ids_of_texts``) returns them."""
        out = np.zeros((len(offsets) - 1, weights.shape[1]), dtype=np.float64)
        scratch = self._scratch
        if not hasattr(scratch, "mark"):  # allocated once per thread: one review must not pay for F entries
            scratch.mark, scratch.slot, scratch.stamp = np.full(self.size, -1, np.int64), np.empty(self.size,
                                                                                                   np.int64), 0
        _scores(ids, offsets, self.table_keys, self.table_cols, self.shift, self.base, ngram_range[0],
                min(ngram_range[1], self.max_n), np.ascontiguousarray(weights, dtype=np.float64),
                np.ones(1) if idf is None else np.ascontiguousarray(idf, dtype=np.float64), idf is not None,
                sublinear_tf, scratch.mark, scratch.slot, scratch.stamp, out)
        scratch.stamp += len(offsets) - 1
        return out


def _flatten(ids: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    offsets = np.zeros(len(ids) + 1, dtype=np.int64)
    np.cumsum(np.fromiter((len(t) for t in ids), dtype=np.int64, count=len(ids)), out=offsets[1:])
    return np.fromiter((i for t in ids for i in t), dtype=np.int64, count=int(offsets[-1])), offsets


@numba.njit(nogil=True, cache=True)
def _slot(key: int, table_keys: np.ndarray, shift: np.uint64) -> int:  # pragma: no cover
    mask = np.int64(table_keys.shape[0] - 1)
    h = np.int64((np.uint64(key) * _GOLDEN) >> shift)
    while table_keys[h] != _EMPTY and table_keys[h] != key:
        h = (h + 1) & mask
    return h


@numba.njit(nogil=True, cache=True)
def _fill(keys: np.ndarray, table_keys: np.ndarray, table_cols: np.ndarray, shift: np.uint64) -> None:
    for j in range(keys.shape[0]):  # pragma: no cover
        h = _slot(keys[j], table_keys, shift)
        table_keys[h] = keys[j]
        table_cols[h] = j


@numba.njit(nogil=True, cache=True)
def _scores(ids: np.ndarray, offsets: np.ndarray, table_keys: np.ndarray, table_cols: np.ndarray,
            shift: np.uint64, base: int, min_n: int, max_n: int, weights: np.ndarray, idf: np.ndarray,
            tfidf: bool, sublinear: bool, mark: np.ndarray, slot: np.ndarray, stamp: int,
            out: np.ndarray) -> None:  # pragma: no cover
    """``out[d] = features(text d) @ weights``. ``mark[j]`` is the stamp (``stamp + d``, unique over calls) of
    the last text that had column j, so each column enters a text's list once however often it occurs, and
    nothing needs clearing between texts or calls."""
    n_texts = offsets.shape[0] - 1
    longest = 0
    for d in range(n_texts):
        longest = max(longest, offsets[d + 1] - offsets[d])
    cols = np.empty(max(longest * (max_n - min_n + 1), 1), dtype=np.int64)
    counts = np.empty(cols.shape[0], dtype=np.float64)
    for d in range(n_texts):
        start, end = offsets[d], offsets[d + 1]
        here = stamp + d
        m = 0
        for n in range(min_n, max_n + 1):
            for i in range(start, end - n + 1):
                key = n
                for k in range(n):
                    w = ids[i + k]
                    if w < 0:
                        key = -1
                        break
                    key = key * base + w
                if key < 0:
                    continue
                h = _slot(key, table_keys, shift)
                if table_keys[h] != key:
                    continue
                j = table_cols[h]
                if mark[j] != here:
                    mark[j] = here
                    slot[j] = m
                    cols[m] = j
                    counts[m] = 1.0
                    m += 1
                else:
                    counts[slot[j]] += 1.0
        if not tfidf:
            for t in range(m):
                for c in range(weights.shape[1]):
                    out[d, c] += weights[cols[t], c]
            continue
        norm = 0.0
        for t in range(m):
            tf = 1.0 + np.log(counts[t]) if sublinear else counts[t]
            counts[t] = tf * idf[cols[t]]
            norm += counts[t] * counts[t]
        norm = np.sqrt(norm) if norm > 0 else 1.0
        for t in range(m):
            v = counts[t] / norm
            for c in range(weights.shape[1]):
                out[d, c] += v * weights[cols[t], c]

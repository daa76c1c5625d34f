"""Scoring a minGRU from its per-word tables: the ``folded`` runtime.

With dropout off, a minGRU's decay ``a = 1 − σ(W_z e_w)`` and input ``b = σ(W_z e_w) ⊙ W_h e_w`` depend on the
word id alone (``MinGRUClassifier.folded_tables``), so scoring needs no matrix product per token: each step
reads one table row and updates the state with one multiply-add per unit. A BiGRU 128 spends ~200k
multiply-adds per token; this spends ~1k floating-point ops.

The scan is one compiled loop (Numba) per text and direction that keeps the state, its running maximum and
its sum in registers/L1 and never materialises a (B, T, H) array; padding is never read. It releases the GIL,
so the server's batch threads score in parallel while the event loop keeps accepting requests. On IMDB
reviews it is 30× faster than a PyTorch step loop for a batch of 13 (0.36 vs 11 ms) and 2.5× for 512.
"""

from __future__ import annotations

import numba
import numpy as np

from senti.models.mingru import MinGRUClassifier


@numba.njit(nogil=True, cache=True)
def _pooled_states(table: np.ndarray, ids: np.ndarray, lengths: np.ndarray, vocab_size: int, hidden: int,
                   dirs: int, last: np.ndarray, mx: np.ndarray, mean: np.ndarray) -> None:  # pragma: no cover
    """For each text i and direction d: the final state, the maximum and the mean over its ``lengths[i]``
    steps, written to ``last``/``mx``/``mean`` (B, dirs·H) at columns d·H…(d+1)·H. Table row d·V + w holds
    direction d's (a | b) for word w. The backward direction reads the text from its last real token."""
    H = hidden
    h = np.empty(H, np.float32)
    m = np.empty(H, np.float32)
    s = np.empty(H, np.float32)
    for i in range(ids.shape[0]):
        n = lengths[i]
        for d in range(dirs):
            h[:] = 0.0
            m[:] = -np.inf
            s[:] = 0.0
            for k in range(n):
                row = table[d * vocab_size + ids[i, k if d == 0 else n - 1 - k]]
                for j in range(H):
                    v = row[H + j] + row[j] * h[j]
                    h[j] = v
                    m[j] = max(m[j], v)
                    s[j] += v
            o = d * H
            for j in range(H):
                last[i, o + j] = h[j]
                mx[i, o + j] = m[j]
                mean[i, o + j] = s[j] / n


class FoldedSession:
    """Probabilities from a minGRU: ``session(ids (B, T) int64, lengths (B,) int64) → (B, C)``, like
    ``OnnxSession``. Token id 0 is padding only (``Vocabulary.encode`` never emits it)."""

    def __init__(self, net: MinGRUClassifier):
        c = net.config
        a, b = (t.float().cpu().numpy() for t in net.folded_tables())  # (V, dirs·H) each
        self.hidden = H = c.hidden_size
        self.dirs = D = 2 if c.bidirectional else 1
        V = a.shape[0]
        # Row d·V + w holds direction d's (a | b) for word w: one row read per step fetches both.
        self.table = np.empty((D * V, 2 * H), dtype=np.float32)
        for d in range(D):
            self.table[d * V:(d + 1) * V, :H] = a[:, d * H:(d + 1) * H]
            self.table[d * V:(d + 1) * V, H:] = b[:, d * H:(d + 1) * H]
        self.vocab_size = V
        self.pooling = c.pooling
        head = net.classifier
        self.dense = None
        if head.dense is not None:
            lin = head.dense[0]
            self.dense = (lin.weight.detach().float().numpy().T.copy(), lin.bias.detach().float().numpy().copy())
        self.out = (head.out.weight.detach().float().numpy().T.copy(), head.out.bias.detach().float().numpy().copy())

    def __call__(self, ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        lengths = np.asarray(lengths, dtype=np.int64)
        if ids.ndim != 2 or lengths.shape != (ids.shape[0],):
            raise ValueError(f"ids must be (B, T) and lengths (B,), got {ids.shape} and {lengths.shape}")
        # The compiled loop does not check bounds: everything it indexes is checked here.
        if ids.size and (ids.min() < 0 or ids.max() >= self.vocab_size):
            raise ValueError(f"token ids must lie in [0, {self.vocab_size}), got {ids.min()}…{ids.max()}")
        if lengths.size and lengths.max() > ids.shape[1]:
            raise ValueError(f"lengths must be at most the {ids.shape[1]} columns of ids, got {lengths.max()}")
        if ids.shape[1] == 0:  # an empty text reads the padding row once, as the network does
            ids = np.zeros((ids.shape[0], 1), dtype=np.int64)
        lengths = np.maximum(lengths, 1)
        B, width = ids.shape[0], self.dirs * self.hidden
        last, mx, mean = (np.empty((B, width), dtype=np.float32) for _ in range(3))
        _pooled_states(self.table, ids, lengths, self.vocab_size, self.hidden, self.dirs, last, mx, mean)
        feats = {"last": [last], "max": [mx], "mean": [mean], "maxmean": [mx, mean]}[self.pooling]
        return self._head(np.concatenate(feats, axis=1))

    def _head(self, x: np.ndarray) -> np.ndarray:
        if self.dense is not None:
            x = np.maximum(x @ self.dense[0] + self.dense[1], 0)
        logits = x @ self.out[0] + self.out[1]
        logits -= logits.max(axis=1, keepdims=True)
        e = np.exp(logits)
        return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)

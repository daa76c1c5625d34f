"""Length-bucketed batches: similar lengths together, so padding (wasted RNN steps) stays small. Training
shuffles them (with a seed); prediction sorts by length."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import torch


def bucket_batches(lengths: Sequence[int], batch_size: int, seed: int | None = None,
                   bucket_factor: int = 50) -> list[np.ndarray]:
    """Split example indices into batches of similar length.

    With a ``seed``, examples are shuffled, sorted by length within chunks of ``bucket_factor`` batches,
    and the batches shuffled again: random but cheap to pad. The order depends only on the seed, which is
    what makes an interrupted epoch resumable exactly. Without a seed (prediction), all examples are
    sorted by length.
    """
    lengths = np.asarray(lengths)
    n = len(lengths)
    if seed is None:
        order = np.argsort(lengths, kind="stable")
        return [order[i:i + batch_size] for i in range(0, n, batch_size)]
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)
    chunk = batch_size * bucket_factor
    batches = []
    for start in range(0, n, chunk):
        part = order[start:start + chunk]
        part = part[np.argsort(lengths[part], kind="stable")]
        batches += [part[i:i + batch_size] for i in range(0, len(part), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def collate(seqs: Sequence[Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad id lists into a (B, T) tensor and their lengths (B,)."""
    # One flat copy and one masked write: 4× faster than a tensor per row (12 reviews: 55 vs 223 µs), which
    # mattered once the folded minGRU scored a batch faster than it was collated.
    lengths = np.fromiter(map(len, seqs), dtype=np.int64, count=len(seqs))
    flat = np.fromiter(itertools.chain.from_iterable(seqs), dtype=np.int64, count=int(lengths.sum()))
    ids = np.zeros((len(seqs), int(lengths.max())), dtype=np.int64)
    ids[np.arange(ids.shape[1]) < lengths[:, None]] = flat
    return torch.from_numpy(ids), torch.from_numpy(lengths)

"""Bidirectional minGRU classifier: embedding → gated linear recurrence per direction → pooling → logits.

The minGRU (Feng et al. 2024, "Were RNNs All We Needed?") drops the GRU's dependence of its gates on the
previous state: ``z_t = σ(W_z x_t)``, ``h̃_t = W_h x_t``, ``h_t = (1 − z_t) ⊙ h_{t−1} + z_t ⊙ h̃_t``. Every
matrix product then reads only the current word, so at inference, with dropout off, the gate and candidate of
each direction are a function of the word id alone: they fold into per-word tables (``folded_tables``) and
scoring a review is a table lookup plus an element-wise scan, about 1/100 of a BiGRU's multiply-adds. The
recurrence is still a recurrence (order matters, "not good" ≠ "good, not"): what a BiGRU computes with a matrix
per step, this computes with per-word gates.

Right padding is exact as in ``RNNClassifier``: the backward direction reads each row reversed within its own
length, and pooling masks padded positions.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from senti.errors import ConfigError
from senti.models.layers import ClassifierHead, pool_states
from senti.models.rnn import reverse_index

POOLINGS = ("last", "max", "mean", "maxmean")


@dataclass
class MinGRUConfig:
    vocab_size: int = 30_000
    num_classes: int = 2
    embedding_dim: int = 128
    hidden_size: int = 128
    bidirectional: bool = True
    pooling: str = "maxmean"
    dense_size: int = 0
    dropout: float = 0.3
    embedding_dropout: float = 0.3

    def __post_init__(self) -> None:
        if self.pooling not in POOLINGS:
            raise ConfigError(f"model.pooling must be one of {POOLINGS} for a minGRU, got {self.pooling!r}")


class _LinearRecurrence(torch.autograd.Function):
    """``h_t = a_t ⊙ h_{t−1} + b_t`` along dim 0 (time first) from ``h_{−1} = 0``, with a hand-written backward.

    A step is one fused multiply-add on a contiguous (B, D) slice; autograd over the Python loop would record
    and replay 2·T nodes, the explicit reverse scan (``g_t = ∂L/∂h_t + a_{t+1} ⊙ g_{t+1}``) is one pass."""

    @staticmethod
    def forward(ctx, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        h = torch.empty_like(b)
        h[0] = b[0]
        for t in range(1, b.shape[0]):
            torch.addcmul(b[t], a[t], h[t - 1], out=h[t])
        ctx.save_for_backward(a, h)
        return h

    @staticmethod
    def backward(ctx, grad_h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:  # type: ignore[override]
        a, h = ctx.saved_tensors
        grad_h = grad_h.contiguous()
        grad_b = torch.empty_like(grad_h)
        T = grad_h.shape[0]
        grad_b[T - 1] = grad_h[T - 1]
        for t in range(T - 2, -1, -1):
            torch.addcmul(grad_h[t], a[t + 1], grad_b[t + 1], out=grad_b[t])
        grad_a = torch.empty_like(a)
        grad_a[0] = 0
        torch.mul(grad_b[1:], h[:-1], out=grad_a[1:])
        return grad_a, grad_b


def linear_recurrence(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """States (T, B, D) of ``h_t = a_t ⊙ h_{t−1} + b_t`` with ``h_{−1} = 0``, for ``a``, ``b`` (T, B, D)."""
    return _LinearRecurrence.apply(a.contiguous(), b.contiguous())


class MinGRUClassifier(nn.Module):
    def __init__(self, config: MinGRUConfig):
        super().__init__()
        self.config = c = config
        dirs = 2 if c.bidirectional else 1
        self.embedding = nn.Embedding(c.vocab_size, c.embedding_dim, padding_idx=0)
        # One projection for every direction's gate and candidate: (z_fwd, h̃_fwd[, z_bwd, h̃_bwd]).
        self.gates = nn.Linear(c.embedding_dim, 2 * dirs * c.hidden_size)
        self.embedding_dropout = nn.Dropout(c.embedding_dropout)
        pooled = dirs * c.hidden_size * (2 if c.pooling == "maxmean" else 1)
        self.classifier = ClassifierHead(pooled, c.dense_size, c.num_classes, c.dropout)

    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        return self.embedding(ids)

    def layer_groups(self) -> list[list[nn.Parameter]]:
        """Embeddings, the recurrence, the head (see ``RNNClassifier.layer_groups``)."""
        return [list(self.embedding.parameters()), list(self.gates.parameters()), list(self.classifier.parameters())]

    def gate_values(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Decay ``a = 1 − z`` and input ``b = z ⊙ h̃`` (…, dirs·H) from embeddings (…, E)."""
        H, dirs = self.config.hidden_size, 2 if self.config.bidirectional else 1
        g = self.gates(x).view(*x.shape[:-1], dirs, 2, H)
        z, cand = torch.sigmoid(g[..., 0, :]), g[..., 1, :]
        return (1 - z).flatten(-2), (z * cand).flatten(-2)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor, embedded: torch.Tensor | None = None
                ) -> torch.Tensor:
        """Class logits for right-padded ``ids`` (B, T) with true ``lengths`` (B,)."""
        # Time first inside: each recurrence step then reads and writes one contiguous (B, D) slice.
        x = self.embed(ids.T) if embedded is None else embedded.transpose(0, 1)  # (T, B, E)
        a, b = self.gate_values(self.embedding_dropout(x))
        T, H = ids.shape[1], self.config.hidden_size
        mask = torch.arange(T, device=ids.device).unsqueeze(0) < lengths.unsqueeze(1)  # (B, T)
        if self.config.bidirectional:
            rev = reverse_index(lengths, T).T.unsqueeze(2).expand(-1, -1, H)  # (T, B, H)
            a = torch.cat([a[..., :H], a[..., H:].gather(0, rev)], dim=2)
            b = torch.cat([b[..., :H], b[..., H:].gather(0, rev)], dim=2)
        h = linear_recurrence(a, b)
        if self.config.bidirectional:
            h = torch.cat([h[..., :H], h[..., H:].gather(0, rev)], dim=2)  # backward states back in text order
        return self.classifier(self.pool(h.transpose(0, 1), mask, lengths))

    def pool(self, h: torch.Tensor, mask: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        c = self.config
        return pool_states(h, mask, lengths, c.pooling, c.hidden_size, c.bidirectional)

    @torch.no_grad()
    def folded_tables(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-word decay and input, (V, dirs·H) each: what inference needs instead of embedding + projection."""
        was_training = self.training
        self.eval()
        a, b = self.gate_values(self.embedding.weight)
        self.train(was_training)
        return a, b

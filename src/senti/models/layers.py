"""Building blocks shared by the architectures."""

from __future__ import annotations

import torch
from torch import nn


class ClassifierHead(nn.Module):
    """Pooled features → dropout → (dense + ReLU → dropout) → class logits."""

    def __init__(self, in_features: int, dense_size: int, num_classes: int, dropout: float):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.dense = nn.Sequential(nn.Linear(in_features, dense_size), nn.ReLU()) if dense_size else None
        self.out = nn.Linear(dense_size or in_features, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.dropout(x)
        if self.dense is not None:
            x = self.dropout(self.dense(x))
        return self.out(x)  # (B, C)


def pool_states(h: torch.Tensor, mask: torch.Tensor, lengths: torch.Tensor, pooling: str, hidden_size: int,
                bidirectional: bool) -> torch.Tensor:
    """Masked pooling over time of right-padded states ``h`` (B, T, H·directions), forward half first:
    ``last`` (each direction's state after reading the whole text), ``max``, ``mean`` or ``maxmean``."""
    if pooling == "last":
        last = (lengths - 1).clamp(min=0).view(-1, 1, 1).expand(-1, 1, h.shape[2])
        fwd_last = h.gather(1, last).squeeze(1)[:, :hidden_size]  # forward state after the last real token
        if not bidirectional:
            return fwd_last
        return torch.cat([fwd_last, h[:, 0, hidden_size:]], dim=1)  # backward state after reading to the start
    m = mask.unsqueeze(2)  # (B, T, 1)
    mean = (h * m).sum(1) / lengths.clamp(min=1).unsqueeze(1).to(h.dtype)
    if pooling == "mean":
        return mean
    mx = h.masked_fill(~m, torch.finfo(h.dtype).min).max(1).values
    return mx if pooling == "max" else torch.cat([mx, mean], dim=1)

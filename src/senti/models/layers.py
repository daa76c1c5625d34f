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

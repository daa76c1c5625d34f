"""Convolutional text classifier (Kim 2014): embedding → parallel Conv1D of several widths → masked
max-over-time pooling → dropout → class logits."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from senti.models.layers import ClassifierHead


@dataclass
class CNNConfig:
    vocab_size: int = 30_000
    num_classes: int = 2
    embedding_dim: int = 128
    kernel_sizes: list[int] = field(default_factory=lambda: [3, 4, 5])
    num_filters: int = 128
    dense_size: int = 0
    dropout: float = 0.5
    embedding_dropout: float = 0.0


class CNNClassifier(nn.Module):
    def __init__(self, config: CNNConfig):
        super().__init__()
        self.config = c = config
        self.embedding = nn.Embedding(c.vocab_size, c.embedding_dim, padding_idx=0)
        self.convs = nn.ModuleList(
            nn.Conv1d(c.embedding_dim, c.num_filters, k, padding=k // 2) for k in c.kernel_sizes
        )
        pooled = c.num_filters * len(c.kernel_sizes)
        self.embedding_dropout = nn.Dropout(c.embedding_dropout)
        self.classifier = ClassifierHead(pooled, c.dense_size, c.num_classes, c.dropout)

    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        return self.embedding(ids)

    def layer_groups(self) -> list[list[nn.Parameter]]:
        """Embeddings, then everything above them (see ``RNNClassifier.layer_groups``)."""
        return [list(self.embedding.parameters()), [*self.convs.parameters(), *self.classifier.parameters()]]

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor, embedded: torch.Tensor | None = None
                ) -> torch.Tensor:
        x = self.embed(ids) if embedded is None else embedded  # (B, T, E)
        x = self.embedding_dropout(x).transpose(1, 2)  # (B, E, T)
        T = ids.shape[1]
        mask = (torch.arange(T, device=ids.device).unsqueeze(0) < lengths.unsqueeze(1)).unsqueeze(1)  # (B,1,T)
        pooled = []
        for conv in self.convs:
            h = torch.relu(conv(x))[:, :, :T]  # (B, F, T); even widths give one extra column
            pooled.append(h.masked_fill(~mask, 0.0).max(2).values)  # ReLU ≥ 0, so 0 is a safe mask
        return self.classifier(torch.cat(pooled, dim=1))  # (B, F * len(kernel_sizes)) → (B, C)

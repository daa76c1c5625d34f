"""Recurrent text classifier: embedding → (Bi)RNN/LSTM/GRU stack → pooling → dense → class logits.

Sequences are right-padded and *not* packed: ``pack_padded_sequence`` misses oneDNN's fused LSTM kernel
(4–8× slower on CPU here) and does not export to ONNX. Padding is made exact instead:
- the forward direction never sees padding before a real token, so its state at position ``len-1`` is exact;
- the backward direction runs a second RNN over each sequence reversed *within its own length*, so it too
  reads real tokens first; its outputs are flipped back into place with the same index map;
- pooling masks padded positions.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from senti.errors import ConfigError
from senti.models.layers import ClassifierHead, pool_states

CELLS = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}
POOLINGS = ("last", "max", "mean", "maxmean", "attention")


@dataclass
class RNNConfig:
    vocab_size: int = 30_000
    num_classes: int = 2
    embedding_dim: int = 128
    cell: str = "lstm"
    hidden_size: int = 128
    num_layers: int = 1
    bidirectional: bool = False
    pooling: str = "maxmean"
    dense_size: int = 0
    dropout: float = 0.3
    embedding_dropout: float = 0.0
    init: str = "keras"  # keras: small embeddings, orthogonal recurrence, forget bias 1 | torch: PyTorch defaults

    def __post_init__(self) -> None:
        if self.init not in ("torch", "keras"):
            raise ConfigError(f"model.init must be 'torch' or 'keras', got {self.init!r}")
        if self.cell not in CELLS:
            raise ConfigError(f"model.cell must be one of {sorted(CELLS)}, got {self.cell!r}")
        if self.pooling not in POOLINGS:
            raise ConfigError(f"model.pooling must be one of {POOLINGS}, got {self.pooling!r}")


def reverse_index(lengths: torch.Tensor, max_len: int) -> torch.Tensor:
    """Index map that reverses each row within its length and leaves the padding in place."""
    pos = torch.arange(max_len, device=lengths.device).unsqueeze(0)  # (1, T)
    return torch.where(pos < lengths.unsqueeze(1), lengths.unsqueeze(1) - 1 - pos, pos)  # (B, T)


class RNNClassifier(nn.Module):
    def __init__(self, config: RNNConfig):
        super().__init__()
        self.config = c = config
        self.embedding = nn.Embedding(c.vocab_size, c.embedding_dim, padding_idx=0)
        rnn = CELLS[c.cell]
        kw = {"batch_first": True} if c.cell != "rnn" else {"batch_first": True, "nonlinearity": "tanh"}
        dirs = 2 if c.bidirectional else 1
        self.forward_layers = nn.ModuleList()
        self.backward_layers = nn.ModuleList()
        for i in range(c.num_layers):
            in_size = c.embedding_dim if i == 0 else c.hidden_size * dirs
            self.forward_layers.append(rnn(in_size, c.hidden_size, **kw))
            if c.bidirectional:
                self.backward_layers.append(rnn(in_size, c.hidden_size, **kw))
        out_size = c.hidden_size * dirs
        if c.pooling == "attention":
            self.attention = nn.Linear(out_size, 1)
        pooled = out_size * (2 if c.pooling == "maxmean" else 1)
        self.embedding_dropout = nn.Dropout(c.embedding_dropout)
        self.dropout = nn.Dropout(c.dropout)
        self.classifier = ClassifierHead(pooled, c.dense_size, c.num_classes, c.dropout)
        if c.init == "keras":
            self._keras_init()

    @torch.no_grad()
    def _keras_init(self) -> None:
        """Keras' defaults: U(-0.05, 0.05) embeddings, Glorot input weights, orthogonal recurrent weights,
        zero biases with the LSTM forget gate at 1 (so early gradients flow through long reviews)."""
        nn.init.uniform_(self.embedding.weight, -0.05, 0.05)
        self.embedding.weight[0].zero_()
        H = self.config.hidden_size
        for rnn in [*self.forward_layers, *self.backward_layers]:
            for name, p in rnn.named_parameters():
                if name.startswith("weight_ih"):
                    nn.init.xavier_uniform_(p)
                elif name.startswith("weight_hh"):
                    for k in range(0, p.shape[0], H):  # one orthogonal block per gate
                        nn.init.orthogonal_(p[k:k + H])
                elif name.startswith("bias"):
                    p.zero_()
                    if self.config.cell == "lstm" and name.startswith("bias_ih"):
                        p[H:2 * H] = 1.0  # gate order i, f, g, o

    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        return self.embedding(ids)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor, embedded: torch.Tensor | None = None
                ) -> torch.Tensor:
        """Class logits for right-padded ``ids`` (B, T) with true ``lengths`` (B,)."""
        h, mask = self.encode(ids, lengths, embedded)
        return self.classifier(self.pool(h, mask, lengths))  # (B, C)

    def encode(self, ids: torch.Tensor, lengths: torch.Tensor, embedded: torch.Tensor | None = None,
               isolate_directions: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """Top-layer states (B, T, H·directions), forward half first, and the (B, T) mask of real tokens.

        ``isolate_directions`` (language-model pretraining): in a stacked bidirectional network, each
        direction of layer i > 0 normally reads both directions of layer i - 1, so the forward states would
        have seen the words they must predict. Zeroing the other direction's half keeps each direction causal
        while every weight keeps the shape that classification uses."""
        x = self.embed(ids) if embedded is None else embedded  # (B, T, E)
        x = self.embedding_dropout(x)
        T = ids.shape[1]
        mask = torch.arange(T, device=ids.device).unsqueeze(0) < lengths.unsqueeze(1)  # (B, T)
        rev = reverse_index(lengths, T).unsqueeze(2) if self.config.bidirectional else None
        H = self.config.hidden_size
        for i, fwd in enumerate(self.forward_layers):
            if i > 0:
                x = self.dropout(x)
            fwd_in = x
            if isolate_directions and rev is not None and i > 0:
                fwd_in = torch.cat([x[:, :, :H], torch.zeros_like(x[:, :, H:])], dim=2)
                x = torch.cat([torch.zeros_like(x[:, :, :H]), x[:, :, H:]], dim=2)
            h, _ = fwd(fwd_in)  # (B, T, H)
            if rev is not None:
                bwd_in = x.gather(1, rev.expand(-1, -1, x.shape[2]))
                hb, _ = self.backward_layers[i](bwd_in)  # (B, T, H), reversed order
                hb = hb.gather(1, rev.expand(-1, -1, hb.shape[2]))  # back in text order
                h = torch.cat([h, hb], dim=2)  # (B, T, 2H)
            x = h
        return x, mask

    def layer_groups(self) -> list[list[nn.Parameter]]:
        """Parameters from the bottom (embeddings) to the top (pooling and classifier): the units that
        discriminative learning rates and gradual unfreezing work on."""
        groups = [list(self.embedding.parameters())]
        for i, fwd in enumerate(self.forward_layers):
            groups.append([*fwd.parameters(), *(self.backward_layers[i].parameters() if self.backward_layers
                                                 else [])])
        top = [*self.classifier.parameters(), *(self.attention.parameters() if hasattr(self, "attention") else [])]
        return [*groups, top]

    def pool(self, h: torch.Tensor, mask: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        c = self.config
        if c.pooling == "attention":
            scores = self.attention(h).masked_fill(~mask.unsqueeze(2), float("-inf"))  # (B, T, 1)
            return (torch.softmax(scores, dim=1) * h).sum(1)
        return pool_states(h, mask, lengths, c.pooling, c.hidden_size, c.bidirectional)

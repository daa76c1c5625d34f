"""Pretrain a recurrent encoder as a language model on unlabelled text, then fine-tune it to classify
(Dai & Le 2015; ULMFiT, Howard & Ruder 2018).

The encoder is the classifier's own embedding and RNN stack, so its weights load into ``senti train
--encoder DIR`` unchanged. The forward direction predicts the next word and the backward direction the
previous one (ELMo-style, each direction kept causal). A full softmax over 30k words would cost ~25× the
RNN itself on a CPU, so the loss is a sampled softmax: the true word against ``num_sampled`` words drawn
from the unigram^0.75 distribution, shared by the batch, with the log-Q correction (Jean et al. 2015) that
keeps it an unbiased estimate of the full softmax's gradient direction. Output embeddings are tied to the
input ones, so the softmax trains the word vectors too.

    ENCODER_DIR/
      senti-model.json   kind "encoder": architecture, cleaning, vocabulary config, pretraining stats
      vocab.json         the vocabulary (fine-tuning must use this one)
      model.safetensors  embedding and RNN weights (no classifier head)
      history.json       per-epoch loss and perplexity on held-out text
"""

from __future__ import annotations

import dataclasses
import logging
import math
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from senti.bundle import BundleError, load_bundle, save_bundle
from senti.config import CleanConfig, PretrainConfig, TrainConfig, VocabConfig
from senti.errors import ConfigError, DataError
from senti.io import write_json
from senti.models.batching import bucket_batches, collate
from senti.models.registry import build_model, full_model_config, resolve_preset
from senti.models.rnn import RNNClassifier
from senti.text import Cleaner, Vocabulary, tokenize
from senti.training.trainer import TrainingError, make_optimizer, resolve_device, sigint_requests_stop

log = logging.getLogger("senti")

ENCODER_KIND = "encoder"
# The parts of the classifier that pretraining produces; everything else (pooling, head) starts fresh.
ENCODER_PREFIXES = ("embedding.", "forward_layers.", "backward_layers.")


class LanguageModelHead(nn.Module):
    """Per direction: RNN state → embedding space; scored against the (tied) input embeddings."""

    def __init__(self, encoder: RNNClassifier, unigram: np.ndarray, num_sampled: int, dropout: float):
        super().__init__()
        c = encoder.config
        self.encoder = encoder
        dirs = 2 if c.bidirectional else 1
        self.project = nn.ModuleList(nn.Linear(c.hidden_size, c.embedding_dim) for _ in range(dirs))
        self.dropout = nn.Dropout(dropout)
        q = torch.as_tensor(unigram, dtype=torch.float64) ** 0.75
        q[:2] = 0  # never sample padding or <unk>
        self.register_buffer("q", (q / q.sum()).float())
        self.num_sampled = num_sampled

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, int]:
        """Summed sampled-softmax loss over every predicted position, and the number of positions."""
        h, mask = self.encoder.encode(ids, lengths, isolate_directions=True)
        H = self.encoder.config.hidden_size
        # Forward state at t predicts word t+1; backward state at t (it has read T-1..t) predicts word t-1.
        pairs = [(h[:, :-1, :H], ids[:, 1:], mask[:, 1:])]
        if len(self.project) == 2:
            pairs.append((h[:, 1:, H:], ids[:, :-1], mask[:, 1:]))
        negatives = torch.multinomial(self.q, self.num_sampled, replacement=True)  # shared by the batch
        log_q_neg = torch.log(self.q[negatives] * self.num_sampled)
        weight = self.encoder.embedding.weight
        total, count = h.new_zeros(()), 0
        for proj, (states, targets, valid) in zip(self.project, pairs, strict=True):
            s = proj(self.dropout(states[valid]))  # (N, E)
            t = targets[valid]  # (N,)
            true_logit = (s * weight[t]).sum(1) - torch.log(self.q[t] * self.num_sampled + 1e-12)
            neg_logits = s @ weight[negatives].T - log_q_neg  # (N, K)
            neg_logits = neg_logits.masked_fill(negatives.unsqueeze(0) == t.unsqueeze(1), float("-inf"))
            logits = torch.cat([true_logit.unsqueeze(1), neg_logits], dim=1)
            total = total + nn.functional.cross_entropy(logits, torch.zeros_like(t), reduction="sum")
            count += int(t.numel())
        return total, count


def pretrain_encoder(texts: Sequence[str], output: str | Path, *, model: str | dict[str, Any] = "bigru",
                     clean: CleanConfig | None = None, vocab: VocabConfig | None = None,
                     config: PretrainConfig | None = None, progress: bool = True, source: str | None = None,
                     overwrite: bool = False) -> dict[str, Any]:
    """Pretrain the encoder of ``model`` (a preset name or model config) on ``texts`` and save it to
    ``output`` (refused if it holds anything, unless ``overwrite``); returns the record stored in its manifest."""
    out = Path(output)
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not overwrite:
        raise FileExistsError(f"{output} is not empty; choose another output folder or pass --overwrite")
    cfg = config or PretrainConfig()
    clean = clean or CleanConfig()
    vocab_cfg = vocab or VocabConfig()
    model_cfg = dict(resolve_preset(model)["model"]) if isinstance(model, str) else dict(model)
    if model_cfg.get("architecture") != "senti.rnn.v1":
        raise ConfigError("language-model pretraining needs a recurrent model (senti.rnn.v1), "
                         f"not {model_cfg.get('architecture')}")
    if len(texts) < 2:
        raise DataError(f"pretraining needs unlabelled texts; got {len(texts)}")
    t0 = time.perf_counter()
    torch.manual_seed(cfg.seed)
    cleaner = Cleaner(clean)
    tokens = [tokenize(cleaner(t)) for t in texts]
    voc = Vocabulary.build(tokens, vocab_cfg.max_size, vocab_cfg.min_count)
    ids = [voc.encode(t, vocab_cfg.max_length, vocab_cfg.truncate) for t in tokens]
    unigram = np.bincount(np.fromiter((i for seq in ids for i in seq), dtype=np.int64), minlength=len(voc))
    del tokens
    rng = np.random.default_rng(cfg.seed)
    order = rng.permutation(len(ids))
    n_valid = min(cfg.valid_texts, len(ids) // 10)
    valid = [ids[i] for i in order[:n_valid]]
    train = [ids[i] for i in order[n_valid:] if len(ids[i]) > 1]
    n_tokens = sum(len(s) for s in train)
    log.info("pretrain: %d texts (%d tokens), vocabulary %d, %d held out, %.1fs to prepare", len(train), n_tokens,
             len(voc), len(valid), time.perf_counter() - t0)

    model_cfg = full_model_config({**model_cfg, "vocab_size": len(voc), "num_classes": 2})
    encoder = build_model(model_cfg)
    device = resolve_device(cfg.device)
    lm = LanguageModelHead(encoder, unigram, cfg.num_sampled, cfg.dropout).to(device)
    optimizer = make_optimizer(lm.parameters(), _train_config(cfg))
    history: list[dict[str, float]] = []
    started = time.perf_counter()
    stopped = "completed"
    with sigint_requests_stop() as stop:
        for epoch in range(cfg.epochs):
            batches = bucket_batches([len(s) for s in train], cfg.batch_size, seed=cfg.seed * 1_000_003 + epoch)
            lm.train()
            bar = tqdm(batches, desc=f"pretrain {epoch + 1}/{cfg.epochs}", disable=not progress, unit="batch",
                       dynamic_ncols=True, mininterval=0.1 if sys.stderr.isatty() else 30.0)
            loss_sum, seen, t_epoch = 0.0, 0, time.perf_counter()
            for b in bar:
                if stop.is_set():
                    break
                x, lengths = collate([train[i] for i in b])
                loss, n = lm(x.to(device), lengths.to(device))
                if not torch.isfinite(loss):
                    raise TrainingError(f"the language-model loss became {loss.item()}; lower --lr (now {cfg.lr:g})")
                optimizer.zero_grad(set_to_none=True)
                (loss / max(n, 1)).backward()
                nn.utils.clip_grad_norm_(lm.parameters(), cfg.clip_grad_norm)
                optimizer.step()
                loss_sum, seen = loss_sum + loss.item(), seen + n
                bar.set_postfix(loss=f"{loss_sum / max(seen, 1):.3f}", refresh=False)
            bar.close()
            secs = time.perf_counter() - t_epoch
            row = {"epoch": epoch + 1, "loss": loss_sum / max(seen, 1), "val_loss": _evaluate(lm, valid),
                   "tokens_per_s": seen / max(secs, 1e-9) / len(lm.project), "elapsed_s": time.perf_counter() - started}
            row["val_perplexity"] = math.exp(min(row["val_loss"], 50))
            history.append(row)
            # Saved after every epoch, so an interrupted or killed pretraining still leaves a usable encoder.
            save_encoder(output, encoder, voc, clean, vocab_cfg, model_cfg,
                         _record(train, n_tokens, valid, history, "running", t0, source, cfg))
            log.info("pretrain epoch %d: loss %.3f | val_loss %.3f (sampled-softmax perplexity %.1f) | %.0f tokens/s",
                     row["epoch"], row["loss"], row["val_loss"], row["val_perplexity"], row["tokens_per_s"])
            if stop.is_set():
                stopped = "interrupted"
                break
            if cfg.max_minutes is not None and row["elapsed_s"] > cfg.max_minutes * 60 and epoch + 1 < cfg.epochs:
                log.info("pretrain: stopping, the time budget of %.1f minutes is spent", cfg.max_minutes)
                stopped = "time budget"
                break
    record = _record(train, n_tokens, valid, history, stopped, t0, source, cfg)
    save_encoder(output, encoder, voc, clean, vocab_cfg, model_cfg, record)
    return record


def _record(train: list, n_tokens: int, valid: list, history: list[dict[str, float]], stopped: str, t0: float,
            source: str | None, cfg: PretrainConfig) -> dict[str, Any]:
    return {"texts": len(train), "tokens": n_tokens, "held_out_texts": len(valid), "epochs_run": len(history),
            "stopped": stopped, "seconds": time.perf_counter() - t0, "source": source,
            "config": dataclasses.asdict(cfg), "history": history}


def _train_config(cfg: PretrainConfig) -> TrainConfig:
    return TrainConfig(optimizer="adamw", lr=cfg.lr, batch_size=cfg.batch_size, seed=cfg.seed)


@torch.inference_mode()
def _evaluate(lm: LanguageModelHead, valid: list[list[int]]) -> float:
    if not valid:
        return float("nan")
    lm.eval()
    generator_state = torch.get_rng_state()
    torch.manual_seed(0)  # the same negatives every epoch, so epochs compare
    total, count = 0.0, 0
    for b in bucket_batches([len(s) for s in valid], 128):
        x, lengths = collate([valid[i] for i in b])
        device = lm.q.device
        loss, n = lm(x.to(device), lengths.to(device))
        total, count = total + loss.item(), count + n
    torch.set_rng_state(generator_state)
    lm.train()
    return total / max(count, 1)


def save_encoder(path: str | Path, encoder: RNNClassifier, vocab: Vocabulary, clean: CleanConfig,
                 vocab_cfg: VocabConfig, model_cfg: dict[str, Any], record: dict[str, Any]) -> Path:
    state = {k: v for k, v in encoder.state_dict().items() if k.startswith(ENCODER_PREFIXES)}
    manifest = {"kind": ENCODER_KIND, "labels": [], "clean": dataclasses.asdict(clean),
                "vocab": dataclasses.asdict(vocab_cfg), "model": model_cfg, "pretraining": record}
    path = save_bundle(path, manifest, vocab.itos, state)
    write_json(Path(path) / "history.json", record["history"])
    return path


@dataclasses.dataclass
class Encoder:
    """A pretrained encoder as read back: what fine-tuning must reuse (vocabulary, cleaning, architecture)."""

    path: Path
    vocab: Vocabulary
    clean: dict[str, Any]
    vocab_config: dict[str, Any]
    model: dict[str, Any]
    weights: dict[str, torch.Tensor]
    pretraining: dict[str, Any]


def load_encoder(path: str | Path) -> Encoder:
    manifest, itos, weights = load_bundle(path)
    if manifest.get("kind") != ENCODER_KIND:
        raise BundleError(f"{path}: a trained classifier, not a pretrained encoder (make one with senti pretrain)")
    bad = [k for k in weights if not k.startswith(ENCODER_PREFIXES)]
    if bad:
        raise BundleError(f"{path}: unexpected weights in an encoder: {bad[:3]}")
    return Encoder(Path(path), Vocabulary(itos), manifest["clean"], manifest["vocab"], manifest["model"], weights,
                   manifest.get("pretraining", {}))


# The architecture options an encoder fixes; the rest (pooling, dropout, head) fine-tuning may choose.
ENCODER_SHAPE = ("architecture", "cell", "embedding_dim", "hidden_size", "num_layers", "bidirectional", "vocab_size")


def load_encoder_weights(net: nn.Module, encoder: Encoder) -> None:
    """Copy pretrained weights into a freshly built classifier of the same shape."""
    missing = set(encoder.weights) - set(net.state_dict())
    if missing:
        raise BundleError(f"{encoder.path}: the encoder does not fit this model (e.g. {sorted(missing)[:2]})")
    result = net.load_state_dict(encoder.weights, strict=False)
    if result.unexpected_keys:
        raise BundleError(f"{encoder.path}: unexpected weights {result.unexpected_keys[:3]}")

"""The neural scorer: cleaner → vocabulary ids → length-bucketed batches → a network, computed by PyTorch, an
ONNX Runtime session of a verified export, or (a minGRU) its folded per-word tables."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from senti.bundle import bundle_dir, save_bundle
from senti.config import CleanConfig, VocabConfig
from senti.errors import BundleError
from senti.models.batching import bucket_batches, collate
from senti.models.mingru import MinGRUClassifier
from senti.runtime.cpu import ensure_configured
from senti.scoring.base import ScorerBase, log_odds
from senti.text import Vocabulary

log = logging.getLogger("senti")

TORCH_BATCH_SIZE = 256
BATCH_SIZE = {"onnx": 64, "onnx-int8": 64, "folded": 512}  # fastest on IMDB; ORT's working set stays in cache


class NeuralScorer(ScorerBase):
    """A network with its vocabulary. ``exports``: the manifest's record of ONNX exports, which ``auto``
    chooses from."""

    def __init__(self, net: torch.nn.Module, vocab: Vocabulary, clean: CleanConfig, vocab_config: VocabConfig,
                 model_config: dict[str, Any], exports: dict[str, Any] | None = None):
        super().__init__(net.eval(), clean, vocab_config, model_config)
        self.vocab = vocab
        self.exports = exports or {}
        self.runtime = "torch"
        self._session: Any = None  # an OnnxSession or FoldedSession when one is in use
        ensure_configured()
        if isinstance(net, MinGRUClassifier):  # exact and faster than PyTorch; tables of the weights as they are now
            self.use_runtime("folded", "")

    @classmethod
    def from_trained(cls, net: torch.nn.Module, vocab: Vocabulary | None, clean: CleanConfig,
                     vocab_config: VocabConfig, model_config: dict[str, Any]) -> NeuralScorer:
        return cls(net, vocab, clean, vocab_config, model_config)

    # -- text → ids ---------------------------------------------------------------------------------
    def encode(self, texts: Iterable[str]) -> list[list[int]]:
        vc = self.vocab_config
        prepare, encode = self.cleaner.for_tokenizer, self.vocab.encode_text
        return [encode(prepare(t), vc.max_length, vc.truncate) for t in texts]

    # -- prediction ---------------------------------------------------------------------------------
    @torch.inference_mode()
    def predict_proba_ids(self, ids: Sequence[Sequence[int]], batch_size: int | None = None) -> np.ndarray:
        """Class probabilities (N, C) of id sequences; input order is kept. ``batch_size`` defaults to what
        was fastest for the runtime on IMDB."""
        batch_size = batch_size or BATCH_SIZE.get(self.runtime, TORCH_BATCH_SIZE)
        out = np.empty((len(ids), self.num_classes), dtype=np.float32)
        if not len(ids):
            return out
        for batch in bucket_batches([len(s) for s in ids], batch_size):
            x, lengths = collate([ids[i] for i in batch])
            if self._session is not None:
                out[batch] = self._session(x.numpy(), lengths.numpy())
            else:
                device = next(self.net.parameters()).device
                logits = self.net(x.to(device), lengths.to(device))
                out[batch] = torch.softmax(logits.float(), dim=-1).cpu().numpy()
        return out

    def predict_proba(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        return self.predict_proba_ids(self.encode(texts), batch_size)

    def predict_proba_cleaned(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        """Probabilities of texts this scorer's cleaner has prepared (``Cleaner.for_tokenizer``)."""
        vc, encode = self.vocab_config, self.vocab.encode_text
        return self.predict_proba_ids([encode(t, vc.max_length, vc.truncate) for t in texts], batch_size)

    def word_scores(self, n_words: int) -> tuple[list[str], np.ndarray]:
        words = self.vocab.itos[2:2 + n_words]
        return words, log_odds(self.predict_proba_ids([[i] for i in range(2, 2 + len(words))], batch_size=1024))

    # -- runtimes -----------------------------------------------------------------------------------
    def use_runtime(self, runtime: str, directory: str | Path, threads: int | None = None) -> None:
        """Score with an exported runtime (``onnx`` or ``onnx-int8``) of the bundle in ``directory``,
        ``folded`` (a minGRU's per-word tables in NumPy, built from the weights), or ``torch``."""
        if runtime == "torch":
            self._session, self.runtime = None, "torch"
            return
        if runtime == "folded":
            if not isinstance(self.net, MinGRUClassifier):
                raise BundleError(f"{directory}: the folded runtime is for minGRU models, not "
                                  f"{self.model_config.get('architecture')}")
            from senti.runtime.folded import FoldedSession

            self._session, self.runtime = FoldedSession(self.net), "folded"
            return
        from senti.runtime.onnx import open_export

        self._session = open_export(self.net, self.exports, bundle_dir(directory), runtime,
                                    self.vocab_config.max_length, len(self.vocab), threads)
        self.runtime = runtime

    def choose_runtime(self, runtime: str, directory: str | Path, threads: int | None = None) -> None:
        """``auto``: ``folded`` for a minGRU, else the fastest verified export (ONNX int8, then fp32), falling
        back to PyTorch with a warning if an export is damaged; any other name insists on that runtime."""
        if runtime == self.runtime or (runtime == "auto" and self.runtime == "folded"):
            return  # a minGRU is folded from the start: exact, and faster than any export of it
        if runtime != "auto":
            self.use_runtime(runtime, directory, threads)
            return
        # ONNX Runtime has int8 kernels for LSTM only: for a GRU/RNN/CNN the int8 file merely quantizes the
        # output layer and was no faster than fp32.
        fastest = ("onnx-int8", "onnx") if self.model_config.get("cell") == "lstm" else ("onnx", "onnx-int8")
        for name in fastest:
            if name in self.exports:
                try:
                    self.use_runtime(name, directory, threads)
                    break
                except (BundleError, ImportError) as e:
                    log.warning("%s; scoring with PyTorch instead", e)

    # -- persistence --------------------------------------------------------------------------------
    def save(self, directory: str | Path, manifest_extra: dict[str, Any]) -> Path:
        return save_bundle(directory, self.manifest(manifest_extra), self.vocab.itos, self.net.state_dict())

    @classmethod
    def from_bundle(cls, directory: Path, manifest: dict[str, Any], net: torch.nn.Module, vocab: list[str],
                    weights: dict[str, np.ndarray], clean: CleanConfig, vocab_config: VocabConfig,
                    runtime: str, threads: int | None, read_scorer: Any) -> NeuralScorer:
        try:
            net.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()}, strict=True)
            vocabulary = Vocabulary(vocab)
        except (RuntimeError, ValueError) as e:
            raise BundleError(f"{directory}: weights do not match the recorded architecture: {e}") from e
        scorer = cls(net, vocabulary, clean, vocab_config, manifest["model"], manifest.get("exports", {}))
        scorer.choose_runtime(runtime, directory, threads)
        return scorer

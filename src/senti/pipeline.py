"""``SentimentModel``: the one prediction path (raw text → clean → tokens → ids → tensors → network →
probabilities), shared by the Python API, the CLI and the server."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from senti.bundle import BundleError, bundle_dir, load_bundle, save_bundle
from senti.config import CleanConfig, VocabConfig
from senti.errors import ConfigError
from senti.evaluation.metrics import classification_metrics
from senti.models.ensemble import EnsembleClassifier
from senti.models.linear import LinearTextClassifier
from senti.models.mingru import MinGRUClassifier
from senti.models.registry import build_model
from senti.parallel import CHUNK as PARALLEL_CHUNK
from senti.parallel import WorkerPool, resolve_n_process
from senti.text import Cleaner, Vocabulary
from senti.training.batching import bucket_batches, collate

if TYPE_CHECKING:
    import pandas as pd

    from senti.explain import Explanation

_configured_threads = False
TORCH_BATCH_SIZE = 256
BATCH_SIZE = {"onnx": 64, "onnx-int8": 64, "folded": 512}  # fastest on IMDB; ORT's working set stays in cache


def configure_cpu(num_threads: int | None = None) -> None:
    """Use every core and flush denormals: fp32 LSTM throughput has been seen to collapse ~40× from them."""
    global _configured_threads
    torch.set_flush_denormal(True)
    if num_threads:
        torch.set_num_threads(num_threads)
    _configured_threads = True


class SentimentModel:
    """A trained classifier with its text pipeline; scikit-learn verbs (``predict``, ``predict_proba``,
    ``score``, ``classes_``)."""

    def __init__(self, net: torch.nn.Module | LinearTextClassifier, vocab: Vocabulary | None, labels: Sequence[str],
                 clean: CleanConfig, vocab_config: VocabConfig, model_config: dict[str, Any],
                 metadata: dict[str, Any] | None = None):
        self.net = net.eval() if isinstance(net, torch.nn.Module) else net
        self.vocab = vocab
        self.classes_ = np.asarray(list(labels), dtype=object)
        self.clean_config = clean
        self.vocab_config = vocab_config
        self.model_config = model_config
        self.metadata = metadata or {}
        self.cleaner = Cleaner(clean)
        self.runtime = "torch" if isinstance(net, torch.nn.Module) else "numpy"
        self._session: Any = None  # an OnnxSession or FoldedSession when one is in use
        self._pool: Any = None  # a WorkerPool once predict_proba(n_process > 1) has needed one
        self.source: Path | None = None  # the bundle it was loaded from
        if isinstance(net, MinGRUClassifier):  # exact and faster than PyTorch; tables of the weights as they are now
            self.use_runtime("folded", "")
        if not _configured_threads:
            configure_cpu()

    @property
    def labels(self) -> list[str]:
        return list(self.classes_)

    # -- text → ids ---------------------------------------------------------------------------------
    def tokens(self, text: str) -> list[str]:
        return self.cleaner.tokens(text)

    def encode(self, texts: Iterable[str]) -> list[list[int]]:
        vc = self.vocab_config
        prepare, encode = self.cleaner.for_tokenizer, self.vocab.encode_text
        return [encode(prepare(t), vc.max_length, vc.truncate) for t in texts]

    # -- prediction ---------------------------------------------------------------------------------
    @torch.inference_mode()
    def predict_proba_ids(self, ids: Sequence[Sequence[int]], batch_size: int | None = None) -> np.ndarray:
        """Class probabilities (N, C), columns ordered like ``classes_``; input order is kept. ``batch_size``
        defaults to what was fastest for the runtime on IMDB (ONNX Runtime: 64, its working set stays in cache)."""
        batch_size = batch_size or BATCH_SIZE.get(self.runtime, TORCH_BATCH_SIZE)
        out = np.empty((len(ids), len(self.classes_)), dtype=np.float32)
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

    def predict_proba(self, texts: Sequence[str], batch_size: int | None = None, n_process: int = 1) -> np.ndarray:
        """Class probabilities (N, C). ``n_process`` > 1 (-1: every core) scores on that many worker processes,
        started on first use and kept: the text pipeline is Python, so one process uses one core."""
        texts = _as_texts(texts)
        n_process = resolve_n_process(n_process)
        if n_process > 1 and len(texts) > PARALLEL_CHUNK:
            if self._pool is None or self._pool.n != n_process:
                if self._pool is not None:
                    self._pool.close()
                self._pool = WorkerPool(self, n_process)
            return self._pool.predict_proba(texts, batch_size)
        if not isinstance(self.net, torch.nn.Module) and not len(texts):
            return np.empty((0, len(self.classes_)), dtype=np.float32)
        if isinstance(self.net, EnsembleClassifier):
            return self.net.predict_proba(texts, batch_size)  # each member cleans and encodes for itself
        if isinstance(self.net, LinearTextClassifier):
            return self.net.predict_proba([self.tokens(t) for t in texts])
        return self.predict_proba_ids(self.encode(texts), batch_size)

    def predict(self, texts: Sequence[str], batch_size: int | None = None, n_process: int = 1) -> np.ndarray:
        return self.classes_[self.predict_proba(texts, batch_size, n_process).argmax(axis=1)]

    def explain(self, texts: Sequence[str], method: str = "occlusion", batch_size: int = 256) -> list[Explanation]:
        """Per text: the predicted label, the probabilities and, for each word of the original text (with its
        character offsets), its signed contribution to the predicted class. ``method``: ``occlusion`` (every
        model type; the probability drop when the word is deleted) or ``integrated-gradients`` (RNN/CNN)."""
        from senti.explain import explain

        return explain(self, texts, method, batch_size)

    def rationales(self, texts: Sequence[str], labels: Sequence[str] | None = None, batch_size: int = 256
                   ) -> pd.DataFrame:
        """Per text, the contiguous words that carry its sentiment (the given ``labels``, else the predicted
        one; the whole text for neutral): a DataFrame with ``sentiment``,
        ``probability``, ``span`` and its character offsets ``start`` / ``end``. Word-alone scores with the
        VADER lexicon prior, the settings measured on Kaggle's human spans (senti.explain.rationale)."""
        from senti.explain.rationale import extract_rationales

        return extract_rationales(self, texts, labels, batch_size=batch_size)

    def score(self, texts: Sequence[str], labels: Sequence[str]) -> float:
        return float(np.mean(self.predict(texts) == np.asarray(labels, dtype=object)))

    def evaluate(self, texts: Sequence[str], labels: Sequence[str], batch_size: int | None = None,
                 label_map: str | dict[str, str] | None = None) -> dict:
        """Metrics against ``labels``, matched to the model's classes as senti reads labels (``1.0`` is ``1``)
        after ``label_map`` (``"0=negative,1=positive"``); a label still unknown is a DataError."""
        from senti.data.labels import match_labels  # here: senti.data loads pandas, which predicting never needs

        labels = match_labels(labels, self.labels, label_map)
        return classification_metrics(labels, list(self.predict(texts, batch_size)), self.labels)

    # -- persistence --------------------------------------------------------------------------------
    def save(self, path: str | Path, extra: dict[str, Any] | None = None) -> Path:
        manifest = {
            "labels": self.labels,
            "clean": dataclasses.asdict(self.clean_config),
            "vocab": dataclasses.asdict(self.vocab_config),
            "model": self.model_config,
            **{k: v for k, v in self.metadata.items() if k != "exports"},  # exports belong to the old folder
            **(extra or {}),
        }
        if isinstance(self.net, EnsembleClassifier):
            # Each member is a complete bundle of its own, with its own checksums (and, later, its own exports).
            writers = {name: m.save for name, m in self.net.members.items()}
            self.source = save_bundle(path, manifest, [], self.net.state_dict(), members=writers)
            for name, member in self.net.members.items():  # they were written in a temp folder, now renamed
                member.source = self.source / "members" / name
            return self.source
        linear = isinstance(self.net, LinearTextClassifier)
        vocab = self.net.vocabulary_ if linear else self.vocab.itos
        self.source = save_bundle(path, manifest, vocab, self.net.state_dict())
        return self.source

    def use_runtime(self, runtime: str, directory: str | Path, threads: int | None = None) -> None:
        """Score with an exported runtime (``onnx`` or ``onnx-int8``) of this bundle, ``folded`` (a minGRU's
        per-word tables in NumPy, built from the weights), or ``torch``."""
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

        self._session = open_export(self, bundle_dir(directory), runtime, threads)
        self.runtime = runtime

    @classmethod
    def load(cls, path: str | Path, runtime: str = "auto", threads: int | None = None) -> SentimentModel:
        """Load a bundle. ``runtime``: ``auto`` picks the fastest: ``folded`` for a minGRU, else the fastest
        verified export (ONNX int8, then fp32), falling back to PyTorch with a warning if an export is damaged;
        ``torch``, ``onnx``, ``onnx-int8`` or ``folded`` insist on that one."""
        model = cls._load(path, runtime)
        model.source = bundle_dir(path)
        if isinstance(model.net, EnsembleClassifier):
            model.runtime = "ensemble"
            return model
        if runtime == model.runtime or (runtime == "auto" and model.runtime == "folded"):
            return model  # a minGRU is folded from the start: exact, and faster than any export of it
        if runtime == "auto":
            exports = model.metadata.get("exports", {})
            # ONNX Runtime has int8 kernels for LSTM only: for a GRU/RNN/CNN the int8 file merely quantizes the
            # output layer and was no faster than fp32 (default BiGRU, IMDB test: 1,754 vs 1,746 reviews/s).
            fastest = ("onnx-int8", "onnx") if model.model_config.get("cell") == "lstm" else ("onnx", "onnx-int8")
            for name in fastest:
                if name in exports and isinstance(model.net, torch.nn.Module):
                    try:
                        model.use_runtime(name, path, threads)
                        break
                    except (BundleError, ImportError) as e:
                        logging.getLogger("senti").warning("%s; scoring with PyTorch instead", e)
        elif runtime in ("torch", "onnx", "onnx-int8", "folded"):
            if runtime != "torch" and not isinstance(model.net, torch.nn.Module):
                raise BundleError(f"{path}: a {model.model_config['architecture']} model has no {runtime} export")
            model.use_runtime(runtime, path, threads)
        else:
            raise ConfigError(f"runtime must be auto, torch, onnx, onnx-int8 or folded, got {runtime!r}")
        return model

    @classmethod
    def _load(cls, path: str | Path, runtime: str = "torch") -> SentimentModel:
        manifest, vocab_list, weights = load_bundle(path)
        if manifest.get("kind") == "encoder":
            raise BundleError(f"{path}: a pretrained encoder, not a classifier; fine-tune it with "
                              f"senti train --encoder {path} ...")
        try:
            net = build_model(manifest["model"])
            clean = CleanConfig(**manifest["clean"])
            vocab_config = VocabConfig(**manifest["vocab"])
            labels = manifest["labels"]
        except (KeyError, TypeError, ValueError) as e:
            raise BundleError(f"{path}: invalid model manifest: {e}") from e
        members = {}
        if isinstance(net, EnsembleClassifier):
            if runtime not in ("auto", "torch"):
                raise BundleError(f"{path}: an ensemble runs each member with its fastest verified runtime; "
                                  "load it with runtime='auto' or 'torch'")
            # Each member checks itself (its own errors name its folder); with auto it uses its verified export.
            members = {m: cls.load(bundle_dir(path) / "members" / m, runtime) for m in net.config.members}
        try:
            if isinstance(net, EnsembleClassifier):
                net.load_state_dict(weights, members)
                vocab = None
            elif isinstance(net, LinearTextClassifier):
                net.load_state_dict(weights, vocab_list)
                vocab = None
            else:
                net.load_state_dict(weights, strict=True)
                vocab = Vocabulary(vocab_list)
        except (RuntimeError, ValueError) as e:
            raise BundleError(f"{path}: weights do not match the recorded architecture: {e}") from e
        if net.config.num_classes != len(labels):
            raise BundleError(f"{path}: {len(labels)} labels but the network has {net.config.num_classes} outputs")
        meta = {k: v for k, v in manifest.items()
                if k not in ("labels", "clean", "vocab", "model", "files", "format", "format_version")}
        return cls(net, vocab, labels, clean, vocab_config, manifest["model"], meta)


def _as_texts(texts: Sequence[str] | str) -> Sequence[str]:
    if isinstance(texts, str):
        raise TypeError("expected a list of texts, got a single str; wrap it in a list")
    bad = [i for i, t in enumerate(texts) if not isinstance(t, str)]
    if bad:
        raise TypeError(f"texts must be str; item {bad[0]} is {type(texts[bad[0]]).__name__}")
    return texts

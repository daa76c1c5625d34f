"""``SentimentModel``: labels and a scorer (:mod:`senti.scoring`), with the verbs every model answers the same
way: ``predict``, ``predict_proba``, ``score``, ``evaluate``, ``explain``, ``rationales``, ``save``, ``load``.
Shared by the Python API, the CLI and the server."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from senti.bundle import bundle_dir
from senti.calibration import apply_temperature, temperature_of
from senti.config import CleanConfig, VocabConfig
from senti.parallel import CHUNK as PARALLEL_CHUNK
from senti.parallel import WorkerPool, resolve_n_process
from senti.runtime.cpu import configure_cpu
from senti.scoring import CORE_KEYS, TextScorer, read_scorer, scorer_for
from senti.text import Cleaner, Vocabulary

if TYPE_CHECKING:
    import pandas as pd

    from senti.explain import Explanation

__all__ = ["SentimentModel", "configure_cpu"]


class SentimentModel:
    """A trained classifier: its labels, the scorer that turns texts into probabilities (columns ordered like
    the labels) and the bundle's metadata; scikit-learn verbs (``predict``, ``predict_proba``, ``score``,
    ``classes_``). Probabilities leave through ``predict_proba`` / ``predict_proba_ids``, which apply the
    temperature the metadata's ``calibration`` records (:mod:`senti.calibration`; none: unchanged)."""

    def __init__(self, scorer: TextScorer, labels: Sequence[str], metadata: dict[str, Any] | None = None):
        self.scorer = scorer
        self.classes_ = np.asarray(list(labels), dtype=object)
        self.metadata = metadata or {}
        self.source: Path | None = None  # the bundle it was loaded from or saved to
        self._pool: WorkerPool | None = None  # once predict_proba(n_process > 1) has needed one

    @classmethod
    def from_parts(cls, net: Any, vocab: Vocabulary | None, labels: Sequence[str], clean: CleanConfig,
                   vocab_config: VocabConfig, model_config: dict[str, Any],
                   metadata: dict[str, Any] | None = None) -> SentimentModel:
        """A model from what training fitted: a network and its vocabulary, an n-gram model (``vocab`` None),
        or a stacker whose members are trained ``SentimentModel``s."""
        return cls(scorer_for(net, vocab, clean, vocab_config, model_config), labels, metadata)

    @property
    def labels(self) -> list[str]:
        return list(self.classes_)

    @property
    def temperature(self) -> float:
        """The calibration temperature applied to the scorer's probabilities (1.0: none)."""
        return temperature_of(self.metadata)

    # -- what the scorer holds, for callers that look inside -----------------------------------------
    @property
    def net(self) -> Any:
        return self.scorer.net

    @property
    def vocab(self) -> Vocabulary | None:
        return self.scorer.vocab

    @property
    def runtime(self) -> str:
        return self.scorer.runtime

    @property
    def cleaner(self) -> Cleaner:
        return self.scorer.cleaner

    @property
    def clean_config(self) -> CleanConfig:
        return self.scorer.clean_config

    @property
    def vocab_config(self) -> VocabConfig:
        return self.scorer.vocab_config

    @property
    def model_config(self) -> dict[str, Any]:
        return self.scorer.model_config

    def tokens(self, text: str) -> list[str]:
        return self.scorer.tokens(text)

    def encode(self, texts: Iterable[str]) -> list[list[int]]:
        """Vocabulary ids of the texts (neural models)."""
        return self.scorer.encode(texts)

    def predict_proba_ids(self, ids: Sequence[Sequence[int]], batch_size: int | None = None) -> np.ndarray:
        """Class probabilities (N, C) of id sequences (neural models), calibrated."""
        return apply_temperature(self.scorer.predict_proba_ids(ids, batch_size), self.temperature)

    def use_runtime(self, runtime: str, directory: str | Path, threads: int | None = None) -> None:
        """Score with an exported runtime (``onnx`` or ``onnx-int8``) of this bundle, ``folded`` (a minGRU's
        per-word tables in NumPy, built from the weights), or ``torch``."""
        self.scorer.use_runtime(runtime, directory, threads)

    # -- prediction ---------------------------------------------------------------------------------
    def predict_proba(self, texts: Sequence[str], batch_size: int | None = None, n_process: int = 1) -> np.ndarray:
        """Class probabilities (N, C), columns ordered like ``classes_``. ``n_process`` > 1 (-1: every core)
        scores on that many worker processes, started on first use and kept: the text pipeline is Python, so
        one process uses one core. Calibrated by the bundle's temperature (the workers score raw)."""
        return apply_temperature(self.raw_proba(texts, batch_size, n_process), self.temperature)

    def raw_proba(self, texts: Sequence[str], batch_size: int | None = None, n_process: int = 1) -> np.ndarray:
        """The scorer's probabilities before calibration (what a temperature is fitted on)."""
        texts = _as_texts(texts)
        n_process = resolve_n_process(n_process)
        if n_process > 1 and len(texts) > PARALLEL_CHUNK:
            if self._pool is None or self._pool.n != n_process:
                if self._pool is not None:
                    self._pool.close()
                self._pool = WorkerPool(self.source, self.runtime, n_process)
            return self._pool.predict_proba(texts, batch_size)
        return self.scorer.predict_proba(texts, batch_size)

    def predict(self, texts: Sequence[str], batch_size: int | None = None, n_process: int = 1) -> np.ndarray:
        # A temperature never moves the arg max: skip the softmax it would cost on every prediction.
        return self.classes_[self.raw_proba(texts, batch_size, n_process).argmax(axis=1)]

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

    def calibrate(self, texts: Sequence[str], labels: Sequence[str], fitted_on: str = "validation",
                  objective: str = "brier", raw: np.ndarray | None = None) -> dict:
        """Fit the temperature on held-out ``texts`` and their ``labels`` (names of ``classes_``) and keep it in
        the metadata (saved in the manifest): later probabilities are calibrated. ``objective``: what the fit
        minimises, ``brier`` or ``nll`` (senti.calibration says why Brier). ``raw``: uncalibrated probabilities
        of ``texts`` that stand for this model's on unseen text, when scoring ``texts`` again would not (a
        stack's stacker was fitted on them: it passes its cross-validated scores). Returns the ``calibration``
        entry (temperature, NLL, Brier and ECE before and after, reliability table)."""
        from senti.calibration import calibrate

        index = {lab: i for i, lab in enumerate(self.labels)}
        y = np.asarray([index[lab] for lab in labels], dtype=np.int64)
        raw = self.raw_proba(texts) if raw is None else np.asarray(raw)
        if raw.shape != (len(y), len(self.labels)):
            raise ValueError(f"raw probabilities of shape {raw.shape} for {len(y)} texts and {len(self.labels)} "
                             "classes")
        self.metadata["calibration"] = calibrate(raw, y, fitted_on, objective)
        return self.metadata["calibration"]

    def score(self, texts: Sequence[str], labels: Sequence[str]) -> float:
        return float(np.mean(self.predict(texts) == np.asarray(labels, dtype=object)))

    def evaluate(self, texts: Sequence[str], labels: Sequence[str], batch_size: int | None = None,
                 label_map: str | dict[str, str] | None = None) -> dict:
        """Metrics against ``labels``, matched to the model's classes as senti reads labels (``1.0`` is ``1``)
        after ``label_map`` (``"0=negative,1=positive"``); a label still unknown is a DataError. The probabilities
        are computed once: labels are their arg max, and ``ece`` / ``brier`` / ``reliability`` measure them."""
        from senti.data.labels import match_labels  # here: senti.data loads pandas, which predicting never needs
        from senti.evaluation.metrics import classification_metrics  # and scikit-learn

        labels = match_labels(labels, self.labels, label_map)
        return classification_metrics(labels, None, self.labels, self.predict_proba(texts, batch_size))

    # -- persistence --------------------------------------------------------------------------------
    def save(self, path: str | Path, extra: dict[str, Any] | None = None) -> Path:
        """Write the bundle (atomically); ``extra``: more manifest keys."""
        manifest = {"labels": self.labels,
                    **{k: v for k, v in self.metadata.items() if k != "exports"},  # exports belong to the old folder
                    **(extra or {})}
        self.source = self.scorer.save(path, manifest)
        return self.source

    @classmethod
    def load(cls, path: str | Path, runtime: str = "auto", threads: int | None = None) -> SentimentModel:
        """Load a bundle. ``runtime``: ``auto`` picks the fastest: ``folded`` for a minGRU, else the fastest
        verified export (ONNX int8, then fp32), falling back to PyTorch with a warning if an export is damaged;
        ``torch``, ``onnx``, ``onnx-int8`` or ``folded`` insist on that one."""
        scorer, manifest = read_scorer(path, runtime, threads)
        model = cls(scorer, manifest["labels"], {k: v for k, v in manifest.items() if k not in CORE_KEYS})
        model.source = bundle_dir(path)
        return model


def _as_texts(texts: Sequence[str] | str) -> Sequence[str]:
    if isinstance(texts, str):
        raise TypeError("expected a list of texts, got a single str; wrap it in a list")
    bad = [i for i, t in enumerate(texts) if not isinstance(t, str)]
    if bad:
        raise TypeError(f"texts must be str; item {bad[0]} is {type(texts[bad[0]]).__name__}")
    return texts

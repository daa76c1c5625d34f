"""The ensemble scorer: member scorers, each with its own cleaning and runtime, combined by the stacker
(:class:`senti.models.ensemble.EnsembleClassifier`). Each member is saved as a complete bundle of its own under
``members/NAME/``, with its own checksums and exports."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from senti.bundle import save_bundle
from senti.config import CleanConfig, VocabConfig
from senti.errors import BundleError
from senti.models.ensemble import EnsembleClassifier
from senti.scoring.base import CORE_KEYS, ScorerBase, TextScorer, log_odds


class EnsembleScorer(ScorerBase):
    """``member_metadata``: each member's own manifest metadata (training, metrics, refit), kept for its
    sub-bundle."""

    runtime = "ensemble"
    net: EnsembleClassifier

    def __init__(self, net: EnsembleClassifier, clean: CleanConfig, vocab_config: VocabConfig,
                 model_config: dict[str, Any], member_metadata: dict[str, dict[str, Any]] | None = None):
        super().__init__(net, clean, vocab_config, model_config)
        self.member_metadata = member_metadata or {name: {} for name in net.members}

    @classmethod
    def from_trained(cls, net: EnsembleClassifier, vocab: Any, clean: CleanConfig, vocab_config: VocabConfig,
                     model_config: dict[str, Any]) -> EnsembleScorer:
        """The scorer of a stacker whose members are trained models (what training holds: objects with a
        ``scorer`` and ``metadata``); the stacker keeps their scorers."""
        models = dict(net.members)
        net.members = {name: m.scorer for name, m in models.items()}
        return cls(net, clean, vocab_config, model_config, {name: dict(m.metadata) for name, m in models.items()})

    @property
    def members(self) -> Mapping[str, TextScorer]:
        return self.net.members

    def predict_proba(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        if not len(texts):
            return self.empty()
        members = [self.members[name] for name in self.net.config.members]
        first = members[0]
        if not all(m.clean_config == first.clean_config and hasattr(m, "predict_proba_cleaned") for m in members):
            return self.net.predict_proba(texts, batch_size)  # each member cleans and encodes for itself
        # Members that clean alike (the default's do) share one cleaning pass: a third of a review's cost.
        cleaned = [first.cleaner.for_tokenizer(t) for t in texts]
        return self.net.combine(self.net.features_of([m.predict_proba_cleaned(cleaned, batch_size)
                                                      for m in members]))

    def word_scores(self, n_words: int) -> tuple[list[str], np.ndarray]:
        """The first member's words, each alone as a text, through every member."""
        words = self.members[self.net.config.members[0]].word_scores(n_words)[0][:n_words]
        return words, log_odds(self.predict_proba(words))

    def save(self, directory: str | Path, manifest_extra: dict[str, Any]) -> Path:
        labels = {"labels": manifest_extra["labels"]} if "labels" in manifest_extra else {}
        writers = {}
        for name, member in self.members.items():
            # Exports belong to the folder they were made in; the member's new folder has none yet.
            meta = {k: v for k, v in self.member_metadata.get(name, {}).items() if k != "exports"}
            writers[name] = partial(member.save, manifest_extra={**labels, **meta})
        return save_bundle(directory, self.manifest(manifest_extra), [], self.net.state_dict(), members=writers)

    @classmethod
    def from_bundle(cls, directory: Path, manifest: dict[str, Any], net: EnsembleClassifier, vocab: list[str],
                    weights: dict[str, np.ndarray], clean: CleanConfig, vocab_config: VocabConfig,
                    runtime: str, threads: int | None, read_scorer: Any) -> EnsembleScorer:
        if runtime not in ("auto", "torch"):
            raise BundleError(f"{directory}: an ensemble runs each member with its fastest verified runtime; "
                              "load it with runtime='auto' or 'torch'")
        members, metadata = {}, {}
        # Each member checks itself (its own errors name its folder); with auto it uses its verified export.
        for name in net.config.members:
            members[name], member_manifest = read_scorer(directory / "members" / name, runtime, threads)
            if member_manifest["labels"] != manifest["labels"]:
                raise BundleError(f"{directory / 'members' / name}: labels {member_manifest['labels']} differ from "
                                  f"the ensemble's {manifest['labels']}")
            metadata[name] = {k: v for k, v in member_manifest.items() if k not in CORE_KEYS}
        try:
            net.load_state_dict(weights, members)
        except (RuntimeError, ValueError) as e:
            raise BundleError(f"{directory}: weights do not match the recorded architecture: {e}") from e
        return cls(net, clean, vocab_config, manifest["model"], metadata)

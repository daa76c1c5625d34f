"""Which scorer a model kind gets, and reading one from a bundle."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from senti.bundle import bundle_dir, load_bundle
from senti.config import CleanConfig, VocabConfig
from senti.errors import BundleError, ConfigError
from senti.models.registry import build_model, is_ensemble, is_neural
from senti.scoring.base import RUNTIMES, TextScorer

if TYPE_CHECKING:
    from senti.scoring.ensemble import EnsembleScorer
    from senti.scoring.neural import NeuralScorer
    from senti.scoring.ngram import NgramScorer
    from senti.text import Vocabulary


def scorer_class(model_config: dict[str, Any]) -> type[NeuralScorer] | type[NgramScorer] | type[EnsembleScorer]:
    """The scorer of a model kind, imported only then: an n-gram model's never needs torch."""
    if is_ensemble(model_config):
        from senti.scoring.ensemble import EnsembleScorer

        return EnsembleScorer
    if is_neural(model_config):
        from senti.scoring.neural import NeuralScorer

        return NeuralScorer
    from senti.scoring.ngram import NgramScorer

    return NgramScorer


def scorer_for(net: Any, vocab: Vocabulary | None, clean: CleanConfig, vocab_config: VocabConfig,
               model_config: dict[str, Any]) -> TextScorer:
    """The scorer of a freshly trained model (an ensemble's members: trained models, see
    :meth:`EnsembleScorer.from_models`)."""
    return scorer_class(model_config).from_trained(net, vocab, clean, vocab_config, model_config)


def read_scorer(path: str | Path, runtime: str = "auto", threads: int | None = None
                ) -> tuple[TextScorer, dict[str, Any]]:
    """The scorer of the bundle at ``path`` (run or bundle directory) and its manifest. ``runtime``: ``auto``
    picks the fastest (see :meth:`NeuralScorer.choose_runtime`); ``torch``, ``onnx``, ``onnx-int8`` or
    ``folded`` insist on one."""
    if runtime not in RUNTIMES:
        raise ConfigError(f"runtime must be auto, torch, onnx, onnx-int8 or folded, got {runtime!r}")
    directory = bundle_dir(path)
    manifest, vocab, weights = load_bundle(directory, framework="np")  # the neural scorer makes them tensors
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
    if net.config.num_classes != len(labels):
        raise BundleError(f"{path}: {len(labels)} labels but the network has {net.config.num_classes} outputs")
    scorer = scorer_class(manifest["model"]).from_bundle(directory, manifest, net, vocab, weights, clean,
                                                         vocab_config, runtime, threads, read_scorer)
    return scorer, manifest

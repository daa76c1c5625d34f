"""The size of a trained model on disk, as a comparison reports it: the files the model loads (manifest,
weights, vocabulary, and every ensemble member's), apart from the optional ONNX exports beside them, which
speed up scoring but are not the model. Reads manifests only: nothing is loaded or verified here."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from senti.io import read_json

MANIFEST = "senti-model.json"  # senti.bundle.MANIFEST, not imported: that module loads the weights' libraries
_MEMBERS = "members"
_REQUIRED = ("model.safetensors", "vocab.json")  # a bundle written before manifests listed their files


@dataclass(frozen=True)
class ModelSize:
    model_bytes: int  # what loading the model reads
    export_bytes: int  # ONNX exports (senti export), reported apart


def model_size(path: str | Path) -> ModelSize:
    """Bytes of the bundle in ``path`` (a run directory or a bundle folder), members included."""
    path = Path(path)
    folder = path / "model" if (path / "model" / MANIFEST).is_file() else path
    manifest = read_json(folder / MANIFEST)
    files = list(manifest.get("files") or _REQUIRED)
    model_bytes = (folder / MANIFEST).stat().st_size + sum(_size(folder / name) for name in files)
    exports = manifest.get("exports") or {}
    export_bytes = sum(_size(folder / e["file"]) for e in exports.values() if isinstance(e, dict) and "file" in e)
    for member in (manifest.get("model") or {}).get("members", []):
        sub = model_size(folder / _MEMBERS / member)
        model_bytes += sub.model_bytes
        export_bytes += sub.export_bytes
    return ModelSize(model_bytes, export_bytes)


def _size(path: Path) -> int:
    return path.stat().st_size if path.is_file() else 0

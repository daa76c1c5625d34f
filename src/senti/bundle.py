"""The model bundle: a folder that holds everything prediction needs, and nothing that can run code.

    senti-model.json    format version, labels, cleaning, vocabulary and model configs, metrics, checksums
    vocab.json          the vocabulary, one token per id
    model.safetensors   the weights

Loading reads JSON and safetensors only (never pickle), checks each file's sha256, and builds the network
from a registered architecture name, so a tampered or foreign bundle fails with a clear message.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from senti.errors import BundleError
from senti.io import TMP_SUFFIX, atomic_write, read_json, replace_dir, sha256_file, write_json

FORMAT = "senti-model"
FORMAT_VERSION = 1
MANIFEST = "senti-model.json"
WEIGHTS = "model.safetensors"
VOCAB = "vocab.json"




def save_bundle(path: str | Path, manifest: dict[str, Any], vocab: list[str],
                state_dict: dict[str, torch.Tensor], members: dict[str, Callable[[Path], Any]] | None = None) -> Path:
    """Write a bundle atomically (a temp folder renamed into place). ``members`` (ensembles) write a
    sub-bundle each into ``members/NAME/``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=TMP_SUFFIX))
    try:
        tensors = {k: v.detach().cpu().contiguous() for k, v in state_dict.items()}
        atomic_write(tmp / WEIGHTS, lambda p: save_file(tensors, p))  # fsynced, like every other file
        write_json(tmp / VOCAB, vocab)
        for name, write in (members or {}).items():
            write(tmp / "members" / name)
        files = {name: sha256_file(tmp / name) for name in (WEIGHTS, VOCAB)}
        write_json(tmp / MANIFEST, {"format": FORMAT, "format_version": FORMAT_VERSION, **manifest,
                                    "files": files})
        replace_dir(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return path


def bundle_dir(path: str | Path) -> Path:
    """The bundle folder of ``path``: a run directory keeps its bundle in model/."""
    path = Path(path)
    return path / "model" if (path / "model" / MANIFEST).is_file() else path


def load_bundle(path: str | Path) -> tuple[dict[str, Any], list[str], dict[str, torch.Tensor]]:
    """Read and verify a bundle; returns (manifest, vocabulary, weights)."""
    path = bundle_dir(path)
    mpath = path / MANIFEST
    if not mpath.is_file():
        raise BundleError(f"{path}: not a senti model (no {MANIFEST}); pass a run directory or its model/ folder")
    try:
        manifest = read_json(mpath)
    except ValueError as e:
        raise BundleError(f"{mpath}: not valid JSON ({e})") from e
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BundleError(f"{mpath}: not a senti model manifest")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise BundleError(f"{path}: bundle format version {version!r}; this senti reads version {FORMAT_VERSION}"
                          + (" — upgrade senti to load it" if isinstance(version, int) and version > FORMAT_VERSION
                             else ""))
    for name, expected in manifest.get("files", {}).items():
        fpath = path / name
        if not fpath.is_file():
            raise BundleError(f"{path}: missing file {name}")
        if sha256_file(fpath) != expected:
            raise BundleError(f"{fpath}: checksum mismatch — the file was modified or is corrupt")
    for required in (WEIGHTS, VOCAB):
        if required not in manifest.get("files", {}):
            raise BundleError(f"{mpath}: no checksum recorded for {required}")
    vocab = read_json(path / VOCAB)
    if not isinstance(vocab, list) or not all(isinstance(t, str) for t in vocab):
        raise BundleError(f"{path / VOCAB}: expected a JSON list of tokens")
    try:
        weights = load_file(path / WEIGHTS)
    except SafetensorError as e:
        raise BundleError(f"{path / WEIGHTS}: not a valid safetensors file ({e})") from e
    return manifest, vocab, weights

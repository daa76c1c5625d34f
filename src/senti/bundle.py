"""The model bundle: a folder that holds everything prediction needs, and nothing that can run code.

    senti-model.json    format version, labels, cleaning, vocabulary and model configs, metrics, checksums
    vocab.json          the vocabulary, one token per id
    model.safetensors   the weights
    members/NAME/       (ensembles) a complete bundle per member

Loading reads JSON and safetensors only (never pickle), checks each file's sha256 and the manifest's own
(``manifest_sha256``, over the canonical JSON of every other key), and builds the network from a registered
architecture name, so a tampered or foreign bundle fails with a clear message. File and member names must
stay inside the bundle folder. Format 1 (before the manifest checksum) is still read, without that check.

Weights are read as NumPy arrays or torch tensors (``framework``): the n-gram models and the stacker score with
NumPy, so loading them never imports torch. Either way the file holds the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from safetensors import SafetensorError

from senti.errors import BundleError
from senti.io import TMP_SUFFIX, atomic_write, read_json, replace_dir, sha256_file, write_json

if TYPE_CHECKING:
    import torch

FORMAT = "senti-model"
FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)  # 1: no manifest checksum
MANIFEST = "senti-model.json"
MANIFEST_CHECKSUM = "manifest_sha256"
WEIGHTS = "model.safetensors"
VOCAB = "vocab.json"
MEMBERS = "members"


def manifest_sha256(manifest: dict[str, Any]) -> str:
    """sha256 of the manifest's canonical JSON (sorted keys, no whitespace), its own checksum left out."""
    body = {k: v for k, v in manifest.items() if k != MANIFEST_CHECKSUM}
    body = json.loads(json.dumps(body, ensure_ascii=False, default=str))  # the values as they read back from disk
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def write_manifest(path: str | Path, manifest: dict[str, Any]) -> None:
    """Write ``manifest`` into the bundle folder ``path`` with its checksum (in the current format): the one way
    to change a manifest after saving (an export recording itself) without the bundle refusing to load."""
    manifest = {"format": FORMAT, "format_version": FORMAT_VERSION,
                **{k: v for k, v in manifest.items() if k not in ("format", "format_version", MANIFEST_CHECKSUM)}}
    manifest[MANIFEST_CHECKSUM] = manifest_sha256(manifest)
    write_json(Path(path) / MANIFEST, manifest)


def inside(folder: Path, name: Any, what: str = "file") -> Path:
    """``folder / name`` for a name read from a manifest, refusing one that could reach outside ``folder``
    (absolute, with ``..``, or through a link)."""
    bad = (not isinstance(name, str) or not name or "\0" in name
           or PurePosixPath(name).is_absolute() or PureWindowsPath(name).is_absolute() or PureWindowsPath(name).drive
           or ".." in PurePosixPath(name.replace("\\", "/")).parts)
    if not bad:
        target = folder / name
        bad = not target.resolve().is_relative_to(folder.resolve())
    if bad:
        raise BundleError(f"{folder / MANIFEST if what == 'file' else folder}: {what} name {name!r} points outside "
                          "the bundle folder; refusing to open it")
    return target


def _write_weights(state_dict: Mapping[str, torch.Tensor | np.ndarray]) -> Callable[[Path], None]:
    """A writer of ``state_dict`` as safetensors: NumPy arrays without torch, tensors (a network's) with it.
    Both write the same bytes for the same numbers (tests/test_bundle.py)."""
    if all(isinstance(v, np.ndarray) for v in state_dict.values()):
        from safetensors.numpy import save_file as save_arrays

        arrays = {k: np.ascontiguousarray(v) for k, v in state_dict.items()}
        return lambda p: save_arrays(arrays, p)
    from safetensors.torch import save_file as save_tensors

    tensors = {k: v.detach().cpu().contiguous() for k, v in state_dict.items()}
    return lambda p: save_tensors(tensors, p)


def save_bundle(path: str | Path, manifest: dict[str, Any], vocab: list[str],
                state_dict: Mapping[str, torch.Tensor | np.ndarray],
                members: dict[str, Callable[[Path], Any]] | None = None) -> Path:
    """Write a bundle atomically (a temp folder renamed into place). ``state_dict``: torch tensors or NumPy
    arrays. ``members`` (ensembles) write a sub-bundle each into ``members/NAME/``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=TMP_SUFFIX))
    try:
        atomic_write(tmp / WEIGHTS, _write_weights(state_dict))  # fsynced, like every other file
        write_json(tmp / VOCAB, vocab)
        for name, write in (members or {}).items():
            write(_member_dir(tmp, name))
        files = {name: sha256_file(tmp / name) for name in (WEIGHTS, VOCAB)}
        write_manifest(tmp, {**manifest, "files": files})
        replace_dir(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return path


def bundle_dir(path: str | Path) -> Path:
    """The bundle folder of ``path``: a run directory keeps its bundle in model/."""
    path = Path(path)
    return path / "model" if (path / "model" / MANIFEST).is_file() else path


def load_bundle(path: str | Path, framework: Literal["pt", "np"] = "pt"
                ) -> tuple[dict[str, Any], list[str], dict[str, Any]]:
    """Read and verify a bundle; returns (manifest, vocabulary, weights): torch tensors (``framework="pt"``)
    or NumPy arrays (``"np"``, which does not import torch)."""
    if framework not in ("pt", "np"):
        raise ValueError(f"framework must be 'pt' or 'np', got {framework!r}")
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
    if version not in READABLE_VERSIONS or isinstance(version, bool):
        raise BundleError(f"{path}: bundle format version {version!r}; this senti reads versions "
                          f"{', '.join(map(str, READABLE_VERSIONS))}"
                          + (" — upgrade senti to load it" if isinstance(version, int) and version > FORMAT_VERSION
                             else ""))
    recorded = manifest.pop(MANIFEST_CHECKSUM, None)
    if recorded is None and version >= 2:
        raise BundleError(f"{mpath}: no {MANIFEST_CHECKSUM} — the manifest was edited or is incomplete; "
                          "save the model again")
    if recorded is not None and recorded != manifest_sha256(manifest):
        raise BundleError(f"{mpath}: checksum mismatch — the manifest was edited after the model was saved "
                          "(labels, configs or checksums changed); save the model again instead of editing it")
    files = manifest.get("files", {})
    if not isinstance(files, dict):
        raise BundleError(f"{mpath}: 'files' must map file names to sha256 checksums")
    model = manifest.get("model")
    for member in model.get("members", []) if isinstance(model, dict) else []:
        _member_dir(path, member)
    for name, expected in files.items():
        fpath = inside(path, name)
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
    if framework == "np":
        from safetensors.numpy import load_file
    else:
        from safetensors.torch import load_file
    try:
        weights = load_file(path / WEIGHTS)
    except SafetensorError as e:
        raise BundleError(f"{path / WEIGHTS}: not a valid safetensors file ({e})") from e
    return manifest, vocab, weights


def _member_dir(path: Path, name: Any) -> Path:
    """The sub-bundle folder of ensemble member ``name``: one plain folder name under members/."""
    if isinstance(name, str) and ("/" in name or "\\" in name or name in (".", "")):
        raise BundleError(f"{path}: member name {name!r} is not a plain folder name; refusing to open it")
    return inside(path / MEMBERS, name, "member")

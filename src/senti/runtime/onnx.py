"""ONNX export of a saved model, and the ONNX Runtime session that scores with it.

``export_onnx`` writes ``model.onnx`` (fp32) or ``model.int8.onnx`` (dynamic int8 quantization: int8 weights,
activations quantized per batch; ONNX Runtime then runs its fused int8 LSTM) next to the bundle's weights,
checks that it agrees with the PyTorch network, and records file, checksum and measured agreement under
``exports`` in ``senti-model.json``. Exports are kept out of the bundle's required ``files``: a damaged
export costs speed (prediction falls back to PyTorch), never the model.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from senti.bundle import MANIFEST, BundleError, bundle_dir, load_bundle, write_manifest
from senti.errors import ConfigError
from senti.io import atomic_write, read_json, sha256_file
from senti.models.registry import build_model, is_ensemble, is_neural

log = logging.getLogger("senti")

FILES = {"onnx": "model.onnx", "onnx-int8": "model.int8.onnx"}
# Agreement with the PyTorch network on probe batches, checked at export and at load.
TOLERANCE = {"onnx": 1e-4, "onnx-int8": 0.05}


class OnnxSession:
    """Probabilities from an exported model: ``session(ids (B, T) int64, lengths (B,) int64) → (B, C)``."""

    def __init__(self, path: str | Path, threads: int | None = None):
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads or torch.get_num_threads()
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        try:
            self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        except Exception as e:  # ORT raises its own Fail/InvalidGraph/... types for unreadable models
            raise BundleError(f"{path}: ONNX Runtime cannot load it ({str(e).splitlines()[0][:200]})") from e
        self.path = Path(path)

    def __call__(self, ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        return self.session.run(None, {"ids": ids, "lengths": lengths})[0]


def export_onnx(path: str | Path, quantize: str | None = None) -> Path:
    """Export the bundle at ``path`` (run or bundle directory) to ONNX; returns the written file."""
    from senti.runtime.onnx_graph import to_onnx

    if quantize not in (None, "int8"):
        raise ConfigError(f"quantize must be None or 'int8', got {quantize!r}")
    directory = bundle_dir(path)
    manifest, vocab, weights = load_bundle(directory)
    model_cfg = manifest.get("model", {})
    if is_ensemble(model_cfg):
        members = model_cfg.get("members", [])
        neural = [m for m in members if is_neural(load_bundle(directory / "members" / m)[0].get("model", {}))]
        if not neural:
            raise ConfigError(f"{path}: no neural member to export")
        # Each neural member gets its export in its own bundle, where its own loading finds it.
        return [export_onnx(directory / "members" / m, quantize) for m in neural][-1]
    if manifest.get("kind") == "encoder":
        raise BundleError(f"{path}: a pretrained encoder, not a classifier; fine-tune it with "
                          f"senti train --encoder {path} ..., then export that run")
    if not is_neural(model_cfg):
        raise ConfigError(f"{path}: ONNX export covers the neural models; a {model_cfg.get('architecture')} "
                         "model already scores with numpy on the CPU")
    try:
        net = build_model(model_cfg)
        net.load_state_dict(weights, strict=True)
        max_length = int(manifest["vocab"]["max_length"])
    except (KeyError, TypeError, ValueError, RuntimeError) as e:
        raise BundleError(f"{path}: invalid model manifest or weights: {e}") from e
    name = "onnx-int8" if quantize else "onnx"
    target = directory / FILES[name]
    net = net.float().cpu().eval()
    graph = to_onnx(net)
    with tempfile.TemporaryDirectory(prefix=".senti-export-", dir=directory) as tmp:
        fp32 = Path(tmp) / "model.onnx"
        fp32.write_bytes(graph.SerializeToString())
        out = _quantize_int8(fp32, Path(tmp)) if quantize else fp32
        diff = max_abs_diff(net, OnnxSession(out), probe_batches(max_length, len(vocab)))
        if diff > TOLERANCE[name]:
            raise BundleError(f"the {name} export disagrees with the PyTorch network by {diff:.2g} "
                              f"(tolerance {TOLERANCE[name]}); not written")
        atomic_write(target, lambda p: os.replace(out, p))
    manifest = read_json(directory / MANIFEST)
    manifest.setdefault("exports", {})[name] = {
        "file": target.name, "sha256": sha256_file(target), "max_abs_diff": diff,
        "opset": graph.opset_import[0].version, "quantize": quantize}
    write_manifest(directory, manifest)  # with a fresh manifest checksum
    log.info("wrote %s (%.1f MB); max |Δp| vs PyTorch on probe batches: %.2g", target,
             target.stat().st_size / 1e6, diff)
    return target


def _quantize_int8(fp32: Path, tmp: Path) -> Path:
    """Dynamic int8: ORT's pre-processing (shape inference, folding) first, without which LSTMs stay fp32."""
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.quantization.shape_inference import quant_pre_process

    pre, out = tmp / "pre.onnx", tmp / "int8.onnx"
    root = logging.getLogger()
    level = root.level
    root.setLevel(max(level, logging.ERROR))  # ORT's quantizer warns on the root logger that int64 ids stay int64
    try:
        quant_pre_process(str(fp32), str(pre), skip_symbolic_shape=True)
        quantize_dynamic(str(pre), str(out), weight_type=QuantType.QInt8)
    finally:
        root.setLevel(level)
    return out


def probe_batches(max_length: int, vocab_size: int, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """Deterministic right-padded id batches of mixed lengths (1 … max_length) for agreement checks."""
    rng = np.random.default_rng(seed)
    batches = []
    for n, top in ((8, 12), (8, min(max_length, 120)), (4, max_length)):
        lengths = np.sort(rng.integers(1, top + 1, size=n))[::-1].copy()
        ids = np.zeros((n, int(lengths.max())), dtype=np.int64)
        for i, k in enumerate(lengths):
            ids[i, :k] = rng.integers(2, max(vocab_size, 3), size=k)
        batches.append((ids, lengths.astype(np.int64)))
    return batches


@torch.inference_mode()
def max_abs_diff(net: torch.nn.Module, session: OnnxSession, batches: list[tuple[np.ndarray, np.ndarray]]) -> float:
    diff = 0.0
    for ids, lengths in batches:
        ref = torch.softmax(net(torch.from_numpy(ids), torch.from_numpy(lengths)).float(), -1).numpy()
        diff = max(diff, float(np.abs(session(ids, lengths) - ref).max()))
    return diff


def open_export(net: torch.nn.Module, exports: dict[str, Any], directory: Path, runtime: str, max_length: int,
                vocab_size: int, threads: int | None = None) -> OnnxSession:
    """The verified session for ``runtime`` (``exports``: the manifest's record of them), checked against
    ``net`` on a probe batch; ``BundleError`` says why an export cannot be used."""
    info = exports.get(runtime)
    if not info:
        raise BundleError(f"{directory}: no {runtime} export; run: senti export {directory} --format onnx"
                          + (" --quantize int8" if runtime == "onnx-int8" else ""))
    path = directory / info["file"]
    if not path.is_file():
        raise BundleError(f"{path}: missing (recorded as the {runtime} export)")
    if sha256_file(path) != info["sha256"]:
        raise BundleError(f"{path}: checksum mismatch — the file was modified or is corrupt")
    session = OnnxSession(path, threads)
    # A file that is intact but belongs to another model (or another export) fails here.
    try:
        diff = max_abs_diff(net, session, probe_batches(max_length, vocab_size)[:1])
    except Exception as e:  # wrong vocabulary size or class count: ORT or numpy refuses the shapes
        raise BundleError(f"{path}: does not fit this bundle ({str(e).splitlines()[0][:200]}); re-export it") from e
    if diff > TOLERANCE[runtime]:
        raise BundleError(f"{path}: disagrees with this bundle's weights (max |Δp| {diff:.2g}); re-export it")
    return session

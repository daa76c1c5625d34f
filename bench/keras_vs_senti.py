"""The same BiLSTM on the same IMDB batches, trained by senti (PyTorch) and by Keras (TensorFlow CPU), in one run.

    SENTI_DATA_DIR=../shared/data .venv/bin/python bench/keras_vs_senti.py [--epochs 2] [--keras-variants masked]

TensorFlow is not a senti dependency: the Keras half (bench/_keras_half.py) runs as a subprocess in a separate
venv, made once with

    python3 -m venv .bench-venv && .bench-venv/bin/pip install tensorflow-cpu

What is shared, so that only the framework differs:
- the data: IMDB train (a stratified 10 % validation split carved out, seed 0) and test, cleaned, tokenised,
  vocabulary-built (20k words, min count 2) and encoded (``--max-length`` tokens, head+tail truncation) once,
  by senti's own text pipeline;
- the batches: senti's length-bucketed batches of each epoch, recorded as senti's Trainer draws them, are
  written to an .npz and fed to Keras in the same order, right-padded to the longest review in the batch;
- the architecture: senti preset ``bilstm`` (embedding 128 → 2 stacked bidirectional LSTM(128) with dropout
  0.3 between them → last state → dropout 0.3 → dense 2) and its Keras equivalent (Embedding(mask_zero=True) →
  Bidirectional(LSTM(128, return_sequences=True)) → Dropout → Bidirectional(LSTM(128)) → Dropout → Dense(2));
- training: AdamW lr 2e-3 without weight decay, gradient clipping at global norm 1.0, cross-entropy, the best
  epoch by validation accuracy restored before testing (senti's Trainer does this; Keras does it by hand);
- threads: torch 2 threads; TensorFlow intra-op 2, inter-op 1 (``--threads``).

The two halves run one after the other, never at the same time. Writes bench/results/keras_vs_senti.json.
Run it alone: on two cores a second CPU-heavy job slows training several times.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from itertools import pairwise
from pathlib import Path

import numpy as np
import torch
from sklearn.model_selection import train_test_split

import senti
import senti.training.trainer as trainer_module
from senti.config import CleanConfig, TrainConfig
from senti.data.datasets import load_dataset
from senti.io import write_json
from senti.models.batching import bucket_batches
from senti.models.registry import PRESETS, build_model
from senti.pipeline import configure_cpu
from senti.text import Cleaner, Vocabulary, tokenize
from senti.training.trainer import Trainer

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine_info, peak_rss_mib

ROOT = Path(__file__).resolve().parents[1]
LABELS = ["negative", "positive"]
EVAL_BATCH = 256  # senti's Trainer.validate batch size; Keras evaluates on the very same batches


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def stratified(df, n: int | None, seed: int):
    if n is None or n >= len(df):
        return df.reset_index(drop=True)
    part, _ = train_test_split(df, train_size=n, random_state=seed, stratify=df["label"])
    return part.sort_index().reset_index(drop=True)


def padded(ids: list[list[int]], width: int) -> np.ndarray:
    out = np.zeros((len(ids), width), dtype=np.int32)
    for row, seq in enumerate(ids):
        out[row, : len(seq)] = seq
    return out


def concat(batches: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    return (np.concatenate(batches).astype(np.int64),
            np.array([len(b) for b in batches], dtype=np.int64))


def cpuinfo() -> dict:
    """The first processor's identification from /proc/cpuinfo (VMs often mask the model name)."""
    keys = {"model name": "cpu_model", "cpu family": "cpu_family", "model": "cpu_model_number",
            "stepping": "cpu_stepping", "vendor_id": "cpu_vendor"}
    out: dict = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if not line.strip():
                    break
                key, _, value = line.partition(":")
                key, value = key.strip(), value.strip()
                if key in keys:
                    out[keys[key]] = value
                elif key == "flags":
                    flags = value.split()
                    out["hypervisor"] = "hypervisor" in flags
                    out["simd"] = [f for f in ("avx2", "fma", "avx512f", "avx512_bf16", "amx_tile") if f in flags]
    except OSError:
        pass
    return out


def nproc() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--max-length", type=int, default=256)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--train-samples", type=int, default=None,
                    help="training reviews (default: all 25k minus the 10%% validation split = 22,500)")
    ap.add_argument("--valid-samples", type=int, default=None, help="validation reviews (default: all 2,500)")
    ap.add_argument("--test-samples", type=int, default=None, help="test reviews (default: all 25,000)")
    ap.add_argument("--threads", type=int, default=2, help="torch threads and TensorFlow intra-op threads")
    ap.add_argument("--inter-op-threads", type=int, default=1, help="TensorFlow inter-op threads")
    ap.add_argument("--keras-variants", default="masked",
                    help="comma list of masked,unmasked (masked = Embedding(mask_zero=True), as Keras users write it)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data-dir", default=None, help="default: $SENTI_DATA_DIR or senti's usual places")
    ap.add_argument("--keras-python", default=str(ROOT / ".bench-venv" / "bin" / "python"))
    ap.add_argument("--other-load", default="nothing else CPU-heavy was running (run alone)",
                    help="what else was running on the machine, recorded verbatim in the JSON")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "keras_vs_senti.json"))
    args = ap.parse_args()
    variants = [v.strip() for v in args.keras_variants.split(",") if v.strip()]
    if not variants or set(variants) - {"masked", "unmasked"}:
        ap.error("--keras-variants takes masked, unmasked or masked,unmasked")
    if not Path(args.keras_python).exists():
        sys.exit(f"no Python at {args.keras_python}; make the benchmark venv: "
                 "python3 -m venv .bench-venv && .bench-venv/bin/pip install tensorflow-cpu")

    info = {**machine_info(), **cpuinfo(), "nproc": nproc()}
    if info["load_average_1m_at_start"] and info["load_average_1m_at_start"] > 0.5:
        log(f"warning: the 1-minute load average is {info['load_average_1m_at_start']:.2f}; something else is "
            "running, and the timings will not be clean (it is recorded in the JSON)")
    t_start = time.perf_counter()

    # -- data, once, with senti's own pipeline ------------------------------------------------------------
    full = load_dataset("imdb", "train", data_dir=args.data_dir)
    train_df, valid_df = train_test_split(full, test_size=round(len(full) * 0.1), random_state=args.seed,
                                          stratify=full["label"])
    train_df = stratified(train_df.sort_index(), args.train_samples, args.seed)
    valid_df = stratified(valid_df.sort_index(), args.valid_samples, args.seed)
    test_df = stratified(load_dataset("imdb", "test", data_dir=args.data_dir), args.test_samples, args.seed)
    clean_cfg = CleanConfig()
    cleaner = Cleaner(clean_cfg)
    train_tokens = [tokenize(cleaner(t)) for t in train_df["text"]]
    vocab = Vocabulary.build(train_tokens, max_size=20_000, min_count=2)

    def encode(token_lists):
        return [vocab.encode(t, args.max_length, "both") for t in token_lists]

    train_ids = encode(train_tokens)
    del train_tokens
    valid_ids = encode(tokenize(cleaner(t)) for t in valid_df["text"])
    test_ids = encode(tokenize(cleaner(t)) for t in test_df["text"])
    index = {lab: i for i, lab in enumerate(LABELS)}
    train_y, valid_y, test_y = (df["label"].map(index).to_numpy().astype(np.int64)
                                for df in (train_df, valid_df, test_df))
    prep_seconds = time.perf_counter() - t_start
    log(f"data: {len(train_ids)} train / {len(valid_ids)} valid / {len(test_ids)} test, vocab {len(vocab)}, "
        f"prepared in {prep_seconds:.0f}s")

    # -- senti ------------------------------------------------------------------------------------------
    configure_cpu(args.threads)
    torch.manual_seed(args.seed)
    model_cfg = {**PRESETS["bilstm"]["model"], "vocab_size": len(vocab), "num_classes": len(LABELS)}
    net = build_model(model_cfg)
    full_model_cfg = {"architecture": model_cfg["architecture"], **net.config.__dict__}
    train_cfg = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, seed=args.seed, patience=0)

    # Record the training batches exactly as the Trainer draws them, so Keras gets the very same ones.
    epoch_batches: list[list[np.ndarray]] = []
    real_bucket_batches = trainer_module.bucket_batches

    def recording_bucket_batches(lengths, batch_size, seed=None, **kw):
        out = real_bucket_batches(lengths, batch_size, seed=seed, **kw)
        if seed is not None:
            epoch_batches.append([b.copy() for b in out])
        return out

    cpu_marks = [0.0]

    def on_epoch_end(state) -> None:
        cpu_marks.append(time.process_time())
        r = state.history[-1]
        log(f"senti epoch {int(r['epoch'])}: loss {r['loss']:.4f} acc {r['accuracy']:.4f} | "
            f"val_acc {r['val_accuracy']:.4f} | {r['samples_per_s']:.1f} samples/s")

    load_before_senti = os.getloadavg()[0]
    trainer_module.bucket_batches = recording_bucket_batches
    try:
        trainer = Trainer(net, train_cfg, progress=False, on_epoch_end=on_epoch_end)
        cpu_marks[0] = time.process_time()
        state = trainer.fit(train_ids, train_y, valid_ids, valid_y)
    finally:
        trainer_module.bucket_batches = real_bucket_batches
    if len(epoch_batches) != args.epochs:
        raise RuntimeError(f"recorded {len(epoch_batches)} epochs of batches, expected {args.epochs}")
    t0 = time.perf_counter()
    test_loss, test_acc, test_f1 = trainer.validate(test_ids, test_y)
    senti_test_secs = time.perf_counter() - t0
    hist = state.history
    senti_result = {
        "framework": f"senti {senti.__version__} (PyTorch {torch.__version__})",
        "model_config": full_model_cfg,
        "parameters": sum(p.numel() for p in net.parameters()),
        "train_config": {k: getattr(train_cfg, k) for k in ("optimizer", "lr", "weight_decay", "batch_size",
                                                              "epochs", "clip_grad_norm", "seed")},
        "torch_threads": torch.get_num_threads(),
        "torch_interop_threads": torch.get_num_interop_threads(),
        "history": hist,
        "train_samples_per_s": [r["samples_per_s"] for r in hist],
        "train_seconds": sum(len(train_ids) / r["samples_per_s"] for r in hist),
        "cpu_seconds_per_epoch_train_and_validate": [b - a for a, b in pairwise(cpu_marks)],
        "best_epoch": state.best_epoch,
        "test_accuracy": test_acc,
        "test_loss": test_loss,
        "test_macro_f1": test_f1,
        "test_eval_seconds": senti_test_secs,
        "test_reviews_per_s": len(test_ids) / senti_test_secs,
        "peak_rss_mib_process": peak_rss_mib(),
        "load_average_1m_before": load_before_senti,
        "load_average_1m_after": os.getloadavg()[0],
    }
    log(f"senti: test accuracy {test_acc:.4f}")

    # -- Keras, in its own venv -----------------------------------------------------------------------
    m = PRESETS["bilstm"]["model"]
    spec = {
        "vocab_size": len(vocab), "num_classes": len(LABELS), "epochs": args.epochs, "seed": args.seed,
        "model": {k: m[k] for k in ("embedding_dim", "hidden_size", "num_layers", "dropout")},
        # torch.optim.AdamW with senti's weight_decay 0.0 and eps 1e-8; torch's clip_grad_norm_ is a global norm,
        # which in Keras is global_clipnorm (Keras' clipnorm clips every weight's gradient separately).
        "train": {"lr": train_cfg.lr, "weight_decay": train_cfg.weight_decay, "epsilon": 1e-8,
                  "clip_grad_norm": train_cfg.clip_grad_norm},
        "threads": {"intra_op": args.threads, "inter_op": args.inter_op_threads},
        "variants": variants,
    }
    keras_result: dict
    with tempfile.TemporaryDirectory(prefix="keras_vs_senti.") as tmp:
        arrays = {"train_x": padded(train_ids, args.max_length), "train_y": train_y.astype(np.int32),
                  "train_len": np.array([len(s) for s in train_ids], dtype=np.int64)}
        for split, ids, y in (("valid", valid_ids, valid_y), ("test", test_ids, test_y)):
            lens = [len(s) for s in ids]
            arrays[f"{split}_x"] = padded(ids, args.max_length)
            arrays[f"{split}_y"] = y.astype(np.int32)
            arrays[f"{split}_len"] = np.array(lens, dtype=np.int64)
            arrays[f"{split}_order"], arrays[f"{split}_sizes"] = concat(bucket_batches(lens, EVAL_BATCH))
        for e, batches in enumerate(epoch_batches):
            arrays[f"epoch{e}_order"], arrays[f"epoch{e}_sizes"] = concat(batches)
        npz, spec_path, out_path = Path(tmp) / "data.npz", Path(tmp) / "spec.json", Path(tmp) / "keras.json"
        np.savez(npz, **arrays)
        spec_path.write_text(json.dumps(spec))
        cmd = [args.keras_python, str(Path(__file__).parent / "_keras_half.py"), "--npz", str(npz),
               "--spec", str(spec_path), "--out", str(out_path)]
        log("keras: " + " ".join(cmd))
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL)
        if proc.returncode != 0 or not out_path.exists():
            keras_result = {"error": f"the Keras half exited with status {proc.returncode}"}
        else:
            keras_result = json.loads(out_path.read_text())

    mean_T = [float(np.mean([arrays["train_len"][b].max() for b in batches])) for batches in epoch_batches]
    result = {
        "benchmark": "keras_vs_senti",
        "machine": info,
        "other_load": args.other_load,
        "settings": {
            "dataset": "imdb", "epochs": args.epochs, "batch_size": args.batch_size, "max_length": args.max_length,
            "truncate": "both", "vocab_max_size": 20_000, "vocab_min_count": 2, "vocab_size": len(vocab),
            "clean": clean_cfg.__dict__, "seed": args.seed,
            "train_samples": len(train_ids), "valid_samples": len(valid_ids), "test_samples": len(test_ids),
            "batches_per_epoch": [len(b) for b in epoch_batches],
            "mean_padded_length_per_epoch": mean_T,
            "mean_review_length_tokens": float(np.mean([len(s) for s in train_ids])),
            "threads": {"torch": args.threads, "tf_intra_op": args.threads, "tf_inter_op": args.inter_op_threads},
            "data_prep_seconds": prep_seconds,
        },
        "senti": senti_result,
        "keras": keras_result,
        "notes": [
            "Both frameworks train on identical batches: senti's length-bucketed batches (recorded from its "
            "Trainer) in the same order every epoch, right-padded to the longest review of the batch.",
            "samples_per_s = training reviews / wall time of the epoch's training steps (validation excluded). "
            "Keras epoch 1 includes tracing the tf.function graph (first_batch_seconds_epoch1). "
            "cpu_seconds_per_epoch_train_and_validate = process CPU time (all threads) of training plus "
            "validation; it shows how much of the wall time was spent computing (or spin-waiting).",
            "Timings are only meaningful on an otherwise idle machine (see other_load and the load averages): "
            "on two busy cores PyTorch's OpenMP threads wait at every per-timestep barrier for a descheduled "
            "peer, which can slow senti by an order of magnitude more than TensorFlow's thread pool.",
            "Keras 'masked' = Embedding(mask_zero=True), as Keras users write it. TensorFlow has no fused LSTM "
            "kernel on CPU (cuDNN is GPU-only), so Keras runs its generic while-loop LSTM either way; masking "
            "adds per-step selects. senti's padding is exact without a mask (forward state at len-1, backward "
            "RNN over each review reversed within its length), which is what 'masked' Keras computes too. "
            "'unmasked' Keras runs the LSTMs over the padding tokens (not the same function; speed reference only).",
            "Differences that remain: weight initialisation (PyTorch uniform vs Keras glorot/orthogonal with unit "
            "forget bias), PyTorch LSTMs have two bias vectors per gate set (hence more parameters), softmax + "
            "sparse categorical cross-entropy vs logits + cross-entropy, random streams for dropout.",
            "Both restore the epoch with the best validation accuracy before testing.",
        ],
        "wall_seconds_total": time.perf_counter() - t_start,
    }
    if "variants" in keras_result:
        result["speed_ratio_senti_over_keras"] = {
            name: [s / k for s, k in zip(senti_result["train_samples_per_s"], v["train_samples_per_s"], strict=True)]
            for name, v in keras_result["variants"].items()}
    write_json(args.out, result)

    rows = [("senti (PyTorch)", senti_result)]
    rows += [(f"Keras/TF {name}", v) for name, v in keras_result.get("variants", {}).items()]
    print(f"{'':22} {'samples/s per epoch':>28} {'train s':>9} {'test acc':>9} {'test rev/s':>11}")
    for name, r in rows:
        sps = ", ".join(f"{x:.1f}" for x in r["train_samples_per_s"])
        print(f"{name:22} {sps:>28} {r['train_seconds']:9.1f} {r['test_accuracy']:9.4f} "
              f"{r['test_reviews_per_s']:11.1f}")
    if "error" in keras_result:
        print(f"Keras: {keras_result['error']}")
    print(f"→ {args.out}")
    if "error" in keras_result:
        sys.exit(1)


if __name__ == "__main__":
    main()

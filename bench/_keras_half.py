"""The Keras (TensorFlow CPU) half of bench/keras_vs_senti.py. Not meant to be run by hand.

It runs in the separate benchmark venv (``.bench-venv``, which has TensorFlow and not senti) and imports
nothing from senti: everything it needs — the encoded, right-padded ids, the labels and the exact batch
order senti trained on, epoch by epoch — comes in the .npz written by the parent script.

    .bench-venv/bin/python bench/_keras_half.py --npz DATA.npz --spec SPEC.json --out RESULT.json

SPEC.json gives the architecture and training settings (taken from senti's model config by the parent), the
thread settings and the variants to train ("masked": Embedding(mask_zero=True), as Keras users write it;
"unmasked": the same without a mask). Each variant trains a fresh model from the same seed on the same batches.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np


def batches_of(order: np.ndarray, sizes: np.ndarray) -> list[np.ndarray]:
    """Split a concatenated index array back into batches of the given sizes."""
    return np.split(order, np.cumsum(sizes)[:-1])


def make_model(keras, spec: dict, masked: bool):
    m = spec["model"]
    layers = keras.layers
    inputs = keras.Input(shape=(None,), dtype="int32")
    x = layers.Embedding(spec["vocab_size"], m["embedding_dim"], mask_zero=masked)(inputs)
    # senti's stack: dropout between the recurrent layers (on layer i>0's input) and before the head.
    for i in range(m["num_layers"]):
        if i > 0:
            x = layers.Dropout(m["dropout"])(x)
        last = i == m["num_layers"] - 1
        x = layers.Bidirectional(layers.LSTM(m["hidden_size"], return_sequences=not last))(x)
    x = layers.Dropout(m["dropout"])(x)
    outputs = layers.Dense(spec["num_classes"], activation="softmax")(x)
    model = keras.Model(inputs, outputs)
    t = spec["train"]
    opt = keras.optimizers.AdamW(learning_rate=t["lr"], weight_decay=t["weight_decay"], epsilon=t["epsilon"],
                                 global_clipnorm=t["clip_grad_norm"])
    model.compile(optimizer=opt, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def run_variant(tf, keras, spec: dict, data: dict, masked: bool, log) -> dict:
    keras.utils.set_random_seed(spec["seed"])
    model = make_model(keras, spec, masked)
    x_train, y_train, len_train = data["train_x"], data["train_y"], data["train_len"]

    def dataset(batches: list[np.ndarray]):
        def gen():
            for b in batches:
                yield x_train[b, : int(len_train[b].max())], y_train[b]

        ds = tf.data.Dataset.from_generator(gen, output_signature=(
            tf.TensorSpec((None, None), tf.int32), tf.TensorSpec((None,), tf.int32)))
        return ds.apply(tf.data.experimental.assert_cardinality(len(batches))).prefetch(2)

    predict = tf.function(lambda x: model(x, training=False),
                          input_signature=[tf.TensorSpec((None, None), tf.int32)])

    def evaluate(split: str) -> tuple[float, float, float]:
        x, y, lens = data[f"{split}_x"], data[f"{split}_y"], data[f"{split}_len"]
        t0 = time.perf_counter()
        preds = np.empty(len(y), dtype=np.int64)
        loss_sum = 0.0
        for b in batches_of(data[f"{split}_order"], data[f"{split}_sizes"]):
            p = predict(tf.constant(x[b, : int(lens[b].max())])).numpy()
            preds[b] = p.argmax(1)
            loss_sum += float(-np.log(np.clip(p[np.arange(len(b)), y[b]], 1e-12, None)).sum())
        secs = time.perf_counter() - t0
        return loss_sum / len(y), float((preds == y).mean()), secs

    class FirstBatch(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.t0 = time.perf_counter()
            self.first = None

        def on_train_batch_end(self, batch, logs=None):
            if self.first is None:
                self.first = time.perf_counter() - self.t0

    history, best, best_weights, best_epoch = [], None, None, 0
    first_batch_s = None
    cpu_per_epoch: list[float] = []
    started = time.perf_counter()
    for epoch in range(spec["epochs"]):
        batches = batches_of(data[f"epoch{epoch}_order"], data[f"epoch{epoch}_sizes"])
        n = int(sum(len(b) for b in batches))
        cb = FirstBatch()
        cpu0 = time.process_time()
        t0 = time.perf_counter()
        h = model.fit(dataset(batches), epochs=1, verbose=0, shuffle=False, callbacks=[cb])
        secs = time.perf_counter() - t0
        if epoch == 0:
            first_batch_s = cb.first
        val_loss, val_acc, _ = evaluate("valid")
        cpu_per_epoch.append(time.process_time() - cpu0)
        row = {"epoch": epoch + 1, "loss": float(h.history["loss"][-1]), "accuracy": float(h.history["accuracy"][-1]),
               "val_loss": val_loss, "val_accuracy": val_acc, "train_seconds": secs, "samples_per_s": n / secs,
               "elapsed_s": time.perf_counter() - started}
        history.append(row)
        log(f"keras {'masked' if masked else 'unmasked'} epoch {epoch + 1}: loss {row['loss']:.4f} "
            f"acc {row['accuracy']:.4f} | val_acc {val_acc:.4f} | {row['samples_per_s']:.1f} samples/s")
        # Same rule as senti's Trainer (restore_best_weights on val_accuracy, min improvement 1e-6).
        if best is None or val_acc > best + 1e-6:
            best, best_epoch, best_weights = val_acc, epoch + 1, model.get_weights()
    if best_weights is not None:
        model.set_weights(best_weights)
    test_loss, test_acc, test_secs = evaluate("test")
    return {
        "masking": masked,
        "parameters": int(model.count_params()),
        "jit_compile": bool(model.jit_compile),
        "history": history,
        "train_samples_per_s": [row["samples_per_s"] for row in history],
        "train_seconds": sum(row["train_seconds"] for row in history),
        "cpu_seconds_per_epoch_train_and_validate": cpu_per_epoch,
        "first_batch_seconds_epoch1": first_batch_s,
        "best_epoch": best_epoch,
        "test_accuracy": test_acc,
        "test_loss": test_loss,
        "test_eval_seconds": test_secs,
        "test_reviews_per_s": len(data["test_y"]) / test_secs,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--npz", required=True)
    ap.add_argument("--spec", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    with open(args.spec) as f:
        spec = json.load(f)

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(spec["threads"]["intra_op"])
    tf.config.threading.set_inter_op_parallelism_threads(spec["threads"]["inter_op"])
    import keras

    with np.load(args.npz) as z:
        data = {k: z[k] for k in z.files}
    try:
        from tensorflow.python.util import _pywrap_util_port

        onednn = bool(_pywrap_util_port.IsMklEnabled())
    except Exception:  # private API; only informative
        onednn = None
    result = {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "backend": keras.backend.backend(),
        "gpus_visible": len(tf.config.list_physical_devices("GPU")),
        "onednn_enabled": onednn,
        "TF_ENABLE_ONEDNN_OPTS": os.environ.get("TF_ENABLE_ONEDNN_OPTS"),
        "threads": {"intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
                    "inter_op": tf.config.threading.get_inter_op_parallelism_threads()},
        "load_average_1m_at_start": os.getloadavg()[0],
        "variants": {},
    }
    for name in spec["variants"]:
        result["variants"][name] = run_variant(tf, keras, spec, data, masked=name == "masked", log=log)
    result["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result["load_average_1m_at_end"] = os.getloadavg()[0]
    tmp = args.out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(result, f, indent=2)
    os.replace(tmp, args.out)


if __name__ == "__main__":
    main()

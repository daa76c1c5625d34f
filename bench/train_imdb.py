"""Train senti's default model on IMDB (25k train with a 10 % validation split carved out of it, 25k test)
and, in the same run, a TF-IDF (word uni+bigrams, sublinear tf) + logistic regression baseline.

    SENTI_DATA_DIR=../shared/data .venv/bin/python bench/train_imdb.py [--model default] [--bf16]

Writes bench/results/train_imdb[-MODEL][-bf16].json: accuracy, macro-F1, train time, samples/s, peak memory,
machine. Run it alone: on two cores a second CPU-heavy job slows training several times.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine_info, peak_rss_mib

import senti
from senti.io import write_json


def tfidf_baseline() -> dict:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    train, test = senti.load_dataset("imdb", "train"), senti.load_dataset("imdb", "test")
    t0 = time.perf_counter()
    clf = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, max_features=None),
                        LogisticRegression(C=8.0, max_iter=1000))
    clf.fit(train["text"], train["label"])
    train_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    acc = float((clf.predict(test["text"]) == test["label"]).mean())
    return {"model": "tfidf-logreg (word 1-2 grams, sublinear tf, C=8)", "accuracy": acc,
            "train_seconds": round(train_s, 1), "predict_reviews_per_s": round(len(test) / (time.perf_counter() - t1))}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="default")
    ap.add_argument("--bf16", action="store_true")
    ap.add_argument("--epochs", type=int)
    ap.add_argument("--no-baseline", action="store_true")
    args = ap.parse_args()
    info = machine_info()
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        run = senti.train(Path(tmp) / "run", dataset="imdb", model=args.model, bf16=args.bf16 or None,
                          epochs=args.epochs, progress=False)
        wall = time.perf_counter() - t0
        senti_peak = peak_rss_mib()
        hist = run.history
        m = run.metrics
        result = {
            "benchmark": "train_imdb",
            "machine": info,
            "other_load": "nothing else CPU-heavy was running (run alone)",
            "senti": {
                "model": args.model, "bf16": args.bf16, "config": run.config.to_dict(),
                "test_accuracy": m["accuracy"], "test_macro_f1": m["macro_f1"],
                "wall_seconds_total": round(wall, 1),
                "train_seconds": round(m["train_seconds"], 1),
                "eval_seconds_25k": round(m["eval_seconds"], 1),
                "epochs_run": len(hist),
                "best_epoch": max(hist, key=lambda r: r["val_accuracy"])["epoch"],
                "train_samples_per_s": [round(r["samples_per_s"]) for r in hist],
                "val_accuracy": [round(r["val_accuracy"], 4) for r in hist],
                "peak_rss_mib": round(senti_peak),
                "model_mib": round(sum(f.stat().st_size for f in (run.run_dir / "model").iterdir()) / 2**20, 1),
            },
        }
    if not args.no_baseline:
        result["baseline"] = tfidf_baseline()
        result["baseline"]["peak_rss_mib_process"] = round(peak_rss_mib())
    name = "train_imdb" + ("" if args.model == "default" else f"-{args.model}") + ("-bf16" if args.bf16 else "")
    out = Path(__file__).parent / "results" / f"{name}.json"
    write_json(out, result)
    s = result["senti"]
    print(f"senti {args.model}: test accuracy {s['test_accuracy']:.4f}, total {s['wall_seconds_total']:.0f}s "
          f"(train {s['train_seconds']:.0f}s, {s['train_samples_per_s']} samples/s), peak {s['peak_rss_mib']} MiB")
    if "baseline" in result:
        b = result["baseline"]
        print(f"tfidf-logreg: test accuracy {b['accuracy']:.4f}, train {b['train_seconds']:.0f}s")
    print(f"→ {out}")


if __name__ == "__main__":
    main()

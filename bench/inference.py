"""CPU inference speed and accuracy on the IMDB test set, per model and runtime, in one run: for an RNN/CNN
PyTorch eager fp32, ONNX Runtime fp32 and int8 (dynamic quantization); for a minGRU PyTorch and its folded
NumPy runtime; and the TF-IDF + LR baseline.

    SENTI_DATA_DIR=../shared/data .venv/bin/python bench/inference.py --run runs/imdb-default \\
        [--run runs/imdb-mingru] [--baseline runs/compare-imdb/tfidf-logreg] [--threads 2] [--n 25000]

For each runtime, in a fresh process (so peak memory is its own): reviews/s end to end (raw text →
probabilities, batches sorted by length) in one process with ``--threads`` threads, and on two worker
processes of one thread each (``predict_proba(n_process=2)``: the text pipeline is Python, so this is how a
second core helps it); reviews/s of the network alone (ids → probabilities); the rate of the text pipeline
alone (clean → tokens → ids); single-review latency p50/p99 over 300 reviews; test accuracy; peak RSS. The
run directories are copied, never modified. Writes bench/results/inference_imdb.json and .md. Run it alone:
on two cores any other CPU-heavy job skews every figure.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import numpy as np
from _common import machine_info, peak_rss_mib

import senti
from senti.io import write_json

RESULTS = Path(__file__).parent / "results"


def worker(run_dir: str, runtime: str, threads: int, n: int, repeat: int) -> dict:
    from senti.pipeline import configure_cpu

    configure_cpu(threads)
    test = senti.load_dataset("imdb", "test")
    if n < len(test):
        test = test.sample(n, random_state=0)
    texts, labels = test["text"].tolist(), test["label"].to_numpy()
    model = senti.SentimentModel.load(run_dir, runtime=runtime, threads=threads)
    model.predict_proba(texts[:256])  # warm-up: allocations, ORT's first-run planning

    def rate(fn, *args, **kw) -> int:
        """Median rate over ``repeat`` passes: this VM's speed drifts by up to ±40 % from minute to minute
        (a bare Python loop took 0.83–1.22 s in three runs back to back)."""
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            fn(*args, **kw)
            times.append(time.perf_counter() - t0)
        return round(len(texts) / float(np.median(times)))

    out: dict = {"runtime": model.runtime, "reviews": len(texts)}
    if model.vocab is not None:  # neural: split the time between the text pipeline and the network
        ids = model.encode(texts)
        # The first pass over every sequence length is slower (PyTorch/oneDNN set up kernels per shape): it is
        # reported apart, and the figures below are the steady state a long-running scorer sees.
        t0 = time.perf_counter()
        model.predict_proba_ids(ids)
        out["first_pass_network_reviews_per_s"] = round(len(texts) / (time.perf_counter() - t0))
        out |= {"text_pipeline_reviews_per_s": rate(model.encode, texts),
                "network_reviews_per_s": rate(model.predict_proba_ids, ids),
                "mean_tokens": round(float(np.mean([len(s) for s in ids])), 1)}
    proba = model.predict_proba(texts)
    out |= {"accuracy": round(float((model.classes_[proba.argmax(1)] == labels).mean()), 5),
            "reviews_per_s": rate(model.predict_proba, texts)}
    # Two worker processes, one thread each: the first call also starts them (each loads the bundle).
    t0 = time.perf_counter()
    model.predict_proba(texts[:5000], n_process=2)
    out["two_process_start_and_5000_s"] = round(time.perf_counter() - t0, 2)
    proba2 = model.predict_proba(texts, n_process=2)
    out["two_process_max_abs_diff"] = float(np.abs(proba2 - proba).max())
    out["two_process_reviews_per_s"] = rate(model.predict_proba, texts, n_process=2)
    model._pool.close()
    rng = np.random.default_rng(1)
    lat = []
    for i in rng.choice(len(texts), size=300, replace=False):
        t0 = time.perf_counter()
        model.predict_proba([texts[i]])
        lat.append((time.perf_counter() - t0) * 1000)
    out |= {"latency_ms_p50": round(float(np.percentile(lat, 50)), 2),
            "latency_ms_p99": round(float(np.percentile(lat, 99)), 2),
            "peak_rss_mib": round(peak_rss_mib())}
    return out


def run_worker(run_dir: Path, runtime: str, threads: int, n: int, repeat: int) -> dict:
    done = subprocess.run([sys.executable, __file__, "--worker", runtime, "--run", str(run_dir),
                           "--threads", str(threads), "--n", str(n), "--repeat", str(repeat)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{runtime} worker failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def runtimes_of(run_dir: Path) -> tuple[str, ...]:
    arch = json.loads((run_dir / "config.json").read_text())["model"]["architecture"]
    return ("torch", "folded") if arch == "senti.mingru.v1" else ("torch", "onnx", "onnx-int8")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", action="append", required=True, help="Run directory of a trained neural model "
                    "(repeat to compare several).")
    ap.add_argument("--baseline", help="Run directory of a tfidf-logreg model (trained here if not given).")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--n", type=int, default=25_000, help="Test reviews to score (25,000 = all).")
    ap.add_argument("--repeat", type=int, default=3, help="Passes per speed figure (the median is kept).")
    ap.add_argument("--name", default="inference_imdb")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(args.run[0], args.worker, args.threads, args.n, args.repeat)))
        return

    from senti.runtime.onnx import export_onnx

    info = machine_info()
    rows, models = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for k, src in enumerate(args.run):
            run = Path(shutil.copytree(src, Path(tmp) / f"run{k}", ignore=shutil.ignore_patterns("checkpoints")))
            model_cfg = json.loads((run / "config.json").read_text())["model"]
            models[src] = model_cfg
            export_s: dict[str, float] = {}
            for name in runtimes_of(run):
                if name.startswith("onnx"):
                    t0 = time.perf_counter()
                    export_onnx(run, quantize="int8" if name == "onnx-int8" else None)
                    export_s[name] = round(time.perf_counter() - t0, 1)
            for runtime in runtimes_of(run):
                row = run_worker(run, runtime, args.threads, args.n, args.repeat)
                row |= {"model": _describe(model_cfg), "run": src, "export_seconds": export_s.get(runtime)}
                rows.append(row)
                print(json.dumps(row), flush=True)
        baseline = args.baseline
        if baseline is None:
            baseline = str(Path(tmp) / "tfidf")
            senti.train(baseline, dataset="imdb", model="tfidf-logreg", progress=False)
        row = run_worker(Path(baseline), "auto", args.threads, args.n, args.repeat)
        row |= {"runtime": "numpy/scipy", "model": "TF-IDF + LR", "run": baseline}
        rows.append(row)
        print(json.dumps(row), flush=True)
    result = {"benchmark": args.name, "machine": info, "threads": args.threads, "repeat": args.repeat,
              "models": models, "results": rows,
              "note": "each runtime in its own process, one after another; nothing else ran on the machine"}
    RESULTS.mkdir(exist_ok=True)
    write_json(RESULTS / f"{args.name}.json", result)
    lines = [f"IMDB test, {args.n:,} reviews; {args.threads} threads in one process, or 2 processes × 1 thread; "
             f"speeds are the median of {args.repeat} passes. {info['date']}, commit {info['git_commit']}.", "",
             "| model | runtime | accuracy | reviews/s end to end | 2 processes | network only | text pipeline "
             "| latency p50 / p99 ms | peak RSS MiB |", "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['model']} | {r['runtime']} | {r['accuracy'] * 100:.2f} % | {r['reviews_per_s']:,} | "
                     f"{r['two_process_reviews_per_s']:,} | {_n(r.get('network_reviews_per_s'))} | "
                     f"{_n(r.get('text_pipeline_reviews_per_s'))} | {r['latency_ms_p50']} / {r['latency_ms_p99']} | "
                     f"{r['peak_rss_mib']} |")
    (RESULTS / f"{args.name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def _describe(cfg: dict) -> str:
    if cfg["architecture"] == "senti.mingru.v1":
        return f"{'Bi' if cfg['bidirectional'] else ''}minGRU {cfg['hidden_size']}"
    if cfg["architecture"] == "senti.rnn.v1":
        return f"{'Bi' if cfg['bidirectional'] else ''}{cfg['cell'].upper()} {cfg['hidden_size']}"
    return cfg["architecture"]


def _n(x: int | None) -> str:
    return "–" if x is None else f"{x:,}"


if __name__ == "__main__":
    main()

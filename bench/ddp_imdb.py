"""Two processes or one on this machine's cores: the IMDB default model's network trained with
``senti train --nproc 2 --threads 1`` (DistributedDataParallel over gloo, one thread each) against one process
with two threads, the same epochs and seed; samples/s per epoch, test accuracy, and what one all-reduce of the
model's gradients costs (gloo, two processes, timed alone).

    SENTI_DATA_DIR=../shared/data .venv/bin/python bench/ddp_imdb.py [--epochs 3] [--limit N]

The default preset is a stack (a BiGRU and NB-SVM 3-grams); --nproc trains networks, so the figure is for its
network member, ``--model bigru`` (the NB-SVM trains in one process in seconds either way; the default trains
the BiGRU one epoch on IMDB: ``--epochs 1``). Writes
bench/results/ddp.{json,md}; with ``--limit N`` (N training and N/2 test reviews, a check that the script works)
bench/results/ddp-limitN.{json,md}, which is no benchmark. Run it alone: a second CPU-heavy job on two cores
makes both figures meaningless.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine_info

RESULTS = Path(__file__).parent / "results"


def train(run_dir: Path, args: argparse.Namespace, nproc: int, threads: int) -> dict:
    cmd = [sys.executable, "-m", "senti", "train", "--dataset", "imdb", "--model", args.model, "-o", str(run_dir),
           "--threads", str(threads), "--nproc", str(nproc), "--quiet", "--no-report", "--seed", "0"]
    if args.epochs:
        cmd += ["--epochs", str(args.epochs)]
    if args.limit:
        cmd += ["--max-train-samples", str(args.limit), "--max-test-samples", str(max(args.limit // 2, 2))]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, timeout=args.timeout, stdout=subprocess.DEVNULL)  # its metrics: read below
    wall = time.perf_counter() - t0
    history = json.loads((run_dir / "history.json").read_text())
    metrics = json.loads((run_dir / "metrics.json").read_text())
    config = json.loads((run_dir / "config.json").read_text())
    return {
        "processes": nproc, "threads_per_process": threads, "wall_seconds": round(wall, 1),
        "train_seconds": round(metrics["train_seconds"], 1),
        "samples_per_s": [round(r["samples_per_s"], 1) for r in history["epochs"]],
        "val_accuracy": [round(r["val_accuracy"], 4) for r in history["epochs"]],
        "best_epoch": history["best_epoch"], "test_accuracy": round(metrics["accuracy"], 4),
        "test_n": metrics["n"], "batch_size_per_process": config["train"]["batch_size"],
        "train_rows": json.loads((run_dir / "data_profile.json").read_text())["lengths"]["train"]["rows"],
    }


def _allreduce_worker(numel: int, repeats: int) -> float:
    import torch
    import torch.distributed as dist

    torch.set_num_threads(1)
    dist.init_process_group("gloo")
    t = torch.ones(numel)
    for _ in range(3):
        dist.all_reduce(t)
    dist.barrier()
    t0 = time.perf_counter()
    for _ in range(repeats):
        dist.all_reduce(t)
    seconds = (time.perf_counter() - t0) / repeats
    dist.destroy_process_group()
    return seconds


def allreduce_ms(numel: int, repeats: int = 50) -> float:
    """One all-reduce of ``numel`` float32 values between two gloo processes (PyTorch's launcher), in ms."""
    from senti.training.distributed import launch

    return round(1000 * launch(2, _allreduce_worker, numel, repeats), 3)


def markdown(result: dict) -> str:
    one, two = result["one_process"], result["two_processes"]
    lines = [f"# IMDB {result['model']}: 2 processes x 1 thread vs 1 process x 2 threads", "",
             f"{result['machine']['cpu']}, {result['machine']['cores']} cores; {result['note']}", "",
             "| | processes x threads | samples/s per epoch | best epoch | test accuracy | train s | wall s |",
             "|---|---|---|---|---|---|---|"]
    for name, r in (("one process", one), ("two processes (DDP)", two)):
        lines.append(f"| {name} | {r['processes']} x {r['threads_per_process']} | "
                     f"{', '.join(f'{v:.0f}' for v in r['samples_per_s'])} | {r['best_epoch']} | "
                     f"{r['test_accuracy']:.4f} | {r['train_seconds']} | {r['wall_seconds']} |")
    a = result["allreduce"]
    lines += ["", f"Speed-up of two processes (mean samples/s): {result['speedup']:.2f}x. One all-reduce of the "
              f"{a['parameters']:,} gradients (gloo, 2 processes): {a['ms']} ms; x {a['steps_per_epoch']} steps "
              f"= {a['seconds_per_epoch']} s an epoch ({a['share_of_epoch']:.1%} of the two-process epoch).", ""]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="bigru", help="a network preset (the default stack's network: bigru)")
    ap.add_argument("--epochs", type=int, help="the preset's epochs (with early stopping) unless given")
    ap.add_argument("--limit", type=int, help="train on N reviews and test on N/2: a check, not a benchmark")
    ap.add_argument("--timeout", type=int, default=6 * 3600)
    args = ap.parse_args()
    if not os.environ.get("SENTI_DATA_DIR"):
        sys.exit("set SENTI_DATA_DIR (e.g. ../shared/data)")
    info = machine_info()
    with tempfile.TemporaryDirectory() as tmp:
        one = train(Path(tmp) / "one", args, nproc=1, threads=2)
        two = train(Path(tmp) / "two", args, nproc=2, threads=1)
        import senti

        net = senti.load(Path(tmp) / "two", runtime="torch").net
        params = sum(p.numel() for p in net.parameters())
    ms = allreduce_ms(params)
    # Each of the two processes' steps in an epoch: the training split in global batches of 2 x batch size.
    steps = -(-two["train_rows"] // (2 * two["batch_size_per_process"]))
    epoch_two = _mean(two["samples_per_s"])
    result = {
        "benchmark": "ddp_imdb", "model": args.model, "machine": info, "limit": args.limit,
        "note": ("a slice of IMDB (--limit): this checks the script, it is no benchmark" if args.limit else
                 "full IMDB (22.5k train after the validation split, 25k test); run alone"),
        "one_process": one, "two_processes": two,
        "speedup": round(epoch_two / _mean(one["samples_per_s"]), 3),
        "allreduce": {"parameters": params, "ms": ms, "steps_per_epoch": steps,
                      "seconds_per_epoch": round(ms * steps / 1000, 2),
                      "share_of_epoch": round(ms * steps / 1000 / (two["train_rows"] / epoch_two), 4)},
    }
    stem = f"ddp-limit{args.limit}" if args.limit else "ddp"
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{stem}.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / f"{stem}.md").write_text(markdown(result))
    print(markdown(result))
    print(f"→ {RESULTS / stem}.json, .md")


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


if __name__ == "__main__":
    main()

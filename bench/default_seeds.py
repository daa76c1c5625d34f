"""How many BiGRUs the default stacks on small data: one, two or three seeds (issue #19).

    SENTI_DATA_DIR=../shared/data .venv/bin/python bench/default_seeds.py [--seeds 1,2,3]
        [--datasets airline_tweets,tweets,sst2,uci_sentences]

The default preset with ``seeds = N`` (each network trained N times, seeds 0 … N − 1, every one a member of the
stack), trained as ``senti.train(dataset=NAME)`` trains it. What chooses N is the stacker's **cross-validated
score on the validation split** (the run's history; macro-F1 for the tweet datasets, accuracy otherwise; UCI:
the mean over the 5 folds of bench/default_model.py); the test score is written beside it, never used to choose.

Writes bench/results/default_seeds.{json,md}; runs go to runs/default-seeds/. Run it alone.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine_info, uci_folds

from senti.io import atomic_write_text, write_json

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
METRIC = {"airline_tweets": "macro_f1", "tweets": "macro_f1", "sst2": "accuracy", "uci_sentences": "accuracy"}


def one_split(dataset: str, seeds: int, out: Path) -> dict:
    import senti

    t = time.perf_counter()
    run = senti.train(out / dataset / f"seeds{seeds}", overwrite=True, progress=False, report=False,
                      dataset=dataset, model={"seeds": seeds})
    key = METRIC[dataset]
    return {"validation": run.history[-1][f"val_{key}"], "test": run.metrics[key], "ece": run.metrics["ece"],
            "members": run.config.model["members"], "seconds": round(time.perf_counter() - t, 1)}


def five_folds(seeds: int, out: Path) -> dict:
    """UCI sentences: the folds of bench/default_model.py; each fold's own validation split."""
    import numpy as np

    import senti

    folds, options = uci_folds()
    rows, t = [], time.perf_counter()
    for k, (train, test) in enumerate(folds):
        run = senti.train(out / "uci_sentences" / f"seeds{seeds}-fold{k}", overwrite=True, progress=False,
                          report=False, train=train, test=test, model={"seeds": seeds}, **options)
        rows.append((run.history[-1]["val_accuracy"], run.metrics["accuracy"], run.metrics["ece"]))
    v, s, e = (float(np.mean(c)) for c in zip(*rows, strict=True))
    return {"validation": v, "test": s, "ece": e, "members": run.config.model["members"],
            "seconds": round(time.perf_counter() - t, 1)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--datasets", default=",".join(METRIC))
    ap.add_argument("--output", default=str(ROOT / "runs" / "default-seeds"))
    ap.add_argument("--other-load", default="nothing else CPU-heavy was running (run alone)")
    args = ap.parse_args()
    out = Path(args.output)
    result = {"benchmark": "default_seeds", "machine": machine_info(), "other_load": args.other_load, "table": {}}
    for dataset in args.datasets.split(","):
        result["table"][dataset] = {}
        for n in map(int, args.seeds.split(",")):
            r = five_folds(n, out) if dataset == "uci_sentences" else one_split(dataset, n, out)
            result["table"][dataset][n] = r
            print(dataset, n, r, flush=True)
    write_json(RESULTS / "default_seeds.json", result)
    atomic_write_text(RESULTS / "default_seeds.md", markdown(result))
    print(markdown(result))


def markdown(result: dict) -> str:
    m = result["machine"]
    lines = ["# The default on small data: how many BiGRU seeds (bench/default_seeds.py)", "",
             f"{m['cpu']}, {m['cores']} cores, {m['date']}, commit {m['git_commit']}; {result['other_load']}.", "",
             "Chosen on the stacker's cross-validated validation score; test shown, not used to choose.", "",
             "| dataset (metric) | seeds | validation | test | test ECE | seconds |", "|---|---|---|---|---|---|"]
    for dataset, rows in result["table"].items():
        for n, r in rows.items():
            lines.append(f"| {dataset} ({METRIC[dataset]}) | {n} | {r['validation']:.4f} | {r['test']:.4f} | "
                         f"{r['ece']:.4f} | {r['seconds']:.0f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()

"""`senti tune` against the untuned models: does a search on validation buy test points, and at what cost?

    SENTI_DATA_DIR=../shared/data .venv/bin/python bench/tune.py            # ~85 minutes, alone

On ``tweets`` (3 classes; macro-F1) and ``sst2`` (accuracy on the GLUE dev sentences, its test split here):

1. the untuned default: ``senti train --dataset D`` with the ``default`` preset as it stands when the script runs
   (its architecture decides the family searched next);
2. a study of the default family for ``--minutes`` (30): ``senti tune --model default`` with its family's
   search space (a stack's: its members' parameters, each trial its members trained and stacked), its best
   parameters retrained on train (``DIR/best``);
3. a study of ``nbsvm3`` for ``--ngram-minutes`` (10), likewise; and the untuned ``nbsvm3``.

Everything is chosen on the validation split (the split ``senti train`` makes); each final model is scored
once on test. Reported: test scores against the untuned model, trials (complete / pruned / failed), the
training time pruning saved (each pruned trial's remaining epochs at its own seconds per epoch), the best
parameters, the CPU, and the gain's 95 % paired bootstrap interval over the test examples (``--intervals``
computes it for the studies of the last results without running them again). Writes
bench/results/tune.{json,md} (``--results`` elsewhere for a trial run such as ``--minutes 0.5 --ngram-minutes
0.2 --max-train-samples 2000 --results /tmp/tune-smoke``). Run it alone.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import numpy as np
from _common import machine_info

import senti
from senti.config import RunConfig
from senti.data.splits import load_splits
from senti.io import read_json
from senti.models.registry import resolve_preset
from senti.tuning.report import pruning_savings
from senti.tuning.search import tune

DATASETS = {"tweets": "macro_f1", "sst2": "accuracy"}


def untuned(dataset: str, preset: str, folder: Path, metric: str, extra: dict) -> dict:
    t0 = time.perf_counter()
    run = senti.train(folder, overwrite=True, dataset=dataset, model=preset, progress=False, report=False, **extra)
    return {"preset": preset, "test": {k: run.metrics[k] for k in ("accuracy", "macro_f1")},
            "validation": run.validation[metric], "seconds": time.perf_counter() - t0}


def study(dataset: str, preset: str, folder: Path, metric: str, minutes: float, trials: int, extra: dict) -> dict:
    shutil.rmtree(folder, ignore_errors=True)  # a fresh study: the same folder would continue the last one
    t0 = time.perf_counter()
    result = tune(folder, trials=trials, timeout=minutes * 60, metric=metric, progress=False, report=True,
                  dataset=dataset, model=preset, **extra)
    s = result.study
    states: dict[str, int] = {}
    for t in s.get_trials(deepcopy=False):
        states[t.state.name.lower()] = states.get(t.state.name.lower(), 0) + 1
    final = result.run
    return {"preset": preset, "budget_minutes": minutes, "trials": states,
            "best_trial": result.best_number, "best_validation": result.best_value,
            "best_params": result.best_params,
            "test": {k: final.metrics[k] for k in ("accuracy", "macro_f1")} if final and final.metrics else None,
            "pruning": pruning_savings(s), "seconds": time.perf_counter() - t0, "folder": str(folder)}


def gain_interval(base_run: Path, tuned_run: Path, metric: str, resamples: int = 2000, seed: int = 0) -> dict:
    """The tuned model's gain over the untuned one on the test split, with a 95 % paired bootstrap interval:
    the same resampled test examples score both models, so what the two get right together cancels out.
    Each resample is a multinomial weight per example (one matrix product for all resamples)."""
    _, _, test = load_splits(RunConfig.from_dict(read_json(base_run / "config.json")))
    texts, truth = test["text"].tolist(), np.asarray(test["label"], dtype=object)
    preds = [np.asarray(senti.load(run).predict(texts), dtype=object) for run in (base_run, tuned_run)]
    labels = sorted(set(truth))
    n = len(truth)
    weights = np.random.default_rng(seed).multinomial(n, np.full(n, 1 / n), size=resamples).astype(np.float64)

    def score(pred: np.ndarray) -> np.ndarray:  # the metric on every resample (and the point estimate last)
        w = np.vstack([weights, np.ones(n)])
        if metric == "accuracy":
            return w @ (pred == truth) / n
        f1 = []
        for c in labels:
            tp, fp, fn = (w @ ((truth == c) & (pred == c)), w @ ((truth != c) & (pred == c)),
                          w @ ((truth == c) & (pred != c)))
            f1.append(np.divide(2 * tp, 2 * tp + fp + fn, out=np.zeros_like(tp), where=(2 * tp + fp + fn) > 0))
        return np.mean(f1, axis=0)

    gains = 100 * (score(preds[1]) - score(preds[0]))
    low, high = np.quantile(gains[:-1], [0.025, 0.975])
    return {"gain": float(gains[-1]), "low": float(low), "high": float(high), "resamples": resamples,
            "share_at_or_below_zero": float(np.mean(gains[:-1] <= 0)), "n_test": n}


def markdown(results: dict) -> str:
    lines = [f"# senti tune vs untuned (bench/tune.py)\n\nCPU: {results['machine']['cpu']} "
             f"({results['machine']['cores']} cores); default preset's architecture: "
             f"{results['default_architecture']}"
             + (f" (a stack of {', '.join(results['default_members'])}, its members' parameters searched together)"
                if results.get("default_members") else "")
             + ". Studies chosen on validation; each final model scored once on test.\n",
             "| dataset | metric | model | untuned test | tuned test | gain (pt) | 95 % interval | trials "
             "(complete/pruned/failed) | pruning saved | study min |", "|---|---|---|---|---|---|---|---|---|---|"]
    for dataset, r in results["datasets"].items():
        metric = r["metric"]
        for key in ("default", "nbsvm3"):
            base, tuned = r["untuned"][key], r["tuned"][key]
            if tuned["test"] is None:
                continue
            gain = 100 * (tuned["test"][metric] - base["test"][metric])
            t = tuned["trials"]
            ci = tuned.get("gain_interval")
            ci = f"{ci['low']:+.2f} to {ci['high']:+.2f}" if ci else "–"
            lines.append(f"| {dataset} | {metric} | {key} | {base['test'][metric]:.4f} | {tuned['test'][metric]:.4f} "
                         f"| {gain:+.2f} | {ci} | {t.get('complete', 0)}/{t.get('pruned', 0)}/{t.get('fail', 0)} "
                         f"| {tuned['pruning']['seconds_saved'] / 60:.1f} min "
                         f"({tuned['pruning']['pruned_trials']} trials) | {tuned['seconds'] / 60:.1f} |")
    lines.append("")
    for dataset, r in results["datasets"].items():
        for key, run in r.get("runs", {}).items():
            m = run["machine"]
            budget = run["minutes"] if key == "default" else run["ngram_minutes"]
            lines.append(f"- {dataset} / {key}: {m['date']}, commit {m['git_commit']}, {m['cpu']}; a "
                         f"{budget:g}-minute study")
    lines.append("\nBest parameters:\n")
    for dataset, r in results["datasets"].items():
        for key, tuned in r["tuned"].items():
            params = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                               for k, v in tuned["best_params"].items())
            lines.append(f"- {dataset} / {key}: trial {tuned['best_trial']}, validation "
                         f"{tuned['best_validation']}: {params}")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=30.0, help="study budget of the default family"
                    " (a stack: its members together)")
    ap.add_argument("--ngram-minutes", type=float, default=10.0, help="study budget of nbsvm3")
    ap.add_argument("--trials", type=int, default=10_000, help="trials cap (the budget usually ends a study first)")
    ap.add_argument("--datasets", default=",".join(DATASETS))
    ap.add_argument("--models", default="default,nbsvm3", help="which studies to run (with --update, the others "
                    "keep their last results)")
    ap.add_argument("--max-train-samples", type=int, help="train on a sample (for a quick trial run only)")
    ap.add_argument("--work", default="/tmp/senti-bench-tune", help="folder for the runs and studies")
    ap.add_argument("--results", default=str(Path(__file__).parent / "results"))
    ap.add_argument("--intervals", action="store_true",
                    help="Only add the gains' bootstrap intervals to the last results, from the runs left in --work.")
    ap.add_argument("--update", action="store_true",
                    help="Re-run only --datasets; keep the other datasets' results from the last tune.json.")
    args = ap.parse_args()
    extra = {"max_train_samples": args.max_train_samples} if args.max_train_samples else {}
    work, out = Path(args.work), Path(args.results)
    default = resolve_preset("default")["model"]  # the default family as the default preset is when this runs
    results = {"machine": machine_info(), "args": vars(args), "default_architecture": default["architecture"],
               "default_members": default.get("members"), "datasets": {}}
    if args.update:
        last = json.loads((Path(args.results) / "tune.json").read_text())
        for r in last["datasets"].values():  # an older script recorded its setting once, at the top
            r.setdefault("runs", {k: {"machine": last["machine"], "minutes": last["args"]["minutes"],
                                      "ngram_minutes": last["args"]["ngram_minutes"]} for k in r["tuned"]})
        results["datasets"] = last["datasets"]
    run = {"machine": results["machine"], "minutes": args.minutes, "ngram_minutes": args.ngram_minutes}
    if args.intervals:
        results = json.loads((out / "tune.json").read_text())
        for dataset, r in results["datasets"].items():
            for key, tuned in r["tuned"].items():
                base, best = work / dataset / f"untuned-{key}", Path(tuned["folder"]) / "best"
                if base.is_dir() and best.is_dir():
                    tuned["gain_interval"] = gain_interval(base, best, r["metric"])
                    print(dataset, key, tuned["gain_interval"], flush=True)
        args.datasets = ""
    for dataset in filter(None, args.datasets.split(",")):
        metric = DATASETS[dataset]
        # With --update the studies not re-run keep their last results.
        r = results["datasets"].get(dataset) or {"metric": metric, "untuned": {}, "tuned": {}, "runs": {}}
        for key, minutes in (("default", args.minutes), ("nbsvm3", args.ngram_minutes)):
            if key not in args.models.split(","):
                continue
            r["runs"][key] = run
            r["untuned"][key] = untuned(dataset, key, work / dataset / f"untuned-{key}", metric, extra)
            print(f"{dataset} untuned {key}: test {metric} {r['untuned'][key]['test'][metric]:.4f}", flush=True)
            r["tuned"][key] = t = study(dataset, key, work / dataset / f"study-{key}", metric, minutes, args.trials,
                                        extra)
            if t["test"] is not None:
                t["gain_interval"] = gain_interval(work / dataset / f"untuned-{key}", Path(t["folder"]) / "best",
                                                   metric)
            print(f"{dataset} tuned {key}: test {metric} {t['test'][metric] if t['test'] else float('nan'):.4f}, "
                  f"trials {t['trials']}, pruning saved {t['pruning']['seconds_saved']:.0f} s", flush=True)
        results["datasets"][dataset] = r
    out.mkdir(parents=True, exist_ok=True)
    (out / "tune.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    (out / "tune.md").write_text(markdown(results))
    print(markdown(results))


if __name__ == "__main__":
    main()

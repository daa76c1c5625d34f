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
parameters, the CPU. Writes bench/results/tune.{json,md} (``--results`` elsewhere for a trial run such as
``--minutes 0.5 --ngram-minutes 0.2 --max-train-samples 2000 --results /tmp/tune-smoke``). Run it alone.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine_info

import senti
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


def markdown(results: dict) -> str:
    lines = [f"# senti tune vs untuned (bench/tune.py)\n\nCPU: {results['machine']['cpu']} "
             f"({results['machine']['cores']} cores); default preset's architecture: "
             f"{results['default_architecture']}"
             + (f" (a stack of {', '.join(results['default_members'])}, its members' parameters searched together)"
                if results.get("default_members") else "")
             + ". Studies chosen on validation; each final model scored once on test.\n",
             "| dataset | metric | model | untuned test | tuned test | gain (pt) | trials (complete/pruned/failed) "
             "| pruning saved | study min |", "|---|---|---|---|---|---|---|---|---|"]
    for dataset, r in results["datasets"].items():
        metric = r["metric"]
        for key in ("default", "nbsvm3"):
            base, tuned = r["untuned"][key], r["tuned"][key]
            if tuned["test"] is None:
                continue
            gain = 100 * (tuned["test"][metric] - base["test"][metric])
            t = tuned["trials"]
            lines.append(f"| {dataset} | {metric} | {key} | {base['test'][metric]:.4f} | {tuned['test'][metric]:.4f} "
                         f"| {gain:+.2f} | {t.get('complete', 0)}/{t.get('pruned', 0)}/{t.get('fail', 0)} "
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
    for dataset in args.datasets.split(","):
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
            print(f"{dataset} tuned {key}: test {metric} {t['test'][metric] if t['test'] else float('nan'):.4f}, "
                  f"trials {t['trials']}, pruning saved {t['pruning']['seconds_saved']:.0f} s", flush=True)
        results["datasets"][dataset] = r
    out.mkdir(parents=True, exist_ok=True)
    (out / "tune.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    (out / "tune.md").write_text(markdown(results))
    print(markdown(results))


if __name__ == "__main__":
    main()

"""The default model against the baselines senti ships, on five kinds of text, in one run (issue #19).

    SENTI_DATA_DIR=../shared/data .venv/bin/python bench/default_model.py [--datasets imdb,sst2,...]
        [--models default,bigru,nbsvm3,tfidf-logreg] [--skip-speed] [--skip-check] [--reuse]

For each dataset every model is trained as a user would train it, on the same split with the same seed:
``senti train --dataset NAME --model PRESET --output RUN`` (the default with no ``--model`` at all), timed from
the shell, so each time is "all in": reading the data, training, calibration, the test evaluation and the
report. UCI sentences has no test split: 5-fold stratified cross-validation (seed 0), through the Python API.
Scores: IMDB test accuracy, SST-2 dev accuracy, tweets and airline test macro-F1, UCI mean CV accuracy; each
with the test split's expected calibration error (15 equal-width bins) and Brier score.

Then, on the IMDB runs: ``senti check`` (the behaviour suite, dev and held-out halves, per capability), and,
for the default: ``senti predict RUN --input test.csv --output out.csv`` over the 25,000 test reviews (start-up
included, median of 3 fresh processes), the same in process, one review's latency (p50/p99 over 1,000), and
``bench/serve_load.py`` (wrk, 64 connections) when ``wrk`` is installed.

Writes bench/results/default_model.{json,md}; runs go to runs/default-model/. Run it alone: on two cores any
other CPU-heavy job skews every time (the JSON records the load average at the start).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine_info, uci_folds

from senti.io import atomic_write_text, read_json, write_json

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SENTI = str(BIN / "senti")
RESULTS = ROOT / "bench" / "results"
DATASETS = {  # name → (the score the issue names, where it is measured)
    "imdb": ("accuracy", "test"),
    "sst2": ("accuracy", "dev"),
    "tweets": ("macro_f1", "test"),
    "airline_tweets": ("macro_f1", "test"),
    "uci_sentences": ("accuracy", "5-fold CV"),
}
MODELS = ["default", "bigru", "nbsvm3", "tfidf-logreg"]
MARGIN = 0.003  # the default must beat the best baseline by 0.3 points


def sh(args: list[str], **kw) -> float:
    """Run a command; its wall time in seconds."""
    print("$", " ".join(args), flush=True)
    t = time.perf_counter()
    subprocess.run(args, check=True, **kw)
    return time.perf_counter() - t


def train_cli(dataset: str, model: str, out: Path, reuse: bool) -> dict:
    run = out / dataset / model
    if not (reuse and (run / "metrics.json").is_file()):
        if run.exists():
            shutil.rmtree(run)
        cmd = [SENTI, "train", "--dataset", dataset, "--output", str(run), "-q"]
        if model != "default":  # the default as users get it: no --model at all
            cmd[4:4] = ["--model", model]
        secs = sh(cmd)
        write_json(run / "bench-wall.json", {"seconds": secs, "command": " ".join(cmd[1:])})
    m = read_json(run / "metrics.json")
    return {"accuracy": m["accuracy"], "macro_f1": m["macro_f1"], "ece": m.get("ece"), "brier": m.get("brier"),
            "ece_floor": m.get("ece_floor"), "ece_p": m.get("ece_p"), "n_test": m["n"],
            "train_seconds": round(m["train_seconds"], 1),
            "all_in_seconds": round(read_json(run / "bench-wall.json")["seconds"], 1), "run": str(run)}


def train_cv(model: str, out: Path, folds: int = 5) -> dict:
    """UCI sentences: stratified k-fold CV through the Python API (the dataset's own cleaning defaults)."""
    import numpy as np

    import senti
    from senti.calibration import N_BINS, brier_score, ece_noise, expected_calibration_error

    rows, proba, truth = [], [], []
    t = time.perf_counter()
    splits, options = uci_folds(folds)
    for k, (train, test) in enumerate(splits):
        run = senti.train(out / "uci_sentences" / f"{model}-fold{k}", overwrite=True, progress=False, report=False,
                          train=train, test=test, model=model, **options)
        rows.append(run.metrics)
        proba.append(run.model.predict_proba(test["text"].tolist()))
        truth += [run.model.labels.index(label) for label in test["label"]]
    secs = time.perf_counter() - t
    # Calibration on the pooled out-of-fold predictions (3,000 sentences): a 600-sentence fold's ECE over 15
    # bins is mostly sampling noise.
    pooled, y = np.vstack(proba), np.asarray(truth)

    def mean(key: str) -> float:
        return float(np.mean([r[key] for r in rows]))

    return {"accuracy": mean("accuracy"), "accuracy_std": float(np.std([r["accuracy"] for r in rows])),
            "macro_f1": mean("macro_f1"), "ece": float(expected_calibration_error(pooled, y, N_BINS)),
            "brier": float(brier_score(pooled, y)), **ece_noise(pooled, y, N_BINS), "ece_mean_of_folds": mean("ece"),
            "n_test": sum(len(test) for _, test in splits),
            "train_seconds": round(sum(r["train_seconds"] for r in rows), 1), "all_in_seconds": round(secs, 1),
            "folds": folds}


def behaviour(run: str) -> dict:
    out = subprocess.run([SENTI, "check", run, "--json", "--show", "0"], check=True, capture_output=True, text=True)
    r = json.loads(out.stdout)
    return {"overall": r["overall"], "tests": {t["name"]: t["pass_rate"] for t in r["tests"]}}


def speed(run: str, out: Path) -> dict:
    """The default's scoring speed on the 25k IMDB test reviews, its network exported to ONNX: CLI (start-up
    included), in process, latency."""
    import numpy as np

    import senti
    from senti.data.datasets import load_dataset

    sh([SENTI, "export", run, "--format", "onnx"])  # what a user who scores much does (README); auto then uses it
    test = load_dataset("imdb", "test")
    csv = out / "imdb-test.csv"
    test[["text"]].to_csv(csv, index=False)
    cli = []
    for _ in range(3):
        cli.append(sh([SENTI, "predict", run, "--input", str(csv), "--output", str(out / "scored.csv")]))
    texts = test["text"].tolist()
    model = senti.load(run)
    model.predict_proba(texts[:500])  # warm: the runtime's first call compiles or allocates
    passes = []
    for _ in range(3):
        t = time.perf_counter()
        model.predict_proba(texts)
        passes.append(time.perf_counter() - t)
    lat = []
    for text in texts[:1000]:
        t = time.perf_counter()
        model.predict_proba([text])
        lat.append(time.perf_counter() - t)
    return {"n": len(texts), "cli_seconds": cli, "cli_reviews_per_s": len(texts) / float(np.median(cli)),
            "in_process_seconds": passes, "in_process_reviews_per_s": len(texts) / float(np.median(passes)),
            "latency_ms_p50": 1000 * float(np.percentile(lat, 50)),
            "latency_ms_p99": 1000 * float(np.percentile(lat, 99))}


def serve(run: str) -> dict | None:
    if shutil.which("wrk") is None:
        print("wrk is not installed (apt-get install wrk): no serving figures", flush=True)
        return None
    sh([sys.executable, str(ROOT / "bench" / "serve_load.py"), "--run", run, "--duration", "20", "--workers", "2",
        "--batch-workers", "1",
        "--name", "serve_load_default"])
    return read_json(RESULTS / "serve_load_default.json")


def verdicts(table: dict) -> dict:
    out = {}
    for dataset, (metric, _) in DATASETS.items():
        rows = table.get(dataset)
        if not rows or "default" not in rows:
            continue
        baselines = {m: r[metric] for m, r in rows.items() if m != "default"}
        best = max(baselines, key=baselines.get)
        margin = rows["default"][metric] - baselines[best]
        out[dataset] = {"metric": metric, "default": rows["default"][metric], "best_baseline": best,
                        "best_baseline_score": baselines[best], "margin": margin, "met": margin >= MARGIN,
                        "ece_met": (rows["default"].get("ece") or 1) <= 0.02}
    return out


def markdown(result: dict) -> str:
    m = result["machine"]
    lines = ["# The default model against senti's baselines", "",
             f"{m['cpu']}, {m['cores']} cores, {m['date']}, commit {m['git_commit']}; {result['other_load']}.", "",
             "Every model trained as a user would (`senti train --dataset NAME [--model PRESET]`), same split and "
             "seed; *all in* is the command's wall time (data, training, calibration, test evaluation, report). "
             "ECE: expected calibration error, 15 equal-width bins, on the test split; *ECE floor*: the ECE a "
             "perfectly calibrated model with the same confidences shows on as many examples by chance alone "
             "(mean of 500 draws, `senti.calibration.ece_noise`), and *p* how often it shows the ECE measured "
             "or more (small p: the miscalibration is real).", ""]
    for dataset, (metric, where) in DATASETS.items():
        rows = result["table"].get(dataset)
        if not rows:
            continue
        again = result.get("updated", {}).get(dataset)
        lines += [f"## {dataset} ({metric} on {where})", "",
                  *([f"Re-run {again['date']}, commit {again['git_commit']}, {again['cpu']}; {again['other_load']}.",
                     ""] if again else []),
                  "| model | accuracy | macro-F1 | ECE | ECE floor | p | Brier | train s | all in s |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for name, r in rows.items():
            acc = f"{r['accuracy']:.4f}" + (f" ± {r['accuracy_std']:.4f}" if "accuracy_std" in r else "")
            floor = (f"{r['ece_floor']:.4f} | {r['ece_p']:.2f}" if r.get("ece_floor") is not None
                     else "– | –")  # rows measured before the floor existed
            lines.append(f"| {name} | {acc} | {r['macro_f1']:.4f} | {r['ece']:.4f} | {floor} | {r['brier']:.4f} | "
                         f"{r['train_seconds']:.0f} | {r['all_in_seconds']:.0f} |")
        v = result["verdicts"].get(dataset)
        if v:
            lines += ["", f"Default {v['default']:.4f} vs best baseline {v['best_baseline']} "
                          f"{v['best_baseline_score']:.4f}: margin {100 * v['margin']:+.2f} points "
                          f"({'met' if v['met'] else 'NOT met'}: ≥ +0.30); ECE ≤ 0.02 "
                          f"{'met' if v['ece_met'] else 'NOT met'}"
                          + (f" (a perfectly calibrated model would show {rows['default']['ece_floor']:.4f} here)"
                             if rows["default"].get("ece_floor") is not None else "") + "."]
        lines.append("")
    if result.get("behaviour"):
        names = list(next(iter(result["behaviour"].values()))["tests"])
        lines += ["## Behaviour (`senti check`, IMDB-trained models; dev / held-out template halves)", "",
                  "| test | " + " | ".join(result["behaviour"]) + " |", "|---|" + "---|" * len(result["behaviour"])]
        for key in ["overall", *names]:
            cells = []
            for r in result["behaviour"].values():
                rate = r["overall"] if key == "overall" else r["tests"][key]
                cells.append(" / ".join(f"{100 * rate[h]:.1f}" if rate.get(h) is not None else "-"
                                        for h in ("dev", "heldout")))
            lines.append(f"| {'**overall**' if key == 'overall' else key} | " + " | ".join(cells) + " |")
        lines.append("")
    s = result.get("speed")
    if s:
        when = result.get("speed_machine")
        lines += ["## Scoring speed of the default (IMDB test, 25,000 reviews)", "",
                  *([f"Measured {when['date']}, commit {when['git_commit']}, {when['cpu']}.", ""] if when else []),
                  f"- `senti predict RUN --input test.csv --output out.csv`, start-up included: "
                  f"**{s['cli_reviews_per_s']:,.0f} reviews/s** (median of {len(s['cli_seconds'])}: "
                  f"{', '.join(f'{x:.2f}' for x in s['cli_seconds'])} s)",
                  f"- in process (`model.predict_proba(texts)`): **{s['in_process_reviews_per_s']:,.0f} reviews/s**",
                  f"- one review in process: p50 **{s['latency_ms_p50']:.2f} ms**, p99 {s['latency_ms_p99']:.2f} ms",
                  ""]
    sv = result.get("serve")
    if sv:
        lat = sv["latency_ms"]
        lines += [f"- `senti serve RUN` under `bench/serve_load.py` ({sv['setup']['connections']} connections, "
                  f"{sv['setup']['server']}): **{sv['requests_per_s']:,.0f} requests/s**, p50 {lat['p50']:.1f} ms, "
                  f"p99 **{lat['p99']:.1f} ms**, {sv['error_count']} errors", ""]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--datasets", default=",".join(DATASETS))
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--output", default=str(ROOT / "runs" / "default-model"))
    ap.add_argument("--skip-speed", action="store_true")
    ap.add_argument("--skip-check", action="store_true")
    ap.add_argument("--reuse", action="store_true", help="Keep finished runs (CLI-trained ones); rebuild the rest.")
    ap.add_argument("--other-load", default="nothing else CPU-heavy was running (run alone)")
    ap.add_argument("--update", action="store_true",
                    help="Re-run only --datasets and keep the rest of the last results (other datasets, behaviour, "
                    "speed), recording when and where each dataset was re-run.")
    args = ap.parse_args()
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    result = {"benchmark": "default_model", "machine": machine_info(), "other_load": args.other_load, "table": {}}
    if args.update:
        last = read_json(RESULTS / "default_model.json")
        updates = last.get("updated", {}) | {d: {**result["machine"], "other_load": args.other_load}
                                               for d in args.datasets.split(",")}
        result = {**last, "updated": updates}
    for dataset in args.datasets.split(","):
        result["table"][dataset] = {}
        for model in args.models.split(","):
            r = train_cv(model, out) if dataset == "uci_sentences" else train_cli(dataset, model, out, args.reuse)
            result["table"][dataset][model] = r
            print(dataset, model, {k: v for k, v in r.items() if k != "run"}, flush=True)
    result["verdicts"] = verdicts(result["table"])
    imdb = result["table"].get("imdb", {}) if "imdb" in args.datasets.split(",") else {}
    if imdb and not args.skip_check:
        result["behaviour"] = {m: behaviour(r["run"]) for m, r in imdb.items()}
    if "default" in imdb and not args.skip_speed:
        result["speed_machine"] = machine_info()
        result["speed"] = speed(imdb["default"]["run"], out)
        result["serve"] = serve(imdb["default"]["run"])
    write_json(RESULTS / "default_model.json", result)
    atomic_write_text(RESULTS / "default_model.md", markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()

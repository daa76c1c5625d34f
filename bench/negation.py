"""Negation marking (``clean.negation_scope``) measured on NB-SVM (uni+bi+trigrams), scopes 0, 2, 3, 4, 6.

    SENTI_DATA_DIR=../shared/data .venv/bin/python bench/negation.py [--scopes 0,2,3,4,6]
        [--datasets imdb,sst2,tweets,airline_tweets,uci_sentences]

Each model is ``nbsvm3`` with ``clean.negation_scope = K`` (the K words after a negation, up to a clause mark or a
contrast word, rewritten as negated words; senti.text.negation), trained as ``senti.train(dataset=NAME)`` trains it
(UCI sentences: the 5 folds of bench/default_model.py). What chooses K is the **validation** score (macro-F1 on
the tweet datasets, accuracy otherwise) and the behaviour suite's **dev** half on the IMDB model
(``senti check``); test scores and the held-out half are written beside them, never used to choose.

Writes bench/results/negation.{json,md}; runs go to runs/negation/. Run it alone.
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
METRIC = {"imdb": "accuracy", "sst2": "accuracy", "tweets": "macro_f1", "airline_tweets": "macro_f1",
          "uci_sentences": "accuracy"}


def one_split(dataset: str, scope: int, out: Path) -> dict:
    import senti

    t = time.perf_counter()
    run = senti.train(out / dataset / f"scope{scope}", overwrite=True, progress=False, report=False,
                      dataset=dataset, preset="nbsvm3", clean={"negation_scope": scope})
    key = METRIC[dataset]
    row = {"validation": run.history[-1][f"val_{key}"], "test": run.metrics[key],
           "seconds": round(time.perf_counter() - t, 1)}
    if dataset == "imdb":
        from senti.evaluation.behaviour import run_suite

        suite = run_suite(senti.load(out / dataset / f"scope{scope}"), split="all")
        row |= {f"behaviour_{half}": suite.rate(None, half) for half in ("dev", "heldout")}
    return row


def five_folds(scope: int, out: Path) -> dict:
    """UCI sentences: the folds of bench/default_model.py; each fold's own validation split."""
    import numpy as np

    import senti

    folds, options = uci_folds()
    rows, t = [], time.perf_counter()
    for k, (train, test) in enumerate(folds):
        run = senti.train(out / "uci_sentences" / f"scope{scope}-fold{k}", overwrite=True, progress=False,
                          report=False, train=train, test=test, preset="nbsvm3", clean={"negation_scope": scope},
                          **options)
        rows.append((run.history[-1]["val_accuracy"], run.metrics["accuracy"]))
    v, s = (float(np.mean(c)) for c in zip(*rows, strict=True))
    return {"validation": v, "test": s, "seconds": round(time.perf_counter() - t, 1)}


def markdown(result: dict) -> str:
    m = result["machine"]
    scopes = sorted({int(k) for rows in result["table"].values() for k in rows})
    lines = ["# Negation marking in NB-SVM (bench/negation.py)", "",
             f"{m['cpu']}, {m['cores']} cores, {m['date']}, commit {m['git_commit']}; {result['other_load']}.", "",
             "`nbsvm3` with `clean.negation_scope` K (0: none). Validation (chooses) / test (shown, not used to "
             "choose); macro-F1 on the tweet datasets, accuracy otherwise; UCI: the mean of 5 folds.", "",
             "| dataset | " + " | ".join(f"K = {k}: validation / test" for k in scopes) + " |",
             "|---|" + "---|" * len(scopes)]
    for dataset, rows in result["table"].items():
        cells = [f"{rows[str(k)]['validation']:.4f} / {rows[str(k)]['test']:.4f}" if str(k) in rows else "–"
                 for k in scopes]
        lines.append(f"| {dataset} | " + " | ".join(cells) + " |")
    means = []
    for k in scopes:
        gains = [rows[str(k)]["validation"] - rows["0"]["validation"] for rows in result["table"].values()
                 if str(k) in rows and "0" in rows]
        means.append(f"{100 * sum(gains) / len(gains):+.2f}" if gains else "–")
    lines.append("| mean validation gain over K = 0 (points) | " + " | ".join(means) + " |")
    imdb = result["table"].get("imdb", {})
    if imdb:
        lines += ["", "Behaviour suite (`senti check`) on the IMDB model, overall pass rate, dev (chooses) / "
                      "held-out (reported only):", "",
                  "| K | dev | held-out |", "|---|---|---|"]
        lines += [f"| {k} | {100 * r['behaviour_dev']:.1f} % | {100 * r['behaviour_heldout']:.1f} % |"
                  for k, r in sorted(imdb.items(), key=lambda kv: int(kv[0]))]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scopes", default="0,2,3,4,6")
    ap.add_argument("--datasets", default=",".join(METRIC))
    ap.add_argument("--output", default=str(ROOT / "runs" / "negation"))
    ap.add_argument("--other-load", default="nothing else CPU-heavy was running (run alone)")
    args = ap.parse_args()
    out = Path(args.output)
    result = {"benchmark": "negation", "machine": machine_info(), "other_load": args.other_load, "table": {}}
    for dataset in args.datasets.split(","):
        result["table"][dataset] = {}
        for k in map(int, args.scopes.split(",")):
            r = five_folds(k, out) if dataset == "uci_sentences" else one_split(dataset, k, out)
            result["table"][dataset][str(k)] = r
            print(dataset, k, r, flush=True)
    write_json(RESULTS / "negation.json", result)
    atomic_write_text(RESULTS / "negation.md", markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()

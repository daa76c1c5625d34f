"""Does unlabelled text help? IMDB (train 25k, 10 % of it held out for validation by movie; test 25k), in one run:
TF-IDF + LR, NB-SVM, the default RNN, the RNN started from word2vec vectors trained on IMDB's unlabelled
reviews, the RNN started from an encoder pretrained as a language model on them, and stacks of them with NB-SVM.
Then the small sets: UCI sentences (5-fold CV) and SST-2 (train → dev), with and without the encoder.

    SENTI_DATA_DIR=../shared/data .venv/bin/python bench/pretrain_imdb.py [--only imdb|small] [--lm-epochs 2]

Pretraining reads imdb_unsup (50k) and the IMDB *train* texts (labels unused); never the test texts. Nothing is
tuned on the test set: every choice is made on the validation split. Each model's training time includes its
pretraining; an ensemble's includes its members'. Writes bench/results/pretrain_imdb.{json,md}; runs go to
runs/pretrain-imdb/. Run it alone: timings assume nothing else uses the CPU.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine_info

from senti.io import atomic_write_text, read_json, write_json

ROOT = Path(__file__).resolve().parents[1]
SENTI = str(Path(sys.executable).parent / "senti")
CORPUS = ["--dataset", "imdb_unsup", "--dataset", "imdb"]
# Validation keeps each movie's reviews together, as IMDB's test split does (train and test movies are disjoint).
# A random split shares movies with training, so it rewards memorising them: a minGRU on word2vec peaked at
# validation 0.910 there and scored 87.9 % on test. The stacker is fitted on this split, so it matters most there.
GROUPED = ["--group-column", "group"]


def sh(*args: str) -> float:
    """Run a senti command; its wall time in seconds."""
    t = time.perf_counter()
    print("$ senti", " ".join(args), flush=True)
    subprocess.run([SENTI, *args], check=True)
    return time.perf_counter() - t


def train(out: Path, *args: str) -> dict:
    secs = sh("train", "--dataset", "imdb", *GROUPED, "--output", str(out), "--overwrite", "-q", "--no-report", *args)
    m = read_json(out / "metrics.json")
    return {"accuracy": m["accuracy"], "macro_f1": m["macro_f1"], "train_s": round(m["train_seconds"], 1),
            "wall_s": round(secs, 1)}


def imdb(out: Path, lm_epochs: int) -> list[dict]:
    rows = []

    def add(name: str, result: dict, minutes: float, note: str = "", pretrained: str | None = None) -> None:
        rows.append({"model": name, **result, "training_minutes": round(minutes, 2), "note": note,
                     "pretrained": pretrained})
        print(rows[-1], flush=True)

    for preset, note in (("tfidf-logreg", "uni+bigrams"), ("nbsvm", "uni+bigrams"), ("nbsvm3", "uni+bi+trigrams"),
                         ("default", "BiGRU 128, 3 epochs, embeddings learned from scratch")):
        r = train(out / preset, "--model", preset)
        add(preset, r, r["wall_s"] / 60, note)
    # The quick model, trained end to end as a user would: `senti train --model mingru+nbsvm`.
    r = train(out / "mingru+nbsvm", "--model", "mingru+nbsvm")
    alone = read_json(out / "mingru+nbsvm" / "members" / "mingru" / "metrics.json")["accuracy"]
    add("mingru+nbsvm", r, r["wall_s"] / 60, f"stack of BiminGRU 64 (from scratch; alone {alone:.2%}) and nbsvm3; "
        "the whole `senti train` wall time")

    w2v_s = sh("pretrain-embeddings", *CORPUS, "--output", str(out / "word2vec"), "--overwrite", "--dim", "128",
               "--epochs", "5", "-q")
    r = train(out / "default+word2vec", "--model", "default", "--embeddings", str(out / "word2vec" / "vectors.txt"))
    add("default + word2vec", r, (w2v_s + r["wall_s"]) / 60, f"word2vec {w2v_s / 60:.1f} min, fine-tuned",
        "word2vec")

    lm_s = sh("pretrain", *CORPUS, "--output", str(out / "encoder"), "--overwrite", "--epochs", str(lm_epochs), "-q")
    r = train(out / "default+lm", "--model", "default", "--encoder", str(out / "encoder"))
    add("default + LM encoder", r, (lm_s + r["wall_s"]) / 60, f"LM pretraining {lm_s / 60:.1f} min", "lm")
    rows += word2vec_variants(out, rows)
    rows += stacks(out, rows)
    return rows


# The first three stacks are the presets rnn+nbsvm, rnn+nbsvm --embeddings and rnn+cnn+nbsvm --embeddings.
STACKS = (["default", "nbsvm3"], ["default+word2vec", "nbsvm3"], ["default+word2vec", "conv1d+word2vec", "nbsvm3"],
          ["default+word2vec", "default+lm", "nbsvm3"], ["default+word2vec", "conv1d+word2vec", "default+lm", "nbsvm3"])
# Stacked once more with --refit none: what training the n-gram member again on train + validation adds.
NO_REFIT = (["default+word2vec", "nbsvm3"], ["default+word2vec", "conv1d+word2vec", "nbsvm3"])
LABELS = {"default": "default", "nbsvm3": "nbsvm3", "default+word2vec": "default + word2vec",
          "default+lm": "default + LM encoder", "mingru+word2vec": "minGRU + word2vec",
          "conv1d+word2vec": "Conv1D + word2vec", "default+word2vec-seed1": "default + word2vec (seed 1)"}
# Other networks on the same vectors: a stack gains more from members that differ than from members that are
# merely good. (folder, label, preset and flags, note). Earlier runs also trained a minGRU on them (89.4 %, +0.01
# in a stack) and the BiGRU with a second seed (a point apart from the first, bench/results history).
WORD2VEC_VARIANTS = (
    ("conv1d+word2vec", ["--model", "conv1d"], "Kim CNN, widths 3/4/5 x 128"),
)


def word2vec_variants(out: Path, done: list[dict]) -> list[dict]:
    w2v = next(r for r in done if r["model"] == "default + word2vec")
    w2v_s = w2v["training_minutes"] * 60 - w2v["wall_s"]  # the pretraining time measured for that row
    rows = []
    for folder, flags, note in WORD2VEC_VARIANTS:
        if any(r["model"] == LABELS[folder] for r in done):
            continue
        r = train(out / folder, *flags, "--embeddings", str(out / "word2vec" / "vectors.txt"))
        rows.append({"model": LABELS[folder], **r, "training_minutes": round((w2v_s + r["wall_s"]) / 60, 2),
                     "note": f"{note}, the same word2vec vectors ({w2v_s / 60:.1f} min, counted again)",
                     "pretrained": "word2vec"})
        print(rows[-1], flush=True)
    return rows


def stacks(out: Path, rows: list[dict]) -> list[dict]:
    """`senti stack` of the runs above (same split and seed; the stacker is fitted on the validation split).
    A stack's training time is its members' training and pretraining time plus the stacker's. Which stack is
    best is decided by the stacker's cross-validated accuracy on the validation split, never by the test."""
    by_label = {r["model"]: r for r in rows}
    result = []
    for members, refit in [(m, "linear") for m in STACKS] + [(m, "none") for m in NO_REFIT]:
        target = out / ("stack-" + "-".join(members) + ("" if refit == "linear" else "-norefit"))
        secs = sh("stack", *[str(out / m) for m in members], "--output", str(target), "--overwrite", "-q",
                  "--no-report", "--refit", refit)
        m = read_json(target / "metrics.json")
        val = read_json(target / "history.json")["epochs"][0]["val_accuracy"]
        # Each pretraining is counted once, however many members use its output.
        own = [by_label[LABELS[x]] for x in members]
        pretraining = {r["pretrained"]: r["training_minutes"] - r["wall_s"] / 60 for r in own if r.get("pretrained")}
        minutes = sum(r["wall_s"] / 60 for r in own) + sum(pretraining.values()) + secs / 60
        refitted = read_json(target / "model" / "senti-model.json")["training"].get("refitted", {})
        how = (f"nbsvm3 refitted on train + validation (alone: {refitted['nbsvm3']['test_accuracy']:.2%})"
               if refitted else "nbsvm3 as trained (--refit none)")
        result.append({"model": "stack of " + ", ".join(LABELS[x] for x in members)
                       + ("" if refit == "linear" else ", --refit none"), "accuracy": m["accuracy"],
                       "macro_f1": m["macro_f1"], "val_accuracy_cv": val, "wall_s": round(secs, 1),
                       "training_minutes": round(minutes, 2), "refit": refit,
                       "note": f"validation (stacker CV) {val:.4f}; {how}; time = members' training + pretraining "
                               "+ stacker + refit"})
        print(result[-1], flush=True)
    best = max((r for r in result if r["refit"] == "linear"), key=lambda r: r["val_accuracy_cv"])
    best["note"] += "; **best stack by validation**"
    return result


def small(out: Path, encoder: Path) -> list[dict]:
    """UCI sentences (5-fold CV, stratified, seed 0) and SST-2 (train → dev): default RNN with and without the
    IMDB-pretrained encoder."""
    import numpy as np
    import pandas as pd
    from sklearn.model_selection import StratifiedKFold

    import senti
    from senti.data.datasets import load_dataset

    rows = []
    uci = load_dataset("uci_sentences", "train")
    uci = pd.concat([uci, load_dataset("uci_sentences", "test")], ignore_index=True)
    folds = list(StratifiedKFold(5, shuffle=True, random_state=0).split(uci, uci["label"]))
    for name, extra in (("default", {}), ("default + LM encoder", {"encoder": str(encoder)}),
                        ("nbsvm", None)):
        accs, t = [], time.perf_counter()
        for k, (tr, te) in enumerate(folds):
            opts = {"model": "nbsvm"} if extra is None else {"model": "default", "epochs": 5, **extra}
            run = senti.train(out / f"uci-{name.replace(' ', '')}-{k}", overwrite=True, progress=False, report=False,
                              train=uci.iloc[tr], test=uci.iloc[te], max_length=64, min_count=1, **opts)
            accs.append(run.metrics["accuracy"])
        rows.append({"dataset": "uci_sentences (5-fold CV)", "model": name, "accuracy": float(np.mean(accs)),
                     "accuracy_std": float(np.std(accs)), "seconds": round(time.perf_counter() - t, 1)})
        print(rows[-1], flush=True)
    for name, args in (("default", []), ("default + LM encoder", ["--encoder", str(encoder)]), ("nbsvm", None)):
        run_dir = out / f"sst2-{name.replace(' ', '')}"
        cmd = ["--model", "nbsvm"] if args is None else ["--model", "default", "--epochs", "3", *args]
        secs = sh("train", "--dataset", "sst2", "--output", str(run_dir), "--overwrite", "-q", "--no-report", *cmd)
        m = read_json(run_dir / "metrics.json")
        rows.append({"dataset": "sst2 (train → dev)", "model": name, "accuracy": m["accuracy"],
                     "seconds": round(secs, 1)})
        print(rows[-1], flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", choices=["imdb", "stacks", "small"],
                    help="stacks: only rebuild the stacks from the IMDB runs already in --output")
    ap.add_argument("--lm-epochs", type=int, default=2)
    ap.add_argument("--output", default=str(ROOT / "runs" / "pretrain-imdb"))
    args = ap.parse_args()
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    info = machine_info()
    results_path = ROOT / "bench" / "results" / "pretrain_imdb.json"
    previous = read_json(results_path) if results_path.is_file() else {}
    result = {"benchmark": "pretrain_imdb", "machine": info, "other_load": "nothing else CPU-heavy was running",
              "lm_epochs": args.lm_epochs, "imdb": previous.get("imdb"), "small": previous.get("small")}
    if args.only in (None, "imdb"):
        result["imdb"] = imdb(out, args.lm_epochs)
        write(result)  # kept even if the second part fails
    if args.only == "stacks":
        singles = [r for r in result["imdb"] if not r["model"].startswith("stack")]
        singles += word2vec_variants(out, singles)
        result["imdb"] = singles + stacks(out, singles)
        write(result)
    if args.only in (None, "small"):
        result["small"] = small(out, out / "encoder")
        write(result)


def write(result: dict) -> None:
    write_json(ROOT / "bench" / "results" / "pretrain_imdb.json", result)
    info = result["machine"]
    lines = [f"# Pretraining on unlabelled IMDB reviews\n\n{info['cpu']}, {info['cores']} cores, {info['date']}, "
             f"commit {info['git_commit']}; {result['other_load']}.\n",
             "Validation (10 % of train, the stacker's fitting set) keeps each movie's reviews on one side "
             "(`--group-column group`), as the test split does.\n", "## IMDB test (25k)\n",
             "| model | accuracy | macro-F1 | training min (incl. pretraining) | note |", "|---|---|---|---|---|"]
    for r in result["imdb"] or []:
        lines.append(f"| {r['model']} | {r['accuracy']:.4f} | {r['macro_f1']:.4f} | {r['training_minutes']:.1f} | "
                     f"{r['note']} |")
    lines += ["\n## Small labelled sets\n", "| dataset | model | accuracy | seconds |", "|---|---|---|---|"]
    for r in result["small"] or []:
        acc = f"{r['accuracy']:.4f}" + (f" ± {r['accuracy_std']:.4f}" if "accuracy_std" in r else "")
        lines.append(f"| {r['dataset']} | {r['model']} | {acc} | {r['seconds']:.0f} |")
    atomic_write_text(ROOT / "bench" / "results" / "pretrain_imdb.md", "\n".join(lines) + "\n")
    print("\n".join(lines), flush=True)

if __name__ == "__main__":
    main()

"""`senti compare` on IMDB (train 25k with a 10 % validation split carved out of it, test 25k): the default RNN,
a Conv1D model and the classical baselines, trained on the same split with the same seed, in one run.

    SENTI_DATA_DIR=../shared/data .venv/bin/python bench/compare_imdb.py [--models default,conv1d,...]

Writes bench/results/compare_imdb.{json,md} (with the machine) and leaves the runs, reports and the comparison
page in runs/compare-imdb/. Run it alone.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine_info

from senti.io import atomic_write_text, read_json, write_json

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="default,conv1d,tfidf-logreg,nbsvm")
    ap.add_argument("--output", default=str(ROOT / "runs" / "compare-imdb"))
    ap.add_argument("--reuse", action="store_true", help="Keep finished runs; only rebuild the table.")
    args = ap.parse_args()
    info = machine_info()
    cmd = [str(Path(sys.executable).parent / "senti"), "compare", "--dataset", "imdb", "--models", args.models,
           "--output", args.output, "-q", *([] if args.reuse else ["--overwrite"])]
    subprocess.run(cmd, check=True)
    table = read_json(Path(args.output) / "comparison.json")
    write_json(ROOT / "bench" / "results" / "compare_imdb.json",
               {"benchmark": "compare_imdb", "command": " ".join(cmd[1:]), "machine": info,
                "other_load": "nothing else CPU-heavy was running (run alone)", **table})
    md = (Path(args.output) / "comparison.md").read_text()
    atomic_write_text(ROOT / "bench" / "results" / "compare_imdb.md",
                      f"# senti compare on IMDB (test 25k)\n\n{info['cpu']}, {info['cores']} cores, {info['date']}\n\n"
                      f"{md}\npredict texts/s: the whole 25k test set, one process, batch 256.\n")
    print(md)


if __name__ == "__main__":
    main()

"""Start-up time of the ``senti`` command: ``senti --help``, ``senti --version`` and ``senti predict RUN "great
film"`` with an nbsvm model, each run REPEATS times in a fresh process (median and every value, seconds, wall
clock from spawn to exit) with each run's peak RSS, after one untimed warm-up run (file cache).

The nbsvm run is trained by this script, with the code under test, on a small slice of IMDB's training file
from $SENTI_DATA_DIR (--rows reviews, half from each end: the file lists the negative reviews first), or on
synthetic reviews when the data is absent.

The code under test is --src (a ``src`` folder; default: this checkout's) or, without --src, whatever
$PYTHONPATH / the virtual environment imports. The figures go under --label in the results, so one file holds
both sides of a change:

    .venv/bin/python bench/startup.py --src /tmp/senti-old/src --label before
    .venv/bin/python bench/startup.py --label after

writes bench/results/startup.json and .md. Run it alone: on two cores any other job skews every figure.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine_info

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
HEAVY = ("torch", "sklearn", "pandas")
# The console script's own code (what `pip install` writes to bin/senti), run by this Python so that --src
# and PYTHONPATH decide which senti it imports.
ENTRY = "import sys; from senti.cli import main; sys.argv[0] = 'senti'; sys.exit(main())"


def environment(src: str | None) -> dict[str, str]:
    env = dict(os.environ)
    if src:
        env["PYTHONPATH"] = os.pathsep.join([str(Path(src).resolve()), *filter(None, [env.get("PYTHONPATH")])])
    return env


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one child process; fails loudly if it fails. Linux counts a child's
    peak from the fork, so the floor is this (small) process's RSS."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {proc.returncode}:\n{err}")
    return seconds, usage.ru_maxrss / 1024  # Linux reports KiB


def training_csv(folder: Path, rows: int) -> tuple[Path, str]:
    """A CSV of ``rows`` labelled reviews (text, label) and where they came from."""
    out = folder / "train.csv"
    data = Path(os.environ.get("SENTI_DATA_DIR", ROOT.parent / "shared" / "data")) / "imdb" / "train.csv.gz"
    if data.is_file():
        # csv, not pandas: a child's peak RSS starts from this process's (fork), so this one stays small.
        with gzip.open(data, "rt", encoding="utf-8", newline="") as f:
            reviews = [(r["text"], r["label"]) for r in csv.DictReader(f)]
        with out.open("w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["text", "label"])
            writer.writerows(reviews[:rows // 2] + reviews[len(reviews) - (rows - rows // 2):])  # both labels
        return out, f"IMDB train, {rows:,} reviews ({data})"
    import random

    rng = random.Random(0)
    pos, neg = ["great", "wonderful", "loved", "superb"], ["awful", "boring", "hated", "dull"]
    filler = ["the", "film", "plot", "was", "really", "and", "story", "a"]
    with out.open("w") as f:
        f.write("text,label\n")
        for i in range(rows):
            words = [rng.choice(filler) for _ in range(20)] + [rng.choice(pos if i % 2 else neg)]
            rng.shuffle(words)
            f.write(f"{' '.join(words)},{'positive' if i % 2 else 'negative'}\n")
    return out, f"synthetic, {rows:,} reviews (no IMDB in $SENTI_DATA_DIR)"


def train_nbsvm(folder: Path, rows: int, env: dict[str, str]) -> tuple[Path, str]:
    csv, source = training_csv(folder, rows)
    run = folder / "nbsvm"
    code = (f"import senti; senti.train({str(run)!r}, train={str(csv)!r}, model='nbsvm', progress=False, "
            "report=False)")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        raise SystemExit(f"training the nbsvm run failed:\n{done.stderr}")
    return run, source


def heavy_modules(argv_code: str, args: list[str], env: dict[str, str]) -> dict[str, bool]:
    """Which heavy libraries the command imports (run once more, in-process, reading sys.modules at exit)."""
    probe = (f"import atexit, json, sys\n"
             f"atexit.register(lambda: sys.__stderr__.write('HEAVY ' + json.dumps({{m: m in sys.modules "
             f"for m in {list(HEAVY)!r}}}) + '\\n'))\n"
             f"sys.argv = ['senti', *{args!r}]\n{argv_code}")
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=600)
    line = next((ln for ln in done.stderr.splitlines() if ln.startswith("HEAVY ")), None)
    return json.loads(line[len("HEAVY "):]) if line else {}


def measure(repeats: int, rows: int, src: str | None) -> dict:
    env = environment(src)
    where = subprocess.run([sys.executable, "-c", "import senti; print(senti.__file__)"], env=env,
                           capture_output=True, text=True, check=True).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="senti-startup-") as tmp:
        run, source = train_nbsvm(Path(tmp), rows, env)
        commands = {"senti --help": ["--help"], "senti --version": ["--version"],
                    'senti predict RUN "great film" (nbsvm)': ["predict", str(run), "great film"]}
        out = {"senti_imported_from": where, "nbsvm_trained_on": source, "repeats": repeats, "commands": {}}
        for name, args in commands.items():
            argv = [sys.executable, "-c", ENTRY, *args]
            timed(argv, env)  # warm-up: file cache, .pyc files
            runs = [timed(argv, env) for _ in range(repeats)]
            seconds = [round(s, 4) for s, _ in runs]
            out["commands"][name] = {
                "median_s": round(statistics.median(seconds), 4), "seconds": seconds,
                "peak_rss_mib": round(max(r for _, r in runs), 1),
                "imports": heavy_modules(ENTRY, args, env)}
            print(f"{name:<42} median {statistics.median(seconds):.3f} s  {seconds}", file=sys.stderr)
    return out


def markdown(results: dict) -> str:
    labels = [k for k in ("before", "after") if k in results] + sorted(
        k for k in results if k not in ("before", "after", "machine"))
    names = list(dict.fromkeys(n for lab in labels for n in results[lab]["commands"]))
    head = "| command | " + " | ".join(f"{lab}: median s ({results[lab]['repeats']} runs) | {lab}: peak RSS MiB"
                                       for lab in labels) + " |"
    lines = ["# senti start-up", "", "Written by `bench/startup.py`: each command in a fresh process, wall clock "
             "from spawn to exit, after one untimed warm-up run.", "", head,
             "|" + "---|" * (1 + 2 * len(labels))]
    for n in names:
        cells = []
        for lab in labels:
            c = results[lab]["commands"].get(n)
            cells += [f"{c['median_s']:.3f}", f"{c['peak_rss_mib']:.0f}"] if c else ["", ""]
        lines.append(f"| {n} | " + " | ".join(cells) + " |")
    lines.append("")
    for lab in labels:
        r = results[lab]
        loads = {n: [m for m, yes in c["imports"].items() if yes] for n, c in r["commands"].items()}
        lines += [f"**{lab}**: senti from `{r['senti_imported_from']}`, git {r['machine'].get('git_commit')}, "
                  f"{r['machine']['date']}, load {r['machine']['load_average_1m_at_start']}; nbsvm trained on "
                  f"{r['nbsvm_trained_on']}. Heavy imports per command: "
                  + "; ".join(f"{n}: {', '.join(m) or 'none'}" for n, m in loads.items()), ""]
    m = next(iter(results[lab]["machine"] for lab in labels))
    lines.append(f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, Python {m['python']}.")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--src", help="the src folder of the senti to measure [what PYTHONPATH / the venv imports]")
    ap.add_argument("--label", default="after", help="key of these figures in the results [after]")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--rows", type=int, default=2000, help="reviews the nbsvm run trains on")
    ap.add_argument("--output", default=str(RESULTS / "startup"), help="path without suffix [bench/results/startup]")
    args = ap.parse_args()
    results_path = Path(args.output).with_suffix(".json")
    results = json.loads(results_path.read_text()) if results_path.is_file() else {}
    machine = machine_info()
    if args.src:  # the commit of the code measured, not of this checkout
        done = subprocess.run(["git", "-C", args.src, "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True)
        machine["git_commit"] = done.stdout.strip() or None
    results[args.label] = {**measure(args.repeats, args.rows, args.src), "machine": machine}
    results_path.parent.mkdir(parents=True, exist_ok=True)
    results_path.write_text(json.dumps(results, indent=2) + "\n")
    results_path.with_suffix(".md").write_text(markdown(results))
    print(f"{results_path} and .md", file=sys.stderr)


if __name__ == "__main__":
    main()

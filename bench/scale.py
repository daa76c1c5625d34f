"""Scoring at scale: Spark (`senti predict --engine spark`, local[1] and local[2]) against the local engine
(`senti predict --n-process 1 / 2`) on N reviews (IMDB test texts repeated; default 1,000,000).

    SENTI_DATA_DIR=../shared/data .venv/bin/python bench/scale.py --run runs/imdb-default [--n 1000000]

Each engine runs as the CLI a user runs, in its own process, on the same Parquet input (one file, row groups of
50,000) into a CSV output, twice: on N rows, and on a small input (``--small``, 2,000 rows) that costs about
the fixed part alone (interpreter and JVM start, model load and shipping, Python workers). From the two:

- reviews/s end to end (N / wall time) and steady (the rows between the two inputs / the time between them);
- Spark's overhead per job (its small-input time minus the local engine's at the same cores) and per row (its
  steady time per row minus the local engine's);
- peak memory: the largest resident set of any one process of the run (a Python worker, the driver, the JVM),
  sampled from /proc every 0.2 s, and of the whole process tree.

Writes bench/results/scale.json and .md (``--out`` another stem) with the machine, the load average and the
busiest other processes at the start and the end. Run it alone: on two cores any other job skews every figure.
Target: Spark >= 0.8x the local rate at the same core count.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine_info

RESULTS = Path(__file__).parent / "results"
SENTI = str(Path(sys.executable).with_name("senti"))


def build_input(n: int, path: Path, data_dir: Path) -> int:
    """N reviews (the IMDB test texts, repeated) with an id column, as one Parquet file."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    texts = pd.read_csv(data_dir / "imdb" / "test.csv.gz", usecols=["text"], keep_default_na=False)["text"]
    reps = -(-n // len(texts))
    col = pd.concat([texts] * reps, ignore_index=True).iloc[:n]
    table = pa.table({"id": pa.array(range(n), pa.int64()), "text": pa.array(col.tolist(), pa.string())})
    pq.write_table(table, path, row_group_size=50_000)
    return int(sum(len(t) for t in col))


class TreeMemory:
    """Peak RSS of each process under ``pid`` (and of the tree) while it runs, read from /proc."""

    def __init__(self, pid: int):
        self.pid, self.peak_process, self.peak_tree, self.peak_by_kind = pid, 0.0, 0.0, {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _tree(self) -> list[int]:
        out, todo = [], [self.pid]
        while todo:
            p = todo.pop()
            out.append(p)
            try:
                for task in os.listdir(f"/proc/{p}/task"):
                    with open(f"/proc/{p}/task/{task}/children") as f:
                        todo.extend(int(c) for c in f.read().split())
            except OSError:
                pass
        return out

    @staticmethod
    def _rss_and_kind(pid: int) -> tuple[float, str]:
        try:
            with open(f"/proc/{pid}/status") as f:
                fields = dict(line.split(":", 1) for line in f if ":" in line)
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            return 0.0, ""
        kind = ("jvm" if "java" in fields.get("Name", "") else "spark python worker" if "pyspark" in cmd
                else "senti worker" if "multiprocessing" in cmd else "driver / senti")
        return int(fields.get("VmRSS", "0 kB").split()[0]) / 1024, kind

    def _poll(self) -> None:
        while not self._stop.is_set():
            total = 0.0
            for p in self._tree():
                rss, kind = self._rss_and_kind(p)
                total += rss
                self.peak_process = max(self.peak_process, rss)
                if kind:
                    self.peak_by_kind[kind] = max(self.peak_by_kind.get(kind, 0.0), rss)
            self.peak_tree = max(self.peak_tree, total)
            self._stop.wait(0.2)

    def stop(self) -> dict:
        self._stop.set()
        self._thread.join()
        return {"peak_process_mib": round(self.peak_process), "peak_tree_mib": round(self.peak_tree),
                "peak_by_process_kind_mib": {k: round(v) for k, v in sorted(self.peak_by_kind.items())}}


def score(run: str, src: Path, dst: Path, engine: str, cores: int) -> dict:
    """One `senti predict` of ``src`` into ``dst``: wall seconds and memory."""
    cmd = [SENTI, "predict", run, "--input", str(src), "--output", str(dst)]
    cmd += ["--engine", "spark", "--master", f"local[{cores}]"] if engine == "spark" else ["--n-process", str(cores)]
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable}
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    memory = TreeMemory(proc.pid)
    _, err = proc.communicate()
    wall = time.perf_counter() - t0
    mem = memory.stop()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{err[-3000:]}")
    shutil.rmtree(dst, ignore_errors=True) if dst.is_dir() else dst.unlink(missing_ok=True)
    return {"seconds": round(wall, 2), **mem}


def busiest_processes(n: int = 6) -> list[str]:
    out = subprocess.run(["ps", "-eo", "pcpu,rss,comm", "--sort=-pcpu"], capture_output=True, text=True).stdout
    return [" ".join(line.split()) for line in out.splitlines()[1:n + 1]]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--run", required=True, help="run directory or bundle to score with")
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--small", type=int, default=2_000, help="rows of the fixed-cost input")
    ap.add_argument("--cores", default="1,2")
    ap.add_argument("--data-dir", default=os.environ.get("SENTI_DATA_DIR", "../shared/data"))
    ap.add_argument("--out", default=str(RESULTS / "scale"), help="stem of the .json and .md written")
    args = ap.parse_args()
    cores = [int(c) for c in args.cores.split(",")]
    info = {**machine_info(), "busiest_processes_at_start": busiest_processes()}
    tmp = Path(tempfile.mkdtemp(prefix="senti-scale-"))
    try:
        big, small = tmp / "big.parquet", tmp / "small.parquet"
        chars = build_input(args.n, big, Path(args.data_dir))
        build_input(args.small, small, Path(args.data_dir))
        runs = []
        for c in cores:
            for engine in ("local", "spark"):
                row = {"engine": engine, "cores": c}
                for name, src in (("small", small), ("big", big)):
                    dst = tmp / f"out-{engine}-{c}-{name}.csv"
                    row[name] = score(args.run, src, dst, engine, c)
                    print(engine, c, name, row[name], flush=True)
                t_small, t_big = row["small"]["seconds"], row["big"]["seconds"]
                row["reviews_per_s"] = round(args.n / t_big)
                # None when the two inputs took about the same time: N too small (or the machine too busy) to tell
                row["steady_reviews_per_s"] = (round((args.n - args.small) / (t_big - t_small))
                                               if t_big > 1.2 * t_small else None)
                runs.append(row)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    summary = []
    for c in cores:
        local = next(r for r in runs if r["engine"] == "local" and r["cores"] == c)
        spark = next(r for r in runs if r["engine"] == "spark" and r["cores"] == c)
        steady = spark["steady_reviews_per_s"] and local["steady_reviews_per_s"]
        summary.append({
            "cores": c,
            "spark_over_local_rate": round(spark["reviews_per_s"] / local["reviews_per_s"], 3),
            "spark_over_local_steady_rate": round(spark["steady_reviews_per_s"] / local["steady_reviews_per_s"], 3)
            if steady else None,
            "spark_overhead_per_job_s": round(spark["small"]["seconds"] - local["small"]["seconds"], 2),
            "spark_overhead_per_row_us": round(1e6 / spark["steady_reviews_per_s"]
                                               - 1e6 / local["steady_reviews_per_s"], 1) if steady else None,
            "target_met": spark["reviews_per_s"] >= 0.8 * local["reviews_per_s"]})
    result = {"machine": {**info, "load_average_1m_at_end": os.getloadavg()[0],
                          "busiest_processes_at_end": busiest_processes()},
              "run": args.run, "reviews": args.n, "characters": chars, "small_input_reviews": args.small,
              "input": "one Parquet file (row groups of 50,000); output CSV", "runs": runs, "summary": summary}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    out.with_suffix(".md").write_text(markdown(result))
    print(markdown(result))


def markdown(r: dict) -> str:
    m = r["machine"]
    lines = [f"# Scoring {r['reviews']:,} reviews: Spark against the local engine", "",
             f"{m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB; model `{r['run']}`; {r['input']}; "
             f"load average {m['load_average_1m_at_start']} at the start, {m['load_average_1m_at_end']:.2f} at "
             f"the end; busiest processes at the start: {'; '.join(m['busiest_processes_at_start'][:4])}.", "",
             "| engine | cores | reviews/s | steady reviews/s | wall s | fixed-cost run s | peak MiB per process "
             "| peak MiB tree |", "|---|---|---|---|---|---|---|---|"]
    for x in r["runs"]:
        steady = f"{x['steady_reviews_per_s']:,}" if x["steady_reviews_per_s"] else "n/a"
        lines.append(f"| {x['engine']} | {x['cores']} | {x['reviews_per_s']:,} | {steady} | "
                     f"{x['big']['seconds']} | {x['small']['seconds']} | "
                     + ", ".join(f"{k} {v}" for k, v in x["big"]["peak_by_process_kind_mib"].items())
                     + f" | {x['big']['peak_tree_mib']} |")
    lines += ["", "| cores | Spark / local rate | steady | overhead per job s | overhead per row µs | "
              "target (≥ 0.8×) |", "|---|---|---|---|---|---|"]
    for s in r["summary"]:
        lines.append(f"| {s['cores']} | {s['spark_over_local_rate']} | {s['spark_over_local_steady_rate']} | "
                     f"{s['spark_overhead_per_job_s']} | {s['spark_overhead_per_row_us']} | "
                     f"{'met' if s['target_met'] else 'missed'} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()

"""HTTP load on ``senti serve``: single-review POST /v1/predict requests from a bounded C client (wrk) on
127.0.0.1, a fixed number of concurrent connections for a fixed duration.

    SENTI_DATA_DIR=../shared/data .venv/bin/python bench/serve_load.py --run runs/imdb-default \\
        [--connections 64] [--duration 30] [--repeat 1] [--workers 1] [--runtime auto] [--export int8] \\
        [--name serve_load]

The request bodies rotate over 1,000 real IMDB test reviews. Writes requests/s, latency p50/p90/p95/p99,
error counts (socket errors and non-2xx), and the server's resident memory sampled every few seconds to
bench/results/NAME.json. With ``--duration 600`` this is the 10-minute soak: memory must stay flat.
Needs Debian's ``wrk`` (apt-get install wrk). The server and wrk share the machine's cores; nothing else may run.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1]))
from _common import machine_info

import senti
from senti.io import write_json
from tests._server import running_server

RESULTS = Path(__file__).parent / "results"

LUA = r"""
local bodies = {}
for line in io.lines("%(bodies)s") do bodies[#bodies + 1] = line end
local i = 0
request = function()
  i = i %% #bodies + 1
  return wrk.format("POST", "/v1/predict", {["Content-Type"] = "application/json"}, bodies[i])
end
local non2xx = 0
response = function(status, headers, body)
  if status < 200 or status > 299 then non2xx = non2xx + 1 end
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %%d, "duration_s": %%.3f, "bytes": %%d, "p50_ms": %%.3f, "p90_ms": %%.3f, ' ..
    '"p95_ms": %%.3f, "p99_ms": %%.3f, "p999_ms": %%.3f, "max_ms": %%.3f, "mean_ms": %%.3f, ' ..
    '"errors": {"connect": %%d, "read": %%d, "write": %%d, "timeout": %%d, "status": %%d}}\n',
    summary.requests, summary.duration / 1e6, summary.bytes,
    latency:percentile(50) / 1e3, latency:percentile(90) / 1e3, latency:percentile(95) / 1e3,
    latency:percentile(99) / 1e3, latency:percentile(99.9) / 1e3, latency.max / 1e3, latency.mean / 1e3,
    e.connect, e.read, e.write, e.timeout, e.status))
end
"""


def rss_mib(pid: int) -> float:
    """Resident memory of the process and its children (uvicorn's worker processes with --workers > 1)."""
    total = float("nan")
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            total = int(line.split()[1]) / 1024
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        total += rss_mib(int(child))
    return total


def sample_memory(pid: int, every: float, stop: threading.Event, out: list[tuple[float, float]]) -> None:
    t0 = time.monotonic()
    while not stop.wait(every):
        out.append((round(time.monotonic() - t0, 1), round(rss_mib(pid), 1)))


def _wrk(args: argparse.Namespace, script: Path, base: str) -> dict:
    done = subprocess.run(["wrk", "-t1", f"-c{args.connections}", f"-d{args.duration}s", "--timeout", "10s",
                           "-s", str(script), f"{base}/v1/predict"], capture_output=True, text=True)
    line = next((x for x in done.stdout.splitlines() if x.startswith("WRK_JSON ")), None)
    if line is None:
        sys.exit(f"wrk failed:\n{done.stdout}\n{done.stderr}")
    return json.loads(line[len("WRK_JSON "):])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", required=True)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--duration", type=int, default=30, help="Seconds of load.")
    ap.add_argument("--runtime", default="auto")
    ap.add_argument("--export", choices=["none", "fp32", "int8"], default="int8",
                    help="Export the (copied) model to ONNX first, so runtime auto picks it.")
    ap.add_argument("--threads", type=int, default=1, help="Server's network threads (senti serve --threads).")
    ap.add_argument("--workers", type=int, default=1, help="Server processes (senti serve --workers).")
    ap.add_argument("--batch-workers", type=int, default=2, help="senti serve --batch-workers.")
    ap.add_argument("--repeat", type=int, default=1, help="wrk passes against the same server; the median "
                                                          "pass (by requests/s) is reported, all are kept.")
    ap.add_argument("--sample-every", type=float, default=5.0)
    ap.add_argument("--name", default="serve_load")
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("bench/serve_load.py needs wrk: apt-get install wrk")
    info = machine_info()
    reviews = senti.load_dataset("imdb", "test").sample(1000, random_state=0)["text"].tolist()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        run = Path(shutil.copytree(args.run, tmp / "run", ignore=shutil.ignore_patterns("checkpoints")))
        if args.export != "none":
            from senti.runtime.onnx import export_onnx

            export_onnx(run, quantize="int8" if args.export == "int8" else None)
        bodies = tmp / "bodies.jsonl"
        bodies.write_text("".join(json.dumps({"texts": [r]}) + "\n" for r in reviews))
        script = tmp / "post.lua"
        script.write_text(LUA % {"bodies": bodies})
        with running_server(run, tmp / "serve.log", "--threads", str(args.threads), "--runtime", args.runtime,
                            "--batch-workers", str(args.batch_workers), "--workers", str(args.workers),
                            timeout=120) as (base, proc):
            model_info = json.loads(subprocess.run(["curl", "-s", f"{base}/v1/model"], capture_output=True,
                                                   text=True).stdout)
            if args.workers > 1:  # /readyz answered from one worker; give the others time to load the model
                time.sleep(10)
            rss_before = rss_mib(proc.pid)
            memory: list[tuple[float, float]] = []
            stop = threading.Event()
            sampler = threading.Thread(target=sample_memory, args=(proc.pid, args.sample_every, stop, memory))
            sampler.start()
            passes = [_wrk(args, script, base) for _ in range(args.repeat)]
            stop.set()
            sampler.join()
            ready = json.loads(subprocess.run(["curl", "-s", f"{base}/readyz"], capture_output=True,
                                              text=True).stdout)
            rss_after = rss_mib(proc.pid)
    # The pass with the median requests/s stands for the run; every pass is kept.
    w = sorted(passes, key=lambda p: p["requests"] / p["duration_s"])[len(passes) // 2]
    errors = sum(sum(p["errors"].values()) for p in passes)
    result = {
        "benchmark": args.name, "machine": info,
        "setup": {"connections": args.connections, "duration_s": args.duration, "passes": args.repeat,
                  "client": "wrk -t1 (C), 127.0.0.1",
                  "request": "POST /v1/predict with one IMDB test review (1,000 rotating)",
                  "server": f"senti serve --threads {args.threads} --batch-workers {args.batch_workers} "
                            f"--runtime {args.runtime} --workers {args.workers}",
                  "model": {k: model_info.get(k) for k in ("architecture", "runtime", "config")}},
        "requests_per_s": round(w["requests"] / w["duration_s"], 1),
        "latency_ms": {k[:-3]: round(w[k], 2) for k in ("p50_ms", "p90_ms", "p95_ms", "p99_ms", "p999_ms", "max_ms",
                                                         "mean_ms")},
        "requests": w["requests"], "errors": w["errors"], "error_count": errors,
        "passes": [{"requests_per_s": round(p["requests"] / p["duration_s"], 1), "p50_ms": round(p["p50_ms"], 2),
                    "p99_ms": round(p["p99_ms"], 2), "errors": sum(p["errors"].values())} for p in passes],
        "model_calls": ready.get("batches"), "texts_scored": ready.get("texts"),  # of one worker process
        "server_rss_mib": {"before": round(rss_before, 1), "after": round(rss_after, 1),
                           "samples": memory},
        "note": "wrk and the server share the 2 cores; nothing else ran",
    }
    RESULTS.mkdir(exist_ok=True)
    write_json(RESULTS / f"{args.name}.json", result)
    print(json.dumps({k: result[k] for k in ("requests_per_s", "latency_ms", "error_count", "passes", "model_calls",
                                              "texts_scored")}, indent=1))
    print(f"server RSS {rss_before:.0f} → {rss_after:.0f} MiB")


if __name__ == "__main__":
    main()

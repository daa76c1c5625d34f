"""Several server processes on one port, each with its own ``SO_REUSEPORT`` listening socket.

uvicorn's ``--workers`` shares one listening socket between its processes, and whichever process wakes first
accepts a burst of connections: keep-alive clients end up unevenly spread (measured here: 49 and 15 of 64 wrk
connections), and the busier process sets the latency tail. With a socket per process, the kernel spreads new
connections over them by a hash of the addresses — what gunicorn's ``--reuse-port`` does.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import signal
import socket
import sys
from typing import Any

APP = "senti.serving.app:app_from_env"


def reuse_port_supported() -> bool:
    return hasattr(socket, "SO_REUSEPORT")


def _socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def _run_worker(host: str, port: int, options: dict[str, Any]) -> None:
    import uvicorn

    sock = _socket(host, port)
    uvicorn.Server(uvicorn.Config(APP, factory=True, **options)).run(sockets=[sock])


def serve_processes(workers: int, host: str, port: int, **options: Any) -> None:
    """Run ``workers`` uvicorn processes (``options``: ``uvicorn.Config`` keywords) until SIGINT/SIGTERM or until
    one of them exits. The model comes from the SENTI_SERVE_* environment, which spawned processes inherit."""
    # Bound (not listening) for the server's lifetime: it fixes the port when 0 is asked for, and keeps it ours.
    # Only listening sockets receive connections, so this one never takes any.
    holder = _socket(host, port)
    port = holder.getsockname()[1]
    ctx = multiprocessing.get_context("spawn")  # no inherited threads or model state
    procs = [ctx.Process(target=_run_worker, args=(host, port, options), name=f"senti-serve-{i}")
             for i in range(workers)]
    stopping = False

    def stop(signum: int, frame: Any) -> None:
        nonlocal stopping
        stopping = True

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        for p in procs:
            p.start()
        while not stopping and all(p.is_alive() for p in procs):
            multiprocessing.connection.wait([p.sentinel for p in procs], timeout=0.5)
    finally:
        for p in procs:
            if p.is_alive():
                p.terminate()  # SIGTERM: uvicorn finishes the requests in flight
        for p in procs:
            p.join(15)
            if p.is_alive():
                p.kill()
                p.join()
        for s, handler in previous.items():
            signal.signal(s, handler)
        holder.close()
    failed = [p for p in procs if p.exitcode not in (0, -signal.SIGTERM)]
    if failed and not stopping:
        sys.exit(f"senti serve: worker {failed[0].name} exited with {failed[0].exitcode}")

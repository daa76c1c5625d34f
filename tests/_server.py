"""Start ``senti serve`` as a user does, on a free 127.0.0.1 port, and stop it afterwards."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

SENTI = str(Path(sys.executable).parent / "senti")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_server(run_dir: Path, log: Path, *args: str, timeout: float = 60) -> Iterator[tuple[str, subprocess.Popen]]:
    """(base URL, process) once ``/readyz`` answers 200; the server is terminated on exit."""
    port = free_port()
    with open(log, "w") as f:
        proc = subprocess.Popen([SENTI, "serve", str(run_dir), "--host", "127.0.0.1", "--port", str(port), *args],
                                stdout=f, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"senti serve exited with {proc.returncode}:\n{log.read_text()}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise AssertionError(f"senti serve was not ready within {timeout} s:\n{log.read_text()}")
            time.sleep(0.1)
        yield base, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)

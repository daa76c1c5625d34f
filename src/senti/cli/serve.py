"""`senti serve`: the HTTP API and web page."""

from __future__ import annotations

from pathlib import Path

import click

from senti.cli.app import main, setup_logging
from senti.cli.options import RUNTIME_OPTION


@main.command()
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1),
              help="Server processes. On 2 cores: 2 for a minGRU (its per-request work is Python, one core per "
                   "process), 1 for a BiGRU (its network wants both cores). Each process listens on its own "
                   "SO_REUSEPORT socket, so connections spread evenly (figures: bench/results/serve_load).")
@click.option("--threads", default=1, show_default=True, type=click.IntRange(1),
              help="Threads per process for the network; keep one core for the HTTP event loop.")
@click.option("--batch-workers", default=2, show_default=True, type=click.IntRange(1),
              help="Batches scored at the same time, each on --threads threads.")
@click.option("--max-texts", default=256, show_default=True, type=click.IntRange(1), help="Texts per request.")
@click.option("--max-chars", default=100_000, show_default=True, type=click.IntRange(1), help="Characters per text.")
@click.option("--max-body-bytes", default=2 * 1024 * 1024, show_default=True, type=click.IntRange(1))
@click.option("--max-upload-bytes", default=50 * 1024 * 1024, show_default=True, type=click.IntRange(1),
              help="Size limit of a file posted to /v1/predict/file.")
@click.option("--max-explain-texts", default=16, show_default=True, type=click.IntRange(1),
              help="Texts per request with explain (each word costs a model input).")
@click.option("--access-log", is_flag=True, help="Log every request (costs throughput).")
@RUNTIME_OPTION
def serve(run_dir: str, host: str, port: int, workers: int, threads: int, batch_workers: int, max_texts: int,
          max_chars: int, max_body_bytes: int, max_upload_bytes: int, max_explain_texts: int, access_log: bool,
          runtime: str) -> None:
    """Serve a model over HTTP: JSON API at /v1, docs at /docs, a web page at /."""
    import os

    import uvicorn

    import senti

    check_port(host, port)  # before loading the model: a busy port is one line, not a traceback after "serving"
    senti.load(run_dir, runtime)  # fail here, with one line, on a bad bundle (workers load it again)
    os.environ.update({
        "SENTI_SERVE_MODEL": str(Path(run_dir).resolve()), "SENTI_SERVE_THREADS": str(threads),
        "SENTI_SERVE_RUNTIME": runtime,
        "SENTI_SERVE_MAX_TEXTS": str(max_texts), "SENTI_SERVE_MAX_CHARS": str(max_chars),
        "SENTI_SERVE_MAX_BODY_BYTES": str(max_body_bytes), "SENTI_SERVE_MAX_UPLOAD_BYTES": str(max_upload_bytes),
        "SENTI_SERVE_MAX_EXPLAIN_TEXTS": str(max_explain_texts), "SENTI_SERVE_BATCH_WORKERS": str(batch_workers),
    })
    setup_logging(quiet=False)
    click.echo(f"senti: serving {run_dir} on http://{host}:{port}/ (API docs at /docs)", err=True)
    options = {"access_log": access_log, "log_level": "info", "timeout_graceful_shutdown": 5}
    from senti.serving.workers import APP, reuse_port_supported, serve_processes

    if workers > 1 and reuse_port_supported():
        serve_processes(workers, host, port, **options)  # a listening socket per process: connections spread evenly
    else:
        uvicorn.run(APP, factory=True, host=host, port=port, workers=workers, **options)


def check_port(host: str, port: int) -> None:
    """Fail with one line if ``host:port`` cannot be listened on (in use, not an address of this machine, a
    privileged port); binds and closes a socket the way uvicorn will."""
    import errno
    import socket

    from senti.errors import ConfigError

    if port == 0:
        return  # any free port
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as e:
        raise ConfigError(f"--host {host}: not an address this machine can listen on ({e.strerror})") from None
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn: a port in TIME_WAIT is free
        try:
            sock.bind(address)
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                raise ConfigError(f"port {port} on {host} is already in use (another senti serve?): stop that "
                                  "server or choose another --port") from None
            raise ConfigError(f"cannot listen on {host}:{port}: {e.strerror}") from None

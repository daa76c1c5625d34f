"""The HTTP API, over real HTTP: ``senti serve`` in a subprocess on 127.0.0.1 with a real (tiny) model."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest

import senti
from senti.predict_io import score_file

from ._server import SENTI, running_server
from .conftest import synthetic_reviews

LIMITS = ["--max-texts", "8", "--max-chars", "2000", "--max-body-bytes", "20000", "--max-upload-bytes", "200000",
          "--max-explain-texts", "4"]


@pytest.fixture(scope="module")
def api(tiny_run, tmp_path_factory):
    log = tmp_path_factory.mktemp("api") / "serve.log"
    with running_server(tiny_run.run_dir, log, *LIMITS) as (base, _), httpx.Client(base_url=base, timeout=30) as c:
        yield c


@pytest.fixture(scope="module")
def model(tiny_run):
    return senti.load(tiny_run.run_dir)


def test_predict_matches_the_python_api(api, model):
    texts = synthetic_reviews(8, seed=5)["text"].tolist()
    r = api.post("/v1/predict", json={"texts": texts})
    assert r.status_code == 200, r.text
    preds = r.json()["predictions"]
    proba = model.predict_proba(texts)
    assert [p["label"] for p in preds] == list(model.predict(texts))
    for p, row in zip(preds, proba, strict=True):
        assert list(p["probabilities"]) == model.labels and "words" not in p
        np.testing.assert_allclose(list(p["probabilities"].values()), row, atol=1e-6)
        assert p["confidence"] == pytest.approx(row.max(), abs=1e-6)


def test_explain_returns_words_at_their_offsets(api, model):
    text = "The plot was dull, <b>the worst</b> waste of an evening!"
    r = api.post("/v1/predict", json={"texts": [text], "explain": True})
    assert r.status_code == 200, r.text
    pred = r.json()["predictions"][0]
    assert pred["label"] == model.predict([text])[0]
    words = pred["words"]
    assert words and all(text[w["start"]:w["end"]] == w["word"] for w in words)
    top = max(words, key=lambda w: w["score"])["word"].lower()
    assert any(w in top for w in ("dull", "worst", "waste")), words


@pytest.mark.parametrize(("body", "status", "fragment"), [
    ('{"texts": ["ok"]', 422, "JSON"),  # malformed JSON
    ('{"texts": "not a list"}', 422, "texts"),
    ('{"texts": [1, 2]}', 422, "string"),
    ('{"texts": [null]}', 422, "string"),
    ("{}", 422, "texts"),
    ('{"texts": []}', 422, "at least 1"),
    ('{"texts": ["ok"], "explain": "yes"}', 422, "explain"),
    ('{"texts": ["ok"], "colour": "red"}', 422, "colour"),
    ("[1, 2, 3]", 422, "body: Input should be a valid dictionary"),  # an array, not an object with "texts"
    (json.dumps({"texts": ["x"] * 9}), 422, "at most 8"),
    (json.dumps({"texts": ["x" * 2001]}), 422, "at most 2000 characters"),
    (json.dumps({"texts": ["good"] * 4, "explain": True}), 200, None),
    (json.dumps({"texts": ["good"] * 5, "explain": True}), 422, "at most 4 texts"),
    (json.dumps({"texts": ["x" * 1900] * 8, "pad": "y" * 6000}), 413, "limit of 20,000"),
])
def test_bad_requests_get_a_4xx_with_a_message(api, body, status, fragment):
    r = api.post("/v1/predict", content=body, headers={"content-type": "application/json"})
    assert r.status_code == status, r.text
    if fragment is None:
        return
    detail = r.json()["detail"]
    assert isinstance(detail, str) and fragment in detail


def test_oversized_chunked_body_is_refused_while_streaming(api):
    def chunks():
        yield b'{"texts": ["'
        for _ in range(40):
            yield b"y" * 1000
        yield b'"]}'

    r = api.post("/v1/predict", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413 and "limit" in r.json()["detail"]


def test_wrong_method_and_unknown_route(api):
    assert api.get("/v1/predict").status_code == 405
    assert api.get("/v1/nothing-here").status_code == 404


def _answer_concurrently(base: str, model, texts: list[str]) -> None:
    """One request per text, all at once; each answer must belong to its own request, whatever batch (or
    process) scored it."""

    async def fire() -> list[dict]:
        async with httpx.AsyncClient(base_url=base, timeout=30) as c:
            rs = await asyncio.gather(*(c.post("/v1/predict", json={"texts": [t]}) for t in texts))
        assert all(r.status_code == 200 for r in rs)
        return [r.json()["predictions"][0] for r in rs]

    preds = asyncio.run(fire())
    proba = model.predict_proba(texts)
    for p, row in zip(preds, proba, strict=True):
        np.testing.assert_allclose(list(p["probabilities"].values()), row, atol=1e-5)


def _check_concurrent_requests(client: httpx.Client, model) -> None:
    texts = synthetic_reviews(96, seed=11)["text"].tolist()
    before = client.get("/readyz").json()
    _answer_concurrently(str(client.base_url), model, texts)
    after = client.get("/readyz").json()
    assert after["texts"] - before["texts"] == len(texts)
    assert after["batches"] - before["batches"] < len(texts)  # some requests shared a model call


def test_concurrent_requests_are_batched_and_answered_correctly(api, model):
    _check_concurrent_requests(api, model)


def test_several_batch_workers_answer_correctly(tiny_run, model, tmp_path):
    with running_server(tiny_run.run_dir, tmp_path / "serve.log", "--batch-workers", "3") as (base, _), \
            httpx.Client(base_url=base, timeout=30) as client:
        _check_concurrent_requests(client, model)


def test_file_upload_returns_the_cli_output(api, model, tmp_path):
    df = synthetic_reviews(30, seed=2).rename(columns={"text": "review"})
    df.loc[3, "review"] = 'Quoted, with a comma and\na newline — "great" fun!'
    df.loc[4, "review"] = ""
    src = tmp_path / "reviews.csv"
    df.to_csv(src, index=False)
    r = api.post("/v1/predict/file", files={"file": ("reviews.csv", src.read_bytes(), "text/csv")},
                 data={"text_column": "review"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert 'filename="reviews-scored.csv"' in r.headers["content-disposition"]
    expected = tmp_path / "expected.csv"
    score_file(model, str(src), str(expected), "review")
    assert r.text == expected.read_text()
    assert len(pd.read_csv(io.StringIO(r.text), keep_default_na=False)) == len(df)


@pytest.mark.parametrize(("name", "content", "fragment"), [
    ("reviews.csv", b"title,body\na,b\n", "columns present: ['title', 'body']"),
    ("reviews.csv", b"text\n\xff\xfe bad bytes\n", "UTF-8"),
    ("reviews.exe", b"MZ...", "format"),
])
def test_bad_uploads_get_a_4xx_with_a_message(api, name, content, fragment):
    r = api.post("/v1/predict/file", files={"file": (name, content)})
    assert r.status_code == 422, r.text
    assert fragment in r.json()["detail"]


def test_oversized_upload_is_refused(api):
    r = api.post("/v1/predict/file", files={"file": ("big.csv", b"text\n" + b"x" * 250_000)})
    assert r.status_code == 413


def test_model_health_readiness_and_docs(api, model, tiny_run):
    info = api.get("/v1/model").json()
    assert info["labels"] == model.labels and info["name"] == tiny_run.run_dir.name
    assert info["architecture"] == "senti.rnn.v1" and info["runtime"] == "torch"
    assert info["limits"] == {"max_texts": 8, "max_chars": 2000, "max_body_bytes": 20000, "max_upload_bytes": 200000,
                              "max_explain_texts": 4}
    assert info["metrics"]["accuracy"] == pytest.approx(tiny_run.metrics["accuracy"])
    assert api.get("/healthz").json() == {"status": "ok"}
    assert api.get("/readyz").json()["status"] == "ready"
    docs = api.get("/docs").text
    assert "swagger" in docs.lower() and "cdn" not in docs  # served by senti, works offline
    assert api.get("/static-offline-docs/swagger-ui-bundle.js").status_code == 200
    assert api.head("/").status_code == 200
    schema = api.get("/openapi.json").json()
    assert {"/v1/predict", "/v1/predict/file", "/v1/model"} <= set(schema["paths"])


def test_serving_a_damaged_bundle_fails_with_one_line(tiny_run, tmp_path):
    import shutil

    run = shutil.copytree(tiny_run.run_dir, tmp_path / "run")
    (run / "model" / "model.safetensors").write_bytes(b"not weights")
    done = subprocess.run([SENTI, "serve", str(run), "--port", "1"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr.strip().startswith("error:") and "checksum mismatch" in done.stderr


def test_slow_clients_do_not_block_others(api):
    import socket
    import time

    host, port = api.base_url.host, api.base_url.port
    stalled = []
    for _ in range(16):  # each sends headers and half a body, then goes quiet
        s = socket.create_connection((host, port))
        s.sendall(b"POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 40\r\n\r\n{\"texts\": [\"slo")
        stalled.append(s)
    try:
        t0 = time.monotonic()
        for text in synthetic_reviews(20, seed=4)["text"]:
            assert api.post("/v1/predict", json={"texts": [text]}).status_code == 200
        assert time.monotonic() - t0 < 10
    finally:
        for s in stalled:
            s.close()
    assert api.get("/healthz").status_code == 200


def _listening_sockets(port: int) -> set[str]:
    """Inodes of the sockets listening on 127.0.0.1:``port`` (/proc/net/tcp: state 0A is LISTEN)."""
    rows = [line.split() for line in Path("/proc/net/tcp").read_text().splitlines()[1:]]
    return {r[9] for r in rows if r[3] == "0A" and int(r[1].split(":")[1], 16) == port}


def _socket_inodes(pid: int) -> set[str]:
    out = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                out.add(target[8:-1])
    return out


def test_several_processes_share_the_port_and_stop_together(tiny_run, model, tmp_path):
    texts = synthetic_reviews(48, seed=12)["text"].tolist()
    # Two processes each import torch and load the model before /readyz: slow on a busy two-core machine.
    with running_server(tiny_run.run_dir, tmp_path / "serve.log", "--workers", "2", timeout=300) as (base, proc):
        children = [int(c) for c in Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()]
        workers = [c for c in children if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]
        assert len(workers) == 2  # one listening socket each (SO_REUSEPORT); the rest: multiprocessing's tracker

        # Each worker gets its own listening socket on the one port (SO_REUSEPORT) once its model is warm; /readyz
        # answered as soon as the first one was.
        port, deadline = int(base.rsplit(":", 1)[1]), time.monotonic() + 300
        while True:
            listening = _listening_sockets(port)
            held = [_socket_inodes(w) & listening for w in workers]
            if all(held) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert all(len(h) == 1 for h in held) and len(set.union(*held)) == 2, (held, listening)

        # A process listens only once its model has answered the warm-up: no request reaches a loading one.
        _answer_concurrently(base, model, texts)
    # running_server sends SIGTERM and falls back to SIGKILL after 15 s: the parent must have stopped by itself.
    assert proc.returncode in (0, -signal.SIGTERM), proc.returncode
    for child in workers:  # SIGTERM to the parent stops (and reaps) every worker before it exits
        status = Path(f"/proc/{child}/status")
        assert not status.exists() or "zombie" in status.read_text()

"""The predict fast path answers exactly what the FastAPI route answers, and hands on everything else."""

from __future__ import annotations

import asyncio
import json

import httpx

import senti
from senti.serving.app import Limits, create_app
from senti.serving.fastpath import PredictFastPath

LIMITS = Limits(max_texts=4, max_chars=50, max_body_bytes=4000, max_explain_texts=2)

BODIES = [
    # accepted by both
    json.dumps({"texts": ["A wonderful, moving film."]}),
    json.dumps({"texts": ["great", "awful", "Das war schön 🎬", "x" * 50], "explain": False}),
    json.dumps({"explain": False, "texts": [""]}),
    '{"texts": ["first"], "texts": ["second wins"]}',  # duplicate keys: json.loads keeps the last, as FastAPI
    # handed on to FastAPI
    json.dumps({"texts": ["good film"], "explain": True}),
    json.dumps({"texts": ["x" * 51]}),
    json.dumps({"texts": ["x"] * 5}),
    json.dumps({"texts": []}),
    json.dumps({"texts": ["ok"], "explain": 0}),
    json.dumps({"texts": ["ok"], "explain": None}),
    json.dumps({"texts": ["ok"], "extra": 1}),
    json.dumps({"texts": [1]}),
    json.dumps({"texts": "ok"}),
    json.dumps(["ok"]),
    '{"texts": ["ok"]',
    '{"texts": [NaN]}',
    b'\xff\xfe{\x00}\x00',
    "",
    json.dumps({"texts": ["y" * 40] * 4, "pad": "z" * 4000}),  # over the body limit: 413 either way
]


CONTENT_TYPES = ["application/json", "application/JSON; charset=utf-8", "application/merge-patch+json", None,
                 "text/plain"]


async def _both(apps, body, headers):
    out = []
    for app in apps:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
            out.append(await c.post("/v1/predict", content=body, headers=headers))
    return out


def test_fast_path_answers_like_the_route(tiny_run):
    model = senti.load(tiny_run.run_dir)
    apps = [create_app(model, LIMITS, fast_path=True), create_app(model, LIMITS, fast_path=False)]

    async def check() -> int:
        ok = 0
        async with apps[0].router.lifespan_context(apps[0]), apps[1].router.lifespan_context(apps[1]):
            for body in BODIES:
                for content_type in CONTENT_TYPES:
                    headers = {"content-type": content_type} if content_type else {}
                    fast, slow = await _both(apps, body, headers)
                    where = f"{body!r} as {content_type}"
                    assert fast.status_code == slow.status_code, (where, fast.text, slow.text)
                    assert fast.headers["content-type"] == slow.headers["content-type"], where
                    if fast.status_code == 200 and "words" not in fast.text:
                        assert fast.content == slow.content, where  # the same bytes: one response builder
                        ok += 1
                    else:
                        assert fast.json().keys() == slow.json().keys(), where
        return ok

    # The four valid bodies under every content type: a body without a JSON content type is read as JSON too
    # (serving/json_body.py).
    assert asyncio.run(check()) == 4 * len(CONTENT_TYPES)


def test_fast_path_takes_only_requests_the_schema_accepts():
    accept = PredictFastPath(None, None, max_texts=2, max_chars=5).accepted_texts  # type: ignore[arg-type]
    assert accept(b'{"texts": ["a", "bcdef"]}') == ["a", "bcdef"]
    assert accept(b'{"texts": ["a"], "explain": false}') == ["a"]
    for body in (b'{"texts": ["abcdef"]}', b'{"texts": ["a", "b", "c"]}', b'{"texts": ["a"], "explain": true}',
                 b'{"texts": ["a"], "explain": 0}', b'{"texts": []}', b'{"texts": [1]}', b'{"text": ["a"]}',
                 b'{"texts": ["a"]', b'"a"', b"\xff"):
        assert accept(body) is None, body

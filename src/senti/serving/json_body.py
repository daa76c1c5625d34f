"""JSON bodies sent without saying so. ``curl -d '{"texts": [...]}'`` labels its body
``application/x-www-form-urlencoded``, and a bare HTTP client may send no content-type at all; FastAPI then reads
the body as bytes and answers 422 "Input should be a valid dictionary", which does not say what to change. The
JSON endpoints accept nothing but JSON, so such a body is read as JSON: valid JSON is answered, anything else
gets FastAPI's "JSON decode error"."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

_UNLABELLED = (b"", b"application/x-www-form-urlencoded", b"text/plain")


class JSONBodyByDefault:
    def __init__(self, app: ASGIApp, paths: tuple[str, ...] = ("/v1/predict",)):
        self.app = app
        self.paths = paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] in self.paths:
            headers = [(k, v) for k, v in scope["headers"] if k != b"content-type"]
            given = next((v for k, v in scope["headers"] if k == b"content-type"), b"")
            if given.split(b";", 1)[0].strip().lower() in _UNLABELLED:
                scope = {**scope, "headers": [*headers, (b"content-type", b"application/json")]}
        await self.app(scope, receive, send)

"""The HTTP API and web page: FastAPI over the same ``SentimentModel`` the CLI and Python use.

    POST /v1/predict        {"texts": [...], "explain": false} → label, confidence, probabilities (+ words)
    POST /v1/predict/file   multipart CSV/TSV/JSONL/txt → the scored file as CSV (as `senti predict --input`)
    GET  /v1/model          labels, architecture, metrics, runtime, limits
    GET  /healthz, /readyz  liveness; readiness once the model has answered a warm-up request
    GET  /, /static/*       the web page (served by senti itself, no CDN)

Predictions are micro-batched across concurrent requests (``MicroBatcher``); user input can only ever get a
4xx with a message: limits on body size (413), texts per request and characters per text (422).
"""


import asyncio
import gc
import logging
import os
import re
import tempfile
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, File, Form, HTTPException, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel, ConfigDict, Field, StrictBool, create_model

from senti import __version__
from senti.data.readers import DataError
from senti.pipeline import SentimentModel
from senti.scoring.records import prediction_records
from senti.serving.batcher import MicroBatcher
from senti.serving.fastpath import PredictFastPath, predictions_json
from senti.serving.json_body import JSONBodyByDefault
from senti.serving.limits import BodySizeLimit

log = logging.getLogger("senti.serving")
STATIC = Path(__file__).parent / "static"


@dataclass(frozen=True)
class Limits:
    max_texts: int = 256
    max_chars: int = 100_000
    max_body_bytes: int = 2 * 1024 * 1024
    max_upload_bytes: int = 50 * 1024 * 1024
    max_explain_texts: int = 16
    max_batch: int = 256
    batch_workers: int = 2  # batches scored at once (threads); not a limit, but set with the others


class WordScore(BaseModel):
    word: str
    start: int
    end: int
    score: float


class Prediction(BaseModel):
    label: str
    confidence: float
    probabilities: dict[str, float]
    empty: bool | None = Field(None, description="true for a text with no words (only white space): the label "
                                                 "is then about nothing; absent otherwise")
    words: list[WordScore] | None = None


class PredictResponse(BaseModel):
    predictions: list[Prediction]


def request_model(limits: Limits) -> type[BaseModel]:
    """The request schema with this server's limits, so they are enforced by validation and shown in /docs."""
    text = Annotated[str, Field(max_length=limits.max_chars)]
    return create_model(
        "PredictRequest",
        __config__=ConfigDict(extra="forbid", json_schema_extra={
            "examples": [{"texts": ["A wonderful, moving film.", "Two hours I will never get back."]}]}),
        texts=(list[text], Field(min_length=1, max_length=limits.max_texts,
                                 description=f"1 to {limits.max_texts} texts of at most {limits.max_chars:,} "
                                             "characters each")),
        explain=(StrictBool, Field(False, description="Add each word's contribution to the predicted label")),
    )


def model_info(model: SentimentModel, name: str, limits: Limits) -> dict[str, Any]:
    return {
        "name": name,
        "labels": model.labels,
        "architecture": model.model_config.get("architecture"),
        "config": model.model_config,
        "training": model.metadata.get("training"),
        "metrics": model.metadata.get("metrics"),
        "runtime": model.runtime,
        "senti_version": __version__,
        "limits": {k: v for k, v in asdict(limits).items() if k not in ("max_batch", "batch_workers")},
    }


def create_app(model: SentimentModel | str | Path, limits: Limits | None = None, name: str | None = None,
               runtime: str = "auto", threads: int | None = None, fast_path: bool = True) -> FastAPI:
    """The app for one model (a loaded ``SentimentModel``, or a run/bundle directory loaded with ``runtime``).
    ``fast_path``: answer valid predict requests without FastAPI's per-request machinery (same answers)."""
    limits = limits or Limits()
    if not isinstance(model, SentimentModel):
        name = name or Path(model).resolve().name
        model = SentimentModel.load(model, runtime, threads)
    name = name or "senti-model"
    batcher = MicroBatcher(model.predict_proba, max_batch=limits.max_batch, workers=limits.batch_workers)
    ready = asyncio.Event()
    info = model_info(model, name, limits)
    labels = model.labels

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # type: ignore[no-untyped-def]
        batcher.start()
        await batcher.predict_proba_async(["warm-up"])  # first call allocates; do it before traffic
        # The model, torch and the framework are long-lived: move them out of the collector's way. Without
        # this, full collections over them stalled the event loop for 100–200 ms (p95 latency 150 ms → 50 ms
        # at 64 clients, measured with wrk).
        gc.collect()
        gc.freeze()
        ready.set()
        log.info("serving %s (%s, runtime %s)", name, info["architecture"], info["runtime"])
        yield
        await batcher.stop()

    # FastAPIOffline: /docs and /redoc with Swagger UI / ReDoc served by senti itself, not from a CDN.
    app = FastAPIOffline(title="senti", version=__version__, lifespan=lifespan,
                         description="Sentiment of reviews and social posts: labels, probabilities and the words "
                                     "behind them.")

    async def predict_json(texts: list[str]) -> bytes:
        return predictions_json((await batcher.predict_proba_async(texts)).tolist(), labels, texts)

    # Added first, so it runs inside BodySizeLimit: the size limit holds on the fast path too.
    if fast_path:
        app.add_middleware(PredictFastPath, predict=predict_json, max_texts=limits.max_texts,
                           max_chars=limits.max_chars)
    app.add_middleware(BodySizeLimit, max_bytes=limits.max_body_bytes,
                       overrides={"/v1/predict/file": limits.max_upload_bytes})
    app.add_middleware(JSONBodyByDefault)  # outermost: the fast path and FastAPI both see a JSON content-type
    PredictRequest = request_model(limits)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        # One readable line first ("body.texts.3: String should have at most 100000 characters"), details after.
        errors = [{k: e[k] for k in ("loc", "msg", "type") if k in e} for e in exc.errors()]
        first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(p) for p in first["loc"])
        return JSONResponse(status_code=422, content={"detail": f"{where}: {first['msg']}" if where else first["msg"],
                                                      "errors": errors})

    @app.post("/v1/predict", response_model=PredictResponse, response_model_exclude_none=True,
              summary="Label texts, with probabilities and optionally word contributions")
    async def predict(body: PredictRequest) -> Any:  # type: ignore[valid-type]
        texts: list[str] = body.texts  # type: ignore[attr-defined]
        if body.explain:  # type: ignore[attr-defined]
            if len(texts) > limits.max_explain_texts:  # each word of each text is one more model input
                raise HTTPException(422, f"explain: at most {limits.max_explain_texts} texts per request, "
                                         f"got {len(texts)}")
            explanations = await batcher.run_exclusive(model.explain, texts)
            return {"predictions": [_explained(e, t) for e, t in zip(explanations, texts, strict=True)]}
        # Built to the response schema by construction: returning a Response skips FastAPI's re-validation of
        # it, the largest per-request cost after parsing. (Valid requests rarely get here: see fastpath.py.)
        return Response(await predict_json(texts), media_type="application/json")

    @app.post("/v1/predict/file", response_class=Response, summary="Score a CSV/TSV/JSONL/text file",
              responses={200: {"content": {"text/csv": {}}, "description": "The input with pred_label, "
                                                                           "pred_confidence and prob_<label>"}})
    async def predict_file(file: Annotated[UploadFile, File(description="CSV, TSV, JSONL or .txt")],
                           text_column: Annotated[str, Form()] = "text") -> Response:
        suffix = "".join(Path(file.filename or "upload.csv").suffixes[-2:]) or ".csv"
        with tempfile.TemporaryDirectory(prefix="senti-upload-") as tmp:
            src, dst = os.path.join(tmp, f"input{suffix}"), os.path.join(tmp, "scored.csv")
            with open(src, "wb") as f:
                while chunk := await file.read(1 << 20):
                    f.write(chunk)
            try:
                await batcher.run_exclusive(_score_file, model, src, dst, text_column)
            except DataError as e:
                # The reader's message names the temp file and the CLI flag; say it in this API's terms.
                detail = str(e).replace(src, file.filename or "upload").replace("--text-column", "text_column")
                raise HTTPException(status_code=422, detail=detail) from e
            data = Path(dst).read_bytes()
        stem = re.sub(r"[^\w.-]", "_", Path(file.filename or "upload").name.split(".")[0]) or "upload"
        return Response(data, media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{stem}-scored.csv"'})

    @app.get("/v1/model", summary="What this model is, how well it did, and the server's limits")
    async def get_model() -> dict[str, Any]:
        return info

    @app.get("/healthz", summary="Liveness")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", summary="Readiness: the model is loaded and warmed up",
             responses={503: {"description": "Still loading"}})
    async def readyz() -> JSONResponse:
        if not ready.is_set():
            return JSONResponse({"status": "loading"}, status_code=503)
        return JSONResponse({"status": "ready", "batches": batcher.batches, "texts": batcher.texts})

    if STATIC.is_dir():
        app.mount("/static", StaticFiles(directory=STATIC), name="static")

        @app.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
        async def index() -> FileResponse:
            return FileResponse(STATIC / "index.html")

    return app


def _explained(e: Any, text: str) -> dict[str, Any]:
    d = e.to_dict()
    record = prediction_records(labels=list(d["probabilities"]), rows=[list(d["probabilities"].values())],
                                texts=[text])[0]
    return {**record, "words": d["words"]}


def _score_file(model: SentimentModel, src: str, dst: str, text_column: str) -> int:
    from senti.predict_io import score_file

    return score_file(model, src, dst, text_column)


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory`` (several workers): the model and limits come from SENTI_SERVE_* ."""
    env = os.environ
    limits = Limits(**{k: int(env[f"SENTI_SERVE_{k.upper()}"]) for k in Limits.__dataclass_fields__
                       if f"SENTI_SERVE_{k.upper()}" in env})
    threads = int(env.get("SENTI_SERVE_THREADS", "1"))
    from senti.pipeline import configure_cpu

    configure_cpu(threads)
    return create_app(env["SENTI_SERVE_MODEL"], limits, runtime=env.get("SENTI_SERVE_RUNTIME", "auto"),
                      threads=threads)

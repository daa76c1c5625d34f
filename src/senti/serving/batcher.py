"""Dynamic micro-batching: concurrent requests are scored together in one model call.

A worker thread scores one batch at a time. While it does, new requests queue up; as soon as it is free it
takes everything waiting (up to ``max_batch`` texts) as the next batch. There is no timer: an idle server
answers a lone request at once, a busy one amortises the per-call cost of the network over many requests.
With ``workers`` > 1, that many batches are scored at once (the runtimes release the GIL while they compute).
The event loop only enqueues and resolves futures, so it stays free to accept connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import numpy as np

log = logging.getLogger("senti.serving")
T = TypeVar("T")


class MicroBatcher:
    """Scores lists of texts with ``predict_proba`` (texts → (N, C) array), batching concurrent callers."""

    def __init__(self, predict_proba: Callable[[Sequence[str]], np.ndarray], max_batch: int = 256,
                 workers: int = 1):
        self.predict_proba = predict_proba
        self.max_batch = max_batch
        self.workers = workers
        self._queue: deque[tuple[list[str], asyncio.Future[np.ndarray]]] = deque()
        self._wakeup: asyncio.Event | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="senti-model")
        self.batches = 0
        self.texts = 0

    def start(self) -> None:
        self._wakeup = asyncio.Event()
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._run(), name=f"senti-batcher-{i}") for i in range(self.workers)]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.executor.shutdown(wait=True, cancel_futures=True)

    async def predict_proba_async(self, texts: list[str]) -> np.ndarray:
        if self._wakeup is None:
            raise RuntimeError("MicroBatcher.start() was not called")
        fut: asyncio.Future[np.ndarray] = asyncio.get_running_loop().create_future()
        self._queue.append((texts, fut))
        self._wakeup.set()
        return await fut

    async def run_exclusive(self, fn: Callable[..., T], *args: Any) -> T:
        """Run other model work (explanations, files) on the model's threads, in turn with the batches."""
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        assert self._wakeup is not None
        while True:
            # Every worker wakes on a new request; the first takes the queue, the others find it empty and wait
            # again. A worker re-checks the queue after each batch, so no request waits for a wake-up.
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._queue:
                jobs = self._take()
                texts = [t for job_texts, _ in jobs for t in job_texts]
                try:
                    proba = await loop.run_in_executor(self.executor, self.predict_proba, texts)
                except Exception as e:  # a model failure answers every caller of this batch, then carries on
                    log.exception("batch of %d texts failed", len(texts))
                    for _, fut in jobs:
                        if not fut.done():
                            fut.set_exception(e)
                    continue
                self.batches += 1
                self.texts += len(texts)
                start = 0
                for job_texts, fut in jobs:
                    if not fut.done():  # the client may have gone away (cancelled)
                        fut.set_result(proba[start:start + len(job_texts)])
                    start += len(job_texts)

    def _take(self) -> list[tuple[list[str], asyncio.Future[np.ndarray]]]:
        """Waiting jobs up to ``max_batch`` texts (always at least one job, however large)."""
        jobs = [self._queue.popleft()]
        n = len(jobs[0][0])
        while self._queue and n + len(self._queue[0][0]) <= self.max_batch:
            job = self._queue.popleft()
            jobs.append(job)
            n += len(job[0])
        return [(t, f) for t, f in jobs if not f.cancelled()]

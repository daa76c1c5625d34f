"""Training on several processes (DistributedDataParallel over gloo, on CPUs): the process group, who is rank 0,
how an epoch's batches are shared, and the launch of ``--nproc N`` through PyTorch's own launcher.

Two ways in, one code path. ``torchrun --nnodes M --nproc-per-node N ... -m senti train ...`` starts the
processes itself and sets ``WORLD_SIZE``, ``RANK``, ``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT``;
``senti train --nproc N`` asks ``torch.distributed.launcher.api.elastic_launch`` (what torchrun calls) for N
processes of this machine. Either way each process runs ``senti.train`` and finds the environment here.

Every rank reads the same data, builds the same vocabulary and network and walks the same global batch order
(a function of the seed and the epoch); rank r takes batches r, r + N, ..., so every rank runs the same number
of steps. Rank 0 alone writes the run directory; the others wait for it at a barrier.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import uuid
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from senti.errors import ConfigError, TrainingError

log = logging.getLogger("senti")

DIGEST_ENV = "SENTI_DDP_DIGEST_DIR"  # debugging aid: every rank writes the digest of its weights there
TIMEOUT = timedelta(minutes=60)  # a collective waits this long (rank 0 may be writing the report meanwhile)


# -- where this process stands --------------------------------------------------------------------------
def launched() -> bool:
    """Whether a launcher (torchrun, or ``--nproc``) started this process as one of several."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def active() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def world_size() -> int:
    return dist.get_world_size() if active() else 1


def rank() -> int:
    """This process's rank: from the process group, or before joining it from the launcher's $RANK."""
    if active():
        return dist.get_rank()
    return int(os.environ.get("RANK", "0")) if launched() else 0


def is_main() -> bool:
    """Rank 0, or a process that trains alone: the one that writes."""
    return rank() == 0


def threads_per_process() -> int:
    """Torch threads for one of the processes on this machine: its cores shared out (N processes x threads =
    cores), at least one."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, cores // int(os.environ.get("LOCAL_WORLD_SIZE", "1")))


@contextmanager
def process_group():
    """Join the process group the launcher described (nothing when training alone or already joined); on the
    way out, wait for every rank (rank 0 writes the bundle and report last) and leave it."""
    if not launched() or (dist.is_available() and dist.is_initialized()):
        yield
        return
    if not dist.is_available():
        raise ConfigError("this build of PyTorch has no torch.distributed; train with one process")
    dist.init_process_group("gloo", timeout=TIMEOUT)
    if dist.get_rank() != 0:  # one voice in the log: rank 0's
        log.setLevel(max(log.level, logging.WARNING))
    try:
        yield
        dist.barrier()
    finally:
        dist.destroy_process_group()


# -- what the ranks agree on ----------------------------------------------------------------------------
def shard_batches(batches: Sequence[np.ndarray], rank: int, world: int) -> list[np.ndarray]:
    """Rank ``rank``'s share of an epoch's global batch order: batches rank, rank + world, ... The last round
    is completed from the start of the order, so every rank runs ceil(len / world) steps (no rank waits at
    the end of an epoch for a step that never comes)."""
    if world <= 1:
        return list(batches)
    steps = math.ceil(len(batches) / world)
    return [batches[i % len(batches)] for i in range(rank, steps * world, world)]


def resumed_step(step: int, saved_world: int, world: int) -> int:
    """The step to resume at when a checkpoint written by ``saved_world`` processes is resumed by ``world``:
    the same global batches done (rounded down: a few batches seen twice rather than skipped)."""
    return step if saved_world == world else step * saved_world // world


def all_sum(values: Sequence[float]) -> list[float]:
    """Element-wise sum over the ranks (float64)."""
    if not active():
        return list(values)
    t = torch.tensor(list(values), dtype=torch.float64)
    dist.all_reduce(t)
    return t.tolist()


def any_rank(flag: bool) -> bool:
    """True on every rank if it is true on one (a stop requested by Ctrl-C on one machine stops them all)."""
    if not active():
        return flag
    t = torch.tensor([1 if flag else 0], dtype=torch.int32)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())


def from_main(obj: Any) -> Any:
    """Rank 0's ``obj`` on every rank (small things: a history row, a time)."""
    if not active():
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def gather(obj: Any) -> list[Any]:
    """Every rank's ``obj``, in rank order, on every rank."""
    if not active():
        return [obj]
    out: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj)
    return out


def seed_rank(seed: int, epoch: int = 0) -> None:
    """Each rank its own torch RNG stream (dropout), from the seed; rank 0 keeps the one it has."""
    if rank():
        torch.manual_seed(seed * 1_000_003 + 7919 * rank() + epoch)


def total_running(running: dict[str, float]) -> dict[str, float]:
    """The running loss, correct and seen counts summed over the ranks."""
    keys = ("loss", "correct", "seen")
    return dict(zip(keys, all_sum([running[k] for k in keys]), strict=True))


def checkpoint_extras(running: dict[str, float]) -> dict[str, Any]:
    """What a checkpoint of several processes adds (every rank calls this, at the same step): the running
    sums over all ranks (rank 0 carries them on after a resume), each rank's RNG state, the number of ranks."""
    return {"running": total_running(running), "world_size": world_size(),
            "rank_rngs": gather(torch.get_rng_state())}


def resume_ranks(state: Any, payload: dict[str, Any], seed: int) -> None:
    """After a checkpoint is loaded (the TrainState ``state``): a checkpoint resumed by a different number of
    processes than wrote it continues after the same global batches; each rank takes its own RNG state back
    when the checkpoint has one for it; rank 0 alone carries the running sums."""
    saved, world = int(payload.get("world_size", 1)), world_size()
    if saved != world and state.step:
        step = resumed_step(state.step, saved, world)
        log.info("resuming a checkpoint of %d process(es) on %d: epoch %d continues at step %d (was %d)",
                 saved, world, state.epoch + 1, step, state.step)
        state.step = step
    rngs = payload.get("rank_rngs")
    if world > 1 and rngs is not None and len(rngs) == world:
        torch.set_rng_state(rngs[rank()].cpu())
    else:
        seed_rank(seed, state.epoch)
    if rank():
        state.running = {"loss": 0.0, "correct": 0.0, "seen": 0.0}


def merge_shards(loss_sum: float, preds: np.ndarray) -> tuple[float, np.ndarray]:
    """Validation scored in shards (rank r took examples r, r + N, ...): the summed loss and every prediction,
    in the examples' order, on every rank."""
    parts = gather(preds)
    merged = np.empty(sum(len(p) for p in parts), dtype=np.int64)
    for r, part in enumerate(parts):
        merged[r::len(parts)] = part
    return all_sum([loss_sum])[0], merged


def wrap(net: torch.nn.Module) -> torch.nn.Module:
    """The network as the ranks train it: DistributedDataParallel over the parameters that train now (the
    frozen ones are left out; call again when that set changes). Construction copies rank 0's weights."""
    from torch.nn.parallel import DistributedDataParallel

    return DistributedDataParallel(net)


# -- a debugging aid: do the ranks hold the same weights? -----------------------------------------------
def weights_digest(net: torch.nn.Module) -> str:
    h = hashlib.sha256()
    for name, value in sorted(net.state_dict().items()):
        h.update(name.encode())
        h.update(value.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def write_digest(net: torch.nn.Module, label: str) -> None:
    """With $SENTI_DDP_DIGEST_DIR set, write this rank's weights digest to DIR/LABEL-rankR.txt."""
    folder = os.environ.get(DIGEST_ENV)
    if folder and active():
        Path(folder).mkdir(parents=True, exist_ok=True)
        (Path(folder) / f"{label}-rank{rank()}.txt").write_text(weights_digest(net) + "\n")


# -- the launch of --nproc N ------------------------------------------------------------------------------
def launch(nproc: int, entrypoint: Callable[..., Any], *args: Any) -> Any:
    """Run ``entrypoint(*args)`` on ``nproc`` processes of this machine with PyTorch's elastic launcher (what
    torchrun uses: a c10d rendezvous on a free local port, no restarts); returns rank 0's return value."""
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.launcher.api import LaunchConfig, elastic_launch

    if nproc < 1:
        raise ConfigError(f"--nproc must be at least 1, got {nproc}")
    if launched():
        raise ConfigError("--nproc starts its own processes: under torchrun, leave it out (torchrun's "
                          "--nproc-per-node says how many)")
    config = LaunchConfig(min_nodes=1, max_nodes=1, nproc_per_node=nproc, run_id=f"senti-{uuid.uuid4().hex[:8]}",
                          rdzv_backend="c10d", rdzv_endpoint="127.0.0.1:0", max_restarts=0, monitor_interval=0.5)
    # The launcher logs a failed process's whole traceback; what the user can fix deserves one line (below).
    launcher_log = logging.getLogger("torch.distributed.elastic.multiprocessing.api")
    level = launcher_log.level
    launcher_log.setLevel(logging.CRITICAL)
    try:
        results = elastic_launch(config, entrypoint)(*args)
    except ChildFailedError as e:
        rank_, failure = e.get_first_failure()
        raise _failure(f"training process {rank_} of {nproc} failed", failure) from None
    finally:
        launcher_log.setLevel(level)
    return results.get(0)


def _failure(what: str, failure: Any) -> Exception:
    """A process's SentiError (bad data, bad config...) as the same kind of error here, in one line; anything
    else (a bug) with the process's traceback."""
    from senti import errors

    message = failure.message
    if isinstance(message, dict):
        message = message.get("message", "")
    message = str(message or "").strip()
    if not message or message.startswith("To enable traceback"):
        return TrainingError(f"{what} with exit code {failure.exitcode}")
    last = message.splitlines()[-1]
    name, _, text = last.partition(": ")
    kind = getattr(errors, name.rsplit(".", 1)[-1], None)
    if isinstance(kind, type) and issubclass(kind, errors.SentiError):
        return kind(f"{what}: {text}")
    return RuntimeError(f"{what}:\n{message}")


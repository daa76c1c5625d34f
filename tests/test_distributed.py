"""Training on several processes (senti.training.distributed): `senti train --nproc 2` and two torchrun "nodes" on
127.0.0.1, on a slice of real IMDB reviews. Every rank writes the digest of its weights ($SENTI_DDP_DIGEST_DIR),
so the test sees whether the ranks ended with the same network."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import senti
from senti.errors import ConfigError
from senti.training.distributed import resumed_step, shard_batches, weights_digest

from .conftest import DATA_DIR, needs_data

TIMEOUT = 240
# A GRU small enough that launching the processes costs more than training them; one thread a process (the
# two torchrun "machines" share this one).
SMALL = ["--threads", "1", "--model", "gru", "--embedding-dim", "16", "--hidden-size", "16", "--max-length", "80",
         "--batch-size", "16", "--epochs", "1", "--no-report", "--quiet"]


def test_every_rank_runs_the_same_steps_and_together_they_cover_the_epoch():
    batches = [np.array([i]) for i in range(7)]
    shares = [shard_batches(batches, r, 3) for r in range(3)]
    assert [len(s) for s in shares] == [3, 3, 3]  # 7 batches, 3 ranks: 3 steps each, 2 batches from the start
    assert sorted(int(b[0]) for s in shares for b in s) == [0, 0, 1, *range(1, 7)]
    assert [int(b[0]) for b in shares[1]] == [1, 4, 0]  # rank r: batches r, r + N, ... of the global order
    assert shard_batches(batches, 0, 1) == batches
    assert all(len(shard_batches(batches[:1], r, 2)) == 1 for r in range(2))  # one batch still gives every rank one
    assert resumed_step(5, 2, 1) == 10 and resumed_step(5, 1, 2) == 2 and resumed_step(5, 2, 2) == 5


def test_an_ngram_model_on_several_processes_is_refused_before_any_starts(tmp_path):
    with pytest.raises(ConfigError, match="n-gram model"):
        senti.train(tmp_path / "run", nproc=2, model="nbsvm", train=str(tmp_path / "none.csv"))
    assert not (tmp_path / "run").exists()


def test_a_process_error_the_user_can_fix_comes_back_as_one_line_of_its_kind():
    from types import SimpleNamespace

    from senti.errors import DataError
    from senti.training.distributed import _failure

    traceback = "Traceback (most recent call last):\n  ...\nsenti.errors.DataError: data.csv: no such file or folder"
    e = _failure("training process 1 of 2 failed", SimpleNamespace(message=traceback, exitcode=1))
    assert isinstance(e, DataError) and str(e) == "training process 1 of 2 failed: data.csv: no such file or folder"
    bug = _failure("process 0 failed", SimpleNamespace(message="Traceback ...\nKeyError: 'x'", exitcode=1))
    assert type(bug) is RuntimeError and "KeyError" in str(bug)  # a bug keeps its traceback


@pytest.fixture(scope="module")
def imdb_slice(tmp_path_factory) -> tuple[Path, Path]:
    df = pd.read_csv(DATA_DIR / "imdb" / "train.csv.gz", usecols=["text", "label"])
    df = df.sample(320, random_state=0).reset_index(drop=True)
    folder = tmp_path_factory.mktemp("imdb-slice")
    df.iloc[:240].to_csv(folder / "train.csv", index=False)
    df.iloc[240:].to_csv(folder / "test.csv", index=False)
    return folder / "train.csv", folder / "test.csv"


def _senti(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "senti", *args], capture_output=True, text=True, timeout=TIMEOUT,
                          env={**os.environ, **(env or {})})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def _digest(folder: Path, world: int) -> str:
    """The digest of the weights every rank ended with, which must be one."""
    files = sorted(folder.glob("final-rank*.txt"))
    assert [f.name for f in files] == [f"final-rank{r}.txt" for r in range(world)]
    digests = [f.read_text().strip() for f in files]
    assert len(set(digests)) == 1, f"the ranks hold different weights: {digests}"
    return digests[0]


def _bundle_digest(run_dir: Path) -> str:
    return weights_digest(senti.load(run_dir, runtime="torch").net)


def _last_weights(run_dir: Path) -> str:
    """The digest of the last epoch's weights, in the checkpoint (the bundle holds the best epoch's)."""
    state = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)["model"]
    h = hashlib.sha256()
    for name, value in sorted(state.items()):
        h.update(name.encode())
        h.update(value.numpy().tobytes())
    return h.hexdigest()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _torchrun_two_nodes(args: list[str], env: dict[str, str], logs: Path) -> None:
    """Two torchrun "machines" of one process each on 127.0.0.1, meeting at a c10d rendezvous."""
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "2", "--nproc-per-node", "1",
                "--rdzv-backend", "c10d", "--rdzv-endpoint", f"127.0.0.1:{_free_port()}", "--rdzv-id", "senti-test"]
    logs.mkdir()
    nodes = []
    for n in range(2):
        with open(logs / f"node{n}.log", "w") as out:
            nodes.append(subprocess.Popen([*torchrun, "--node-rank", str(n), "-m", "senti", *args],
                                          env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT))
    try:
        codes = [node.wait(timeout=TIMEOUT) for node in nodes]
    finally:
        for node in nodes:
            node.kill()
    assert codes == [0, 0], "\n".join((logs / f"node{n}.log").read_text()[-2000:] for n in range(2))


@pytest.mark.slow
@needs_data
def test_two_processes_train_resume_and_match_two_torchrun_nodes(imdb_slice, tmp_path):
    train_csv, test_csv = imdb_slice
    data = ["--train", str(train_csv), "--test", str(test_csv)]
    run, digests = tmp_path / "run", tmp_path / "digests"
    _senti(["train", *data, "-o", str(run), "--nproc", "2", *SMALL], env={"SENTI_DDP_DIGEST_DIR": str(digests)})
    # The ranks hold the same weights, and the bundle rank 0 wrote is those weights, a normal bundle.
    digest = _digest(digests, 2)
    assert _bundle_digest(run) == digest
    model = senti.load(run)
    assert model.metadata["training"]["processes"] == 2
    assert model.predict_proba(["A wonderful film.", ""]).shape == (2, 2)
    history = json.loads((run / "history.json").read_text())
    assert [r["epoch"] for r in history["epochs"]] == [1]
    assert history["epochs"][0]["samples_per_s"] > 0
    ckpt = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)
    assert ckpt["world_size"] == 2 and len(ckpt["rank_rngs"]) == 2 and ckpt["state"]["epoch"] == 1

    # Resumed on one process (the checkpoint holds the plain network), and on two.
    alone = tmp_path / "alone"
    shutil.copytree(run, alone)
    senti.resume(alone, progress=False, epochs=2, report=False)
    shutil.rmtree(digests)
    _senti(["train", "--resume", str(run), "--epochs", "2", "--nproc", "2", "--quiet", "--no-report"],
           env={"SENTI_DDP_DIGEST_DIR": str(digests)})
    digest2 = _digest(digests, 2)
    assert _bundle_digest(run) == digest2  # (the same as after epoch 1 if epoch 2 did not improve)
    for folder in (run, alone):
        assert [r["epoch"] for r in json.loads((folder / "history.json").read_text())["epochs"]] == [1, 2]
        assert json.loads((folder / "metrics.json").read_text())["n"] == 80

    # Two torchrun "machines" training the 2 epochs straight: one normal bundle, and the weights of the run that
    # stopped after epoch 1 and resumed (each rank's RNG restored), to the bit.
    nodes, digests = tmp_path / "nodes", tmp_path / "digests-nodes"
    two_epochs = [*SMALL, "--epochs", "2"]  # the last --epochs counts
    _torchrun_two_nodes(["train", *data, "-o", str(nodes), *two_epochs], {"SENTI_DDP_DIGEST_DIR": str(digests)},
                        tmp_path / "logs")
    assert _digest(digests, 2) == _bundle_digest(nodes) == digest2
    assert _last_weights(nodes) == _last_weights(run) != _last_weights(alone)
    assert senti.load(nodes).metadata["training"]["processes"] == 2
    assert json.loads((nodes / "metrics.json").read_text())["n"] == 80
    assert sorted(json.loads((nodes / "run-files.json").read_text())) == sorted(p.name for p in nodes.iterdir())

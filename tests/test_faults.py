"""Issue #8, faults and untrusted files: a killed run never leaves a corrupt file and resumes to the same result;
a full or unwritable disk and a diverging loss stop with advice; no model or checkpoint file can run code."""

import json
import os
import pickle
import random
import resource
import signal
import subprocess
import sys
import time

import pytest
import torch

import senti
from senti.bundle import MANIFEST, WEIGHTS, BundleError, write_manifest
from senti.io import atomic_write, replace_dir, sha256_file, write_json
from senti.training.trainer import TrainingError

from .conftest import synthetic_reviews
from .test_cli import SENTI, run

SMALL = ["--model", "gru", "--epochs", "2", "--patience", "0", "--min-count", "1", "--embedding-dim", "64",
         "--hidden-size", "64", "--batch-size", "8", "--checkpoint-every", "4", "--no-report", "-q"]


@pytest.fixture
def data(tmp_path):
    df = synthetic_reviews(500, seed=21)
    df.iloc[:400].to_csv(tmp_path / "train.csv", index=False)
    df.iloc[400:].to_csv(tmp_path / "test.csv", index=False)
    return ["--train", tmp_path / "train.csv", "--test", tmp_path / "test.csv"]


def popen(*args, **kw):
    return subprocess.Popen([SENTI, *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            **kw)


def assert_every_file_whole(run_dir):
    """What a reader or a resumed run would open: each file parses, the bundle verifies, no temp file counts."""
    for path in run_dir.glob("*.json"):
        json.loads(path.read_text())
    ckpt = run_dir / "checkpoints" / "last.ckpt"
    if ckpt.exists():
        state = torch.load(ckpt, weights_only=True)["state"]
        assert 0 <= state["epoch"] <= 2
    if (run_dir / "model").exists():
        senti.load(run_dir)


# -- SIGKILL ------------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_sigkill_at_random_moments_then_resume_gives_the_uninterrupted_result(tmp_path, data):
    run("train", *data, *SMALL, "-o", tmp_path / "full")
    # Each kill lands within half the uninterrupted run's training time after a checkpoint: always mid-run.
    window = json.loads((tmp_path / "full" / "history.json").read_text())["train_seconds"] / 2
    # Seeded, so a failure reproduces; SENTI_TEST_SEED tries other moments.
    t0, seed = time.perf_counter(), int(os.environ.get("SENTI_TEST_SEED", "0"))
    rng = random.Random(seed)
    cut, kills = tmp_path / "cut", []
    proc = popen("train", *data, *SMALL, "-o", cut)
    for _ in range(2):
        _wait_for_a_new_checkpoint(cut, proc)  # the process is training, not importing torch
        time.sleep(rng.uniform(0.0, window))
        if proc.poll() is not None:
            break
        proc.kill()  # SIGKILL: no handler, no cleanup, whatever was being written stays as it is
        proc.communicate(timeout=60)
        kills.append(round(time.perf_counter() - t0, 2))
        assert_every_file_whole(cut)
        proc = popen("train", "--resume", cut, "--no-report", "-q")
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, f"seed {seed}, kills at {kills}: {err}"
    assert kills, f"seed {seed}: the run finished before the first kill"
    full = json.loads((tmp_path / "full" / "metrics.json").read_text())
    resumed = json.loads((cut / "metrics.json").read_text())
    assert resumed["accuracy"] == full["accuracy"] and resumed["confusion_matrix"] == full["confusion_matrix"]
    epochs = [json.loads((d / "history.json").read_text())["epochs"] for d in (tmp_path / "full", cut)]
    assert [r["val_loss"] for r in epochs[0]] == [r["val_loss"] for r in epochs[1]], f"seed {seed}, kills {kills}"
    assert not list(cut.glob(".*.tmp")) and not list((cut / "checkpoints").glob(".*.tmp"))  # resume tidied up


def _wait_for_a_new_checkpoint(run_dir, proc, timeout=300):
    ckpt = run_dir / "checkpoints" / "last.ckpt"
    before = ckpt.stat().st_mtime_ns if ckpt.exists() else None
    deadline = time.monotonic() + timeout
    while proc.poll() is None and (not ckpt.exists() or ckpt.stat().st_mtime_ns == before):
        assert time.monotonic() < deadline, f"no new checkpoint in {run_dir} within {timeout} s"
        time.sleep(0.02)


PAD = 20_000_000
WRITER = f"""
import sys
from senti.io import write_json
i = 0
while True:
    i += 1
    write_json(sys.argv[1], {{"n": i, "pad": "x" * {PAD}}})
    print(i, flush=True)  # after write_json returned: write i is complete
"""


def _read_line(proc, timeout):
    """The writer's next line, or fail after ``timeout`` seconds (a hung writer must not hang the test)."""
    import selectors

    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        assert sel.select(timeout), f"the writer printed nothing within {timeout} s"
    line = proc.stdout.readline()
    assert line, f"the writer exited (status {proc.poll()})"
    return line


def test_a_file_written_atomically_is_whole_whenever_the_writer_is_killed(tmp_path):
    target = tmp_path / "state.json"
    write_json(target, {"n": 0, "pad": ""})
    rng = random.Random(7)
    killed_mid_write = 0
    for attempt in range(8):
        for stale in tmp_path.glob(".*.tmp"):
            stale.unlink()
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(target)], stdout=subprocess.PIPE, text=True)
        done = []  # the writes the writer reported complete
        try:
            done.append(int(_read_line(proc, timeout=120)))  # imports are done, the writer is writing
            if attempt % 2:  # a seeded moment within about one write
                t = time.monotonic()
                done.append(int(_read_line(proc, timeout=120)))
                time.sleep(rng.uniform(0.0, time.monotonic() - t))
            else:  # while the next write's temp file is being filled: where a plain write would be torn
                deadline = time.monotonic() + 60
                while not any(tmp_path.glob(".*.tmp")):
                    assert time.monotonic() < deadline, "the writer never started another write"
                    time.sleep(0.001)
                time.sleep(rng.uniform(0.0, 0.005))
        finally:
            proc.kill()  # SIGKILL: no handler, no cleanup
            rest, _ = proc.communicate(timeout=60)
        killed_mid_write += any(tmp_path.glob(".*.tmp"))  # a temp file left: the kill cut a write short
        completed = max(done + [int(n) for n in rest.split()])
        data = json.loads(target.read_text())  # a half-written file would not parse
        # The last completed write, or the one after it if the kill came between its rename and its print.
        assert len(data["pad"]) == PAD and data["n"] in (completed, completed + 1), (attempt, data["n"], completed)
    assert killed_mid_write >= 2, f"only {killed_mid_write} of 8 kills landed during a write"


def test_atomic_write_fsyncs_the_data_before_the_rename(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
                        or real_fsync(fd))
    monkeypatch.setattr(os, "replace", lambda a, b: events.append(("replace", str(b))) or real_replace(a, b))
    atomic_write(tmp_path / "f.bin", lambda tmp: open(tmp, "wb").close())
    kinds = [e[0] for e in events]
    assert kinds == ["fsync", "replace", "fsync"], events
    assert events[0][1].endswith(".tmp") and events[2][1] == str(tmp_path)  # the file, then its folder


# -- full disk, unwritable output ---------------------------------------------------------------------------
def _file_size_limit(nbytes):
    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead of killing
        resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, nbytes))

    return limit


def test_an_output_that_cannot_be_written_fails_before_training(tmp_path, data):
    p = subprocess.run([SENTI, "train", *map(str, data), *SMALL, "-o", str(tmp_path / "r")], capture_output=True,
                       text=True, preexec_fn=_file_size_limit(1000), timeout=120)
    assert p.returncode == 1 and "Traceback" not in p.stderr
    assert f"error: cannot write to {tmp_path / 'r'}: File too large; choose another --output" in p.stderr
    (tmp_path / "file").write_text("")
    with pytest.raises(OSError, match="cannot create .*file/r: Not a directory; choose another --output"):
        senti.train(tmp_path / "file" / "r", train=data[1])


def test_a_disk_that_fills_mid_run_stops_with_a_clear_message(tmp_path, data):
    # 64 KiB: enough for config.json and vocab.json, not for a checkpoint (weights + optimizer state).
    p = subprocess.run([SENTI, "train", *map(str, data), *SMALL, "-o", str(tmp_path / "r")], capture_output=True,
                       text=True, preexec_fn=_file_size_limit(64 * 1024), timeout=120)
    assert p.returncode == 1 and "Traceback" not in p.stderr, p.stderr
    assert "last.ckpt: File too large; the previous checkpoint, if any, is intact" in p.stderr
    assert f"senti train --resume {tmp_path / 'r'}" in p.stderr
    assert not list((tmp_path / "r" / "checkpoints").glob("*"))  # no partial checkpoint, no temp file


def test_too_little_free_space_fails_early(tmp_path, data, monkeypatch):
    monkeypatch.setenv("SENTI_MIN_FREE_MB", str(10**12))
    with pytest.raises(OSError, match=r"only \d+ MiB free on the disk of .*; a run needs at least"):
        senti.train(tmp_path / "r", train=data[1], progress=False)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to read-only folders (see the read-only mount below)")
def test_read_only_output_folder(tmp_path, data):
    (tmp_path / "ro").mkdir(mode=0o500)
    with pytest.raises(OSError, match="cannot write to .*ro: Permission denied"):
        senti.train(tmp_path / "ro", train=data[1], progress=False)


@pytest.fixture
def small_disk(tmp_path):
    """A real, tiny file system (tmpfs); only where the tests may mount one (root with CAP_SYS_ADMIN)."""
    where = tmp_path / "disk"
    where.mkdir()

    def mount(options):
        p = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)], capture_output=True,
                           timeout=60)
        if p.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {p.stderr.decode().strip()}")
        return where

    yield mount
    subprocess.run(["umount", str(where)], capture_output=True, timeout=60)


def test_a_read_only_file_system_fails_before_training(small_disk, data):
    disk = small_disk("ro,size=1m")
    with pytest.raises(OSError, match="cannot write to .*disk: Read-only file system"):
        senti.train(disk, train=data[1], progress=False)


def test_a_full_disk_fails_early_or_at_the_checkpoint_with_a_clear_message(small_disk, data, monkeypatch):
    disk = small_disk("size=256k")
    with pytest.raises(OSError, match=r"only 0 MiB free on the disk of .*disk/r; a run needs at least 100 MiB"):
        senti.train(disk / "r", train=data[1], progress=False)
    monkeypatch.setenv("SENTI_MIN_FREE_MB", "0")  # past the early check: the disk fills at the first checkpoint
    with pytest.raises(TrainingError, match="last.ckpt: No space left on device; the previous checkpoint"):
        senti.train(disk / "r", train=data[1], model="gru", embedding_dim=256, hidden_size=128, checkpoint_every=2,
                    overwrite=True, progress=False)
    assert not list((disk / "r" / "checkpoints").glob("*"))


# -- diverging training ------------------------------------------------------------------------------------
def test_a_diverging_loss_stops_the_run_with_advice(tmp_path, data):
    with pytest.raises(TrainingError, match=r"the loss became (nan|inf).*lower the learning rate \(--lr, now "
                                            r"1e\+38\).*--clip-grad-norm 1.0, now 0"):
        senti.train(tmp_path / "r", train=data[1], model="gru", optimizer="sgd", lr=1e38, clip_grad_norm=0,
                    epochs=2, embedding_dim=8, hidden_size=8, progress=False)
    assert not (tmp_path / "r" / "model").exists()


# -- untrusted files: nothing is ever unpickled ------------------------------------------------------------
class _Payload:
    """Unpickling this would create a file: the proof that a loader ran code."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("faults") / "run"
    synthetic_reviews(200).to_csv(out.parent / "d.csv", index=False)
    senti.train(out, train=out.parent / "d.csv", model="gru", epochs=1, embedding_dim=8, hidden_size=8,
                checkpoint_every=2, progress=False, report=False)
    return out


def test_a_pickle_posing_as_weights_is_never_unpickled(small_run, tmp_path):
    import shutil

    bundle = tmp_path / "bundle"
    shutil.copytree(small_run / "model", bundle)
    marker = tmp_path / "pwned"
    (bundle / WEIGHTS).write_bytes(pickle.dumps(_Payload(marker)))
    manifest = json.loads((bundle / MANIFEST).read_text())
    manifest["files"][WEIGHTS] = sha256_file(bundle / WEIGHTS)  # an attacker can recompute the checksums too
    write_manifest(bundle, manifest)
    with pytest.raises(BundleError, match="model.safetensors: not a valid safetensors file"):
        senti.load(bundle)
    assert not marker.exists()


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_a_pickle_or_truncated_checkpoint_is_refused_on_resume(small_run, tmp_path):
    import shutil

    run_dir = tmp_path / "run"
    shutil.copytree(small_run, run_dir)
    ckpt = run_dir / "checkpoints" / "last.ckpt"
    marker = tmp_path / "pwned"
    ckpt.write_bytes(pickle.dumps(_Payload(marker)))
    with pytest.raises(TrainingError, match="last.ckpt: not a checkpoint this run can resume from"):
        senti.resume(run_dir, progress=False, report=False)
    assert not marker.exists()
    shutil.copy(small_run / "checkpoints" / "last.ckpt", ckpt)
    ckpt.write_bytes(ckpt.read_bytes()[:1000])
    with pytest.raises(TrainingError, match="last.ckpt: not a checkpoint this run can resume from"):
        senti.resume(run_dir, progress=False, report=False)


def _old_and_new_bundle(small_run, tmp_path):
    import shutil

    bundle, new = tmp_path / "model", tmp_path / ".model.new.tmp"
    shutil.copytree(small_run / "model", bundle)
    shutil.copytree(small_run / "model", new)
    (new / "NEW").touch()  # tells the new bundle from the old one (a bundle ignores extra files)
    return bundle, new


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="an atomic swap of two folders needs renameat2")
def test_replacing_a_bundle_never_leaves_the_path_without_one(small_run, tmp_path, monkeypatch):
    import senti.io as sio

    bundle, new = _old_and_new_bundle(small_run, tmp_path)
    swaps, renames = [], []
    real_exchange, real_replace = sio._exchange, os.replace

    def swap_then_die(a, b):  # killed at the first moment after the swap, before the old folder is removed
        swaps.append(real_exchange(a, b))
        if swaps[-1]:
            raise SystemExit("killed")
        return swaps[-1]

    def die_on_the_second_rename(a, b):  # where the two-rename fallback has moved the old bundle away
        renames.append(b)
        if len(renames) == 2:
            raise SystemExit("killed")
        real_replace(a, b)

    monkeypatch.setattr(sio, "_exchange", swap_then_die)
    monkeypatch.setattr(os, "replace", die_on_the_second_rename)
    with pytest.raises(SystemExit):
        replace_dir(new, bundle)
    monkeypatch.undo()
    assert swaps == [True] and renames == [], "replace_dir did not swap the folders with renameat2"
    assert (bundle / "NEW").exists()  # the new bundle is in place, whole
    senti.load(bundle)
    senti.load(new)  # and the old one, not yet removed, is whole too


def test_the_two_rename_fallback_replaces_and_keeps_the_old_bundle_until_the_new_one_is_in(small_run, tmp_path,
                                                                                           monkeypatch):
    """Where renameat2 is missing: a normal replace works; a crash between the two renames leaves the path
    empty (the documented window) but the old bundle whole beside it, never a half-moved folder."""
    import senti.io as sio

    monkeypatch.setattr(sio, "_exchange", lambda a, b: False)
    bundle, new = _old_and_new_bundle(small_run, tmp_path / "ok")
    replace_dir(new, bundle)
    assert (bundle / "NEW").exists() and sorted(p.name for p in bundle.parent.iterdir()) == ["model"]
    senti.load(bundle)

    bundle, new = _old_and_new_bundle(small_run, tmp_path / "killed")
    real_replace, renames = os.replace, []

    def die_on_the_second_rename(a, b):
        renames.append(b)
        if len(renames) == 2:
            raise SystemExit("killed")
        real_replace(a, b)

    monkeypatch.setattr(os, "replace", die_on_the_second_rename)
    with pytest.raises(SystemExit):
        replace_dir(new, bundle)
    monkeypatch.setattr(os, "replace", real_replace)
    assert len(renames) == 2 and not bundle.exists()
    old = bundle.with_name(".model.old.tmp")
    assert not (old / "NEW").exists()
    senti.load(old)
    senti.load(new)

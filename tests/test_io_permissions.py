"""Files senti writes atomically (temp file or folder + rename) get the mode an ordinary open()/mkdir() would:
readable by others under umask 022, private under umask 077 (issue 22, defect 7)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from senti.io import atomic_write_text, current_umask, replace_dir

from .conftest import synthetic_reviews


@pytest.fixture
def umask():
    """Set the process umask for one test, and put the old one back."""
    old = os.umask(0o022)
    os.umask(old)
    yield os.umask
    os.umask(old)


def _modes(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root.parent)): stat.S_IMODE(p.stat().st_mode)
            for p in [root, *root.rglob("*")]}


def _train_and_score(tmp_path: Path) -> list[Path]:
    import senti
    from senti.predict_io import score_file

    df = synthetic_reviews(160, seed=3)
    train_csv = tmp_path / "train.csv"
    df.iloc[:120].to_csv(train_csv, index=False)
    df.iloc[120:].to_csv(tmp_path / "test.csv", index=False)
    run = senti.train(tmp_path / "run", train=train_csv, test=str(tmp_path / "test.csv"), model="gru", epochs=1,
                      embedding_dim=8, hidden_size=8, min_count=1, progress=False)
    scored = tmp_path / "scored.csv"
    score_file(senti.load(run.run_dir), str(tmp_path / "test.csv"), str(scored))
    return [run.run_dir, scored]


@pytest.mark.parametrize(("mask", "file_mode", "dir_mode"), [(0o022, 0o644, 0o755), (0o077, 0o600, 0o700)])
def test_run_directory_bundle_report_and_scored_file_follow_the_umask(tmp_path, umask, mask, file_mode, dir_mode):
    umask(mask)
    assert current_umask() == mask
    run_dir, scored = _train_and_score(tmp_path)
    for must in ("model", "model/senti-model.json", "model/model.safetensors", "report.html", "metrics.json",
                 "config.json", "history.json", "checkpoints"):
        assert (run_dir / must).exists(), must
    modes = _modes(run_dir)
    modes[scored.name] = stat.S_IMODE(scored.stat().st_mode)
    wrong = {p: oct(m) for p, m in modes.items()
             if m != (dir_mode if (run_dir.parent / p).is_dir() else file_mode)}
    assert not wrong, f"umask {mask:03o}: expected files {file_mode:o}, folders {dir_mode:o}; got {wrong}"


def test_rewriting_keeps_the_mode_the_user_gave_a_file_or_folder(tmp_path, umask):
    umask(0o022)
    path = tmp_path / "report.html"
    atomic_write_text(path, "old")
    path.chmod(0o640)
    atomic_write_text(path, "new")
    assert path.read_text() == "new" and stat.S_IMODE(path.stat().st_mode) == 0o640
    dst, src = tmp_path / "model", tmp_path / ".model.tmp"
    dst.mkdir(mode=0o750)
    dst.chmod(0o750)
    src.mkdir(mode=0o700)
    replace_dir(src, dst)
    assert stat.S_IMODE(dst.stat().st_mode) == 0o750


def test_a_downloaded_archive_follows_the_umask(tmp_path, umask):
    import hashlib

    from senti.data.download import download

    umask(0o022)
    src = tmp_path / "archive.tar.gz"
    src.write_bytes(b"not really an archive")
    dest = download(src.as_uri(), tmp_path / "data" / "downloads" / "archive.tar.gz",
                    hashlib.sha256(src.read_bytes()).hexdigest())
    assert dest.read_bytes() == src.read_bytes() and stat.S_IMODE(dest.stat().st_mode) == 0o644

"""Shared fixtures: small data built by the tests, and the real datasets when they are present."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]


def real_data_dir() -> Path | None:
    for cand in (os.environ.get("SENTI_DATA_DIR"), ROOT.parent / "shared" / "data"):
        if cand and (Path(cand) / "imdb" / "train.csv.gz").is_file():
            return Path(cand)
    return None


DATA_DIR = real_data_dir()
needs_data = pytest.mark.skipif(DATA_DIR is None, reason="real datasets not found (set SENTI_DATA_DIR)")

POS = ["great", "wonderful", "loved", "excellent", "superb", "moving", "brilliant", "fun"]
NEG = ["awful", "boring", "hated", "terrible", "dull", "waste", "worst", "bad"]
FILLER = ["the", "movie", "film", "plot", "actors", "was", "really", "and", "story", "a", "it", "this"]


def synthetic_reviews(n: int, seed: int = 0, classes: tuple[str, ...] = ("negative", "positive")) -> pd.DataFrame:
    """Reviews whose label is decided by a few sentiment words among filler, learnable in seconds."""
    rng = random.Random(seed)
    words = {"negative": NEG, "positive": POS, "neutral": ["okay", "average", "fine", "decent"]}
    rows = []
    for i in range(n):
        label = classes[i % len(classes)]
        toks = [rng.choice(FILLER) for _ in range(rng.randint(5, 30))]
        for _ in range(rng.randint(1, 3)):
            toks.insert(rng.randrange(len(toks) + 1), rng.choice(words[label]))
        rows.append((" ".join(toks).capitalize() + "!", label))
    return pd.DataFrame(rows, columns=["text", "label"])


@pytest.fixture(scope="session")
def synthetic_csv(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("synth") / "reviews.csv"
    synthetic_reviews(600).rename(columns={"text": "review", "label": "sentiment"}).to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """A small GRU trained on synthetic reviews (a couple of seconds), shared by the tests that need one."""
    import senti

    out = tmp_path_factory.mktemp("runs") / "tiny"
    df = synthetic_reviews(800, seed=1)
    train_csv = out.parent / "tiny-train.csv"
    test_csv = out.parent / "tiny-test.csv"
    df.iloc[:600].to_csv(train_csv, index=False)
    df.iloc[600:].to_csv(test_csv, index=False)
    run = senti.train(out, train=train_csv, test=str(test_csv), model="gru", epochs=4, embedding_dim=32,
                      hidden_size=32, min_count=1, progress=False)
    trained = _snapshot(out)
    yield run
    # Shared by many tests: one that writes into it (or repoints its model) changes what the others see.
    changed = sorted(set(trained.items()) ^ set(_snapshot(out).items()))
    assert not changed, f"a test changed the shared tiny_run (use a copy): {sorted({p for p, _ in changed})}"
    assert run.model.source == out / "model", f"a test repointed tiny_run.model.source to {run.model.source}"


def _snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (relative path → content digest)."""
    import hashlib

    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).digest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def interrupt_at_step(monkeypatch: pytest.MonkeyPatch, n: int) -> None:
    """Make the n-th training step raise KeyboardInterrupt, as Ctrl-C would; later steps run normally."""
    from senti.training import trainer as trainer_mod

    real_step, calls = trainer_mod.Trainer._step, {"n": 0}

    def step_then_interrupt(self, *args):
        calls["n"] += 1
        if calls["n"] == n:
            raise KeyboardInterrupt
        return real_step(self, *args)

    monkeypatch.setattr(trainer_mod.Trainer, "_step", step_then_interrupt)

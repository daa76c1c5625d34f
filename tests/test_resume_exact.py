"""Interrupting a run (Ctrl-C once: stop between steps; a second Ctrl-C: abort inside a step) and resuming it
gives the weights of a run that never stopped, early-stopping state included (issue 23: 4); stacking refuses a
validation split too small for its cross-validation (23: 6); one source of pretraining defaults (23: 8)."""

import signal

import numpy as np
import pandas as pd
import pytest
import torch

import senti
from senti.config import PretrainConfig, VocabConfig
from senti.errors import DataError
from senti.training import trainer as trainer_mod

from .conftest import synthetic_reviews

# 360 training texts, batch 32: 12 steps an epoch. With a fifth of the labels flipped, validation accuracy
# peaks at epoch 3, drops at 4 and does not beat 3 at 5, where patience 2 stops the run: the best weights and
# the count of epochs without improvement must go through a checkpoint and back.
KW = {"model": "gru", "epochs": 8, "patience": 2, "monitor": "val_accuracy", "lr": 0.03, "batch_size": 32,
      "embedding_dim": 16, "hidden_size": 16, "min_count": 1, "checkpoint_every": 5, "progress": False,
      "report": False}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    path = tmp_path_factory.mktemp("resume") / "train.csv"
    df = synthetic_reviews(400, seed=21)
    flip = np.random.default_rng(0).random(len(df)) < 0.2
    df.loc[flip, "label"] = df.loc[flip, "label"].map({"positive": "negative", "negative": "positive"})
    df.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def full(data, tmp_path_factory):
    return senti.train(tmp_path_factory.mktemp("full") / "run", train=data, **KW)


def _weights(run):
    return {k: v.clone() for k, v in run.model.scorer.net.state_dict().items()} if hasattr(run.model, "scorer") \
        else {k: v.clone() for k, v in run.model.net.state_dict().items()}


def _same_as_full(resumed, full):
    assert [r["val_loss"] for r in resumed.history] == [r["val_loss"] for r in full.history]
    a, b = _weights(resumed), _weights(full)
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0)


def _at_step(monkeypatch, n, action):
    real_step, calls = trainer_mod.Trainer._step, {"n": 0}

    def step(self, *args):
        calls["n"] += 1
        if calls["n"] == n:
            return action(lambda: real_step(self, *args))
        return real_step(self, *args)

    monkeypatch.setattr(trainer_mod.Trainer, "_step", step)


def test_ctrl_c_stops_between_steps_and_resume_is_exact(data, full, tmp_path, monkeypatch):
    training = full.model.metadata["training"]
    assert training["stopped_early"] and training["best_epoch"] < training["epochs_run"] == 5

    def ctrl_c_then_step(step):
        signal.raise_signal(signal.SIGINT)  # the handler only sets the stop flag; this step still runs whole
        return step()

    _at_step(monkeypatch, 51, ctrl_c_then_step)  # epoch 5 (after epoch 4 did not improve), its third step
    with pytest.raises(senti.TrainingInterrupted, match="epoch 5, step 3$"):
        senti.train(tmp_path / "cut", train=data, **KW)
    monkeypatch.undo()
    _same_as_full(senti.resume(tmp_path / "cut", progress=False, report=False), full)


def test_an_abort_inside_a_step_leaves_the_last_consistent_checkpoint(data, full, tmp_path, monkeypatch):
    def step_then_abort(step):
        step()  # the optimizer has applied this batch; the step count has not moved yet
        raise KeyboardInterrupt  # as a second Ctrl-C would, at any moment

    _at_step(monkeypatch, 19, step_then_abort)  # epoch 2, step 7 (after the checkpoint of step 5): before the best
    with pytest.raises(senti.TrainingInterrupted, match="inside a step"):
        senti.train(tmp_path / "cut", train=data, **KW)
    monkeypatch.undo()
    _same_as_full(senti.resume(tmp_path / "cut", progress=False, report=False), full)


def test_an_abort_before_any_checkpoint_leaves_nothing_that_blocks_the_retry(data, tmp_path, monkeypatch):
    def abort(step):
        raise KeyboardInterrupt

    _at_step(monkeypatch, 2, abort)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").write_text("mine")
    with pytest.raises(senti.TrainingInterrupted, match="no checkpoint had been written yet"):
        senti.train(tmp_path / "out", train=data, **{**KW, "checkpoint_every": 0})
    monkeypatch.undo()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["notes.txt"]


def test_stacking_refuses_a_class_with_one_validation_example_before_training(tmp_path):
    df = synthetic_reviews(200, seed=22)
    df.to_csv(tmp_path / "train.csv", index=False)
    valid = synthetic_reviews(12, seed=23)
    valid = pd.concat([valid[valid["label"] == "positive"], valid[valid["label"] == "negative"].iloc[:1]])
    valid.to_csv(tmp_path / "valid.csv", index=False)
    with pytest.raises(DataError, match=r"at least 2 examples of each class; it has 'negative' \(1\)"):
        senti.train(tmp_path / "ens", train=tmp_path / "train.csv", valid=str(tmp_path / "valid.csv"),
                    model="rnn+nbsvm", progress=False, report=False)
    assert not (tmp_path / "ens" / "members").exists()


def test_pretraining_has_one_set_of_defaults():
    import click

    from senti.cli import main

    command = main.get_command(click.Context(main), "pretrain")
    flags = {p.name: p.default for p in command.params}
    cfg, vocab = PretrainConfig(), VocabConfig()
    for name in ("epochs", "lr", "batch_size", "num_sampled", "seed", "device"):
        assert flags[name] == getattr(cfg, name), name
    assert (flags["max_length"], flags["max_vocab"]) == (vocab.max_length, vocab.max_size)
    assert senti.PretrainConfig is PretrainConfig


def test_the_checkpoint_holds_the_early_stopping_state(data, full, tmp_path):
    """After epoch 4 (worse than 3): the best value and epoch, one epoch without improvement, the best weights."""
    senti.train(tmp_path / "r", train=data, **{**KW, "epochs": 4})
    payload = torch.load(tmp_path / "r" / "checkpoints" / "last.ckpt", weights_only=True)
    state = payload["state"]
    assert (state["epoch"], state["best_epoch"], state["bad_epochs"]) == (4, 3, 1)
    assert state["best"] == full.history[2]["val_accuracy"] > full.history[3]["val_accuracy"]
    assert payload["best_weights"].keys() == payload["model"].keys()

"""The rnn+nbsvm stacking ensemble: members trained as runs of their own, a stacker on the validation split,
one bundle with the members as sub-bundles; trained on synthetic reviews in a couple of seconds."""

import json
import logging
import shutil

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import senti
from senti.cli import main
from senti.config import nest
from senti.models import linear
from senti.models.registry import PRESETS
from senti.training import trainer as trainer_mod
from senti.training.resolve import member_config as _member_config
from senti.training.resolve import resolve_config

from .conftest import DATA_DIR, NEG, POS, interrupt_at_step, needs_data, synthetic_reviews

TEXTS = ["a wonderful and brilliant film", "boring, the worst plot", "the movie was really fun", "dull and bad"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("ens-data")
    df = synthetic_reviews(500, seed=31)
    df.iloc[:400].to_csv(d / "train.csv", index=False)
    df.iloc[400:].to_csv(d / "test.csv", index=False)
    return d


def _kw(data):
    return {"train": data / "train.csv", "test": str(data / "test.csv"), "model": "rnn+nbsvm", "epochs": 2,
            "progress": False, "report": False}


@pytest.fixture(scope="module")
def ensemble(tmp_path_factory, data):
    return senti.train(tmp_path_factory.mktemp("ens") / "run", **_kw(data))


def test_ensemble_trains_its_members_as_runs_and_saves_them_as_sub_bundles(ensemble):
    run_dir = ensemble.run_dir
    assert ensemble.metrics["n"] == 100 and ensemble.metrics["accuracy"] > 0.9
    for name in ("bigru", "nbsvm3"):
        assert (run_dir / "members" / name / "config.json").is_file()  # a run of its own
        assert (run_dir / "model" / "members" / name / "senti-model.json").is_file()  # a bundle of its own
    member_cfg = json.loads((run_dir / "members" / "bigru" / "config.json").read_text())
    assert member_cfg["preset"] == "bigru" and member_cfg["train"]["epochs"] == 2  # the run's --epochs
    manifest = json.loads((run_dir / "model" / "senti-model.json").read_text())
    assert manifest["model"]["architecture"] == "senti.ensemble.v1"
    assert manifest["model"]["members"] == ["bigru", "nbsvm3"]
    assert set(manifest["training"]["member_weights"]) == {"bigru", "nbsvm3"}
    assert all(w > 0 for w in manifest["training"]["member_weights"].values())


def test_member_training_settings_default_to_the_neural_presets():
    member = _member_config(resolve_config(nest({"model": "rnn+nbsvm"})), "bigru")
    assert member.train.epochs == PRESETS["bigru"]["train"]["epochs"]
    assert _member_config(resolve_config(nest({"model": "rnn+nbsvm", "epochs": 5})), "bigru").train.epochs == 5


def test_save_load_round_trip_gives_identical_probabilities(ensemble, tmp_path):
    loaded = senti.load(ensemble.run_dir)
    assert loaded.runtime == "ensemble" and loaded.labels == ["negative", "positive"]
    expected = ensemble.model.predict_proba(TEXTS)
    np.testing.assert_array_equal(loaded.predict_proba(TEXTS), expected)
    assert list(loaded.predict(TEXTS)) == ["positive", "negative", "positive", "negative"]
    assert loaded.predict_proba([]).shape == (0, 2)
    loaded.save(tmp_path / "copy")  # saving a loaded ensemble writes its members again
    np.testing.assert_array_equal(senti.load(tmp_path / "copy").predict_proba(TEXTS), expected)
    with pytest.raises(senti.BundleError, match="load it with runtime='auto' or 'torch'"):
        senti.load(ensemble.run_dir, runtime="onnx")


def test_explain_by_occlusion_points_at_the_sentiment_words(ensemble):
    model = senti.load(ensemble.run_dir)
    pos, neg = model.explain(["the plot was wonderful and the actors brilliant", "a dull and awful story"])
    assert (pos.label, neg.label) == ("positive", "negative")
    assert max(pos.words, key=lambda w: w.score).word in POS
    assert max(neg.words, key=lambda w: w.score).word in NEG
    assert [w.word for w in neg.words] == ["a", "dull", "and", "awful", "story"]


def test_cli_predict_with_an_ensemble(ensemble):
    out = CliRunner().invoke(main, ["predict", str(ensemble.run_dir), *TEXTS[:2], "--json"])
    assert out.exit_code == 0, out.output
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["label"] for r in rows] == ["positive", "negative"]
    assert abs(sum(rows[0]["probabilities"].values()) - 1) < 1e-5


@pytest.mark.parametrize("member", ["bigru", "nbsvm3"])
def test_a_tampered_member_is_refused(ensemble, tmp_path, member):
    bundle = tmp_path / "model"
    shutil.copytree(ensemble.run_dir / "model", bundle)
    weights = bundle / "members" / member / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0x01
    weights.write_bytes(bytes(data))
    with pytest.raises(senti.BundleError, match=f"members/{member}/model.safetensors: checksum mismatch"):
        senti.load(bundle)
    shutil.rmtree(bundle / "members" / member)
    with pytest.raises(senti.BundleError, match="not a senti model"):
        senti.load(bundle)


def test_resuming_after_the_second_member_failed_reuses_the_first(ensemble, data, tmp_path, monkeypatch):
    def crash(self, *args, **kwargs):
        raise MemoryError("out of memory while fitting the n-gram model")

    monkeypatch.setattr(linear.LinearTextClassifier, "fit", crash)
    with pytest.raises(MemoryError):
        senti.train(tmp_path / "cut", **_kw(data))
    first = tmp_path / "cut" / "members" / "bigru" / "model" / "model.safetensors"
    before = first.read_bytes()
    monkeypatch.undo()
    with pytest.raises(FileExistsError, match="--resume to continue it"):
        senti.train(tmp_path / "cut", **_kw(data))

    def no_training(self, *args):
        raise AssertionError("the finished member was trained again")

    monkeypatch.setattr(trainer_mod.Trainer, "fit", no_training)
    resumed = senti.resume(tmp_path / "cut", progress=False, report=False)
    assert first.read_bytes() == before
    np.testing.assert_array_equal(resumed.model.predict_proba(TEXTS), ensemble.model.predict_proba(TEXTS))
    assert resumed.metrics["accuracy"] == ensemble.metrics["accuracy"]


def test_resuming_an_interrupted_neural_member_finishes_like_an_uninterrupted_run(ensemble, data, tmp_path,
                                                                                  monkeypatch):
    interrupt_at_step(monkeypatch, 8)  # 6 steps an epoch (360 texts, batch 64): in the member's epoch 2
    with pytest.raises(senti.TrainingInterrupted, match="epoch 2"):
        senti.train(tmp_path / "cut", checkpoint_every=1, **_kw(data))
    monkeypatch.undo()
    assert (tmp_path / "cut" / "members" / "bigru" / "checkpoints" / "last.ckpt").is_file()
    assert not (tmp_path / "cut" / "members" / "nbsvm3").exists()
    resumed = senti.resume(tmp_path / "cut", progress=False, report=False)
    np.testing.assert_array_equal(resumed.model.predict_proba(TEXTS), ensemble.model.predict_proba(TEXTS))
    assert senti.load(tmp_path / "cut").predict(TEXTS).tolist() == ensemble.model.predict(TEXTS).tolist()


def test_preset_at_k_members_train_with_another_seed_on_the_same_split():
    cfg = resolve_config(nest({"model": "rnn+nbsvm", "seed": 7}))
    first, second = _member_config(cfg, "bigru"), _member_config(cfg, "bigru@2")
    assert (first.preset, second.preset) == ("bigru", "bigru")
    assert (first.train.seed, second.train.seed) == (7, 9)
    assert first.data.split_seed == second.data.split_seed == 7  # the stacker's validation split stays unseen


def test_a_small_corpus_gives_each_network_more_seeds_and_a_big_one_does_not():
    from senti.training.stacking import members_with_seeds

    texts = pd.Series(["one two three", "four five"])  # 5 words
    stack = {"members": ["bigru", "nbsvm3"], "seeds": 3, "seeds_max_words": 5}
    assert members_with_seeds(stack, texts) == ["bigru", "bigru@1", "bigru@2", "nbsvm3"]
    assert members_with_seeds({**stack, "seeds_max_words": 4}, texts) == ["bigru", "nbsvm3"]
    assert members_with_seeds({**stack, "seeds": 1}, texts) == ["bigru", "nbsvm3"]
    # Members already named with their seeds (a resumed run's, a user's) are taken as they are.
    assert members_with_seeds({**stack, "members": ["bigru", "bigru@4", "nbsvm3"]}, texts) == [
        "bigru", "bigru@4", "nbsvm3"]


def test_a_stack_with_seeds_trains_the_second_network_and_records_it(data, tmp_path):
    run = senti.train(tmp_path / "run", **{**_kw(data), "model": {"seeds": 2, "seeds_max_words": 10**6}},
                      preset="rnn+nbsvm", hidden_size=8, embedding_dim=16)
    members = ["bigru", "bigru@1", "nbsvm3"]
    assert json.loads((tmp_path / "run" / "config.json").read_text())["model"]["members"] == members
    seeds = [json.loads((tmp_path / "run" / "members" / m / "config.json").read_text())["train"]["seed"]
             for m in members[:2]]
    assert seeds[1] == seeds[0] + 1 == run.config.train.seed + 1
    assert set(run.model.metadata["training"]["member_weights"]) == set(members)
    assert run.metrics["accuracy"] > 0.9
    again = senti.load(tmp_path / "run")
    np.testing.assert_allclose(again.predict_proba(TEXTS), run.model.predict_proba(TEXTS), atol=1e-6)


def test_split_seed_fixes_the_validation_split_whatever_the_training_seed(data):
    from senti.data.splits import load_splits

    def valid_texts(seed, split_seed):
        cfg = resolve_config(nest({"train_file": str(data / "train.csv"), "seed": seed, "split_seed": split_seed}))
        return set(load_splits(cfg)[1]["text"])

    assert valid_texts(1, 0) == valid_texts(2, 0) == valid_texts(0, None)
    assert valid_texts(1, None) != valid_texts(0, None)


def test_senti_stack_combines_finished_runs_that_share_a_split(ensemble, data, tmp_path):
    members = ensemble.run_dir / "members"
    rnn = senti.train(tmp_path / "rnn-seed1", train=data / "train.csv", test=str(data / "test.csv"), model="gru",
                      epochs=2, seed=1, split_seed=0, progress=False, report=False)
    out = CliRunner().invoke(main, ["stack", str(members / "bigru"), str(members / "nbsvm3"), str(rnn.run_dir),
                                    "--output", str(tmp_path / "stack"), "--no-report", "-q"])
    assert out.exit_code == 0, out.output
    manifest = json.loads((tmp_path / "stack" / "model" / "senti-model.json").read_text())
    assert manifest["model"]["members"] == ["bigru", "nbsvm3", "rnn-seed1"]
    assert json.loads((tmp_path / "stack" / "metrics.json").read_text())["accuracy"] > 0.9
    model = senti.load(tmp_path / "stack")
    assert list(model.predict(TEXTS)) == ["positive", "negative", "positive", "negative"]
    # The members' raw (uncalibrated) probabilities are what the stacker combines: loading them alone gives the same
    # numbers.
    features = model.net.features(TEXTS)
    np.testing.assert_allclose(features[:, 4:6], np.log(np.clip(senti.load(rnn.run_dir).raw_proba(TEXTS),
                                                                1e-6, 1)), rtol=1e-5)


def test_senti_stack_refuses_runs_with_different_validation_splits(ensemble, data, tmp_path):
    other = senti.train(tmp_path / "other-split", train=data / "train.csv", test=str(data / "test.csv"),
                        model="nbsvm", seed=5, progress=False, report=False)
    out = CliRunner().invoke(main, ["stack", str(ensemble.run_dir / "members" / "bigru"), str(other.run_dir),
                                    "--output", str(tmp_path / "stack")])
    assert out.exit_code == 1 and "same data and validation split" in out.output
    assert not (tmp_path / "stack" / "model").exists()


@needs_data
def test_a_random_split_of_reviews_grouped_by_movie_warns_that_the_stacker_is_misled(tmp_path, caplog):
    config = tmp_path / "linear.toml"
    config.write_text('preset = "rnn+nbsvm"\n[model]\nmembers = ["nbsvm", "tfidf-logreg"]\n')
    common = {"dataset": "imdb", "data_dir": str(DATA_DIR), "config": str(config), "max_train_samples": 600,
              "max_test_samples": 100, "progress": False, "report": False}
    with caplog.at_level(logging.WARNING, logger="senti"):
        senti.train(tmp_path / "random", group_column="none", **common)  # imdb groups by default
    assert "--group-column group keeps each item on one side" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="senti"):
        run = senti.train(tmp_path / "grouped", **common)
    assert "--group-column" not in caplog.text and run.metrics["n"] == 100


def test_the_bundle_holds_the_ngram_member_refitted_on_train_and_validation(ensemble, data):
    run_dir = ensemble.run_dir
    manifest = json.loads((run_dir / "model" / "senti-model.json").read_text())
    assert manifest["model"]["refit"] == "linear"
    refitted = manifest["training"]["refitted"]
    assert set(refitted) == {"nbsvm3"} and refitted["nbsvm3"]["texts"] == 400  # 360 train + 40 validation
    as_trained = senti.load(run_dir / "members" / "nbsvm3")  # the member run: what the stacker was fitted on
    in_bundle = senti.load(run_dir)
    member = senti.load(run_dir / "model" / "members" / "nbsvm3")  # the member as the bundle holds it
    assert member.metadata["refit"] == {"texts": 400, "of": "train + validation"}
    assert in_bundle.scorer.member_metadata["nbsvm3"] == member.metadata
    assert len(member.net.vocabulary_) > len(as_trained.net.vocabulary_)  # n-grams seen only in validation
    test = pd.read_csv(data / "test.csv")  # its recorded test accuracy is its own, from the stack's scoring pass
    assert refitted["nbsvm3"]["test_accuracy"] == member.score(test["text"].tolist(), test["label"].tolist())
    assert member.metadata["metrics"]["accuracy"] == refitted["nbsvm3"]["test_accuracy"]
    # The stack scores with the refitted member; the network member is the one the run trained.
    features = in_bundle.net.features(TEXTS)
    np.testing.assert_allclose(features[:, 2:4], np.log(np.clip(member.raw_proba(TEXTS), 1e-6, 1)), rtol=1e-5)
    assert not np.allclose(features[:, 2:4], np.log(np.clip(as_trained.raw_proba(TEXTS), 1e-6, 1)))
    np.testing.assert_allclose(features[:, 0:2], np.log(np.clip(
        senti.load(run_dir / "members" / "bigru").raw_proba(TEXTS), 1e-6, 1)), rtol=1e-5)


def test_refit_none_keeps_the_members_as_the_stacker_saw_them(ensemble, tmp_path):
    members = ensemble.run_dir / "members"
    out = CliRunner().invoke(main, ["stack", str(members / "bigru"), str(members / "nbsvm3"), "--refit", "none",
                                    "--output", str(tmp_path / "stack"), "--no-report", "-q"])
    assert out.exit_code == 0, out.output
    stacked = senti.load(tmp_path / "stack")
    assert stacked.metadata["training"]["refitted"] == {}
    np.testing.assert_array_equal(stacked.net.members["nbsvm3"].predict_proba(TEXTS),
                                  senti.load(members / "nbsvm3").raw_proba(TEXTS))
    with pytest.raises(ValueError, match="refit must be one of"):
        senti.train(tmp_path / "bad", train=ensemble.config.data.train, model="rnn+nbsvm", refit="all")

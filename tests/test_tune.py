"""`senti tune` (senti.tuning): a study that continues, survives a kill -9, prunes a trial that is behind,
hands back a config `senti train --config` accepts, refuses a bad search space, and shows its best trials.

Real training on synthetic reviews with 15% of the labels flipped (validation accuracy ~0.85, so parameters
matter), seconds per study."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from tests.conftest import synthetic_reviews

optuna = pytest.importorskip("optuna", reason="senti tune needs optuna: pip install 'senti[tune]'")

pytestmark = pytest.mark.slow

GRU = ["--model", "gru", "--embedding-dim", "16", "--hidden-size", "16", "--min-count", "1", "--epochs", "3",
       "--batch-size", "16", "--max-length", "32", "--patience", "0", "--no-report", "-q"]
SMALL = "[lr]\ntype = 'float'\nlow = 1e-4\nhigh = 3e-2\nlog = true\n\n[dropout]\nchoices = [0.0, 0.2]\n"


@pytest.fixture(scope="module")
def noisy(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tune-data")
    df = synthetic_reviews(400, seed=4)
    rng = random.Random(0)
    flip = {"negative": "positive", "positive": "negative"}
    df["label"] = [flip[y] if rng.random() < 0.15 else y for y in df["label"]]
    df.iloc[:340].to_csv(folder / "train.csv", index=False)
    df.iloc[340:].to_csv(folder / "test.csv", index=False)
    (folder / "space.toml").write_text(SMALL)
    return folder / "train.csv", folder / "test.csv"


def senti(*args: str) -> tuple[int, str]:
    from senti.cli import main

    r = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    return r.exit_code, r.output


def trials_of(folder: Path) -> list:
    from senti.tuning import study

    return optuna.load_study(study_name=study.STUDY_NAME, storage=study.storage(folder)).get_trials()


def finished(trials: list) -> list:
    return [t for t in trials if t.state.name in ("COMPLETE", "PRUNED")]


@pytest.fixture(scope="module")
def nbsvm_study(noisy, tmp_path_factory) -> tuple[Path, list, list]:
    """3 trials, then the same command with --trials 5."""
    train, test = noisy
    out = tmp_path_factory.mktemp("tune") / "study"
    cmd = ["tune", "--train", train, "--test", test, "--model", "nbsvm", "--output", out, "--no-report", "-q"]
    code, text = senti(*cmd, "--trials", "3")
    assert code == 0, text
    first = trials_of(out)
    code, text = senti(*cmd, "--trials", "5")
    assert code == 0, text
    return out, first, trials_of(out)


def test_the_same_command_with_more_trials_continues_the_study(nbsvm_study):
    out, first, after = nbsvm_study
    assert len(finished(first)) == 3
    assert len(after) == 5 and len(finished(after)) == 5
    assert [(t.number, t.params, t.value) for t in after[:3]] == [(t.number, t.params, t.value) for t in first]
    # The resumed sampler does not draw the first points again.
    assert all(t.params not in [f.params for f in first] for t in after[3:])
    rows = pd.read_csv(out / "trials.csv")
    assert list(rows["number"]) == [0, 1, 2, 3, 4] and set(rows["state"]) == {"complete"}
    assert {"param_C", "param_ngram_range", "param_min_df", "param_nb_alpha", "param_negation_scope", "epoch_1",
            "seconds"} <= set(rows)


def test_best_toml_trains_with_senti_train_config(nbsvm_study, tmp_path):
    out, _, after = nbsvm_study
    best = max(finished(after), key=lambda t: t.value)
    assert json.loads((out / "best.json").read_text())["trial"] == best.number
    code, text = senti("train", "--config", out / "best.toml", "--output", tmp_path / "run", "--no-report", "-q")
    assert code == 0, text
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["model"]["C"] == pytest.approx(best.params["C"])
    assert config["model"]["ngram_range"] == json.loads(best.params["ngram_range"])
    assert config["clean"]["negation_scope"] == best.params["negation_scope"]  # a [clean] option lands there too
    assert config["data"]["test"] and config["data"]["train"]
    # The same run as best/, the study's final model: the same test scores.
    again = json.loads((tmp_path / "run" / "metrics.json").read_text())
    final = json.loads((out / "best" / "metrics.json").read_text())
    assert again["accuracy"] == final["accuracy"] and again["n"] == final["n"] > 0


def test_show_prints_the_best_parameters_and_the_top_trials(nbsvm_study):
    out, _, after = nbsvm_study
    best = max(finished(after), key=lambda t: t.value)
    code, text = senti("tune", "--show", out)
    assert code == 0, text
    assert f"best: trial {best.number}, accuracy {best.value:.4f}" in text
    assert ("| number | state | epochs | accuracy | C | ngram_range | min_df | nb_alpha | negation_scope | seconds |"
            in text)
    table = [line for line in text.splitlines() if line.startswith("| ") and line[2].isdigit()]
    assert len(table) == 5 and table[0].startswith(f"| {best.number} | complete |")


def test_a_study_killed_mid_trial_resumes_without_losing_or_repeating_trials(noisy, tmp_path):
    train, test = noisy
    out = tmp_path / "study"
    cmd = ["tune", "--train", train, "--test", test, *GRU, "--space", train.parent / "space.toml", "--trials", "3",
           "--output", out]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")}
    proc = subprocess.Popen([sys.executable, "-m", "senti", *map(str, cmd)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        while time.time() < deadline:  # kill -9 while a trial runs, after at least one has finished
            time.sleep(0.05)
            if (out / "study.journal").is_file():
                trials = trials_of(out)
                if len(finished(trials)) >= 1 and trials[-1].state.name == "RUNNING":
                    proc.send_signal(signal.SIGKILL)
                    break
        else:
            pytest.fail("no trial was running within 120 s")
    finally:
        proc.kill()
        proc.wait()
    before = trials_of(out)
    killed = [t.number for t in before if t.state.name == "RUNNING"]
    assert killed, "the kill did not land inside a trial"
    code, text = senti(*cmd)
    assert code == 0, text
    after = trials_of(out)
    for t in finished(before):  # nothing finished is lost or changed
        assert (after[t.number].state, after[t.number].params, after[t.number].value) == (t.state, t.params, t.value)
    assert [after[n].state.name for n in killed] == ["FAIL"] * len(killed)
    assert len(finished(after)) == 3  # the killed trial is not counted
    assert [t.number for t in after] == list(range(len(after)))


def test_pruning_stops_a_trial_that_is_behind(noisy, tmp_path):
    from senti.tuning import study
    from senti.tuning.search import tune

    train, test = noisy
    out = tmp_path / "study"
    out.mkdir()
    s = study.open_study(out)
    s.enqueue_trial({"lr": 0.03})  # learns in an epoch or two
    s.enqueue_trial({"lr": 1e-5})  # barely moves: behind after its first epoch
    result = tune(out, trials=2, startup_trials=1, space={"lr": {"type": "categorical", "choices": [0.03, 1e-5]}},
                  progress=False, report=False, train=str(train), test=str(test), model="gru", embedding_dim=16,
                  hidden_size=16, min_count=1, epochs=3, batch_size=16, max_length=32, patience=0)
    good, slow = trials_of(out)
    assert good.state.name == "COMPLETE" and len(good.user_attrs["curve"]) == 3
    assert slow.state.name == "PRUNED"
    assert len(slow.user_attrs["curve"]) == 1 < slow.user_attrs["epochs_planned"] == 3
    assert slow.user_attrs["curve"][0] < good.user_attrs["curve"][0]
    assert result.best_number == 0 and result.best_params == {"lr": 0.03}


@pytest.mark.parametrize(("space", "says"), [
    ("[hiden_size]\ntype = 'int'\nlow = 16\nhigh = 64\n", "no option 'hiden_size'"),
    ("[lr]\ntype = 'float'\nlow = 0.1\nhigh = 0.01\n", "[lr]: low must be below high"),
    ("[lr]\ntype = 'gaussian'\nlow = 0.001\nhigh = 0.1\n", "[lr]: type must be one of float, int, categorical"),
    ("[dropout]\ntype = 'float'\nlow = 0.0\nhigh = 0.5\nlog = true\n", "[dropout]: a log scale needs low > 0"),
    ("[hidden_size]\nchoices = []\n", "[hidden_size]: choices must be a non-empty list"),
    ("[lr\nlow = 1\n", "not valid TOML"),
])
def test_a_bad_search_space_file_is_a_clear_error(noisy, tmp_path, space, says):
    train, _ = noisy
    path = tmp_path / "space.toml"
    path.write_text(space)
    code, text = senti("tune", "--train", train, *GRU, "--trials", "2", "--space", path, "--output", tmp_path / "s")
    assert code == 1, text
    assert text.startswith(f"error: {path}:") and says in text, text
    assert not (tmp_path / "s" / "study.journal").exists()


def test_senti_tune_help_does_not_import_optuna():
    code = ("import contextlib, io, sys\nfrom senti.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
            "    main(['tune', '--help'])\nprint('optuna' in sys.modules, 'torch' in sys.modules)")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["False", "False"]


def test_a_stack_searches_its_members_parameters_and_is_stacked_from_their_best_runs(noisy, tmp_path):
    from senti.tuning.search import tune

    train, test = noisy
    space = tmp_path / "space.toml"
    space.write_text("[mingru.lr]\nchoices = [0.003, 0.03]\n\n[nbsvm3.C]\ntype = 'float'\nlow = 0.1\nhigh = 10.0\n")
    out = tmp_path / "study"
    result = tune(out, trials=2, space=space, progress=False, report=False, train=str(train), test=str(test),
                  model="mingru+nbsvm", embedding_dim=16, hidden_size=16, min_count=1, epochs=1, max_length=32)
    trials = trials_of(out)
    assert [t.state.name for t in trials] == ["COMPLETE", "COMPLETE"]
    assert set(trials[0].params) == {"mingru.lr", "nbsvm3.C"}
    assert [p.name for p in result.configs] == ["best-mingru.toml", "best-nbsvm3.toml"]
    from senti.config import load_toml

    assert load_toml(out / "best-nbsvm3.toml")["model"]["C"] == pytest.approx(result.best_params["nbsvm3.C"])
    assert load_toml(out / "best-mingru.toml")["train"]["lr"] == result.best_params["mingru.lr"]
    assert sorted(p.name for p in (out / "best" / "members").iterdir()) == ["mingru", "nbsvm3"]
    assert result.run.metrics["n"] > 0 and not (out / "trials").exists()


def test_a_stack_with_seeds_gets_its_second_network_in_the_final_model_only(noisy, tmp_path):
    """The default trains two networks on small data (``seeds``): the trials train one, the final stack both,
    the second with the first's best parameters and the next seed."""
    from senti.config import load_toml
    from senti.tuning.search import tune

    train, test = noisy
    space = tmp_path / "space.toml"
    space.write_text("[mingru.lr]\nchoices = [0.003, 0.03]\n\n[nbsvm3.C]\nchoices = [1.0]\n")
    out = tmp_path / "study"
    result = tune(out, trials=1, space=space, progress=False, report=False, train=str(train), test=str(test),
                  model={"preset": "mingru+nbsvm", "seeds": 2, "seeds_max_words": 10**6}, embedding_dim=16,
                  hidden_size=16, min_count=1, epochs=1, max_length=32)
    assert [p.name for p in result.configs] == ["best-mingru.toml", "best-nbsvm3.toml"]
    assert sorted(p.name for p in (out / "best" / "members").iterdir()) == ["mingru", "mingru@1", "nbsvm3"]
    second = json.loads((out / "best-members" / "mingru@1" / "config.json").read_text())
    assert second["train"]["seed"] == load_toml(out / "best-mingru.toml")["train"]["seed"] + 1
    assert second["train"]["lr"] == result.best_params["mingru.lr"]
    assert set(result.run.model.metadata["training"]["member_weights"]) == {"mingru", "mingru@1", "nbsvm3"}


def test_the_printed_commands_rebuild_a_stack_with_seeds(noisy, tmp_path):
    train, test = noisy
    (tmp_path / "c.toml").write_text('[model]\npreset = "mingru+nbsvm"\nseeds = 2\nseeds_max_words = 1000000\n'
                                     'refit = "none"\nembedding_dim = 16\nhidden_size = 16\n')
    (tmp_path / "space.toml").write_text("[mingru.lr]\nchoices = [0.003]\n\n[nbsvm3.C]\nchoices = [1.0]\n")
    out = tmp_path / "study"
    code, text = senti("tune", "--config", tmp_path / "c.toml", "--train", train, "--test", test, "--space",
                       tmp_path / "space.toml", "--trials", "1", "--epochs", "1", "--min-count", "1",
                       "--max-length", "32", "--output", out, "--no-report", "-q")
    assert code == 0, text
    assert f"senti train --config {out / 'best-mingru.toml'} --seed 1 --output RUN_MINGRU_1" in text
    assert "senti stack RUN_MINGRU RUN_NBSVM3 RUN_MINGRU_1 --refit none --output STACK_DIR" in text


def test_a_stack_does_not_search_its_members_cleaning():
    from senti.models.registry import resolve_preset
    from senti.tuning.space import default_space

    assert "negation_scope" in default_space(resolve_preset("nbsvm3")["model"])
    stack = default_space(resolve_preset("default")["model"])
    assert "nbsvm3.C" in stack and not any(k.endswith("negation_scope") for k in stack)

"""``tune()``: a hyper-parameter search with Optuna whose trials are ordinary ``senti.train`` runs.

Each trial trains on the study's training split and is scored on its validation split (the split ``senti
train`` makes for the same options: on IMDB grouped by movie); a network reports each epoch's validation
score to a median pruner, which stops it when it is behind the other trials at that epoch. The test split
is read only for the final model: the best parameters retrained on the same training split (``DIR/best``).
"""

from __future__ import annotations

import contextlib
import logging
import math
import multiprocessing
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from senti.config import SECTION_OF, RunConfig, TrainConfig, nest
from senti.data.datasets import DATASETS
from senti.errors import ConfigError, SentiError, TrainingError
from senti.models.registry import is_ensemble, is_neural
from senti.training.resolve import resolve_config, split_of
from senti.tuning import outputs
from senti.tuning import study as studies
from senti.tuning.space import (
    apply_params,
    check_space,
    default_space,
    describe,
    load_space,
    member_params,
    suggest,
)

log = logging.getLogger("senti")

METRICS = ("accuracy", "macro_f1")
# Settings that change how fast a study runs, not what it finds: a study continues with other values.
_FREE = {"train": ("num_threads", "device", "max_minutes", "checkpoint_every", "tensorboard")}


@dataclass
class TuneResult:
    """What ``tune()`` returns: the study, the best trial's number, value and parameters, the final run
    (None when no trial completed) and where everything was written."""

    study: Any
    best_number: int | None
    best_value: float | None
    best_params: dict[str, Any]
    run: Any
    folder: Path
    configs: list[Path]  # best.toml, or a stack's best-MEMBER.toml files


def tune(output: str | Path, *, trials: int, metric: str = "accuracy", jobs: int = 1, timeout: float | None = None,
         space: str | Path | dict[str, Any] | None = None, progress: bool = True, startup_trials: int = 5,
         report: bool = True, **options: Any) -> TuneResult:
    """Run (or continue) the study in ``output`` until it holds ``trials`` finished trials (complete or pruned)
    or ``timeout`` seconds have passed; then write trials.csv, best.toml, best/ and report.html. ``options``
    are ``senti.train``'s (``dataset="sst2"``, ``model="nbsvm"``, ``max_train_samples=…``)."""
    try:
        import optuna  # noqa: F401
    except ModuleNotFoundError as e:
        raise ModuleNotFoundError(f"{e} (senti tune needs it: pip install 'senti[tune]')", name=e.name) from None
    if metric not in METRICS:
        raise ConfigError(f"--metric must be one of {', '.join(METRICS)}, got {metric!r}")
    if not isinstance(trials, int) or trials < 1:
        raise ConfigError(f"--trials must be a whole number ≥ 1, got {trials!r}")
    if not isinstance(jobs, int) or jobs < 1:
        raise ConfigError(f"--jobs must be a whole number ≥ 1, got {jobs!r}")
    if timeout is not None and not timeout > 0:
        raise ConfigError(f"--timeout must be a number of seconds > 0, got {timeout!r}")
    cfg = base_config(options, metric)
    searched = load_space(space, cfg.model) if isinstance(space, (str, Path)) else (
        check_space(space, cfg.model) if space is not None else default_space(cfg.model))
    folder = Path(output)
    base = cfg.to_dict()
    signature = {"preset": cfg.preset, "metric": metric, "split": split_of(cfg), "space": searched,
                 "config": {s: {k: v for k, v in base[s].items() if k not in _FREE.get(s, ())}
                            for s in ("clean", "vocab", "model", "train")}}
    with studies.owned(folder):
        study = studies.open_study(folder, startup_trials=startup_trials)
        studies.check_same_study(folder, signature, len(study.get_trials(deepcopy=False)))
        stale = studies.fail_stale(study)
        if stale:
            log.info("tune: trial(s) %s were running when their process was killed: marked failed, not counted",
                     stale)
        log.info("tune: %s on %s, %s on validation; %d of %d trials done; searching\n%s", cfg.preset,
                 cfg.data.dataset or cfg.data.train, metric, studies.counted(study), trials, describe(searched))
        deadline = time.time() + timeout if timeout else None
        job = {"folder": str(folder), "base": base, "space": searched, "metric": metric, "wanted": trials,
               "deadline": deadline, "startup_trials": startup_trials}
        with outputs.Progress(study, trials, metric, enabled=progress) as bar:
            if jobs == 1:
                run_trials(job, on_trial=bar.update)
            else:
                _run_workers(job, jobs, bar)
        return outputs.finish(study, folder, base, metric, progress=progress, report=report)


def base_config(options: dict[str, Any], metric: str) -> RunConfig:
    """The run config every trial starts from: the user's options resolved as ``senti train`` resolves them,
    with early stopping watching the study's metric, and validation grouped when the dataset has groups."""
    cfg = resolve_config(nest(options))
    spec = DATASETS.get(cfg.data.dataset or "")
    if spec is not None and spec.group and cfg.data.group_column is None and not cfg.data.valid:
        cfg.data.group_column = "group"
        log.info("tune: the validation split keeps each %s's texts on one side (%s's grouping)", spec.group,
                 spec.name)
    cfg.train.monitor = f"val_{metric}"
    return cfg


def run_trials(job: dict[str, Any], on_trial: Callable[[], None] | None = None, threads: int | None = None) -> None:
    """Ask for trials and train them until the study holds ``wanted`` or the deadline passes (one process's
    loop; several may run it on one study)."""
    from senti.data.splits import load_splits

    folder = Path(job["folder"])
    study = studies.open_study(folder, seed_offset=job.get("worker", 0), startup_trials=job["startup_trials"])
    cfg = RunConfig.from_dict(job["base"])
    if threads is not None and cfg.train.num_threads is None:
        job["base"]["train"]["num_threads"] = threads
    train_df, valid_df, _ = load_splits(cfg)  # once per process; the test split is not looked at
    while job["deadline"] is None or time.time() < job["deadline"]:
        with studies.asking(folder):
            if studies.counted(study) >= job["wanted"]:
                return
            trial = study.ask()
        run_trial(study, trial, job, train_df, valid_df)
        if on_trial is not None:
            on_trial()


def run_trial(study: Any, trial: Any, job: dict[str, Any], train_df: Any, valid_df: Any) -> None:
    """Train one trial's run and tell the study how it ended (complete, pruned, or failed)."""
    import optuna
    from optuna.trial import TrialState

    from senti.training.run import train

    params = suggest(trial, job["space"])
    metric = job["metric"]
    t0 = time.perf_counter()
    try:
        if is_ensemble(job["base"]["model"]):
            run = _stack_trial(trial, job, params, train_df, valid_df)
        else:
            options = trial_options(apply_params(job["base"], params))
            trial.set_user_attr("epochs_planned", options["epochs"])
            with epoch_reports(trial, metric), _quiet():
                run = train(None, progress=False, report=False, train=train_df, valid=valid_df, **options)
    except optuna.TrialPruned:
        trial.set_user_attr("seconds", time.perf_counter() - t0)
        study.tell(trial, state=TrialState.PRUNED)
        curve = trial.user_attrs.get("curve") or []
        log.info("trial %d pruned after epoch %d (%s %.4f)", trial.number, len(curve), metric,
                 curve[-1] if curve else float("nan"))
        return
    except TrainingError as e:  # a diverging learning rate: this point fails, the search goes on
        trial.set_user_attr("error", str(e))
        study.tell(trial, state=TrialState.FAIL)
        log.warning("trial %d failed: %s", trial.number, e)
        return
    except BaseException:
        study.tell(trial, state=TrialState.FAIL)
        raise
    trial.set_user_attr("seconds", time.perf_counter() - t0)
    if not is_ensemble(job["base"]["model"]):  # a stack's curve is its first network's (set while it trained)
        trial.set_user_attr("curve", [row[f"val_{metric}"] for row in run.history])
    trial.set_user_attr("best_epoch", run.validation["epoch"])
    value = run.validation[metric]
    if value is None or math.isnan(value):
        study.tell(trial, state=TrialState.FAIL)
    else:
        study.tell(trial, value)
        log.info("trial %d: %s %.4f at epoch %s, %s", trial.number, metric, value, run.validation["epoch"],
                 ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items()))


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """A trial's own logs (data, epochs) would drown the progress bar: only its warnings show."""
    logger = logging.getLogger("senti")
    level = logger.level
    logger.setLevel(max(logging.WARNING, level))
    try:
        yield
    finally:
        logger.setLevel(level)


def member_configs(base: dict[str, Any], params: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A stack's members' run configs (as ``senti train`` would train them in the stack) with their parameters."""
    from senti.training.resolve import member_config

    cfg = RunConfig.from_dict(base)
    return {m: apply_params(member_config(cfg, m).to_dict(), member_params(params, m)) for m in cfg.model["members"]}


def _stack_trial(trial: Any, job: dict[str, Any], params: dict[str, Any], train_df: Any, valid_df: Any) -> Any:
    """A stack's trial: each member trained with its parameters (its own run, in a scratch folder), then stacked
    as ``senti stack`` stacks them; the score is the stacker's on validation. The first network reports its
    epochs to the pruner."""
    from senti.training.run import stack, train

    folder = Path(job["folder"]) / "trials" / f"trial-{trial.number}"
    shutil.rmtree(folder, ignore_errors=True)
    reporting = True
    try:
        for member, config in member_configs(job["base"], params).items():
            watch = reporting and is_neural(config["model"])
            if watch:
                trial.set_user_attr("epochs_planned", config["train"]["epochs"])
                reporting = False
            with epoch_reports(trial, job["metric"]) if watch else contextlib.nullcontext(), _quiet():
                train(folder / member, progress=False, report=False, train=train_df, valid=valid_df,
                      **trial_options(config))
        with _quiet():
            return stack([folder / m for m in job["base"]["model"]["members"]], folder / "stack", refit="none",
                         progress=False, report=False)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        with contextlib.suppress(OSError):
            folder.parent.rmdir()  # when no other worker's trial is in it


def trial_options(config: dict[str, Any]) -> dict[str, Any]:
    """``senti.train`` keywords for a trial: the config's sections, the training settings as flat options (the
    ``train`` keyword carries the DataFrame), no data section (the frames are the split), no calibration
    (it never changes a prediction)."""
    out: dict[str, Any] = {"preset": config["preset"], "clean": config["clean"], "vocab": config["vocab"],
                           "model": config["model"]}
    defaults = TrainConfig()
    for key, value in config["train"].items():
        if value is None:
            continue
        if SECTION_OF.get(key) == "train":
            out[key] = value
        elif value != getattr(defaults, key, None):  # no flat name: only its default can reach the trial
            raise ConfigError(f"train.{key} = {value!r} cannot be set for a senti tune trial")
    out.update(calibrate=False, tensorboard=False)
    return out


@contextlib.contextmanager
def epoch_reports(trial: Any, metric: str) -> Iterator[None]:
    """While a trial trains, each epoch's validation score goes to the study; the pruner may stop it there."""
    import optuna

    from senti.training.network import EPOCH_END_HOOKS

    def report(state: Any) -> None:
        curve = [row[f"val_{metric}"] for row in state.history]
        trial.set_user_attr("curve", curve)
        trial.report(curve[-1], step=len(curve))
        if trial.should_prune():
            raise optuna.TrialPruned()

    EPOCH_END_HOOKS.append(report)
    try:
        yield
    finally:
        EPOCH_END_HOOKS.remove(report)


def _worker(job: dict[str, Any], threads: int, errors: Any) -> None:
    """One of ``--jobs`` processes: quiet, its share of the CPU threads."""
    logging.basicConfig(level=logging.WARNING, format="senti: %(message)s", force=True)
    try:
        run_trials(job, threads=threads)
    except KeyboardInterrupt:
        pass
    except BaseException as e:
        errors.put((isinstance(e, SentiError), f"{type(e).__name__}: {e}" if not isinstance(e, SentiError)
                    else str(e)))
        raise


def _run_workers(job: dict[str, Any], jobs: int, bar: Any) -> None:
    """``--jobs J``: J processes, each running :func:`run_trials` on the same journal; this one draws the bar."""
    ctx = multiprocessing.get_context("spawn")  # a fresh interpreter: no forked torch threads
    errors = ctx.Queue()
    threads = max(1, (os.cpu_count() or 1) // jobs)
    procs = [ctx.Process(target=_worker, args=({**job, "worker": i + 1}, threads, errors), daemon=True)
             for i in range(jobs)]
    for p in procs:
        p.start()
    try:
        while any(p.is_alive() for p in procs):
            time.sleep(1.0)
            bar.update()
    finally:
        for p in procs:
            if p.is_alive():
                p.terminate()
            p.join()
    bar.update()
    if not errors.empty():
        user, message = errors.get()
        raise (ConfigError if user else TrainingError)(message)
    failed = [p.exitcode for p in procs if p.exitcode]
    if failed:
        raise TrainingError(f"{len(failed)} tuning worker(s) ended with status {failed}")

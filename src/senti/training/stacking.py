"""Stacking: an ensemble's members trained (or gathered from finished runs), a logistic regression fitted on
their log-probabilities over the validation split, and the n-gram members refitted on train + validation."""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from senti.config import RunConfig
from senti.data.datasets import get_spec
from senti.errors import ConfigError, DataError
from senti.evaluation.metrics import classification_metrics
from senti.io import read_json
from senti.models.registry import build_model, full_model_config, is_neural, resolve_preset
from senti.pipeline import SentimentModel
from senti.training.resolve import member_config, split_of, stack_config
from senti.training.rundir import write_run_files
from senti.training.trainer import TrainState, checkpoint_path, validation_row

log = logging.getLogger("senti")

# Trains one member as a run of its own: (config, its run directory or None, resume?) -> the finished Run.
TrainMember = Callable[[RunConfig, Path | None, bool], Any]


MIN_STACK_EXAMPLES = 2  # per class in the validation split: the stacker's scores come from a cross-validation


def check_stackable(valid_df: pd.DataFrame, labels: list[str]) -> None:
    """The stacker is fitted and cross-validated on the validation split: refuse, before any member trains, a
    split with fewer than two examples of a class."""
    counts = valid_df["label"].value_counts()
    few = {label: int(counts.get(label, 0)) for label in labels if counts.get(label, 0) < MIN_STACK_EXAMPLES}
    if few:
        shown = ", ".join(f"{label!r} ({n})" for label, n in few.items())
        raise DataError(f"stacking fits its combiner on the validation split, which needs at least "
                        f"{MIN_STACK_EXAMPLES} examples of each class; it has {shown}. Give more examples of "
                        "them, a larger --valid-fraction, or a validation file with --valid")


def train_ensemble(cfg: RunConfig, run_dir: Path | None, resume: bool, labels: list[str], train_df: pd.DataFrame,
                   valid_df: pd.DataFrame, test_df: pd.DataFrame | None, t0: float, train_member: TrainMember
                   ) -> tuple[SentimentModel, TrainState, tuple[np.ndarray, float] | None, np.ndarray]:
    """Train each member as a run of its own (same data, split and seed) under RUN_DIR/members/NAME, then
    fit the stacker on the validation split, which no member trained on; then refit the n-gram members on
    train + validation (``refit``). Returns the model, its one-row history, its test probabilities and its
    cross-validated probabilities on the validation split (what the stack's temperature is fitted on: scored
    again, the validation texts would meet a stacker fitted on them and, after a refit, members trained on
    them, and look surer than unseen text ever is)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_predict

    _warn_if_items_span_the_split(cfg)
    cfg.model = full_model_config({**cfg.model, "num_classes": len(labels)})
    if not resume:  # a resumed run's config already names the members it trains
        cfg.model["members"] = members_with_seeds(cfg.model, train_df["text"])
        write_run_files(run_dir, cfg)
    net = build_model(cfg.model)
    member_metrics = {}
    for name in net.config.members:
        member_dir = run_dir / "members" / name if run_dir is not None else None
        if member_dir is not None and (member_dir / "model" / "senti-model.json").is_file():
            log.info("ensemble: member %s already trained in %s", name, member_dir)
            member = SentimentModel.load(member_dir, runtime="torch")
            metrics = read_json(member_dir / "metrics.json") if (member_dir / "metrics.json").is_file() else None
        else:
            log.info("ensemble: training member %s", name)
            if member_dir is not None and checkpoint_path(member_dir).is_file():
                run = train_member(RunConfig.from_dict(read_json(member_dir / "config.json")), member_dir, True)
            else:
                run = train_member(member_config(cfg, name), member_dir, False)
            member, metrics = run.model, run.metrics
        # The stacker reads raw member probabilities, as the ensemble's scorer does once saved (member
        # scorers apply no temperature); the stack gets its own calibration at the end of the run.
        member.metadata.pop("calibration", None)
        net.members[name] = member
        member_metrics[name] = {k: metrics[k] for k in ("accuracy", "macro_f1")} if metrics else None
    index = {lab: i for i, lab in enumerate(labels)}
    valid_y = valid_df["label"].map(index).to_numpy()
    t_fit = time.perf_counter()
    features = net.features(valid_df["text"].tolist())
    # The stacker is fitted on the validation split, so its scores there are measured by cross-validation.
    proba = cross_val_predict(LogisticRegression(C=net.config.C, max_iter=1000), features, valid_y,
                              cv=min(5, int(np.bincount(valid_y).min())), method="predict_proba")
    net.fit_features(features, valid_y)
    row = {"epoch": 1, **validation_row(valid_y, proba, len(labels)), "elapsed_s": time.perf_counter() - t_fit}
    state = TrainState(epoch=1, elapsed=time.perf_counter() - t0, best_epoch=1, best=row["val_accuracy"])
    state.history = [row]
    weights = net.member_weights()
    log.info("ensemble: stacker fitted on %d validation texts, cross-validated accuracy %.4f; member weights %s",
             len(valid_y), row["val_accuracy"], {k: round(v, 2) for k, v in weights.items()})
    refitted = _refit_members(net, pd.concat([train_df, valid_df], ignore_index=True))
    state.elapsed = time.perf_counter() - t0
    scored = None
    if test_df is not None:
        # One pass over the test texts gives the stack's probabilities and each member's own (the members
        # trained without the test set, so none scored it before).
        t_eval = time.perf_counter()
        test_features = net.features(test_df["text"].tolist())
        scored = (net.combine(test_features), time.perf_counter() - t_eval)
        k = len(labels)
        for i, name in enumerate(net.config.members):
            member = net.members[name]
            pred = member.classes_[test_features[:, i * k:(i + 1) * k].argmax(1)]
            m = classification_metrics(test_df["label"].tolist(), list(pred), member.labels)
            member.metadata["metrics"] = {key: m[key] for key in ("accuracy", "macro_f1", "n")}
            member_metrics[name] = {key: m[key] for key in ("accuracy", "macro_f1")}
            if name in refitted:
                refitted[name]["test_accuracy"] = m["accuracy"]
            log.info("ensemble: member %s%s, test accuracy %.4f", name, " refitted" if name in refitted else "",
                     m["accuracy"])
    model = SentimentModel.from_parts(net, None, labels, cfg.clean, cfg.vocab, cfg.model,
                                      {"training": {"preset": cfg.preset, "dataset": cfg.data.dataset or cfg.data.train,
                                                    "members": member_metrics, "member_weights": weights,
                                                    "refitted": refitted}})
    return model, state, scored, proba


def members_with_seeds(model: dict[str, Any], texts: pd.Series) -> list[str]:
    """The stack's members, each neural one repeated with other seeds (``PRESET@K``) when the training texts
    are small enough (``seeds`` and ``seeds_max_words`` in :class:`senti.models.ensemble.EnsembleConfig`)."""
    members, seeds, limit = list(model["members"]), model.get("seeds", 1), model.get("seeds_max_words", 0)
    if seeds <= 1 or any("@" in m for m in members):  # members named with their seeds are taken as they are
        return members
    words = int(texts.str.count(r"\S+").sum())
    if words > limit:
        log.info("ensemble: %s words of training text (over %s): one network per neural member", f"{words:,}",
                 f"{limit:,}")
        return members
    out = []
    for m in members:
        out += [m, *(f"{m}@{k}" for k in range(1, seeds) if is_neural(resolve_preset(m)["model"]))]
    log.info("ensemble: %s words of training text (at most %s): each network trains with %d seeds, members %s",
             f"{words:,}", f"{limit:,}", seeds, out)
    return out


def _refit_members(net: Any, data: pd.DataFrame) -> dict[str, Any]:
    """Train the n-gram members again on ``data`` (train + validation) once the stacker is fitted; the bundle
    keeps these, RUN_DIR/members/NAME keeps the member as the stacker saw it.

    Why: the validation split is 10 % more labelled text, and an n-gram model learns from every rare phrase it
    sees, so the refitted member is a little stronger on unseen text (bench/results has the figures). The
    stacker's weights stay those learned from the members trained without validation, which are slightly weaker
    on unseen text than the refitted ones: the stack then trusts the n-gram model a little less than it could,
    never more. Networks are not refitted: a second training is another draw, whose epoch count validation
    could no longer check.
    """
    if net.config.refit == "none":
        return {}
    done = {}
    for name, member in net.members.items():
        if is_neural(member.model_config):
            continue
        t = time.perf_counter()
        index = {lab: i for i, lab in enumerate(member.labels)}
        fresh = build_model(member.model_config)
        fresh.fit([member.tokens(text) for text in data["text"]], data["label"].map(index).to_numpy())
        refit = {"texts": len(data), "of": "train + validation"}
        refitted = SentimentModel.from_parts(fresh, None, member.labels, member.clean_config, member.vocab_config,
                                             {**member.model_config, "vocab_size": fresh.config.vocab_size},
                                             {**member.metadata, "refit": refit})
        done[name] = {"texts": len(data), "seconds": round(time.perf_counter() - t, 1)}
        net.members[name] = refitted
        log.info("ensemble: member %s refitted on %d texts (train + validation) in %.1fs", name, len(data),
                 done[name]["seconds"])
    return done


def _warn_if_items_span_the_split(cfg: RunConfig) -> None:
    """The stacker learns how far to trust each member from the validation split. When a dataset's texts come
    in groups (IMDB: up to 30 reviews per movie) and the split is random, a member that memorises the items
    looks better there than it is on unseen ones, and the stacker over-trusts it."""
    d = cfg.data
    if d.dataset and get_spec(d.dataset).group and not d.group_column and not d.valid:
        log.warning("ensemble: %s groups its texts (by %s) and this validation split is random, so it shares items "
                    "with training and the stacker over-trusts members that memorise them; --group-column group "
                    "keeps each item on one side, as the test split does", d.dataset, get_spec(d.dataset).group)


def gather_runs(runs: list[Path], refit: str) -> RunConfig:
    """The ensemble config for stacking finished runs, after checking that they can be stacked: finished, with
    distinct names, trained on the same data and validation split."""
    if len(runs) < 2:
        raise ConfigError("stacking needs at least two runs")
    configs = []
    for r in runs:
        if not (r / "config.json").is_file() or not (r / "model" / "senti-model.json").is_file():
            raise DataError(f"{r}: not a finished senti run (config.json and model/ are needed)")
        configs.append(RunConfig.from_dict(read_json(r / "config.json")))
    names = [r.name for r in runs]
    if len(set(names)) != len(names):
        raise ConfigError(f"runs to stack need distinct folder names, got {names}")
    for r, c in zip(runs[1:], configs[1:], strict=True):
        if split_of(c) != split_of(configs[0]):
            raise DataError(f"{r} did not train on the same data and validation split as {runs[0]}: "
                             f"{split_of(c)} vs {split_of(configs[0])}; the stacker would fit on texts a member saw")
    return stack_config(configs[0], names, refit)


def copy_members(runs: list[Path], out: Path) -> None:
    """The stacked runs, as they are (without their checkpoints), become OUT/members/NAME."""
    for r in runs:
        target = out / "members" / r.name
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(r, target, ignore=shutil.ignore_patterns("checkpoints"))

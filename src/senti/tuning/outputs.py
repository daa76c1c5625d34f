"""What a study leaves in its folder: trials.csv, best.toml, best/ (the final run), report.html; the progress
bar while it runs, and the table of ``senti tune --show``."""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import pandas as pd

from senti.io import atomic_write, atomic_write_text, write_json
from senti.models.registry import is_ensemble
from senti.tuning.space import decode

log = logging.getLogger("senti")


class Progress:
    """A bar of finished trials (complete or pruned) out of those wanted, with the best score so far; it reads
    the study, so it also follows trials other worker processes finish."""

    def __init__(self, study: Any, wanted: int, metric: str, enabled: bool = True):
        self.study, self.wanted, self.metric, self.enabled = study, wanted, metric, enabled
        self.bar: Any = None

    def __enter__(self) -> Progress:
        from tqdm.auto import tqdm

        self.bar = tqdm(total=self.wanted, desc="trials", unit="trial", disable=not self.enabled, leave=True,
                        dynamic_ncols=True)
        self.update()
        return self

    def update(self) -> None:
        from optuna.trial import TrialState

        trials = self.study.get_trials(deepcopy=False)
        done = sum(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in trials)
        values = [t.value for t in trials if t.state == TrialState.COMPLETE and t.value is not None]
        pruned = sum(t.state == TrialState.PRUNED for t in trials)
        self.bar.n = min(done, self.wanted)
        self.bar.set_postfix({f"best {self.metric}": f"{max(values):.4f}" if values else "-", "pruned": pruned},
                             refresh=False)
        self.bar.refresh()

    def __exit__(self, *exc: Any) -> None:
        self.bar.close()


def trials_frame(study: Any) -> pd.DataFrame:
    """One row per trial: number, state, value, parameters, the validation score of each epoch, seconds."""
    rows = []
    for t in study.get_trials(deepcopy=False):
        row: dict[str, Any] = {"number": t.number, "state": t.state.name.lower(), "value": t.value}
        row.update({f"param_{k}": decode(v) for k, v in t.params.items()})
        curve = t.user_attrs.get("curve") or [t.intermediate_values[k] for k in sorted(t.intermediate_values)]
        row.update({f"epoch_{i + 1}": v for i, v in enumerate(curve)})
        seconds = t.user_attrs.get("seconds")
        if seconds is None and t.datetime_complete and t.datetime_start:
            seconds = (t.datetime_complete - t.datetime_start).total_seconds()
        row["seconds"] = seconds
        rows.append(row)
    df = pd.DataFrame(rows)
    if not df.empty:  # epochs after the parameters, whatever order the trials introduced them in
        epochs = sorted((c for c in df.columns if c.startswith("epoch_")), key=lambda c: int(c[6:]))
        df = df[[c for c in df.columns if not c.startswith("epoch_") and c != "seconds"] + epochs + ["seconds"]]
    return df


def finish(study: Any, folder: Path, base: dict[str, Any], metric: str, progress: bool, report: bool) -> Any:
    """trials.csv; then, when a trial completed: best.toml, best/ (retrained unless it already holds this
    trial's run) and report.html."""
    from optuna.trial import TrialState

    from senti.tuning.search import TuneResult
    from senti.tuning.space import apply_params

    df = trials_frame(study)
    atomic_write(folder / "trials.csv", lambda tmp: df.to_csv(tmp, index=False))
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not complete:
        log.warning("tune: no trial completed yet; nothing to retrain (trials.csv written)")
        return TuneResult(study, None, None, {}, None, folder, [])
    best = study.best_trial
    params = {k: decode(v) for k, v in best.params.items()}
    if is_ensemble(base["model"]):  # one config per member: a stack's run config cannot hold its members' own
        from senti.tuning.search import member_configs

        configs = {f"best-{m}.toml": c for m, c in member_configs(base, params).items()}
    else:
        configs = {"best.toml": apply_params(base, params)}
    for name, config in configs.items():
        write_toml(folder / name, config, f"senti tune: trial {best.number}, validation {metric} "
                   f"{best.value:.4f}; train it with: senti train --config {name} --output RUN_DIR")
    run = _final_run(folder, best.number, progress, [folder / name for name in configs], base["model"], report)
    if report:
        from senti.tuning.report import write_tune_report

        log.info("report: %s", write_tune_report(folder, study, metric, run))
    return TuneResult(study, best.number, best.value, params, run, folder, [folder / name for name in configs])


def _final_run(folder: Path, number: int, progress: bool, configs: list[Path], model: dict[str, Any],
               report: bool) -> Any:
    """DIR/best: best.toml trained as ``senti train --config`` trains it, on the training split only (the
    validation split stays out, as in the trials: early stopping and calibration use it); the test split is
    scored here, once. A stack: each member's best-MEMBER.toml trained into DIR/best-members/MEMBER (each scores
    the test split too, as a member run does; nothing is chosen on it), then stacked into DIR/best. Kept when
    it already holds this trial's run."""
    import json

    from senti.training.run import Run, stack, train

    marker = folder / "best.json"
    if marker.is_file() and json.loads(marker.read_text()).get("trial") == number \
            and (folder / "best" / "model").is_dir():
        log.info("best/: already holds trial %d's run", number)
        from senti.config import RunConfig
        from senti.io import read_json
        from senti.pipeline import SentimentModel

        best = folder / "best"
        metrics = read_json(best / "metrics.json") if (best / "metrics.json").is_file() else None
        history = read_json(best / "history.json") if (best / "history.json").is_file() else []
        return Run(SentimentModel.load(best / "model"), history, metrics, best,
                   RunConfig.from_dict(read_json(best / "config.json")))
    log.info("best/: retraining trial %d's parameters on the training split (validation held out as in the "
             "trials); the test split is scored once, for this model only", number)
    if is_ensemble(model):
        members = [folder / "best-members" / p.stem[5:] for p in configs]  # best-MEMBER.toml → MEMBER
        for path, member in zip(configs, members, strict=True):
            train(member, overwrite=True, progress=progress, report=False, config=str(path))
        members += _more_seeds(folder, configs, model, progress)
        run = stack(members, folder / "best", overwrite=True, refit=model.get("refit", "linear"), progress=progress,
                    report=report)
    else:
        run = train(folder / "best", overwrite=True, progress=progress, report=report, config=str(configs[0]))
    write_json(marker, {"trial": number, "metrics": run.metrics})
    return run


def _more_seeds(folder: Path, configs: list[Path], model: dict[str, Any], progress: bool) -> list[Path]:
    """A stack with ``seeds`` (the ``default``) trains each network several times on small data; the trials
    trained one (at half the cost), the final stack trains the others as ``senti train`` would: the network's
    best parameters, seed + K, into DIR/best-members/PRESET@K."""
    if model.get("seeds", 1) <= 1:
        return []
    from senti.config import RunConfig, load_toml
    from senti.data.splits import load_splits
    from senti.training.run import train
    from senti.training.stacking import members_with_seeds

    names = [p.stem[5:] for p in configs]  # best-MEMBER.toml → MEMBER
    first = load_toml(configs[0])
    train_df = load_splits(RunConfig.from_dict(first))[0]
    out = []
    for name in members_with_seeds({**model, "members": names}, train_df["text"]):
        if name in names:
            continue
        preset, _, k = name.partition("@")
        path = folder / f"best-{preset}.toml"
        log.info("best/: %s, the best %s parameters with seed + %s (the stack's seeds)", name, preset, k)
        train(folder / "best-members" / name, overwrite=True, progress=progress, report=False, config=str(path),
              seed=load_toml(path)["train"]["seed"] + int(k))
        out.append(folder / "best-members" / name)
    return out


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v) if math.isfinite(v) else ("nan" if math.isnan(v) else "inf" if v > 0 else "-inf")
    if isinstance(v, str):
        import json

        return json.dumps(v, ensure_ascii=False)  # a TOML basic string: JSON's escapes are TOML's
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_toml_key(k)} = {_toml_value(x)}" for k, x in v.items() if x is not None) + "}"
    raise TypeError(f"no TOML form for {v!r}")


def _toml_key(k: str) -> str:
    import json
    import re

    return k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else json.dumps(k)


def write_toml(path: Path, config: dict[str, Any], comment: str) -> Path:
    """A complete run config as TOML, the form ``senti train --config`` reads (options left unset omitted)."""
    lines = [f"# {comment}", f"preset = {_toml_value(config['preset'])}"]
    for section in ("data", "clean", "vocab", "model", "train"):
        lines += ["", f"[{section}]"]
        lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in config[section].items() if v is not None]
    atomic_write_text(path, "\n".join(lines) + "\n")
    return path


def show(folder: str | Path, top: int = 10) -> str:
    """``senti tune --show``: the study, its best parameters and its top trials as a table."""
    from senti.evaluation.report import markdown_table
    from senti.tuning import study as studies

    folder = Path(folder)
    sig = studies.read_signature(folder)
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(study_name=studies.STUDY_NAME, storage=studies.storage(folder))
    df = trials_frame(study)
    metric = sig["metric"]
    counts = df["state"].value_counts().to_dict() if not df.empty else {}
    out = [f"study {folder}: {sig['preset']}, validation {metric}; "
           + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) if counts else f"study {folder}: no trials"]
    done = df[df["state"] == "complete"].sort_values("value", ascending=False) if not df.empty else df
    if done.empty:
        return "\n".join([*out, "no trial completed yet"]) + "\n"
    best = done.iloc[0]
    params = {c[6:]: best[c] for c in done.columns if c.startswith("param_")}
    out += ["", f"best: trial {int(best['number'])}, {metric} {best['value']:.4f}"]
    out += [f"  {k} = {_fmt(v)}" for k, v in params.items()]
    epochs = [c for c in done.columns if c.startswith("epoch_")]
    table = done.head(top).copy()
    table.insert(2, "epochs", table[epochs].notna().sum(axis=1) if epochs else 1)
    table = table.drop(columns=epochs).rename(columns={"value": metric, **{f"param_{k}": k for k in params}})
    table["number"] = table["number"].astype(int)
    for c in table.columns:
        if table[c].dtype == object:
            table[c] = table[c].map(_fmt)
        elif c not in ("number", "epochs") and pd.api.types.is_float_dtype(table[c]):
            table[c] = table[c].map(("{:.4f}" if c == metric else "{:.4g}").format)
    out += ["", f"top {len(table)} of {len(done)} complete trials:", markdown_table(table)]
    return "\n".join(out)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)

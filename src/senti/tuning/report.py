"""``DIR/report.html`` of a study: the optimisation history, the parameters' importances and the trials'
per-epoch validation curves (the best one drawn over the others), as matplotlib PNGs embedded in one page;
and the time pruning saved."""

from __future__ import annotations

import html
import logging
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from senti.evaluation.report import _img, _page, _table
from senti.io import atomic_write, atomic_write_text
from senti.tuning.outputs import trials_frame

log = logging.getLogger("senti")


def importances(study: Any) -> dict[str, float]:
    """Optuna's importances of the parameters (its default evaluator) over the complete trials ({}: too few)."""
    import optuna

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "importances will be equal" when every trial scored the same
            return dict(optuna.importance.get_param_importances(study))
    except (RuntimeError, ValueError, ZeroDivisionError) as e:  # fewer than two trials, a constant parameter
        log.info("report: no parameter importances (%s)", e)
        return {}


def pruning_savings(study: Any) -> dict[str, float]:
    """Training time the pruner saved, estimated: each pruned trial's epochs it did not run, at the seconds
    per epoch it ran at."""
    from optuna.trial import TrialState

    saved, pruned = 0.0, 0
    for t in study.get_trials(deepcopy=False, states=(TrialState.PRUNED,)):
        ran = len(t.user_attrs.get("curve") or t.intermediate_values)
        planned = t.params.get("epochs") or t.user_attrs.get("epochs_planned")
        seconds = t.user_attrs.get("seconds")
        if ran and planned and seconds:
            saved += (int(planned) - ran) * seconds / ran
        pruned += 1
    return {"pruned_trials": pruned, "seconds_saved": saved}


def _figures(folder: Path, study: Any, metric: str) -> dict[str, Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    df = trials_frame(study)
    figs: dict[str, Path] = {}

    def save(fig: Any, name: str) -> None:
        path = folder / "figures" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", bbox_inches="tight", dpi=110))
        plt.close(fig)
        figs[name] = path

    epochs = sorted((c for c in df.columns if c.startswith("epoch_")), key=lambda c: int(c[6:]))
    # Optimisation history: each trial's score, pruned ones at their last epoch's, and the best so far.
    fig, ax = plt.subplots(figsize=(7.5, 3.6))
    done = df[df["state"] == "complete"]
    ax.scatter(done["number"], done["value"], s=22, color="#2a9d8f", label="complete", zorder=3)
    pruned = df[df["state"] == "pruned"]
    if len(pruned) and epochs:
        last = pruned[epochs].ffill(axis=1).iloc[:, -1]
        ax.scatter(pruned["number"], last, s=22, marker="x", color="#e76f51", label="pruned (last epoch)", zorder=3)
    if len(done):
        order = done.sort_values("number")
        ax.step(order["number"], np.maximum.accumulate(order["value"].to_numpy()), where="post", color="#264653",
                label="best so far")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("trial")
    ax.set_ylabel(f"validation {metric}")
    ax.legend(loc="best", fontsize=8)
    ax.set_title("Optimisation history")
    save(fig, "history.png")
    imp = importances(study)
    if imp:
        fig, ax = plt.subplots(figsize=(6.5, 0.45 * len(imp) + 1.0))
        names = list(imp)[::-1]
        ax.barh(names, [imp[n] for n in names], color="#457b9d")
        ax.set_xlabel("importance (optuna's default evaluator)")
        ax.set_title("Parameter importances")
        save(fig, "importances.png")
    if epochs and len(df):
        fig, ax = plt.subplots(figsize=(7.5, 3.6))
        x = np.arange(1, len(epochs) + 1)
        for _, row in df.iterrows():
            ax.plot(x, row[epochs].to_numpy(dtype=float), color="#bbb", lw=0.8, marker=".", ms=3)
        if len(done):
            best = done.loc[done["value"].idxmax()]
            ax.plot(x, best[epochs].to_numpy(dtype=float), color="#e63946", lw=2, marker="o",
                    label=f"best (trial {int(best['number'])})")
            ax.legend(loc="best", fontsize=8)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epoch")
        ax.set_ylabel(f"validation {metric}")
        ax.set_title("Validation curves of the trials")
        save(fig, "curves.png")
    return figs


def write_tune_report(folder: Path, study: Any, metric: str, run: Any) -> Path:
    df = trials_frame(study)
    figs = _figures(folder, study, metric)
    counts = df["state"].value_counts().to_dict()
    best = study.best_trial
    saved = pruning_savings(study)
    cards = [(f"{best.value:.4f}", f"best validation {metric} (trial {best.number})")]
    if run is not None and run.metrics:
        cards.append((f"{run.metrics[metric]:.4f}", f"test {metric} of best/ (scored once)"))
    cards += [(str(counts.get(s, 0)), f"trials {s}") for s in ("complete", "pruned", "fail")]
    cards.append((f"{saved['seconds_saved']:.0f} s", "training time pruning saved (est.)"))
    body = [f"<h1>senti tune: {html.escape(folder.name)}</h1><p class='sub'>the best parameters, chosen on "
            "validation; best/ is them retrained on the training split</p><div class='cards'>"
            + "".join(f"<div class='card'><b>{html.escape(v)}</b><span>{html.escape(k)}</span></div>"
                      for v, k in cards) + "</div>"]
    params = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(str(v))}</td></tr>"
                     for k, v in best.params.items())
    body.append(f"<section><h2>Best parameters</h2><table>{params}</table></section>")
    for name, title in (("history.png", "Optimisation history"), ("importances.png", "Parameter importances"),
                        ("curves.png", "Per-epoch validation curves")):
        if name in figs:
            body.append(f"<section><h2>{title}</h2>{_img(figs[name], title)}</section>")
    top = df[df["state"] == "complete"].sort_values("value", ascending=False).head(20)
    body.append(f"<section><h2>Top trials</h2>{_table(top)}</section>")
    path = folder / "report.html"
    atomic_write_text(path, _page(f"senti tune {folder.name}", "".join(body)))
    return path

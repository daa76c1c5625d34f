"""`senti tune`: a hyper-parameter search on Optuna (senti.tuning), and `senti tune --show DIR`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from senti.cli.app import EXIT_INTERRUPTED, main, setup_logging
from senti.cli.options import PRESET_HELP, training_options


@main.command()
@click.option("--model", "preset", help=PRESET_HELP)
@click.option("--trials", type=click.IntRange(min=1), help="Finished trials (complete or pruned) the study "
              "should hold; running the command again continues the study up to this number.")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True),
              help="Start no new trial after this many seconds.")
@click.option("--metric", type=click.Choice(["accuracy", "macro_f1"]), default="accuracy", show_default=True,
              help="Validation score to maximise (and early stopping's).")
@click.option("--jobs", type=click.IntRange(min=1), default=1, show_default=True,
              help="Trials trained at once, each in its own process.")
@click.option("--space", type=click.Path(exists=True, dir_okay=False),
              help="TOML search space replacing the model family's (see the README).")
@click.option("--output", "-o", type=click.Path(file_okay=False),
              help="Study folder: the journal, trials.csv, best.toml, best/, report.html.")
@click.option("--show", "show_dir", type=click.Path(exists=True, file_okay=False),
              help="Print a study's best parameters and top trials, then stop.")
@training_options
def tune(preset: str | None, trials: int | None, timeout: float | None, metric: str, jobs: int, space: str | None,
         output: str | None, show_dir: str | None, quiet: bool, report: bool, **options: Any) -> None:
    """Search hyper-parameters with Optuna (TPE, median pruning), chosen on the validation split; the best
    are written to OUTPUT/best.toml and retrained once into OUTPUT/best, scored on test."""
    if show_dir:
        from senti.tuning.outputs import show

        click.echo(show(show_dir))
        return
    if output is None or trials is None:
        raise click.UsageError("--output and --trials are required (or --show DIR)")
    setup_logging(quiet)
    from senti.errors import TrainingInterrupted
    from senti.tuning.search import tune as run_tune

    try:
        result = run_tune(output, trials=trials, metric=metric, jobs=jobs, timeout=timeout, space=space,
                          progress=not quiet, report=report, model=preset, **options)
    except TrainingInterrupted:
        click.echo(f"\ninterrupted; the trial that was running is not counted. Continue the study with the "
                   f"same command (--output {output})", err=True)
        sys.exit(EXIT_INTERRUPTED)
    if result.best_number is None:
        click.echo("no trial completed", err=True)
        return
    click.echo(f"best: trial {result.best_number}, validation {metric} {result.best_value:.4f}")
    for name, value in result.best_params.items():
        click.echo(f"  {name} = {value:.4g}" if isinstance(value, float) else f"  {name} = {value}")
    if result.run is not None and result.run.metrics:
        m = result.run.metrics
        click.echo(f"test (best/, retrained on the training split, scored once): accuracy {m['accuracy']:.4f}, "
                   f"macro-F1 {m['macro_f1']:.4f}")
    click.echo(f"\nstudy: {output} (best/, trials.csv, report.html); train the best again with:", err=True)
    runs = [f"RUN_{p.stem[5:].upper().replace('@', '_')}" if len(result.configs) > 1 else "RUN_DIR"
            for p in result.configs]
    for path, run in zip(result.configs, runs, strict=True):
        click.echo(f"  senti train --config {path} --output {run}", err=True)
    stacked = result.run.config.model.get("members", []) if result.run is not None else []
    for name in [m for m in stacked if "@" in m and f"best-{m}.toml" not in {p.name for p in result.configs}]:
        from senti.config import load_toml  # a network's other seeds in the final stack (the default's `seeds`)

        preset, _, k = name.partition("@")
        path = Path(output) / f"best-{preset}.toml"
        run = f"RUN_{preset.upper()}_{k}"
        click.echo(f"  senti train --config {path} --seed {load_toml(path)['train']['seed'] + int(k)} --output {run}",
                   err=True)
        runs.append(run)
    if len(runs) > 1:
        refit = result.run.config.model.get("refit", "linear") if result.run is not None else "linear"
        click.echo(f"  senti stack {' '.join(runs)}{' --refit none' if refit == 'none' else ''} --output STACK_DIR",
                   err=True)

"""`senti train`, `senti stack` and `senti compare`: write run directories."""

from __future__ import annotations

from typing import Any

import click

from senti.cli.app import main, setup_logging
from senti.cli.options import PRESET_HELP, REFIT, training_options


@main.command()
@click.option("--model", "preset", help=PRESET_HELP)
@click.option("--output", "-o", type=click.Path(file_okay=False), help="Run directory to write.")
@click.option("--resume", type=click.Path(exists=True, file_okay=False), help="Continue an interrupted run.")
@click.option("--overwrite", is_flag=True, help="Replace an existing run directory.")
@click.option("--nproc", type=click.IntRange(min=1), default=1, show_default=True,
              help="Train a network on this many processes of this machine (DistributedDataParallel, gloo; each "
              "takes --batch-size examples a step and cores / N threads). Several machines: torchrun -m senti "
              "train (README).")
@training_options
def train(resume: str | None, overwrite: bool, quiet: bool, output: str | None, nproc: int, **options: Any) -> None:
    """Train a model and write a run directory (config, history, metrics, model bundle)."""
    import senti

    setup_logging(quiet)
    if resume:
        run = senti.resume(resume, progress=not quiet, epochs=options.get("epochs"), report=options["report"],
                           nproc=nproc)
    else:
        if output is None:
            raise click.UsageError("--output is required (or --resume RUN_DIR)")
        run = senti.train(output, overwrite=overwrite, progress=not quiet, nproc=nproc, **options)
    if run.run_dir is None:  # a rank other than 0 under torchrun: rank 0 writes and reports
        return
    if run.metrics:
        from senti.evaluation.metrics import format_metrics

        click.echo(format_metrics(run.metrics))
    click.echo(f"\nrun directory: {run.run_dir}", err=True)


@main.command("stack")
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False))
@click.option("--output", "-o", required=True, type=click.Path(file_okay=False), help="Run directory to write.")
@click.option("--overwrite", is_flag=True, help="Replace an existing run directory.")
@click.option("--refit", type=click.Choice(REFIT), default="linear", show_default=True,
              help="Once the stacker is fitted, train the n-gram members again on train + validation (the runs "
              "themselves are left as they are).")
@click.option("--report/--no-report", default=True, help="Write report.html and its figures [on].")
@click.option("--quiet", "-q", is_flag=True, help="No logs.")
def stack_runs(run_dirs: tuple[str, ...], output: str, overwrite: bool, refit: str, report: bool,
               quiet: bool) -> None:
    """Stack finished runs (e.g. an RNN and nbsvm3) into one model: a logistic regression on their
    probabilities, fitted on the validation split they share; evaluated on their test set."""
    from senti.evaluation.metrics import format_metrics
    from senti.training.run import stack

    setup_logging(quiet)
    run = stack(list(run_dirs), output, overwrite=overwrite, refit=refit, progress=not quiet, report=report)
    if run.metrics:
        click.echo(format_metrics(run.metrics))
    click.echo(f"\nrun directory: {run.run_dir}", err=True)


@main.command()
@click.option("--models", required=True, help="Comma-separated presets, e.g. default,conv1d,tfidf-logreg,nbsvm.")
@click.option("--output", "-o", required=True, type=click.Path(file_okay=False), help="Folder for runs and table.")
@click.option("--overwrite", is_flag=True, help="Retrain models whose run already exists.")
@training_options
def compare(models: str, output: str, overwrite: bool, quiet: bool, **options: Any) -> None:
    """Train several models on the same split with the same seed and compare them in one table."""
    import pandas as pd

    from senti.evaluation.report import markdown_table, summarize_run, write_comparison
    from senti.training.compare import train_presets

    setup_logging(quiet)
    names = [m.strip() for m in models.split(",") if m.strip()]
    runs = train_presets(names, output, overwrite=overwrite, progress=not quiet, **options)
    page = write_comparison(runs, output, title=", ".join(names))
    rows = pd.DataFrame([summarize_run(r) for r in runs]).sort_values("accuracy", ascending=False)
    click.echo(markdown_table(rows[["model", "accuracy", "macro_f1", "train_seconds", "predict_per_s",
                                    "model_mib"]]))
    click.echo(f"comparison: {page}", err=True)

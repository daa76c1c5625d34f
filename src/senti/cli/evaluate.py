"""`senti evaluate` and `senti report`: metrics and pages of trained models."""

from __future__ import annotations

import json

import click

from senti.cli.app import main


@main.command()
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--dataset", help="A named dataset.")
@click.option("--split", default="test", show_default=True, type=click.Choice(["train", "test"]))
@click.option("--input", "input_file", help="A labelled file instead of a named dataset.")
@click.option("--text-column", default="text", show_default=True)
@click.option("--label-column", default="label", show_default=True)
@click.option("--data-dir")
@click.option("--encoding", default="utf-8", show_default=True, help="Encoding of --input.")
@click.option("--errors", "--encoding-errors", "encoding_errors", default="strict", show_default=True,
              type=click.Choice(["strict", "replace"]), help="Undecodable bytes: fail, or replace with U+FFFD.")
@click.option("--empty", default="skip", show_default=True, type=click.Choice(["skip", "error"]),
              help="Rows with an empty text: skip them (counted) or fail.")
@click.option("--label-map", help="Rename the file's labels to the model's, e.g. 0=negative,1=positive.")
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON.")
def evaluate(run_dir: str, dataset: str | None, split: str, input_file: str | None, text_column: str,
             label_column: str, data_dir: str | None, encoding: str, encoding_errors: str, empty: str,
             label_map: str | None, as_json: bool) -> None:
    """Accuracy, per-class precision/recall/F1, macro-F1 and the confusion matrix of a trained model."""
    import senti
    from senti.evaluation.metrics import format_metrics

    if bool(dataset) == bool(input_file):
        raise click.UsageError("give exactly one of --dataset NAME or --input FILE")
    df = (senti.load_dataset(dataset, split, data_dir) if dataset
          else senti.read_texts(input_file, text_column, label_column, encoding=encoding,
                                encoding_errors=encoding_errors, empty=empty))
    model = senti.load(run_dir)
    metrics = model.evaluate(df["text"].tolist(), df["label"].tolist(), label_map=label_map)
    click.echo(json.dumps(metrics, indent=2) if as_json else format_metrics(metrics))


@main.command()
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False))
@click.option("--output", "-o", type=click.Path(file_okay=False), help="Folder for a comparison of several runs.")
def report(run_dirs: tuple[str, ...], output: str | None) -> None:
    """Rebuild the report of one run, or compare several finished runs."""
    from senti.evaluation.report import write_comparison, write_report

    if len(run_dirs) == 1 and not output:
        click.echo(write_report(run_dirs[0]))
    else:
        click.echo(write_comparison(run_dirs, output or "comparison"))

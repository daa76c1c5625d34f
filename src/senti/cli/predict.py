"""`senti predict` and `senti export`: score texts and files, export for a fast runtime."""

from __future__ import annotations

import json
from typing import Any

import click

from senti.cli.app import main, setup_logging
from senti.cli.options import RUNTIME_OPTION


@main.command()
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.argument("texts", nargs=-1)
@click.option("--input", "-i", "input_file", help="CSV/TSV/JSONL/Parquet/text file to score, or - for stdin lines.")
@click.option("--output", "-o", "output_file", help="Write scored rows here (.csv/.tsv/.jsonl).")
@click.option("--text-column", default="text", show_default=True)
@click.option("--batch-size", type=click.IntRange(1), help="Texts per model call [default: 256, ONNX 64].")
@click.option("--n-process", type=click.IntRange(-1), default=1, show_default=True,
              help="Worker processes for --input (-1: one per core); the text pipeline uses one core each.")
@click.option("--threads", type=click.IntRange(1), help="CPU threads for the network [the runtime's default].")
@click.option("--encoding", default="utf-8", show_default=True, help="Encoding of --input.")
@click.option("--errors", "--encoding-errors", "encoding_errors", default="strict", show_default=True,
              type=click.Choice(["strict", "replace"]), help="Undecodable bytes: fail, or replace with U+FFFD.")
@click.option("--sep", help="Separator of a CSV/TSV --input: one character, or tab, comma, semicolon, pipe "
              "[from the extension: , or tab].")
@click.option("--json", "as_json", is_flag=True, help="JSON lines on stdout.")
@RUNTIME_OPTION
@click.option("--explain", is_flag=True, help="Show each word's contribution to the predicted class (coloured; "
              "`--json` adds the words with their character offsets and scores).")
@click.option("--method", default="occlusion", show_default=True, type=click.Choice(["occlusion",
              "integrated-gradients", "word-alone"]), help="Attribution for --explain: occlusion (in context), "
              "integrated gradients (RNN/CNN), or each word alone.")
@click.option("--engine", default="local", show_default=True, type=click.Choice(["local", "spark"]),
              help="Score --input here, or on Apache Spark (pip install 'senti[spark]'; --output is then a folder "
              "of .parquet/.csv/.tsv/.jsonl part files, --input any file, folder or URI Spark reads).")
@click.option("--master", help="Spark master URL for --engine spark [default: the active session's, or local[*]].")
@click.option("--partitions", type=click.IntRange(1), help="Spark partitions to score in [default: at least one "
              "per core]; the rows keep their order.")
def predict(run_dir: str, texts: tuple[str, ...], input_file: str | None, output_file: str | None,
            text_column: str, batch_size: int | None, n_process: int, threads: int | None, encoding: str,
            encoding_errors: str, sep: str | None, as_json: bool, runtime: str, explain: bool, method: str,
            engine: str, master: str | None, partitions: int | None) -> None:
    """Label texts with class probabilities: arguments, a file, or stdin (`-`)."""
    import senti

    if engine == "spark":
        _predict_on_spark(run_dir, texts, input_file, output_file, text_column, batch_size, n_process, threads,
                          encoding, encoding_errors, sep, runtime, explain, master, partitions)
        return
    if master is not None or partitions is not None:
        raise click.UsageError("--master and --partitions go with --engine spark")
    if texts == ("-",) and not input_file:
        texts, input_file = (), "-"
    if bool(texts) == bool(input_file):
        raise click.UsageError("give texts as arguments, or --input FILE (- for stdin)")
    if explain and input_file:
        raise click.UsageError("--explain explains texts given as arguments, not --input files")
    if sep is not None and not input_file:
        raise click.UsageError("--sep is the separator of an --input file")
    model = senti.load(run_dir, runtime, threads)
    if input_file:
        from senti.predict_io import score_file

        n = score_file(model, input_file, output_file, text_column, batch_size=batch_size, encoding=encoding,
                       encoding_errors=encoding_errors, n_process=n_process, sep=sep)
        if output_file:
            click.echo(f"scored {n:,} rows → {output_file}", err=True)
        return
    if explain:
        _print_explanations(model, list(texts), method, batch_size or 256, as_json)
        return
    from senti.scoring.records import prediction_records

    proba = model.predict_proba(list(texts), batch_size)
    records = prediction_records(model.labels, proba.tolist(), texts, digits=6)
    for text, p, record in zip(texts, proba, records, strict=True):
        label = record["label"]
        if as_json:
            click.echo(json.dumps({"text": text, **record}, ensure_ascii=False))
        else:
            probs = "  ".join(f"{lab}={v:.3f}" for lab, v in zip(model.labels, p, strict=True))
            snippet = text if len(text) <= 70 else text[:67] + "..."
            click.echo(f"{label:<10} {probs}  {snippet}")


@main.command()
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--format", "fmt", default="onnx", show_default=True, type=click.Choice(["onnx"]))
@click.option("--quantize", type=click.Choice(["int8"]), help="Dynamic int8 quantization (smaller, faster LSTMs).")
def export(run_dir: str, fmt: str, quantize: str | None) -> None:
    """Export a model for a fast CPU runtime (ONNX Runtime); prediction then uses it automatically."""
    from senti.runtime.onnx import export_onnx

    setup_logging(quiet=False)
    click.echo(str(export_onnx(run_dir, quantize)))


def _predict_on_spark(run_dir: str, texts: tuple[str, ...], input_file: str | None, output_file: str | None,
                      text_column: str, batch_size: int | None, n_process: int, threads: int | None, encoding: str,
                      encoding_errors: str, sep: str | None, runtime: str, explain: bool, master: str | None,
                      partitions: int | None) -> None:
    if texts or not input_file or input_file == "-" or not output_file:
        raise click.UsageError("--engine spark scores --input PATH into --output PATH (no texts, no stdin)")
    if explain or n_process != 1 or threads is not None:
        raise click.UsageError("--explain, --n-process and --threads are for the local engine; on Spark the "
                               "cores are spark.task.cpus per task (--master local[N] for N cores here)")
    from senti.spark.files import file_format, score_files, spark_session

    file_format(None, output_file, output=True)  # a wrong extension before the JVM starts
    with spark_session(master or "local[*]") as spark:
        n = score_files(spark, run_dir, input_file, output_file, text_column, partitions, batch_size, runtime,
                        encoding, encoding_errors, sep)
    click.echo(f"scored {n:,} rows → {output_file} (Spark, a folder of part files)", err=True)


def _print_explanations(model: Any, texts: list[str], method: str, batch_size: int, as_json: bool) -> None:
    from senti.explain.render import format_explanation

    for text, e in zip(texts, model.explain(texts, method, batch_size), strict=True):
        click.echo(json.dumps({"text": text, **e.to_dict()}, ensure_ascii=False) if as_json
                   else format_explanation(text, e))

"""`senti rationale`: the span of each text that carries its sentiment."""

from __future__ import annotations

import json

import click

from senti.cli.app import main


@main.command()
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False))
@click.option("--dataset", default="tweets", show_default=True,
              help="A named dataset. A split with human spans (tweets train) is scored against them; one without "
                   "(tweets test) just gets its spans.")
@click.option("--split", default="train", show_default=True, type=click.Choice(["train", "test"]))
@click.option("--rows", default="eval", show_default=True,
              type=click.Choice(["eval", "dev", "holdout", "fit", "all"]),
              help="Which rows of a split with human spans: a fixed 10 % eval part, the 10 % dev part, both "
                   "(holdout), the other 80 % (fit: what bench/tweets.py trains on), or all.")
@click.option("--text", "texts", multiple=True, help="A text to extract the span of, instead of a dataset "
              "(repeatable).")
@click.option("--input", "input_file", type=click.Path(exists=True, dir_okay=False),
              help="Extract the spans of the texts of this file (CSV/TSV/JSONL/Parquet/plain text) instead.")
@click.option("--text-column", default="text", show_default=True, help="Column of --input holding the texts.")
@click.option("--label-column", help="Column of --input holding each text's sentiment (for --sentiment label).")
@click.option("--method", default="word-alone", show_default=True,
              type=click.Choice(["occlusion", "integrated-gradients", "word-alone"]),
              help="Word scores: each word alone (finds the spans people mark best: bench/tweets.py) or in context "
                   "(occlusion, integrated gradients).")
@click.option("--sentiment", default="predicted", show_default=True, type=click.Choice(["predicted", "label"]),
              help="Extract the span for the model's label, or for the given one (the competition's setting).")
@click.option("--lexicon", type=float,
              help="With --method word-alone: weight of the VADER lexicon's valence added to each word's log-odds "
                   "(0 is off) [0.5].")
@click.option("--selection", type=click.Choice(["expected-jaccard", "max-subarray"]),
              help="The run of words with the best expected Jaccard, or Kadane's with --penalty [expected-jaccard].")
@click.option("--slope", type=float, help="expected-jaccard: p(word) = sigmoid(slope * (score/top - midpoint)) [16].")
@click.option("--midpoint", type=float, help="expected-jaccard: the share of the top score at p = 0.5 [0.375].")
@click.option("--position", type=float,
              help="Favour earlier words: lower each score by this share of the text's largest score magnitude "
                   "times its place (0 first, 1 last) [0.1].")
@click.option("--penalty", type=float,
              help="max-subarray: price of each word of a span, in shares of the strongest word [0.2].")
@click.option("--shift-after-spaces", type=int,
              help="Mimic Kaggle's selected_text offsets: with N or more extra spaces before a span, start it that "
                   "many characters early (2 was chosen on dev; 0, the default, is off).")
@click.option("--min-words", type=int, help="Texts with at most this many words are their own span [2].")
@click.option("--min-confidence", type=float,
              help="With --sentiment predicted: less sure predictions keep the whole text [0.9 when scoring against "
                   "human spans, where that pays; 0 for texts without them].")
@click.option("--limit", type=int, help="Only the first N rows.")
@click.option("--output", "-o", help="Write the spans, one row per text, to this CSV.")
@click.option("--data-dir")
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON.")
def rationale(run_dirs: tuple[str, ...], dataset: str, split: str, rows: str, texts: tuple[str, ...],
              input_file: str | None, text_column: str, label_column: str | None, method: str, sentiment: str,
              lexicon: float | None, limit: int | None, output: str | None, data_dir: str | None, as_json: bool,
              **span: float | None) -> None:
    """Extract the span that carries each text's sentiment. On a split with human spans, score them against
    the human selection (word-level Jaccard), next to the whole-text and top-word baselines; on texts without
    (--text, --input, tweets test), print or write the spans. Several runs form a committee."""
    import dataclasses

    import pandas as pd

    import senti
    from senti.explain.rationale import SpanSettings, evaluate_rationales, extract_rationales, format_rationale_metrics
    from senti.explain.spans_io import span_lines, span_rows, write_csv

    settings = dataclasses.replace(SpanSettings(), **{k: v for k, v in span.items() if v is not None})
    if lexicon and method != "word-alone":
        raise click.UsageError("--lexicon adds to word-alone log-odds: use it with --method word-alone")
    if texts and input_file:
        raise click.UsageError("give --text or --input, not both")
    if (texts or input_file) and sentiment == "label" and not (input_file and label_column):
        raise click.UsageError("--sentiment label needs --input with --label-column")
    df = span_rows(texts, input_file, text_column, label_column, sentiment, dataset, split, rows, data_dir, limit)
    models = [senti.load(d) for d in run_dirs]
    if "selected_text" not in df.columns:  # texts without human spans: print or write theirs
        given = df["label"].tolist() if sentiment == "label" else None
        found = extract_rationales(models, df["text"].tolist(), given, method, settings, lexicon=lexicon,
                                   min_confidence=span.get("min_confidence") or 0.0)
        found = pd.concat([df.drop(columns="text").reset_index(drop=True), found], axis=1)
        if output:
            write_csv(found, output)
            click.echo(f"{len(found):,} spans → {output}", err=True)
        for line in [] if output else span_lines(found, as_json):
            click.echo(line)
        return
    metrics, spans = evaluate_rationales(models, df, method, sentiment, settings, lexicon=lexicon)
    metrics["rows"] = rows
    if output:
        write_csv(spans, output)
        click.echo(f"spans → {output}", err=True)
    click.echo(json.dumps(metrics, indent=2) if as_json else format_rationale_metrics(metrics))

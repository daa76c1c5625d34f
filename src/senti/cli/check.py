"""`senti check`: the behaviour suite (negation, contrast, intensity, invariance, direction) on a trained model."""

from __future__ import annotations

import json

import click

from senti.cli.app import main


@main.command()
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--split", default="all", show_default=True, type=click.Choice(["all", "dev", "heldout"]),
              help="Which half of the templates: dev (look at its failures), heldout (only report it), or both.")
@click.option("--positive", multiple=True, metavar="LABEL",
              help="The model's positive label (repeat for several); default: recognised by name.")
@click.option("--negative", multiple=True, metavar="LABEL",
              help="The model's negative label (repeat for several); default: recognised by name.")
@click.option("--show", default=3, show_default=True, type=click.IntRange(min=0),
              help="Failing examples to print per test.")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
def check(run_dir: str, split: str, positive: tuple[str, ...], negative: tuple[str, ...], show: int,
          as_json: bool) -> None:
    """Behaviour checks: pass rate per capability (negation, contrast, intensifiers, invariance to names,
    punctuation and typos, direction) on template-generated sentences, and failing examples."""
    import senti
    from senti.evaluation.behaviour import run_suite

    model = senti.load(run_dir)
    result = run_suite(model, split=split, positive=positive, negative=negative)
    click.echo(json.dumps(result.to_dict(show=show), indent=2, ensure_ascii=False) if as_json
               else result.format(show=show))

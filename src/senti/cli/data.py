"""`senti datasets`: the named datasets, where they were found, their sizes."""

from __future__ import annotations

import json
import logging

import click

from senti.cli.app import main


@main.command()
@click.option("--data-dir", type=click.Path(file_okay=False), help="Directory laid out like shared/data.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def datasets(data_dir: str | None, as_json: bool) -> None:
    """List the named datasets, where they were found, and their sizes."""
    from senti.data.datasets import describe_datasets

    # Reading a dataset logs rows it skips (empty texts) with the option that refuses them, which this listing
    # does not have: the counts below are after skipping.
    senti_log = logging.getLogger("senti")
    level = senti_log.level
    senti_log.setLevel(logging.ERROR)
    try:
        rows = describe_datasets(data_dir)
    finally:
        senti_log.setLevel(level)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        sizes = " / ".join(f"{k} {r[k]:,}" for k in ("train", "test") if k in r)
        where = r["found"] or "not found (imdb downloads on first use; others need --data-dir or SENTI_DATA_DIR)"
        click.echo(f"{r['name']:<15} {r['description']}")
        click.echo(f"{'':<15} {sizes + '  ' if sizes else ''}{', '.join(r.get('labels', []))}")
        click.echo(f"{'':<15} {where}")

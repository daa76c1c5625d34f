"""`senti pretrain-embeddings` and `senti pretrain`: learn from unlabelled text."""

from __future__ import annotations

import logging
from typing import Any

import click

from senti.cli.app import main, setup_logging


def _pretrain_sources(f: Any) -> Any:
    for option in reversed([
        click.option("--dataset", "datasets", multiple=True, help="Named dataset(s) to read texts from, e.g. "
                     "imdb_unsup; a labelled one gives its training split, labels ignored. Repeatable."),
        click.option("--input", "files", multiple=True, type=click.Path(exists=True),
                     help="File(s) or folder(s) of unlabelled texts. Repeatable."),
        click.option("--text-column", default="text", show_default=True),
        click.option("--data-dir", help="Directory laid out like shared/data [$SENTI_DATA_DIR]."),
        click.option("--output", "-o", required=True, type=click.Path(file_okay=False), help="Folder to write."),
        click.option("--overwrite", is_flag=True, help="Replace an existing output folder."),
        click.option("--epochs", type=int, default=5, show_default=True),
        click.option("--seed", type=int, default=0, show_default=True),
        click.option("--quiet", "-q", is_flag=True, help="No progress bars or logs."),
    ]):
        f = option(f)
    return f


def _clean_for(datasets: tuple[str, ...]) -> Any:
    """The cleaning a named dataset trains with (tweets: mentions, hashtags, emoji), so pretraining reads text
    the way fine-tuning will."""
    from senti.config import CleanConfig
    from senti.data.datasets import DATASET_DEFAULTS

    steps = next((DATASET_DEFAULTS[d]["clean"] for d in datasets if "clean" in DATASET_DEFAULTS.get(d, {})), {})
    return CleanConfig(**steps)


@main.command("pretrain-embeddings")
@_pretrain_sources
@click.option("--algorithm", type=click.Choice(["word2vec", "fasttext"]), default="word2vec", show_default=True)
@click.option("--dim", type=int, default=128, show_default=True, help="Vector size.")
@click.option("--window", type=int, default=5, show_default=True)
@click.option("--min-count", type=int, default=5, show_default=True)
@click.option("--threads", type=int, default=2, show_default=True, help="gensim worker threads.")
def pretrain_embeddings(datasets: tuple[str, ...], files: tuple[str, ...], text_column: str, data_dir: str | None,
                        output: str, overwrite: bool, epochs: int, seed: int, quiet: bool, algorithm: str, dim: int,
                        window: int, min_count: int, threads: int) -> None:
    """Train word vectors (gensim word2vec or fastText) on unlabelled text, cleaned and tokenised as senti
    trains; use them with `senti train --embeddings OUTPUT/vectors.txt`."""
    from senti.data.datasets import unlabelled_texts
    from senti.training.word2vec import pretrain_embeddings as run

    setup_logging(quiet)
    texts, source = unlabelled_texts(datasets, files, data_dir, text_column)
    logging.getLogger("senti").info("pretrain-embeddings: %s", source)
    info = run(texts, output, algorithm=algorithm, dim=dim, window=window, min_count=min_count, epochs=epochs,
               workers=threads, seed=seed, clean=_clean_for(datasets), progress=not quiet, overwrite=overwrite)
    click.echo(f"{info.get('vocab_size', '?')} word vectors of size {dim} in {output}/vectors.txt "
               f"({info.get('seconds', 0):.0f} s)")


@main.command()
@_pretrain_sources
@click.option("--model", "preset", default="bigru", show_default=True,
              help="Recurrent preset whose encoder to pretrain (embedding and RNN layers).")
@click.option("--lr", type=float, default=2e-3, show_default=True)
@click.option("--batch-size", type=int, default=64, show_default=True)
@click.option("--num-sampled", type=int, default=256, show_default=True,
              help="Words sampled per batch for the sampled softmax.")
@click.option("--max-minutes", type=float, help="Stop after the epoch that exceeds this time budget.")
@click.option("--max-length", type=int, default=400, show_default=True, help="Tokens kept per text.")
@click.option("--max-vocab", type=int, default=30_000, show_default=True)
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
def pretrain(datasets: tuple[str, ...], files: tuple[str, ...], text_column: str, data_dir: str | None, output: str,
             overwrite: bool, epochs: int, seed: int, quiet: bool, preset: str, lr: float, batch_size: int,
             num_sampled: int, max_minutes: float | None, max_length: int, max_vocab: int, device: str) -> None:
    """Pretrain a recurrent encoder as a language model on unlabelled text (forward and backward), then
    fine-tune it with `senti train --encoder OUTPUT` (ULMFiT-style)."""
    from senti.config import VocabConfig
    from senti.data.datasets import unlabelled_texts
    from senti.training.lm import PretrainConfig, pretrain_encoder

    setup_logging(quiet)
    texts, source = unlabelled_texts(datasets, files, data_dir, text_column)
    logging.getLogger("senti").info("pretrain: %s", source)
    config = PretrainConfig(epochs=epochs, lr=lr, batch_size=batch_size, num_sampled=num_sampled,
                            max_minutes=max_minutes, seed=seed, device=device)
    record = pretrain_encoder(texts, output, model=preset, clean=_clean_for(datasets),
                              vocab=VocabConfig(max_size=max_vocab, max_length=max_length),
                              config=config, progress=not quiet, source=source, overwrite=overwrite)
    last = record["history"][-1] if record["history"] else {}
    click.echo(f"encoder pretrained on {record['tokens']:,} tokens in {record['seconds'] / 60:.1f} min "
               f"({record['epochs_run']} epoch(s), held-out loss {last.get('val_loss', float('nan')):.3f}): {output}")

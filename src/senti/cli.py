"""The ``senti`` command: subcommands follow the workflow (datasets → train → evaluate → predict).

Results go to stdout (``--json`` for machines); logs and progress bars go to stderr.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from senti import __version__

if TYPE_CHECKING:
    import pandas as pd

EXIT_USAGE, EXIT_INTERRUPTED = 2, 130
REFIT = ("linear", "none")  # senti.models.ensemble.REFIT, not imported: the CLI starts without torch


def _setup_logging(quiet: bool) -> None:
    logging.basicConfig(level=logging.WARNING if quiet else logging.INFO, format="senti: %(message)s",
                        stream=sys.stderr, force=True)


def _fail(msg: str, code: int = 1) -> None:
    click.echo(f"error: {msg}", err=True)
    sys.exit(code)


class _Errors(click.Group):
    """Expected failures (bad data, bad bundles, bad options) end with one clear line, not a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        from senti.bundle import BundleError
        from senti.data.readers import DataError
        from senti.training.trainer import TrainingError, TrainingInterrupted

        try:
            return super().invoke(ctx)
        except TrainingInterrupted as e:
            click.echo(f"\n{e}; a checkpoint was saved. Continue with: senti train --resume RUN_DIR", err=True)
            sys.exit(EXIT_INTERRUPTED)
        except KeyboardInterrupt:
            click.echo("\ninterrupted", err=True)
            sys.exit(EXIT_INTERRUPTED)
        except (DataError, BundleError, TrainingError, FileExistsError, ValueError, TypeError, OSError,
                ImportError) as e:
            _fail(str(e))


@click.group(cls=_Errors, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="senti")
def main() -> None:
    """Sentiment analysis of reviews and social posts with recurrent neural networks."""


@main.command()
@click.option("--data-dir", type=click.Path(file_okay=False), help="Directory laid out like shared/data.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def datasets(data_dir: str | None, as_json: bool) -> None:
    """List the named datasets, where they were found, and their sizes."""
    from senti.data.datasets import describe_datasets

    rows = describe_datasets(data_dir)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        sizes = " / ".join(f"{k} {r[k]:,}" for k in ("train", "test") if k in r)
        where = r["found"] or "not found (imdb downloads on first use; others need --data-dir or SENTI_DATA_DIR)"
        click.echo(f"{r['name']:<15} {r['description']}")
        click.echo(f"{'':<15} {sizes + '  ' if sizes else ''}{', '.join(r.get('labels', []))}")
        click.echo(f"{'':<15} {where}")


class _EpochsOrAll(click.ParamType):
    name = "N|all"

    def convert(self, value: Any, param: Any, ctx: Any) -> int:
        if isinstance(value, int) or str(value).isdigit():
            return int(value)
        if str(value).lower() == "all":
            return -1
        self.fail(f"{value!r} is neither a number of epochs nor 'all'", param, ctx)


def training_options(f: Any) -> Any:
    """Options shared by `train` and `compare`: data, cleaning, vocabulary, model and training settings."""
    for option in reversed([
        click.option("--config", type=click.Path(exists=True, dir_okay=False), help="TOML config; flags override it."),
        click.option("--dataset", help="A named dataset (see `senti datasets`)."),
        click.option("--train", "train_file", help="Training file (CSV/TSV/JSONL/Parquet) or aclImdb-style folder."),
        click.option("--valid", help="Validation file (default: a stratified split of the training data)."),
        click.option("--test", help="Test file for the final metrics."),
        click.option("--text-column", help="Column holding the text [text]."),
        click.option("--label-column", help="Column holding the label [label]."),
        click.option("--data-dir", help="Directory laid out like shared/data [$SENTI_DATA_DIR]."),
        click.option("--group-column", help="Keep each group (movie, product) on one side of the validation split; "
                     "'group' for a named dataset's own grouping (IMDB: movie)."),
        click.option("--encoding", help="Encoding of the data files [utf-8; a byte-order mark is fine]."),
        click.option("--errors", "--encoding-errors", "encoding_errors", type=click.Choice(["strict", "replace"]),
                     help="Undecodable bytes: fail naming byte and row, or replace them with U+FFFD (counted) "
                     "[strict]."),
        click.option("--empty", type=click.Choice(["skip", "error"]),
                     help="Rows with an empty text: skip them (counted in the log and data.json) or fail [skip]."),
        click.option("--epochs", type=int),
        click.option("--batch-size", type=int),
        click.option("--lr", type=float, help="Learning rate."),
        click.option("--optimizer", type=click.Choice(["adam", "adamw", "rmsprop", "sgd"])),
        click.option("--weight-decay", type=float),
        click.option("--patience", type=int, help="Epochs without improvement before early stopping (0: never)."),
        click.option("--monitor", type=click.Choice(["val_accuracy", "val_loss", "val_macro_f1"])),
        click.option("--clip-grad-norm", type=float),
        click.option("--seed", type=int),
        click.option("--split-seed", type=int, help="Seed of the validation split [the --seed]."),
        click.option("--device", type=click.Choice(["auto", "cpu", "cuda"])),
        click.option("--bf16/--no-bf16", default=None, help="bfloat16 autocast (faster on CPUs with AVX512-BF16/AMX)."),
        click.option("--threads", "num_threads", type=int, help="Torch CPU threads."),
        click.option("--max-minutes", type=float, help="Stop after the epoch that exceeds this time budget."),
        click.option("--checkpoint-every", type=int, help="Steps between resumable checkpoints [200]."),
        click.option("--embeddings", type=click.Path(exists=True, dir_okay=False),
                     help="Word vectors to start from: GloVe, word2vec or fastText, text or binary, .gz ok "
                     "(senti pretrain-embeddings writes them). The embedding size follows the file."),
        click.option("--freeze-embeddings", type=_EpochsOrAll(),
                     help="Keep the embeddings fixed for the first N epochs, or 'all' [0: fine-tune]."),
        click.option("--encoder", type=click.Path(exists=True, file_okay=False),
                     help="A pretrained encoder (senti pretrain) to fine-tune: its vocabulary, cleaning, "
                     "embeddings and RNN layers."),
        click.option("--lr-decay", type=float, help="Discriminative learning rates: each layer below the top "
                     "trains at lr × this per layer (ULMFiT: 0.38) [1]."),
        click.option("--gradual-unfreeze/--no-gradual-unfreeze", default=None,
                     help="Train the head alone first, then unfreeze one layer per epoch (ULMFiT)."),
        click.option("--max-length", type=int, help="Tokens kept per text."),
        click.option("--truncate", type=click.Choice(["head", "tail", "both"])),
        click.option("--max-vocab", "max_size", type=int),
        click.option("--min-count", type=int),
        click.option("--cell", type=click.Choice(["lstm", "gru", "rnn"])),
        click.option("--embedding-dim", type=int),
        click.option("--hidden-size", type=int),
        click.option("--num-layers", type=int),
        click.option("--bidirectional/--unidirectional", default=None),
        click.option("--pooling", type=click.Choice(["last", "max", "mean", "maxmean", "attention"])),
        click.option("--dropout", type=float),
        click.option("--refit", type=click.Choice(REFIT), help="Stacking presets: once the stacker is fitted, "
                     "train the n-gram members again on train + validation [linear]."),
        click.option("--max-train-samples", type=int, help="Train on a stratified sample of this size."),
        click.option("--max-test-samples", type=int, help="Evaluate on a stratified sample of this size."),
        click.option("--tensorboard", is_flag=True, default=None, help="Also log to RUN_DIR/tensorboard."),
        click.option("--report/--no-report", default=True, help="Write report.html and its figures [on]."),
        click.option("--quiet", "-q", is_flag=True, help="No progress bars or logs."),
    ]):
        f = option(f)
    return f


@main.command()
@click.option("--model", "preset", help="Model preset: default, lstm, gru, bigru, bilstm, lstm-small, "
              "stacked-lstm, simple-rnn, conv1d, or a baseline: tfidf-logreg, nbsvm.")
@click.option("--output", "-o", type=click.Path(file_okay=False), help="Run directory to write.")
@click.option("--resume", type=click.Path(exists=True, file_okay=False), help="Continue an interrupted run.")
@click.option("--overwrite", is_flag=True, help="Replace an existing run directory.")
@training_options
def train(resume: str | None, overwrite: bool, quiet: bool, output: str | None, **options: Any) -> None:
    """Train a model and write a run directory (config, history, metrics, model bundle)."""
    import senti

    _setup_logging(quiet)
    if resume:
        run = senti.resume(resume, progress=not quiet, epochs=options.get("epochs"), report=options["report"])
    else:
        if output is None:
            raise click.UsageError("--output is required (or --resume RUN_DIR)")
        run = senti.train(output, overwrite=overwrite, progress=not quiet, **options)
    if run.metrics:
        from senti.evaluation.metrics import format_metrics

        click.echo(format_metrics(run.metrics))
    click.echo(f"\nrun directory: {run.run_dir}", err=True)


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
    from senti.training.run import DATASET_DEFAULTS

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

    _setup_logging(quiet)
    texts, source = unlabelled_texts(datasets, files, data_dir, text_column)
    logging.getLogger("senti").info("pretrain-embeddings: %s", source)
    info = run(texts, output, algorithm=algorithm, dim=dim, window=window, min_count=min_count, epochs=epochs,
               workers=threads, seed=seed, clean=_clean_for(datasets), progress=not quiet, overwrite=overwrite)
    click.echo(f"{info.get('vocab_size', '?')} word vectors of size {dim} in {output}/vectors.txt "
               f"({info.get('seconds', 0):.0f} s)")


@main.command()
@_pretrain_sources
@click.option("--model", "preset", default="default", show_default=True,
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

    _setup_logging(quiet)
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

    _setup_logging(quiet)
    run = stack(list(run_dirs), output, overwrite=overwrite, refit=refit, progress=not quiet, report=report)
    if run.metrics:
        click.echo(format_metrics(run.metrics))
    click.echo(f"\nrun directory: {run.run_dir}", err=True)


def options_for(preset: str, options: dict[str, Any]) -> dict[str, Any]:
    """Drop the model options that a preset's architecture does not have (e.g. --hidden-size for nbsvm)."""
    import dataclasses

    from senti.models.registry import ARCHITECTURES, resolve_preset
    from senti.training.run import SECTION_OF

    _, config_cls = ARCHITECTURES[resolve_preset(preset)["model"]["architecture"]]
    known = {f.name for f in dataclasses.fields(config_cls)}
    return {k: v for k, v in options.items() if SECTION_OF.get(k) != "model" or k in known}


@main.command()
@click.option("--models", required=True, help="Comma-separated presets, e.g. default,conv1d,tfidf-logreg,nbsvm.")
@click.option("--output", "-o", required=True, type=click.Path(file_okay=False), help="Folder for runs and table.")
@click.option("--overwrite", is_flag=True, help="Retrain models whose run already exists.")
@training_options
def compare(models: str, output: str, overwrite: bool, quiet: bool, **options: Any) -> None:
    """Train several models on the same split with the same seed and compare them in one table."""
    import pandas as pd

    import senti
    from senti.evaluation.report import markdown_table, summarize_run, write_comparison
    from senti.models.registry import resolve_preset

    _setup_logging(quiet)
    names = [m.strip() for m in models.split(",") if m.strip()]
    for name in names:
        resolve_preset(name)  # fail on a typo before hours of training
    runs = []
    for name in names:
        run_dir = Path(output) / name
        if (run_dir / "metrics.json").is_file() and not overwrite:
            logging.getLogger("senti").info("%s: already trained, reusing %s", name, run_dir)
        else:
            logging.getLogger("senti").info("== %s", name)
            senti.train(run_dir, overwrite=True, progress=not quiet, model=name, **options_for(name, options))
        runs.append(run_dir)
    page = write_comparison(runs, output, title=", ".join(names))
    rows = pd.DataFrame([summarize_run(r) for r in runs]).sort_values("accuracy", ascending=False)
    click.echo(markdown_table(rows[["model", "accuracy", "macro_f1", "train_seconds", "predict_per_s",
                                    "model_mib"]]))
    click.echo(f"comparison: {page}", err=True)


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
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON.")
def evaluate(run_dir: str, dataset: str | None, split: str, input_file: str | None, text_column: str,
             label_column: str, data_dir: str | None, encoding: str, encoding_errors: str, empty: str,
             as_json: bool) -> None:
    """Accuracy, per-class precision/recall/F1, macro-F1 and the confusion matrix of a trained model."""
    import senti
    from senti.evaluation.metrics import format_metrics

    if bool(dataset) == bool(input_file):
        raise click.UsageError("give exactly one of --dataset NAME or --input FILE")
    df = (senti.load_dataset(dataset, split, data_dir) if dataset
          else senti.read_texts(input_file, text_column, label_column, encoding=encoding,
                                encoding_errors=encoding_errors, empty=empty))
    model = senti.load(run_dir)
    metrics = model.evaluate(df["text"].tolist(), df["label"].tolist())
    click.echo(json.dumps(metrics, indent=2) if as_json else format_metrics(metrics))


RUNTIME_OPTION = click.option(
    "--runtime", default="auto", show_default=True,
    type=click.Choice(["auto", "torch", "onnx", "onnx-int8", "folded"]),
    help="auto: folded tables for a minGRU, else the fastest verified export (senti export), else PyTorch.")


@main.command()
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.argument("texts", nargs=-1)
@click.option("--input", "-i", "input_file", help="CSV/TSV/JSONL/text file to score, or - for stdin lines.")
@click.option("--output", "-o", "output_file", help="Write scored rows here (.csv/.tsv/.jsonl).")
@click.option("--text-column", default="text", show_default=True)
@click.option("--batch-size", type=click.IntRange(1), help="Texts per model call [default: 256, ONNX 64].")
@click.option("--n-process", type=click.IntRange(-1), default=1, show_default=True,
              help="Worker processes for --input (-1: one per core); the text pipeline uses one core each.")
@click.option("--encoding", default="utf-8", show_default=True, help="Encoding of --input.")
@click.option("--errors", "--encoding-errors", "encoding_errors", default="strict", show_default=True,
              type=click.Choice(["strict", "replace"]), help="Undecodable bytes: fail, or replace with U+FFFD.")
@click.option("--json", "as_json", is_flag=True, help="JSON lines on stdout.")
@RUNTIME_OPTION
@click.option("--explain", is_flag=True, help="Show each word's contribution to the predicted class (coloured; "
              "`--json` adds the words with their character offsets and scores).")
@click.option("--method", default="occlusion", show_default=True, type=click.Choice(["occlusion",
              "integrated-gradients", "word-alone"]), help="Attribution for --explain: occlusion (in context), "
              "integrated gradients (RNN/CNN), or each word alone.")
def predict(run_dir: str, texts: tuple[str, ...], input_file: str | None, output_file: str | None,
            text_column: str, batch_size: int | None, n_process: int, encoding: str, encoding_errors: str,
            as_json: bool, runtime: str, explain: bool, method: str) -> None:
    """Label texts with class probabilities: arguments, a file, or stdin (`-`)."""
    import senti
    from senti.predict_io import score_file

    if texts == ("-",) and not input_file:
        texts, input_file = (), "-"
    if bool(texts) == bool(input_file):
        raise click.UsageError("give texts as arguments, or --input FILE (- for stdin)")
    model = senti.SentimentModel.load(run_dir, runtime)
    if explain and input_file:
        raise click.UsageError("--explain explains texts given as arguments, not --input files")
    if input_file:
        n = score_file(model, input_file, output_file, text_column, batch_size=batch_size, encoding=encoding,
                       encoding_errors=encoding_errors, n_process=n_process)
        if output_file:
            click.echo(f"scored {n:,} rows → {output_file}", err=True)
        return
    if explain:
        _print_explanations(model, list(texts), method, batch_size or 256, as_json)
        return
    proba = model.predict_proba(list(texts), batch_size)
    for text, p in zip(texts, proba, strict=True):
        label = model.labels[int(p.argmax())]
        if as_json:
            click.echo(json.dumps({"text": text, "label": label,
                                   "probabilities": {lab: round(float(v), 6) for lab, v in zip(model.labels, p,
                                                                                             strict=True)}},
                                  ensure_ascii=False))
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

    _setup_logging(quiet=False)
    click.echo(str(export_onnx(run_dir, quantize)))


@main.command()
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1),
              help="Server processes. On 2 cores: 2 for a minGRU (its per-request work is Python, one core per "
                   "process: 6,277 vs 3,523 requests/s), 1 for a BiGRU (its network wants both cores). Each process "
                   "listens on its own SO_REUSEPORT socket, so connections spread evenly.")
@click.option("--threads", default=1, show_default=True, type=click.IntRange(1),
              help="Threads per process for the network; keep one core for the HTTP event loop.")
@click.option("--batch-workers", default=2, show_default=True, type=click.IntRange(1),
              help="Batches scored at the same time, each on --threads threads (2: 1.7× the requests/s of 1 here).")
@click.option("--max-texts", default=256, show_default=True, type=click.IntRange(1), help="Texts per request.")
@click.option("--max-chars", default=100_000, show_default=True, type=click.IntRange(1), help="Characters per text.")
@click.option("--max-body-bytes", default=2 * 1024 * 1024, show_default=True, type=click.IntRange(1))
@click.option("--max-upload-bytes", default=50 * 1024 * 1024, show_default=True, type=click.IntRange(1),
              help="Size limit of a file posted to /v1/predict/file.")
@click.option("--max-explain-texts", default=16, show_default=True, type=click.IntRange(1),
              help="Texts per request with explain (each word costs a model input).")
@click.option("--access-log", is_flag=True, help="Log every request (costs throughput).")
@RUNTIME_OPTION
def serve(run_dir: str, host: str, port: int, workers: int, threads: int, batch_workers: int, max_texts: int,
          max_chars: int, max_body_bytes: int, max_upload_bytes: int, max_explain_texts: int, access_log: bool,
          runtime: str) -> None:
    """Serve a model over HTTP: JSON API at /v1, docs at /docs, a web page at /."""
    import os

    import uvicorn

    import senti

    senti.SentimentModel.load(run_dir, runtime)  # fail here, with one line, on a bad bundle (workers load it again)
    os.environ.update({
        "SENTI_SERVE_MODEL": str(Path(run_dir).resolve()), "SENTI_SERVE_THREADS": str(threads),
        "SENTI_SERVE_RUNTIME": runtime,
        "SENTI_SERVE_MAX_TEXTS": str(max_texts), "SENTI_SERVE_MAX_CHARS": str(max_chars),
        "SENTI_SERVE_MAX_BODY_BYTES": str(max_body_bytes), "SENTI_SERVE_MAX_UPLOAD_BYTES": str(max_upload_bytes),
        "SENTI_SERVE_MAX_EXPLAIN_TEXTS": str(max_explain_texts), "SENTI_SERVE_BATCH_WORKERS": str(batch_workers),
    })
    _setup_logging(quiet=False)
    click.echo(f"senti: serving {run_dir} on http://{host}:{port}/ (API docs at /docs)", err=True)
    options = {"access_log": access_log, "log_level": "info", "timeout_graceful_shutdown": 5}
    from senti.serving.workers import APP, reuse_port_supported, serve_processes

    if workers > 1 and reuse_port_supported():
        serve_processes(workers, host, port, **options)  # a listening socket per process: connections spread evenly
    else:
        uvicorn.run(APP, factory=True, host=host, port=port, workers=workers, **options)


def _print_explanations(model: Any, texts: list[str], method: str, batch_size: int, as_json: bool) -> None:
    from senti.explain.render import format_explanation

    for text, e in zip(texts, model.explain(texts, method, batch_size), strict=True):
        click.echo(json.dumps({"text": text, **e.to_dict()}, ensure_ascii=False) if as_json
                   else format_explanation(text, e))


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
    from senti.data.readers import read_texts
    from senti.explain.rationale import (
        SpanSettings,
        evaluate_rationales,
        extract_rationales,
        format_rationale_metrics,
        select_rows,
    )

    settings = dataclasses.replace(SpanSettings(), **{k: v for k, v in span.items() if v is not None})
    if lexicon and method != "word-alone":
        raise click.UsageError("--lexicon adds to word-alone log-odds: use it with --method word-alone")
    if texts and input_file:
        raise click.UsageError("give --text or --input, not both")
    if texts or input_file:
        if sentiment == "label" and not label_column:
            raise click.UsageError("--sentiment label needs --input with --label-column")
        df = (pd.DataFrame({"text": list(texts)}) if texts
              else read_texts(input_file, text_column, label_column if sentiment == "label" else None))
        df = df.iloc[:limit] if limit else df
    else:
        df = select_rows(dataset, split, rows, data_dir, limit)
    models = [senti.load(d) for d in run_dirs]
    if "selected_text" not in df.columns:
        given = df["label"].tolist() if sentiment == "label" else None
        found = extract_rationales(models, df["text"].tolist(), given, method, settings, lexicon=lexicon,
                                   min_confidence=span.get("min_confidence") or 0.0)
        _emit_spans(pd.concat([df.drop(columns="text").reset_index(drop=True), found], axis=1), output, as_json)
        return
    metrics, spans = evaluate_rationales(models, df, method, sentiment, settings, lexicon=lexicon)
    metrics["rows"] = rows
    if output:
        _write_csv(spans, output)
        click.echo(f"spans → {output}", err=True)
    click.echo(json.dumps(metrics, indent=2) if as_json else format_rationale_metrics(metrics))


def _write_csv(df: pd.DataFrame, path: str) -> None:
    from senti.io import atomic_write

    atomic_write(Path(path), lambda tmp: df.to_csv(tmp, index=False))


def _emit_spans(rows: pd.DataFrame, output: str | None, as_json: bool) -> None:
    """Spans of texts without human ones: a CSV (every column given, then sentiment, probability, span and its
    character offsets), JSON lines, or one line per text."""
    if output:
        _write_csv(rows, output)
        click.echo(f"{len(rows):,} spans → {output}", err=True)
        return
    for r in rows.to_dict("records"):
        if as_json:
            click.echo(json.dumps({k: (round(float(v), 6) if k == "probability" else v) for k, v in r.items()},
                                  ensure_ascii=False, default=str))
        else:
            text = " ".join(r["text"].split())
            click.echo(f"{r['sentiment']:<10} {r['probability']:.3f}  {r['span'].strip()!r}  ←  "
                       f"{text if len(text) <= 70 else text[:67] + '...'}")


if __name__ == "__main__":
    main()

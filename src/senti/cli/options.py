"""Options shared by several commands. Everything here must import without torch or scikit-learn: click builds
the options when `senti --help` runs."""

from __future__ import annotations

from typing import Any

import click

REFIT = ("linear", "none")  # senti.models.ensemble.REFIT, not imported: the CLI starts without torch

# The presets of senti.models.registry.PRESETS by family, not imported from there for the same reason;
# tests/test_cli_options.py keeps the two in sync.
PRESET_GROUPS: dict[str, tuple[str, ...]] = {
    "the default": ("default",),
    "recurrent": ("lstm", "gru", "bigru", "bilstm", "lstm-small", "stacked-lstm", "simple-rnn", "mingru"),
    "convolutional": ("conv1d",),
    "n-gram and classical": ("tfidf-logreg", "nbsvm", "nbsvm3", "random-forest"),
    "stacks": ("rnn+nbsvm", "rnn+cnn+nbsvm", "mingru+nbsvm"),
}
PRESET_HELP = "Model preset: " + "; ".join(f"{group}: {', '.join(names)}" for group, names in PRESET_GROUPS.items()) \
    + " [default]."


class EpochsOrAll(click.ParamType):
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
                     "'group' for a named dataset's own grouping [imdb: group, by movie; 'none': a random split]."),
        click.option("--valid-sentences/--no-valid-sentences", default=None,
                     help="The training rows are sentences and the phrases inside them (a treebank): validate on "
                     "whole held-out sentences and leave out of training the phrases only they contain [sst2: on]."),
        click.option("--encoding", help="Encoding of the data files [utf-8; a byte-order mark is fine]."),
        click.option("--errors", "--encoding-errors", "encoding_errors", type=click.Choice(["strict", "replace"]),
                     help="Undecodable bytes: fail naming byte and row, or replace them with U+FFFD (counted) "
                     "[strict]."),
        click.option("--empty", type=click.Choice(["skip", "error"]),
                     help="Rows with an empty text: skip them (counted in the log and data.json) or fail [skip]."),
        click.option("--label-map", help="Rename labels as they are read, e.g. 0=negative,1=positive (to make a "
                     "test file's spellings match the training file's)."),
        click.option("--fold-label-case", is_flag=True, default=None,
                     help="Labels that differ only in case (Positive / positive) are one class, spelled as the "
                     "commoner one, instead of an error."),
        click.option("--epochs", type=int),
        click.option("--epoch-tokens", type=click.IntRange(min=0), help="Fewer epochs for a big corpus: at most "
                     "ceil(N / tokens in an epoch), at least one; 0: off [default model: 3000000; a given "
                     "--epochs turns it off]."),
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
        click.option("--word2vec", type=click.IntRange(min=0), help="Epochs of word2vec trained on the training "
                     "texts (and --unlabelled) at the start of the run, to start the embeddings from; 0: none "
                     "[the default model: 3]."),
        click.option("--unlabelled", help="Unlabelled texts for --word2vec: a dataset name (imdb_unsup) or a file "
                     "with a text column [imdb: imdb_unsup]."),
        click.option("--freeze-embeddings", type=EpochsOrAll(),
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
        click.option("--lemmatize/--no-lemmatize", default=None,
                     help="Read each word as its lemma (movies → movie, were → be); needs pip install "
                     "'senti[lemma]'. Other cleaning steps: [clean] in a --config file."),
        click.option("--negation-scope", type=click.IntRange(min=0),
                     help="Rewrite up to N words after a negation as negated words (not good → not xxnotgood), "
                     "up to a comma, full stop or 'but' [default model: 2; others: 0]."),
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
        click.option("--calibrate/--no-calibrate", default=None, help="Fit a temperature on the validation "
                     "split so the probabilities are honest (argmax unchanged) [on]."),
        click.option("--report/--no-report", default=True, help="Write report.html and its figures [on]."),
        click.option("--quiet", "-q", is_flag=True, help="No progress bars or logs."),
    ]):
        f = option(f)
    return f



RUNTIME_OPTION = click.option(
    "--runtime", default="auto", show_default=True,
    type=click.Choice(["auto", "torch", "onnx", "onnx-int8", "folded"]),
    help="auto: folded tables for a minGRU, else the fastest verified export (senti export), else PyTorch.")


"""The ``senti`` group: global options, logging and the one place where errors become exit codes.

Results go to stdout (``--json`` for machines); logs and progress bars go to stderr. Each command lives in its
own module of this package and imports what it uses inside the command function, so ``senti --help`` loads
neither torch nor scikit-learn.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import click

from senti import __version__

EXIT_USAGE, EXIT_INTERRUPTED = 2, 130


def setup_logging(quiet: bool) -> None:
    logging.basicConfig(level=logging.WARNING if quiet else logging.INFO, format="senti: %(message)s",
                        stream=sys.stderr, force=True)


def fail(msg: str, code: int = 1) -> None:
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
            fail(str(e))


@click.group(cls=_Errors, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="senti")
def main() -> None:
    """Sentiment analysis of reviews and social posts with recurrent neural networks."""

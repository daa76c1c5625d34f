"""The ``senti`` group: global options, logging and the one place where errors become exit codes.

Results go to stdout (``--json`` for machines); logs and progress bars go to stderr. Each command lives in its
own module of this package and imports what it uses inside the command function, so ``senti --help`` loads
neither torch nor scikit-learn.
"""

from __future__ import annotations

import logging
import os
import sys
import traceback
from typing import Any, NoReturn

import click

from senti import __version__
from senti.errors import SentiError, TrainingInterrupted

# Exit statuses: 1 an error the user can fix (one `error:` line), 2 a usage error (click's), 3 a bug in senti
# (its traceback, then one line saying so), 130 interrupted (Ctrl-C).
EXIT_ERROR, EXIT_USAGE, EXIT_BUG, EXIT_INTERRUPTED = 1, 2, 3, 130
DEBUG_ENV = "SENTI_DEBUG"  # set to 1: every error, a user's too, shows its traceback


def setup_logging(quiet: bool) -> None:
    logging.basicConfig(level=logging.WARNING if quiet else logging.INFO, format="senti: %(message)s",
                        stream=sys.stderr, force=True)


def fail(msg: str, code: int = EXIT_ERROR) -> NoReturn:
    click.echo(f"error: {msg}", err=True)
    sys.exit(code)


def _debug() -> bool:
    return os.environ.get(DEBUG_ENV, "").strip() not in ("", "0")


def _missing_package(e: ImportError) -> bool:
    """An optional dependency that is not installed (gensim, nltk, tensorboard), not a broken senti module."""
    return isinstance(e, ModuleNotFoundError) and bool(e.name) and not e.name.startswith("senti")


class _Errors(click.Group):
    """What the user can fix (`SentiError`: bad data, bad bundles, bad options; a missing file or a busy port)
    ends with one `error:` line and status 1. Anything else is a bug: its traceback, a line saying so, status 3."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise  # usage errors, --help, --version: click's own handling
        except TrainingInterrupted as e:
            click.echo(f"\n{e}; a checkpoint was saved. Continue with: senti train --resume RUN_DIR", err=True)
            sys.exit(EXIT_INTERRUPTED)
        except KeyboardInterrupt:
            click.echo("\ninterrupted", err=True)
            sys.exit(EXIT_INTERRUPTED)
        except (SentiError, OSError) as e:
            if _debug():
                traceback.print_exc()
            fail(str(e) or type(e).__name__)
        except ImportError as e:
            if not _missing_package(e):
                _bug(e)
            if _debug():
                traceback.print_exc()
            fail(f"{e}; install it with: pip install {e.name}")
        except Exception as e:  # a bug in senti: keep its traceback
            _bug(e)


def _bug(e: BaseException) -> NoReturn:
    traceback.print_exc()
    click.echo(f"senti: this is a bug in senti ({type(e).__name__}), not a problem with your input or options; "
               "please report it with the traceback above.", err=True)
    sys.exit(EXIT_BUG)


@click.group(cls=_Errors, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="senti")
def main() -> None:
    """Sentiment analysis of reviews and social posts with recurrent neural networks."""

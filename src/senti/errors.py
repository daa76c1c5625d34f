"""senti's error types. A ``SentiError`` is something the user can fix (bad data, a bad bundle, a bad config, a
training run that cannot go on): the CLI prints it as one ``error:`` line and exits with status 1. Any other
exception is a bug in senti and keeps its traceback.

The subclasses also derive from the built-in type a caller would have caught before they existed
(``ValueError``, ``RuntimeError``), so ``except ValueError`` keeps working."""

from __future__ import annotations


class SentiError(Exception):
    """Base of every error a user can fix; the message says what was found and what to do."""


class ConfigError(SentiError, ValueError):
    """An option or config value that cannot be used: unknown name, out of range, contradictory."""


class DataError(SentiError, ValueError):
    """Input data that cannot be used as asked; the message says what was found and what to do."""


class BundleError(SentiError, ValueError):
    """A model bundle that cannot be loaded; the message says which file and why."""


class TrainingError(SentiError, RuntimeError):
    """Training cannot go on (e.g. the loss became NaN); the message says what to change."""


class TrainingInterrupted(RuntimeError):
    """Training was stopped by the user; a resumable checkpoint was saved. Not an error: the CLI exits with 130."""

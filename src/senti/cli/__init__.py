"""The ``senti`` command: one thin module per command (or group of small commands) over library functions.

Subcommands follow the workflow: datasets → train / compare / stack → evaluate / report / check → predict / export /
serve / rationale. Importing a command module registers its commands on `main`; each keeps its heavy imports
inside the command function.
"""

from __future__ import annotations

from senti.cli import check, data, evaluate, predict, pretrain, rationale, serve, train, tune  # noqa: F401
from senti.cli.app import main

__all__ = ["main"]

#!/usr/bin/env bash
# Set up .venv and run the linter and the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check src tests bench
.venv/bin/lint-imports  # the layers contract in pyproject.toml: no module imports from a layer above it
.venv/bin/python -m pytest -q "$@"

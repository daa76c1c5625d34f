#!/usr/bin/env bash
# Create or refresh the project's virtual environment at .venv (idempotent).
# torch is installed first at an exact version: its CPU build; a looser requirement would pull a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
TORCH_VERSION=2.13.0
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
if ! .venv/bin/python -c "import torch, sys; sys.exit(not torch.__version__.startswith('$TORCH_VERSION'))" 2>/dev/null; then
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet "torch==$TORCH_VERSION"
fi
.venv/bin/python -m pip install --quiet -e ".[dev,word2vec,lemma,tune,spark]" 2>&1 | grep -v "is ignored: it is neither a file nor a directory" || true
.venv/bin/python -c "import senti, torch; print(f'senti {senti.__version__} with torch {torch.__version__} in .venv')"
# The browser test (tests/test_web_page.py) drives Debian's `chromium` through Playwright's Python package
# (Playwright's own browser download needs the internet). Installed here when missing, as root with apt-get;
# otherwise the test skips with the reason (and fails when CI=true). SENTI_CHROMIUM=/path/to/chromium overrides.
if [ -z "${SENTI_CHROMIUM:-}" ] && ! command -v chromium >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "installing chromium for the browser test (apt-get)"
        if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
                chromium; } >/dev/null 2>&1; then
            echo "warning: apt-get could not install chromium; the browser test will not run" >&2
        fi
    else
        echo "note: no chromium; install it (apt-get install chromium) to run the browser test" >&2
    fi
fi
# The Spark tests (tests/test_spark.py) run a local Spark, which needs Java 17+: installed here when missing, as
# root with apt-get; otherwise those tests skip with the reason (and fail when CI=true).
if ! command -v java >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "installing Java for the Spark tests (apt-get)"
        if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
                default-jre-headless; } >/dev/null 2>&1; then
            echo "warning: apt-get could not install Java; the Spark tests will not run" >&2
        fi
    else
        echo "note: no java; install it (apt-get install default-jre-headless) to run the Spark tests" >&2
    fi
fi

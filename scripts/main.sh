#!/usr/bin/env bash
# The main job: set up .venv, train the default model on IMDB, evaluate it on the test split, run the behaviour
# checks, export it to ONNX and predict a few reviews with it. Data: $SENTI_DATA_DIR, else ../shared/data beside
# this checkout, else IMDB is downloaded.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ -z "${SENTI_DATA_DIR:-}" ] && [ -d ../shared/data ]; then
    export SENTI_DATA_DIR=$(cd ../shared/data && pwd)
fi
RUN=${RUN:-runs/imdb-default}
senti=.venv/bin/senti
$senti datasets
if [ -f "$RUN/model/senti-model.json" ]; then
    echo "== $RUN already trained; remove it to train again"
elif [ -f "$RUN/checkpoints/last.ckpt" ]; then
    $senti train --resume "$RUN"
else
    $senti train --dataset imdb --output "$RUN" --overwrite   # the default model, as users get it
fi
echo "== evaluate on the IMDB test split"
$senti evaluate "$RUN" --dataset imdb --split test
echo "== behaviour checks (negation, contrast, intensity, invariance, direction)"
$senti check "$RUN" --show 1
echo "== export the stack's BiGRU to ONNX Runtime (prediction below then uses it)"
$senti export "$RUN" --format onnx
echo "== predict"
$senti predict "$RUN" \
    "One of the best films I have seen in years: moving, funny and beautifully acted." \
    "A tedious mess. The plot makes no sense and I wanted my two hours back." \
    "Not bad at all, though the ending dragged."

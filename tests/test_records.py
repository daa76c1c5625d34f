"""One prediction record everywhere: ``senti predict --json``, the server (fast path and FastAPI route, with and
without explanations) and scored files give the same label, confidence and probabilities, and mark an empty
text as empty (issue 22: empty input texts got a label with nothing marking them)."""

from __future__ import annotations

import asyncio
import csv
import json

import httpx
import numpy as np
import pandas as pd
from click.testing import CliRunner

import senti
from senti.cli import main
from senti.predict_io import score_file
from senti.scoring.records import prediction_records
from senti.serving.app import create_app

TEXTS = ["A wonderful, moving film.", "", "   ", "dull and boring"]
EMPTY = [False, True, True, False]


def test_a_record_holds_label_confidence_probabilities_and_marks_empty_texts():
    records = prediction_records(["neg", "pos"], [[0.25, 0.75], [0.5, 0.5], [0.9, 0.1]], ["good", "", " \n"])
    assert records[0] == {"label": "pos", "confidence": 0.75, "probabilities": {"neg": 0.25, "pos": 0.75}}
    assert records[1] == {"label": "neg", "confidence": 0.5, "probabilities": {"neg": 0.5, "pos": 0.5},
                          "empty": True}
    assert records[2]["empty"] is True and records[2]["label"] == "neg"
    # Rounding is for show: the label is chosen from the unrounded row.
    assert prediction_records(["a", "b"], [[0.4999999, 0.5000001]], ["x"], digits=6)[0]["label"] == "b"


def test_cli_server_and_scored_files_give_the_same_records(tiny_run, tmp_path):
    model = senti.load(tiny_run.run_dir)
    proba = model.predict_proba(TEXTS)

    out = CliRunner().invoke(main, ["predict", str(tiny_run.run_dir), "--json", *TEXTS])
    assert out.exit_code == 0, out.output
    cli = [json.loads(line) for line in out.output.splitlines()]

    async def ask(fast_path: bool, explain: bool) -> list[dict]:
        app = create_app(model, fast_path=fast_path)
        async with app.router.lifespan_context(app), httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
            r = await c.post("/v1/predict", json={"texts": TEXTS, "explain": explain})
            assert r.status_code == 200, r.text
            return r.json()["predictions"]

    served = {(fast, explain): asyncio.run(ask(fast, explain)) for fast in (True, False) for explain in (False, True)}

    src, dst = tmp_path / "in.csv", tmp_path / "out.csv"
    pd.DataFrame({"text": TEXTS}).to_csv(src, index=False, quoting=csv.QUOTE_ALL)
    score_file(model, str(src), str(dst))
    scored = pd.read_csv(dst, keep_default_na=False)
    assert list(scored.columns) == ["text", "pred_label", "pred_confidence", "prob_negative", "prob_positive",
                                    "pred_empty"]

    for i, text in enumerate(TEXTS):
        label = model.labels[int(proba[i].argmax())]
        answers = [cli[i], *(preds[i] for preds in served.values())]
        for a in answers:
            assert a["label"] == label and a.get("empty", False) is EMPTY[i], (text, a)
            assert list(a["probabilities"]) == model.labels
            np.testing.assert_allclose(list(a["probabilities"].values()), proba[i], atol=1e-6)
            assert a["confidence"] == max(a["probabilities"].values())
        assert cli[i]["text"] == text
        assert scored["pred_label"][i] == label and bool(scored["pred_empty"][i]) is EMPTY[i]
        np.testing.assert_allclose(scored[["prob_negative", "prob_positive"]].iloc[i], proba[i], atol=1e-6)

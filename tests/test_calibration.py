"""Temperature scaling and the calibration measures: hand-computed values, the fit, and every runtime applying
the bundle's temperature (PyTorch, ONNX, the server's fast path), while old bundles stay as they were."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import numpy as np
import pytest

import senti
from senti.calibration import (
    apply_temperature,
    brier_score,
    calibrate,
    ece_noise,
    expected_calibration_error,
    fit_temperature,
    reliability,
    temperature_of,
)
from senti.evaluation.metrics import classification_metrics

from .conftest import synthetic_reviews

SENTI = str(Path(sys.executable).parent / "senti")
LEGACY = Path(__file__).parent / "fixtures" / "legacy"


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def test_ece_and_brier_of_a_hand_made_case():
    # Top-class confidences 0.9, 0.9, 0.62, 0.7: bins (13/15, 14/15] twice, (9/15, 10/15], (10/15, 11/15].
    proba = np.array([[0.9, 0.1], [0.1, 0.9], [0.62, 0.38], [0.3, 0.7]])
    y = np.array([0, 0, 0, 0])  # right, wrong, right, wrong
    # bin 13: accuracy 0.5, confidence 0.9 -> 2/4 * 0.4; bin 9: 1/4 * |1 - 0.62|; bin 10: 1/4 * |0 - 0.7|
    assert expected_calibration_error(proba, y) == pytest.approx(0.2 + 0.095 + 0.175)
    table = reliability(proba, y)
    assert sum(table["count"]) == 4 and table["count"][13] == 2 and table["count"][9] == 1
    assert table["count"][10] == 1 and table["accuracy"][0] is None and table["accuracy"][13] == 0.5
    # Brier: (0.01 + 0.01) + (0.81 + 0.81) + (0.1444 + 0.1444) + (0.49 + 0.49), over 4
    assert brier_score(proba, y) == pytest.approx((0.02 + 1.62 + 0.2888 + 0.98) / 4)
    # A confidence of exactly 1 is in the last bin; a perfect, certain model has ECE 0.
    assert expected_calibration_error(np.array([[1.0, 0.0]]), np.array([0])) == 0.0


def test_metrics_take_labels_from_the_probabilities():
    proba = np.array([[0.8, 0.2], [0.3, 0.7], [0.6, 0.4]])
    m = classification_metrics(["a", "b", "b"], None, ["a", "b"], proba)
    assert m["accuracy"] == pytest.approx(2 / 3)
    assert m["ece"] == pytest.approx(expected_calibration_error(proba, np.array([0, 1, 1])))
    assert m["brier"] == pytest.approx(brier_score(proba, np.array([0, 1, 1])))
    assert "ece" not in classification_metrics(["a", "b"], ["a", "a"], ["a", "b"])


@pytest.mark.parametrize(("true_t", "objective"), [(2.0, "brier"), (0.5, "brier"), (2.0, "nll"), (0.5, "nll")])
def test_fitting_recovers_a_known_temperature(true_t, objective):
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3, size=(20000, 3))
    y = np.array([rng.choice(3, p=p) for p in _softmax(logits)])  # calibrated at temperature 1
    overconfident = _softmax(logits * true_t)  # what a model sharpened by true_t would output
    t = fit_temperature(overconfident, y, objective)
    assert t == pytest.approx(true_t, rel=0.05)
    cal = calibrate(overconfident, y, objective=objective)
    assert cal["nll_after"] < cal["nll_before"] and cal["ece_after"] < cal["ece_before"]
    assert cal["brier_after"] < cal["brier_before"]


def test_a_few_absurdly_confident_errors_do_not_choose_the_temperature():
    # 2,000 well-calibrated predictions and 10 wrong ones at log-odds -60: the NLL fit is dragged far above 1
    # by the ten; the Brier fit stays near the truth (1), as the calibration of the 2,000 asks.
    rng = np.random.default_rng(2)
    logits = rng.normal(0, 2, size=(2000, 2))
    y = np.array([rng.choice(2, p=p) for p in _softmax(logits)])
    logits = np.vstack([logits, np.tile([60.0, 0.0], (10, 1))])
    y = np.concatenate([y, np.ones(10, dtype=int)])
    proba = _softmax(logits)
    assert fit_temperature(proba, y, "brier") == pytest.approx(1.0, rel=0.1)
    assert fit_temperature(proba, y, "nll") > 1.5


def test_a_split_without_errors_keeps_temperature_one():
    proba = _softmax(np.random.default_rng(3).normal(0, 2, size=(100, 2)))
    assert fit_temperature(proba, proba.argmax(1)) == 1.0  # any sharper T would "win": nothing to learn


def test_apply_temperature_keeps_argmax_and_t1_is_identity():
    p = _softmax(np.random.default_rng(1).normal(size=(50, 4))).astype(np.float32)
    assert apply_temperature(p, 1.0) is p
    q = apply_temperature(p, 2.5)
    assert q.dtype == np.float32
    np.testing.assert_allclose(q, _softmax(np.log(p.astype(np.float64)) / 2.5), atol=1e-6)
    assert (q.argmax(1) == p.argmax(1)).all() and q.max() < p.max()
    assert temperature_of({}) == 1.0 and temperature_of({"calibration": {"temperature": 1.7}}) == 1.7


def test_the_ece_floor_is_the_sampling_noise_of_a_calibrated_model():
    # One confidence c for every example: the ECE of a calibrated model is |k/n - c| with k ~ Binomial(n, c),
    # whose mean is sqrt(2/pi) * sqrt(c(1-c)/n) (normal approximation): 0.00319 for n = 10,000, c = 0.8.
    n, c = 10_000, 0.8
    proba = np.tile([c, 1 - c], (n, 1))
    floor = ece_noise(proba, np.zeros(n, dtype=int), n_sims=2000)["ece_floor"]
    assert floor == pytest.approx(np.sqrt(2 / np.pi) * np.sqrt(c * (1 - c) / n), rel=0.05)
    rng = np.random.default_rng(3)
    conf = rng.uniform(0.5, 1.0, 900)
    proba = np.column_stack([conf, 1 - conf])
    calibrated = (rng.random(900) >= conf).astype(int)  # class 0 with probability conf: calibrated by design
    seen = ece_noise(proba, calibrated)
    assert seen == ece_noise(proba, calibrated)  # seeded
    assert seen["ece_p"] > 0.05 and 0.015 < seen["ece_floor"] < 0.04  # 900 examples: ECE ~0.025 by chance alone
    assert seen["ece_floor"] > 2 * ece_noise(np.tile(proba, (10, 1)), np.tile(calibrated, 10))["ece_floor"]
    underconfident = ece_noise(proba, np.zeros(900, dtype=int))  # always right, ~75 % sure on average
    assert underconfident["ece_p"] < 0.01 and underconfident["ece_floor"] == seen["ece_floor"]
    m = classification_metrics(["negative" if k == 0 else "positive" for k in calibrated], None,
                               ["negative", "positive"], proba)
    assert (m["ece_floor"], m["ece_p"]) == (seen["ece_floor"], seen["ece_p"])


def test_the_reliability_diagram_marks_where_a_calibrated_model_would_fall(tmp_path):
    from senti.evaluation.plots import calibrated_range, reliability_diagram

    low, high = calibrated_range(np.array([0.8, 0.5, 0.99, np.nan]), np.array([100, 400, 10, 0]))
    np.testing.assert_allclose(low[:2], [0.8 - 1.96 * 0.04, 0.5 - 1.96 * 0.025])  # sqrt(.16/100), sqrt(.25/400)
    np.testing.assert_allclose(high[:2], [0.8 + 1.96 * 0.04, 0.5 + 1.96 * 0.025])
    assert high[2] == 1.0 and np.isnan(low[3]) and np.isnan(high[3])  # clipped; an empty bin has no range
    rng = np.random.default_rng(0)
    conf = rng.uniform(0.5, 1.0, 500)
    table = reliability(np.column_stack([conf, 1 - conf]), (rng.random(500) >= conf).astype(int))
    assert reliability_diagram(table, 0.03, "test", tmp_path / "r.png").stat().st_size > 10_000


def _noisy(df, rate: float = 0.2, seed: int = 0):
    # Label noise, so a model makes validation errors: without any, the temperature stays 1 (nothing to fit).
    df = df.copy()
    flip = np.random.default_rng(seed).random(len(df)) < rate
    df.loc[flip, "label"] = df.loc[flip, "label"].map({"negative": "positive", "positive": "negative"})
    return df


@pytest.fixture(scope="module")
def noisy_run(tmp_path_factory):
    """A small GRU trained on noisy synthetic reviews: its temperature is not 1."""
    df = synthetic_reviews(800, seed=1)
    out = tmp_path_factory.mktemp("cal") / "tiny"
    return senti.train(out, train=_noisy(df.iloc[:600]), test=df.iloc[600:], model="gru", epochs=4,
                       embedding_dim=32, hidden_size=32, min_count=1, progress=False, report=False)


@pytest.fixture(scope="module")
def texts():
    return synthetic_reviews(120, seed=11)["text"].tolist()


def test_a_trained_run_is_calibrated_and_argmax_unchanged(noisy_run, texts):
    model = senti.load(noisy_run.run_dir, runtime="torch")
    cal = model.metadata["calibration"]
    t = cal["temperature"]
    assert cal["fitted_on"] == "validation" and abs(t - 1) > 0.01  # else this test could not tell
    raw = model.raw_proba(texts).astype(np.float64)
    proba = model.predict_proba(texts)
    np.testing.assert_allclose(proba, _softmax(np.log(raw) / t), atol=1e-6)
    assert (proba.argmax(1) == raw.argmax(1)).all()
    assert np.abs(proba - raw).max() > 1e-3
    assert list(model.predict(texts)) == list(model.classes_[proba.argmax(1)])  # predict skips the softmax
    metrics = json.loads((noisy_run.run_dir / "metrics.json").read_text())
    assert metrics["calibration"]["temperature"] == t and 0 <= metrics["ece"] < 1 and "reliability" in metrics
    assert 0 < metrics["ece_floor"] < 1 and 0 < metrics["ece_p"] <= 1
    # explanations see the same probabilities
    explained = model.explain(texts[:2])[0].probabilities
    assert [explained[lab] for lab in model.labels] == pytest.approx(proba[0].tolist(), abs=1e-6)


def test_the_report_says_how_much_ece_noise_alone_gives(noisy_run, tmp_path):
    from senti.evaluation.report import write_report

    run_dir = tmp_path / "run"
    shutil.copytree(noisy_run.run_dir, run_dir)
    html = write_report(run_dir).read_text()
    m = json.loads((run_dir / "metrics.json").read_text())
    assert f"a perfectly calibrated model would show an ECE of about {m['ece_floor']:.4f}" in html
    assert f"p = {m['ece_p']:.2f}" in html


def test_onnx_and_the_fast_path_give_the_calibrated_probabilities(noisy_run, texts, tmp_path):
    from senti.runtime.onnx import export_onnx
    from senti.serving.app import Limits, create_app

    run_dir = shutil.copytree(noisy_run.run_dir, tmp_path / "run")
    torch_model = senti.load(run_dir, runtime="torch")
    reference = torch_model.predict_proba(texts)
    assert np.abs(reference - torch_model.raw_proba(texts)).max() > 1e-3  # the temperature shows
    export_onnx(run_dir)
    onnx = senti.load(run_dir, runtime="onnx")
    assert onnx.temperature == noisy_run.model.temperature != 1.0
    np.testing.assert_allclose(onnx.predict_proba(texts), reference, atol=1e-5)

    app = create_app(senti.load(run_dir, runtime="torch"), Limits(max_texts=200, max_chars=10000), fast_path=True)

    async def post() -> dict:
        async with app.router.lifespan_context(app), httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                                                       base_url="http://test") as c:
            r = await c.post("/v1/predict", json={"texts": texts[:20]})
            assert r.status_code == 200
            return r.json()

    got = asyncio.run(post())["predictions"]
    labels = noisy_run.model.labels
    served = np.array([[row["probabilities"][lab] for lab in labels] for row in got])
    np.testing.assert_allclose(served, reference[:20], atol=1e-5)


def test_an_old_bundle_without_calibration_is_unchanged(tmp_path):
    bundle = shutil.copytree(LEGACY / "nbsvm", tmp_path / "nbsvm")
    model = senti.load(bundle)
    assert "calibration" not in model.metadata and model.temperature == 1.0
    texts = json.loads((LEGACY / "expected.json").read_text())["texts"]
    np.testing.assert_array_equal(model.predict_proba(texts), model.raw_proba(texts))


def test_no_calibrate_trains_without_a_temperature(tmp_path):
    df = synthetic_reviews(300, seed=4)
    run = senti.train(tmp_path / "r", train=df, model="nbsvm", calibrate=False, progress=False, report=False)
    assert "calibration" not in run.model.metadata and run.model.temperature == 1.0


def test_evaluate_json_reports_ece_and_brier(noisy_run, tmp_path):
    path = tmp_path / "test.csv"
    synthetic_reviews(100, seed=5).to_csv(path, index=False)
    p = subprocess.run([SENTI, "evaluate", str(noisy_run.run_dir), "--input", str(path), "--json"],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    m = json.loads(p.stdout)
    df = synthetic_reviews(100, seed=5)
    model = senti.load(noisy_run.run_dir)
    y = np.asarray([model.labels.index(lab) for lab in df["label"]])
    proba = model.predict_proba(df["text"].tolist())
    assert m["ece"] == pytest.approx(expected_calibration_error(proba, y), abs=1e-6)
    assert m["brier"] == pytest.approx(brier_score(proba, y), abs=1e-6)
    table = subprocess.run([SENTI, "evaluate", str(noisy_run.run_dir), "--input", str(path)], capture_output=True,
                           text=True, timeout=300)
    assert f"ECE={m['ece']:.4f}" in table.stdout


def test_a_stack_reads_its_members_raw_as_its_bundle_does(tmp_path):
    # Members are calibrated by their own runs, but the saved stack scores them with raw member scorers: the
    # stacker must be fitted (and the run's test metrics computed) on the same raw probabilities.
    df = synthetic_reviews(900, seed=6)
    noisy, test = _noisy(df.iloc[:700]), df.iloc[700:]
    run = senti.train(tmp_path / "s", train=noisy, test=test, model="mingru+nbsvm", epochs=2, min_count=1,
                      progress=False, report=False)
    member = json.loads((tmp_path / "s" / "members" / "nbsvm3" / "model" / "senti-model.json").read_text())
    assert abs(member["calibration"]["temperature"] - 1) > 0.01  # else raw and calibrated would agree
    loaded = senti.load(tmp_path / "s").evaluate(test["text"].tolist(), test["label"].tolist())
    assert loaded["brier"] == pytest.approx(run.metrics["brier"], abs=1e-6)
    assert loaded["ece"] == pytest.approx(run.metrics["ece"], abs=1e-6)


def test_a_stack_is_calibrated_on_its_cross_validated_scores_not_on_texts_it_learned(tmp_path):
    # The stacker is fitted on the validation split and, with refit, the n-gram members train on it again: scored
    # again, those texts look surer than unseen ones and a temperature fitted there sharpens every probability
    # (here T 0.43, test ECE 0.15). Fitted on the stacker's cross-validated scores of the members it saw, the
    # temperature is the same with or without the refit, and honest on the test split.
    from senti.training.run import stack

    df = synthetic_reviews(1600, seed=1)
    train, test = _noisy(df.iloc[:1200]), _noisy(df.iloc[1200:])
    for m in ("nbsvm3", "tfidf-logreg"):
        senti.train(tmp_path / m, train=train, test=test, model=m, progress=False, report=False)
    runs = {refit: stack([tmp_path / "nbsvm3", tmp_path / "tfidf-logreg"], tmp_path / refit, refit=refit,
                         progress=False, report=False) for refit in ("linear", "none")}
    cal = {refit: run.model.metadata["calibration"] for refit, run in runs.items()}
    assert cal["linear"]["fitted_on"] == "cross-validated validation"
    assert cal["linear"]["temperature"] == pytest.approx(cal["none"]["temperature"], rel=1e-6)
    assert 0.7 < cal["linear"]["temperature"] < 1.2
    assert runs["linear"].metrics["ece"] < 0.08


def test_calibrating_on_given_probabilities_checks_their_shape(noisy_run, texts):
    model = senti.load(noisy_run.run_dir, runtime="torch")
    labels = ["positive", "negative"] * 3
    raw = model.raw_proba(texts[:6])
    cal = model.calibrate(texts[:6], labels, "given", raw=raw)
    assert cal["fitted_on"] == "given" and cal["n"] == 6
    with pytest.raises(ValueError, match=r"raw probabilities of shape \(5, 2\) for 6 texts"):
        model.calibrate(texts[:6], labels, raw=raw[:5])


def test_worker_processes_and_scored_files_are_calibrated(noisy_run):
    import pandas as pd

    from senti.parallel import CHUNK
    from senti.predict_io import score_frame

    texts = synthetic_reviews(CHUNK + 200, seed=12)["text"].tolist()  # more than a chunk: the pool is used
    model = senti.load(noisy_run.run_dir, runtime="torch")
    try:
        one = model.predict_proba(texts)
        two = model.predict_proba(texts, n_process=2)
    finally:
        if model._pool is not None:
            model._pool.close()
    assert np.abs(one - model.raw_proba(texts)).max() > 1e-3
    np.testing.assert_allclose(two, one, atol=1e-5)
    scored = score_frame(model, pd.DataFrame({"text": texts[:50]}), texts[:50])
    got = scored[[f"prob_{lab}" for lab in model.labels]].to_numpy()
    np.testing.assert_allclose(got, one[:50], atol=1e-6)

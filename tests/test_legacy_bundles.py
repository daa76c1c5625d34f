"""Bundles written by an older senti (tests/fixtures/legacy, saved by the commit named in expected.json) still
load and give the probabilities that senti gave, so a change to the prediction code or the bundle reader cannot
silently change what a user's saved model says."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import senti

LEGACY = Path(__file__).parent / "fixtures" / "legacy"
EXPECTED = json.loads((LEGACY / "expected.json").read_text())
TEXTS = EXPECTED["texts"]

# (bundle, runtime): every kind through its default runtime, and the GRU through PyTorch as well.
CASES = [("gru", "auto"), ("gru", "torch"), ("nbsvm", "auto"), ("ensemble", "auto")]


@pytest.mark.parametrize(("kind", "runtime"), CASES, ids=[f"{k}-{r}" for k, r in CASES])
def test_a_legacy_bundle_predicts_as_it_did(kind, runtime, tmp_path):
    # A copy: loading must not depend on (or write to) the fixture folder, and the fixture stays pristine.
    bundle = shutil.copytree(LEGACY / kind, tmp_path / kind)
    model = senti.load(bundle, runtime=runtime)
    expected = EXPECTED[kind]
    assert list(model.classes_) == expected["labels"]
    proba = np.asarray(model.predict_proba(TEXTS), dtype=np.float64)
    np.testing.assert_allclose(proba, np.asarray(expected["proba"]), rtol=0, atol=1e-6)
    want = [expected["labels"][i] for i in np.argmax(expected["proba"], axis=1)]
    assert list(model.predict(TEXTS)) == want


def test_the_fixtures_are_distinct_models():
    # Guards the guard: if the fixtures were regenerated as identical or degenerate models, agreement with
    # them would prove little. Each must tell at least one text apart from another.
    for kind in ("gru", "nbsvm", "ensemble"):
        proba = np.asarray(EXPECTED[kind]["proba"])
        assert np.ptp(proba[:, 1]) > 1e-3, kind
    assert not np.allclose(EXPECTED["gru"]["proba"], EXPECTED["nbsvm"]["proba"], atol=1e-3)

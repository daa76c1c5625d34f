import json
import shutil

import numpy as np
import pytest

import senti
from senti.bundle import MANIFEST, VOCAB, WEIGHTS, BundleError

TEXTS = ["A wonderful, moving film. Loved it!", "Boring and awful, a waste.", "", "😀", "<br />"]


def test_round_trip_predictions_are_identical(tiny_run, tmp_path):
    before = tiny_run.model.predict_proba(TEXTS)
    again = senti.load(tiny_run.run_dir).predict_proba(TEXTS)
    np.testing.assert_array_equal(before, again)
    assert np.allclose(before.sum(1), 1.0)
    copy = tiny_run.model.save(tmp_path / "bundle")
    np.testing.assert_array_equal(senti.load(copy).predict_proba(TEXTS), before)


def test_bundle_records_config_labels_and_metrics(tiny_run):
    manifest = json.loads((tiny_run.run_dir / "model" / MANIFEST).read_text())
    assert manifest["format_version"] == 1
    assert manifest["labels"] == ["negative", "positive"]
    assert manifest["clean"]["html"] is True and manifest["vocab"]["truncate"] == "both"
    assert manifest["model"]["architecture"] == "senti.rnn.v1"
    assert manifest["metrics"]["accuracy"] == tiny_run.metrics["accuracy"]
    assert set(manifest["files"]) == {WEIGHTS, VOCAB}


@pytest.fixture
def bundle(tiny_run, tmp_path):
    path = tmp_path / "bundle"
    shutil.copytree(tiny_run.run_dir / "model", path)
    return path


def _edit_manifest(path, **changes):
    m = json.loads((path / MANIFEST).read_text())
    for k, v in changes.items():
        if isinstance(v, dict):
            m[k].update(v)
        else:
            m[k] = v
    (path / MANIFEST).write_text(json.dumps(m))


def test_tampered_weights_fail_the_checksum(bundle):
    data = bytearray((bundle / WEIGHTS).read_bytes())
    data[-1] ^= 0xFF
    (bundle / WEIGHTS).write_bytes(bytes(data))
    with pytest.raises(BundleError, match="checksum mismatch"):
        senti.load(bundle)


def test_missing_file(bundle):
    (bundle / VOCAB).unlink()
    with pytest.raises(BundleError, match="missing file vocab.json"):
        senti.load(bundle)


def test_unknown_format_version_names_it(bundle):
    _edit_manifest(bundle, format_version=7)
    with pytest.raises(BundleError, match="format version 7.*upgrade senti"):
        senti.load(bundle)


def test_unknown_architecture(bundle):
    _edit_manifest(bundle, model={"architecture": "evil.module.v1"})
    with pytest.raises(BundleError, match="unknown architecture 'evil.module.v1'"):
        senti.load(bundle)


def test_not_a_bundle_and_pickle_never_loaded(tmp_path):
    with pytest.raises(BundleError, match="not a senti model"):
        senti.load(tmp_path)
    (tmp_path / MANIFEST).write_text("{not json")
    with pytest.raises(BundleError, match="not valid JSON"):
        senti.load(tmp_path)


def test_predict_api_verbs(tiny_run):
    m = tiny_run.model
    assert list(m.classes_) == ["negative", "positive"]
    assert m.predict(["loved it, wonderful, brilliant", "awful, terrible, worst"]).tolist() == [
        "positive", "negative"]
    assert m.score(["loved it, wonderful"], ["positive"]) == 1.0
    with pytest.raises(TypeError, match="single str"):
        m.predict("just one string")
    with pytest.raises(ValueError, match="not among the model's classes"):
        m.evaluate(["x"], ["neutral"])
    assert m.predict_proba([]).shape == (0, 2)

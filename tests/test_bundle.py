import json
import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest

import senti
from senti.bundle import MANIFEST, VOCAB, WEIGHTS, BundleError, write_manifest
from senti.io import sha256_file

LEGACY = Path(__file__).parent / "fixtures" / "legacy"

TEXTS = ["A wonderful, moving film. Loved it!", "Boring and awful, a waste.", "", "😀", "<br />"]


def test_round_trip_predictions_are_identical(tiny_run, tmp_path):
    before = tiny_run.model.predict_proba(TEXTS)
    again = senti.load(tiny_run.run_dir).predict_proba(TEXTS)
    np.testing.assert_array_equal(before, again)
    assert np.allclose(before.sum(1), 1.0)
    copy = senti.load(tiny_run.run_dir).save(tmp_path / "bundle")  # save() repoints .source: not the shared model
    np.testing.assert_array_equal(senti.load(copy).predict_proba(TEXTS), before)


def test_bundle_records_config_labels_and_metrics(tiny_run):
    manifest = json.loads((tiny_run.run_dir / "model" / MANIFEST).read_text())
    assert manifest["format_version"] == 2 and len(manifest["manifest_sha256"]) == 64
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


def _edit_manifest(path, resign=True, **changes):
    """Change manifest keys; ``resign`` recomputes the manifest checksum, as a crafted (not an accidentally
    edited) bundle would, so the checks behind it are reached."""
    m = json.loads((path / MANIFEST).read_text())
    for k, v in changes.items():
        if isinstance(v, dict):
            m[k].update(v)
        else:
            m[k] = v
    if resign:
        write_manifest(path, m)
    else:
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
    _edit_manifest(bundle, resign=False, format_version=7)  # write_manifest would write the current one
    with pytest.raises(BundleError, match="format version 7.*upgrade senti"):
        senti.load(bundle)


def test_unknown_architecture(bundle):
    _edit_manifest(bundle, model={"architecture": "evil.module.v1"})
    with pytest.raises(BundleError, match="unknown architecture 'evil.module.v1'"):
        senti.load(bundle)


class _Payload:
    """Unpickling this creates the marker file: proof that a pickle was loaded."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.makedirs, (self.marker,))


def test_not_a_bundle_and_pickle_never_loaded(tmp_path):
    marker = tmp_path.parent / f"{tmp_path.name}-unpickled"
    # The files a PyTorch or scikit-learn model would be saved as, each a pickle that acts when loaded.
    for name in ("model.pt", "model.pkl", "pytorch_model.bin", WEIGHTS):
        (tmp_path / name).write_bytes(pickle.dumps(_Payload(marker)))
    with pytest.raises(BundleError, match="not a senti model"):
        senti.load(tmp_path)
    (tmp_path / MANIFEST).write_text("{not json")
    with pytest.raises(BundleError, match="not valid JSON"):
        senti.load(tmp_path)
    assert not marker.exists()
    pickle.loads((tmp_path / "model.pkl").read_bytes())  # the payload does act when a pickle is loaded
    assert marker.exists()


@pytest.mark.parametrize("edit", ["swap labels", "metrics", "clean", "drop checksum", "add key"])
def test_an_edited_manifest_is_refused(bundle, edit):
    m = json.loads((bundle / MANIFEST).read_text())
    if edit == "swap labels":  # would silently invert every prediction
        m["labels"] = m["labels"][::-1]
    elif edit == "metrics":
        m["metrics"]["accuracy"] = 0.999
    elif edit == "clean":
        m["clean"]["lowercase"] = not m["clean"]["lowercase"]
    elif edit == "drop checksum":
        m["labels"] = m["labels"][::-1]
        del m["manifest_sha256"]
    else:
        m["note"] = "harmless?"
    (bundle / MANIFEST).write_text(json.dumps(m, indent=4))
    with pytest.raises(BundleError, match=rf"{MANIFEST}: .*the manifest was edited"):
        senti.load(bundle)


def test_a_reformatted_manifest_still_loads(bundle, tiny_run):
    # The checksum covers the content, not the layout: re-indenting or reordering keys is not an edit.
    m = json.loads((bundle / MANIFEST).read_text())
    (bundle / MANIFEST).write_text(json.dumps(dict(reversed(list(m.items()))), indent=1, ensure_ascii=True))
    np.testing.assert_array_equal(senti.load(bundle).predict_proba(TEXTS), tiny_run.model.predict_proba(TEXTS))


def test_an_edited_member_manifest_is_refused(tmp_path):
    bundle = shutil.copytree(LEGACY / "ensemble", tmp_path / "ensemble")
    senti.load(bundle).save(tmp_path / "v2")  # written in the current format, members included
    member = tmp_path / "v2" / "members" / "nbsvm3" / MANIFEST
    assert json.loads(member.read_text())["format_version"] == 2
    m = json.loads(member.read_text())
    m["labels"] = m["labels"][::-1]
    member.write_text(json.dumps(m))
    with pytest.raises(BundleError, match=r"members/nbsvm3/senti-model.json: .*the manifest was edited"):
        senti.load(tmp_path / "v2")


def test_format_1_bundles_load_without_a_manifest_checksum(tmp_path):
    bundle = shutil.copytree(LEGACY / "nbsvm", tmp_path / "nbsvm")
    assert "manifest_sha256" not in json.loads((bundle / MANIFEST).read_text())
    model = senti.load(bundle)
    resaved = json.loads((model.save(tmp_path / "again") / MANIFEST).read_text())
    assert resaved["format_version"] == 2 and "manifest_sha256" in resaved
    np.testing.assert_array_equal(senti.load(tmp_path / "again").predict_proba(TEXTS), model.predict_proba(TEXTS))


@pytest.mark.parametrize("name", ["../outside.bin", "/etc/hostname", "sub/../../outside.bin", "..\\outside.bin",
                                  "link/outside.bin"])
def test_file_names_outside_the_bundle_are_refused(bundle, name):
    outside = bundle.parent / "outside.bin"
    outside.write_bytes(b"x")
    (bundle / "sub").mkdir()
    (bundle / "link").symlink_to(bundle.parent, target_is_directory=True)
    files = json.loads((bundle / MANIFEST).read_text())["files"]
    _edit_manifest(bundle, files={**files, name: sha256_file(outside)})  # a checksum that would match
    with pytest.raises(BundleError, match=r"name .* points outside the bundle folder"):
        senti.load(bundle)


@pytest.mark.parametrize("name", ["../../gru", "/tmp/x", "..", "a/b"])
def test_member_names_outside_the_bundle_are_refused(tmp_path, name):
    bundle = shutil.copytree(LEGACY / "ensemble", tmp_path / "ensemble")
    shutil.copytree(LEGACY / "gru", tmp_path / "gru")  # what ../../gru would reach
    m = json.loads((bundle / MANIFEST).read_text())
    m["model"]["members"] = [name, *m["model"]["members"][1:]]
    write_manifest(bundle, m)
    with pytest.raises(BundleError, match=r"member name .* (points outside|not a plain folder name)"):
        senti.load(bundle)


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


@pytest.mark.parametrize("kind", ["gru", "nbsvm", "ensemble"])
def test_saving_again_writes_the_same_weight_bytes(kind, tmp_path):
    # N-gram models and the stacker now write NumPy arrays (no torch), networks torch tensors: either way the
    # safetensors files must be the very bytes an older senti wrote, members included.
    copy = senti.load(LEGACY / kind).save(tmp_path / kind)
    written = sorted(p.relative_to(copy) for p in copy.rglob(WEIGHTS))
    assert written == sorted(p.relative_to(LEGACY / kind) for p in (LEGACY / kind).rglob(WEIGHTS))
    for rel in written:
        assert (copy / rel).read_bytes() == (LEGACY / kind / rel).read_bytes(), rel


def test_weights_read_as_numpy_or_torch_are_the_same_numbers():
    from senti.bundle import load_bundle

    for kind in ("gru", "nbsvm"):
        _, _, arrays = load_bundle(LEGACY / kind, framework="np")
        _, _, tensors = load_bundle(LEGACY / kind)
        assert arrays.keys() == tensors.keys() and all(isinstance(a, np.ndarray) for a in arrays.values())
        for name, tensor in tensors.items():
            assert arrays[name].dtype == tensor.numpy().dtype
            np.testing.assert_array_equal(arrays[name], tensor.numpy(), err_msg=name)
    with pytest.raises(ValueError, match="framework"):
        load_bundle(LEGACY / "nbsvm", framework="jax")

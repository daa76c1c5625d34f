"""The report renders from a real (small) run: every figure a real PNG with the expected title and axes,
referenced by a self-contained report.html."""

import base64
import json
import re
import shutil

import pytest
from PIL import Image

from senti.cli import main  # noqa: F401 - the CLI module imports cleanly with the report pieces
from senti.evaluation.report import write_comparison, write_report

EXPECTED = {
    "learning_curves.png": ("Loss per epoch | Accuracy per epoch", "epoch"),
    "confusion_matrix.png": ("Confusion matrix (counts) | Confusion matrix (row-normalised)", "predicted label"),
    "per_class.png": ("Precision, recall and F1 per class", ""),
    "top_words.png": ("Top words: negative | Top words: positive", "log-odds"),
    "embeddings.png": ("Word embeddings (PCA, ", "PCA 1"),
}


def _png_text(path):
    img = Image.open(path)
    img.load()
    assert img.format == "PNG" and img.size[0] > 200 and img.size[1] > 150
    return img.text


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_figure_is_a_png_with_its_title_and_axes(tiny_run, name):
    path = tiny_run.run_dir / name
    assert path.is_file() and path.stat().st_size > 5_000
    text = _png_text(path)
    title, xlabel = EXPECTED[name]
    assert text["Title"].startswith(title)
    axes = [a for a in json.loads(text["Description"]) if a["title"]]  # the panels (not colour bars)
    assert axes and {a["xlabel"] for a in axes} == {xlabel}  # per_class: classes on the x axis, no label


def test_report_html_is_self_contained_and_embeds_every_figure(tiny_run):
    page = (tiny_run.run_dir / "report.html").read_text()
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    pngs = sorted(tiny_run.run_dir.glob("*.png"))  # the model's figures and the data section's (test_report_data)
    assert set(EXPECTED) <= {p.name for p in pngs} and len(images) == len(pngs)
    embedded = {base64.b64decode(i) for i in images}
    assert embedded == {p.read_bytes() for p in pngs}
    assert "http://" not in page and "https://" not in page  # opens offline, no CDN
    for needle in ("test accuracy", "Most confidently wrong test examples", "Configuration (resolved)",
                   "precision"):
        assert needle in page
    errors = json.loads((tiny_run.run_dir / "errors.json").read_text())
    assert all(e["label"] != e["predicted"] for e in errors)


def test_report_rebuilds_and_compares_runs(tiny_run, tmp_path):
    run_dir = shutil.copytree(tiny_run.run_dir, tmp_path / "run")  # the session's run stays as trained
    (run_dir / "report.html").unlink()
    assert write_report(run_dir).is_file()
    page = write_comparison([run_dir, tiny_run.run_dir], tmp_path / "cmp", title="twice")
    assert page.is_file() and "data:image/png;base64" in page.read_text()
    rows = json.loads((tmp_path / "cmp" / "comparison.json").read_text())["rows"]
    assert rows[0]["accuracy"] == tiny_run.metrics["accuracy"] and rows[0]["model_mib"] > 0
    md = (tmp_path / "cmp" / "comparison.md").read_text()
    assert md.startswith("| model | accuracy | macro-F1 |")
    assert _png_text(tmp_path / "cmp" / "comparison.png")["Title"] == "Test accuracy and macro-F1 | Training time"

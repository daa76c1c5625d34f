"""The report's data section (issue 22): class balance per split, text lengths against max_length, a word cloud
per class of its distinctive words; recorded by training in data_profile.json, so the report rebuilds from the
run's files alone."""

from __future__ import annotations

import base64
import json
import re
from collections import Counter

import numpy as np
import pytest
from PIL import Image

from senti.evaluation.data_profile import PROFILE, distinctive_words
from senti.evaluation.report import write_comparison, write_report

from .conftest import NEG, POS, synthetic_reviews

MAX_LENGTH = 20  # the synthetic reviews have 6 to 33 words: some are cut, some are not
CUT_COLOR = (0xE7, 0x6F, 0x51)  # plots.NEG_COLOR, the max_length line's color


@pytest.fixture(scope="module")
def data_runs(tmp_path_factory):
    """A GRU with a test split and a short max_length, and an NB-SVM without a test split."""
    import senti

    root = tmp_path_factory.mktemp("data_runs")
    df = synthetic_reviews(500, seed=5)
    # Unbalanced on purpose: 2 positive rows of every 3 in train; the test split is balanced.
    train = df.iloc[:400]
    train = train[(train["label"] == "positive") | (np.arange(len(train)) % 4 == 0)]
    train.to_csv(root / "train.csv", index=False)
    df.iloc[400:].to_csv(root / "test.csv", index=False)
    gru = senti.train(root / "gru", train=root / "train.csv", test=str(root / "test.csv"), model="gru", epochs=1,
                      embedding_dim=8, hidden_size=8, min_count=1, max_length=MAX_LENGTH, progress=False)
    nbsvm = senti.train(root / "nbsvm", train=root / "train.csv", model="nbsvm", progress=False)
    return {"gru": gru, "nbsvm": nbsvm, "train": train, "test": df.iloc[400:]}


def _images(page: str) -> dict[str, bytes]:
    return {alt: base64.b64decode(data)
            for alt, data in re.findall(r'<img alt="([^"]+)" src="data:image/png;base64,([^"]+)"', page)}


def _png(data_or_path):
    img = Image.open(data_or_path)
    img.load()
    return img


def test_class_counts_per_split_match_the_data(data_runs):
    run_dir = data_runs["gru"].run_dir
    profile = json.loads((run_dir / PROFILE).read_text())
    counts = profile["class_counts"]
    assert list(counts) == ["train", "validation", "test"]
    expected_train = data_runs["train"]["label"].value_counts().to_dict()
    assert expected_train["positive"] == 2 * expected_train["negative"]
    for lab, n in expected_train.items():  # validation is carved out of the training file
        assert counts["train"][lab] + counts["validation"][lab] == n
    assert counts["test"] == data_runs["test"]["label"].value_counts().to_dict()
    page = (run_dir / "report.html").read_text()
    section = page[page.index("<section id='data'>"):]
    section = section[:section.index("</section>")]
    for split, c in counts.items():
        total = sum(c.values())
        for lab, n in c.items():
            assert f"<td>{n:,} ({n / total:.1%})</td>" in section, (split, lab)
    assert "Class balance per split" in _png(run_dir / "class_balance.png").text["Title"]


def test_length_histogram_marks_max_length_and_the_share_cut(data_runs):
    run_dir = data_runs["gru"].run_dir
    profile = json.loads((run_dir / PROFILE).read_text())
    assert profile["max_length"] == MAX_LENGTH
    train = profile["lengths"]["train"]
    # Plain words and a closing "!": as many tokens as words, plus one.
    lengths = np.array([len(t.split()) + 1 for t in data_runs["train"]["text"]])
    assert train["max"] <= lengths.max() and 0 < train["truncated_texts"] < 1
    cut_share = (lengths > MAX_LENGTH).mean()
    assert abs(train["truncated_texts"] - cut_share) < 0.1  # train is 90 % of the file
    assert sum(sum(c) for c in profile["histogram"]["counts"].values()) == sum(
        v["measured"] for v in profile["lengths"].values())
    img = _png(run_dir / "text_lengths.png")
    assert img.text["Title"] == f"Text length in tokens (max_length = {MAX_LENGTH})"
    pixels = np.asarray(img.convert("RGB")).reshape(-1, 3)
    assert (np.abs(pixels.astype(int) - CUT_COLOR).sum(1) < 30).sum() > 50  # the dashed max_length line
    page = (run_dir / "report.html").read_text()
    assert f"max_length = {MAX_LENGTH}</b>" in page and f"<b>{train['truncated_texts']:.1%}</b>" in page


def test_a_word_cloud_per_class_of_its_distinctive_words(data_runs):
    run_dir = data_runs["gru"].run_dir
    profile = json.loads((run_dir / PROFILE).read_text())
    words = profile["distinctive_words"]
    assert list(words) == ["negative", "positive"]
    assert {w for w, _ in words["negative"][:5]} <= set(NEG)
    assert {w for w, _ in words["positive"][:5]} <= set(POS)
    images = _images((run_dir / "report.html").read_text())
    for i, lab in enumerate(words):
        png = run_dir / f"words_{i}.png"
        assert images[f"word cloud: {lab}"] == png.read_bytes()
        img = _png(png)
        assert img.text["Title"] == f"{lab}: most distinctive words" and img.size[0] > 300
        assert len(np.unique(np.asarray(img.convert("L")))) > 20  # drawn words, not an empty panel


def test_a_run_without_a_test_split_renders_and_an_ngram_model_reads_whole_texts(data_runs):
    run_dir = data_runs["nbsvm"].run_dir
    profile = json.loads((run_dir / PROFILE).read_text())
    assert list(profile["class_counts"]) == ["train", "validation"] and profile["max_length"] is None
    page = (run_dir / "report.html").read_text()
    assert "<h2>The data</h2>" in page and "This model reads whole texts" in page
    assert "<th>test</th>" not in page
    assert _png(run_dir / "text_lengths.png").text["Title"] == "Text length in tokens"
    assert {"word cloud: negative", "word cloud: positive", "class balance per split"} <= set(_images(page))


def test_the_report_rebuilds_from_the_run_files_and_an_old_run_has_no_data_section(data_runs, tmp_path):
    import shutil

    run_dir = tmp_path / "copy"
    shutil.copytree(data_runs["gru"].run_dir, run_dir)
    for png in run_dir.glob("*.png"):
        png.unlink()
    (run_dir / "report.html").unlink()
    page = write_report(run_dir).read_text()
    assert "<h2>The data</h2>" in page and (run_dir / "words_1.png").is_file()
    (run_dir / PROFILE).unlink()  # a run trained before senti recorded its data
    page = write_report(run_dir).read_text()
    assert "<h2>The data</h2>" not in page and "Confusion matrix" in page


def test_the_comparison_page_shows_each_runs_class_balance(data_runs, tmp_path):
    page = write_comparison([data_runs["gru"].run_dir], tmp_path / "cmp").read_text()
    counts = json.loads((data_runs["gru"].run_dir / PROFILE).read_text())["class_counts"]
    assert "<h2>Class balance per split</h2>" in page
    n = counts["test"]["negative"]
    assert f"<td>{n:,} ({n / sum(counts['test'].values()):.1%})</td>" in page


def test_distinctive_words_rank_evidence_not_frequency():
    counts = {"positive": Counter({"the": 1000, "movie": 300, "great": 40, "fine": 3}),
              "negative": Counter({"the": 1000, "movie": 310, "awful": 40, "fine": 2})}
    words = distinctive_words(counts, top=3)
    assert [w for w, _ in words["positive"]][:1] == ["great"]
    assert [w for w, _ in words["negative"]][:1] == ["awful"]
    assert "the" not in {w for ws in words.values() for w, _ in ws}  # a stop word, and no evidence either way
    assert all(z > 0 for ws in words.values() for _, z in ws)

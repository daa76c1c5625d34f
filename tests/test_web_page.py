"""The web page of ``senti serve``, driven in a real headless Chromium against a real server subprocess serving a
real (tiny) model: what the page shows must be what the model predicts in Python."""

from __future__ import annotations

import contextlib
import csv
import io
import os
import random
import shutil
from collections import Counter
from pathlib import Path

import httpx
import pandas as pd
import pytest
from playwright.sync_api import Page, expect, sync_playwright

from ._server import running_server
from .conftest import synthetic_reviews

CHROMIUM = os.environ.get("SENTI_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SCREENSHOT_FOR_REVIEW = Path("/tmp/senti-page.png")

POSITIVE = "A wonderful, moving film: the actors were brilliant and I loved the story."
NEGATIVE = "Awful and boring. The plot was dull, the worst waste of an evening."


@contextlib.contextmanager
def serve(run_dir: Path, log: Path):
    """``senti serve RUN_DIR`` on a free port, as a user starts it; its base URL once /readyz answers 200."""
    with running_server(run_dir, log) as (base, proc):
        # The port is ours (not another server that happened to bind it first).
        assert proc.poll() is None and httpx.get(f"{base}/v1/model").json()["name"] == run_dir.name
        yield base


@pytest.fixture(scope="module")
def server(tiny_run, tmp_path_factory):
    with serve(tiny_run.run_dir, tmp_path_factory.mktemp("serve") / "serve.log") as base:
        yield base


@pytest.fixture(scope="module")
def three_class_run(tmp_path_factory):
    """Like ``tiny_run``, with a neutral class: a label that is neither positive nor negative."""
    import senti

    d = tmp_path_factory.mktemp("three")
    df = synthetic_reviews(900, seed=3, classes=("negative", "neutral", "positive"))
    df.to_csv(d / "train.csv", index=False)
    return senti.train(d / "run", train=d / "train.csv", model="gru", epochs=6, embedding_dim=32, hidden_size=32,
                       min_count=1, progress=False)


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        msg = ("no Chromium to drive the web page: install Debian's `chromium` (scripts/setup.sh does, as root) or set "
               "SENTI_CHROMIUM to a Chromium binary")
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@contextlib.contextmanager
def open_page(browser, server: str):
    """A fresh page on the server's home; fails the test on any script error, CSP violation or outside request."""
    context = browser.new_context(viewport={"width": 1100, "height": 900}, accept_downloads=True)
    pg = context.new_page()
    problems: list[str] = []
    pg.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    # Chromium logs every 4xx as a console error; expected API errors are asserted by the tests themselves,
    # and a failed page asset or any 5xx is caught from the responses.
    pg.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
          if m.type == "error" and not m.text.startswith("Failed to load resource") else None)
    pg.on("response", lambda r: problems.append(f"{r.status} from {r.url}")
          if r.status >= 500 or (r.status >= 400 and "/v1/" not in r.url) else None)
    pg.on("request", lambda r: None if r.url.startswith((server, "data:", "blob:"))
          else problems.append(f"request outside senti: {r.url}"))
    pg.goto(f"{server}/")
    expect(pg.locator("#model-name")).not_to_have_text("Loading model…")
    yield pg
    context.close()
    assert not problems, "\n".join(problems)


@pytest.fixture
def page(browser, server):
    with open_page(browser, server) as pg:
        yield pg


def analyse(page: Page, text: str, *, keyboard: bool = False) -> None:
    page.fill("#review-text", text)
    if keyboard:
        page.press("#review-text", "Control+Enter")
    else:
        page.click("#analyse-button")
    expect(page.locator("#predict-result")).to_be_visible()
    expect(page.locator("#analyse-button")).to_be_enabled()


def upload(page: Page, path: Path, text_column: str) -> None:
    page.fill("#text-column", text_column)
    page.set_input_files("#file-input", str(path))
    page.click("#score-button")
    expect(page.locator("#score-button")).to_be_enabled()


def reviews_csv(path: Path) -> pd.DataFrame:
    """A small CSV of reviews, with the awkward cells a real export has: commas, line breaks, quotes, markup."""
    df = pd.DataFrame({
        "id": [1, 2, 3, 4, 5, 6],
        "review": [
            POSITIVE,
            "Boring, dull and bad,\nthe worst \"film\" I have seen.",
            "<i>Superb</i> acting; a brilliant, fun plot.",
            NEGATIVE,
            "Great fun — excellent, moving and brilliant. Très bien !",
            "Terrible.\r\nI hated it, awful dialogue.",
        ],
        "stars": [5, 1, 4, 1, 5, 1],
    })
    df.to_csv(path, index=False)
    assert '"Boring, dull and bad,\n' in path.read_text(encoding="utf-8")  # a quoted field with a comma and newline
    return df


def test_header_describes_the_served_model(page, tiny_run):
    expect(page.locator("#model-name")).to_have_text(tiny_run.run_dir.name)
    expect(page.locator("#model-labels li")).to_have_text(tiny_run.model.labels)
    expect(page.locator("#model-metrics")).to_contain_text(f"{100 * tiny_run.metrics['accuracy']:.1f} %")


def test_review_gets_the_models_label_confidence_and_word_contributions(page, tiny_run):
    model = tiny_run.model
    proba = model.predict_proba([POSITIVE])[0]
    expected = model.labels[proba.argmax()]
    assert expected == "positive", "the fixture model should find this review positive"
    analyse(page, POSITIVE)

    expect(page.locator("#pred-label")).to_have_text(expected)
    shown = float(page.locator("#confidence-value").inner_text().rstrip(" %"))
    assert shown == pytest.approx(100 * proba.max(), abs=0.051)
    for label, p in zip(model.labels, proba, strict=True):
        row = page.locator("#probabilities tr", has=page.locator("th", has_text=label))
        assert float(row.locator("td.num").inner_text().rstrip(" %")) == pytest.approx(100 * p, abs=0.051)

    # The review is shown exactly as typed, its words marked with the server's scores (as in Python).
    explained = page.locator("#explained")
    assert explained.text_content() == POSITIVE
    marks = explained.locator("mark.word")
    words = model.explain([POSITIVE])[0].words
    assert marks.count() == len(words) > 0
    scores = [float(s) for s in marks.evaluate_all("ms => ms.map(m => m.dataset.score)")]
    assert [m.strip() for m in marks.all_text_contents()] == [w.word for w in words]
    assert scores == pytest.approx([w.score for w in words], abs=1e-4)
    # The word that supports "positive" most is shaded green, and says its score on hover.
    top = max(range(len(words)), key=lambda i: words[i].score)
    assert words[top].score > 0
    expect(marks.nth(top)).to_have_class("word w-pos")
    expect(marks.nth(top)).to_have_attribute("title", f"+{words[top].score:.3f} toward “positive”")
    expect(page.locator("#legend")).to_contain_text("pushes toward positive")
    expect(page.locator("#top-words")).to_contain_text(words[top].word)


def test_ctrl_enter_analyses_and_negative_words_are_red(page, tiny_run):
    expected = tiny_run.model.predict([NEGATIVE])[0]
    assert expected == "negative", "the fixture model should find this review negative"
    analyse(page, NEGATIVE, keyboard=True)
    expect(page.locator("#pred-label")).to_have_text("negative")
    expect(page.locator("#pred-label")).to_have_class("label-badge tone-neg")
    # For a negative prediction, words that support it push toward negative: red.
    strongest = page.locator("#top-words .top-list").first.locator("li").first
    expect(strongest).to_have_class("chip w-neg")


def test_review_text_is_never_interpreted_as_html(page):
    text = 'Loved it <img src=x onerror="document.title=1"> <b>great</b> & fun'
    analyse(page, text)
    assert page.locator("#explained").text_content() == text
    assert page.locator("#explained img, #explained b").count() == 0


def test_highlights_stay_on_their_words_after_emoji(page, tiny_run):
    """The server's offsets count characters (code points); JavaScript strings count UTF-16 units."""
    text = "😀 Loved it! 🎬🍿 A wonderful film, très bien 👍🏽 — not boring."
    analyse(page, text)
    assert page.locator("#explained").text_content() == text
    marks = page.locator("#explained mark.word").all_text_contents()
    assert marks == [w.word for w in tiny_run.model.explain([text])[0].words]
    assert "wonderful" in marks and "👍🏽" in marks
    expect(page.locator("#char-count")).to_contain_text(f"{len(text)} / ")


def test_empty_review_and_api_errors_are_shown(page, server):
    page.click("#analyse-button")
    expect(page.locator("#predict-error")).to_have_text("Type or paste a review first.")
    # A text over the server's limit: the page says so before sending it.
    max_chars = httpx.get(f"{server}/v1/model").json()["limits"]["max_chars"]
    page.locator("#review-text").evaluate("(t, n) => { t.value = 'a'.repeat(n); t.dispatchEvent(new Event('input')); }",
                                          max_chars + 1)
    page.click("#analyse-button")
    expect(page.locator("#predict-error")).to_contain_text("the server accepts up to")
    expect(page.locator("#char-count")).to_have_class("over")


def test_csv_upload_shows_the_table_chart_and_download(page, tiny_run, server, tmp_path):
    src = tmp_path / "reviews.csv"
    df = reviews_csv(src)
    expected = list(tiny_run.model.predict(df["review"].tolist()))
    assert set(expected) == {"negative", "positive"}
    upload(page, src, "review")
    expect(page.locator("#file-error")).to_be_hidden()
    expect(page.locator("#file-result")).to_be_visible()
    expect(page.locator("#file-summary")).to_have_text("6 rows of reviews.csv scored.")

    # One table row per input row, in order: the text exactly as written, the label Python predicts.
    rows = page.locator("#results-table tbody tr")
    expect(rows).to_have_count(len(df))
    assert page.locator("#results-table tbody td.text-cell").all_text_contents() == df["review"].tolist()
    assert [s.strip() for s in page.locator("#results-table tbody .label-badge").all_text_contents()] == expected
    expect(page.locator("#results-table thead th").nth(1)).to_have_text("review")

    # The chart counts the labels.
    counts = Counter(expected)
    for label in tiny_run.model.labels:
        bar = page.locator(f'#label-chart g.bar[data-label="{label}"]')
        expect(bar).to_have_attribute("data-count", str(counts[label]))
        expect(bar.locator("text.bar-value")).to_contain_text(f"{counts[label]} (")

    # The download is the server's scored CSV, byte for byte: every input column, then the predictions.
    link = page.locator("#download-link")
    expect(link).to_have_attribute("download", "reviews-scored.csv")
    with page.expect_download() as info:
        link.click()
    data = Path(info.value.path()).read_bytes()
    with open(src, "rb") as f:
        direct = httpx.post(f"{server}/v1/predict/file", files={"file": ("reviews.csv", f, "text/csv")},
                            data={"text_column": "review"})
    assert data == direct.content
    scored = pd.read_csv(io.BytesIO(data), keep_default_na=False)
    assert list(scored.columns) == ["id", "review", "stars", "pred_label", "pred_confidence", "prob_negative",
                                    "prob_positive", "pred_empty"]
    assert scored["review"].tolist() == df["review"].tolist()
    assert scored["pred_label"].tolist() == expected


def test_missing_text_column_shows_the_servers_message(page, tmp_path):
    src = tmp_path / "no-review.csv"
    pd.DataFrame({"id": [1, 2], "body": ["Great film.", "Awful film."]}).to_csv(src, index=False)
    upload(page, src, "review")
    error = page.locator("#file-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("review")
    expect(error).to_contain_text("body")  # the message lists the columns present
    expect(page.locator("#file-result")).to_be_hidden()
    # Naming the right column clears the message, and the file is then scored.
    page.fill("#text-column", "body")
    expect(error).to_be_hidden()
    page.click("#score-button")
    expect(page.locator("#results-table tbody tr")).to_have_count(2)


def test_no_file_chosen_is_explained(page):
    page.click("#score-button")
    expect(page.locator("#file-error")).to_have_text("Choose a file of reviews first.")


def test_the_pages_csv_parser_reads_what_python_writes(page):
    """Round trip through RFC 4180: Python's csv writer, then the page's parser, on awkward random tables."""
    rng = random.Random(0)
    # (No lone '\r': Python's writer leaves it unquoted with a '\n' line terminator, which no reader can undo.)
    alphabet = ['a', 'b', ' ', ',', '"', '\n', '\r\n', 'é', '✨', "'", ';', '\t', '""']
    tables = []
    for _ in range(300):
        width = rng.randint(1, 4)
        rows = [["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6))) for _ in range(width)]
                for _ in range(rng.randint(1, 5))]
        buf = io.StringIO()
        csv.writer(buf, lineterminator=rng.choice(["\n", "\r\n"])).writerows(rows)
        tables.append((buf.getvalue(), rows))
    parsed = page.evaluate("texts => texts.map(t => window.senti.parseCSV(t))", [t for t, _ in tables])
    for (text, rows), got in zip(tables, parsed, strict=True):
        assert got == rows, repr(text)
    bom_crlf = "\ufeffa,b\r\n1,\"x\"\"y\"\r\n"
    assert page.evaluate("t => window.senti.parseCSV(t)", bom_crlf) == [["a", "b"], ["1", 'x"y']]
    with pytest.raises(Exception, match="unterminated quoted field"):
        page.evaluate("t => window.senti.parseCSV(t)", 'a,"b\n')


def test_screenshot_of_the_page_in_use(page, tmp_path):
    """A review analysed and a file scored, photographed for a person to look at."""
    analyse(page, POSITIVE + " Only the ending was a little dull.")
    src = tmp_path / "reviews.csv"
    reviews_csv(src)
    upload(page, src, "review")
    expect(page.locator("#file-result")).to_be_visible()
    shot = tmp_path / "senti-page.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 20_000
    with contextlib.suppress(OSError):  # another user's file, or a read-only /tmp: the tmp_path copy is the test's
        shutil.copyfile(shot, SCREENSHOT_FOR_REVIEW)


def test_a_label_neither_positive_nor_negative_is_explained_as_for_or_against(browser, three_class_run, tmp_path):
    model = three_class_run.model
    text = "The film was okay, an average and decent story."
    assert model.predict([text])[0] == "neutral", "the fixture model should find this review neutral"
    src = tmp_path / "three.csv"
    texts = [text, POSITIVE, NEGATIVE, "A fine, decent plot."]
    pd.DataFrame({"text": texts}).to_csv(src, index=False)
    with serve(three_class_run.run_dir, tmp_path / "serve.log") as base, open_page(browser, base) as page:
        analyse(page, text)
        expect(page.locator("#pred-label")).to_have_text("neutral")
        expect(page.locator("#probabilities tbody tr")).to_have_count(3)
        expect(page.locator("#legend")).to_contain_text("supports “neutral”")
        expect(page.locator("#legend")).to_contain_text("argues against “neutral”")
        words = model.explain([text])[0].words
        top = max(range(len(words)), key=lambda i: words[i].score)
        expect(page.locator("#explained mark.word").nth(top)).to_have_class("word w-for")

        upload(page, src, "text")
        counts = Counter(model.predict(texts))
        for label in ("negative", "neutral", "positive"):
            expect(page.locator(f'#label-chart g.bar[data-label="{label}"]')).to_have_attribute(
                "data-count", str(counts[label]))

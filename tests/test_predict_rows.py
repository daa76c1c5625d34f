"""``senti predict --input`` writes one output row per input row: a text of white space only, which
``pandas.to_csv`` writes unquoted (a line of spaces), is a row like any other, scored and marked empty, not a
blank line to skip."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

import senti
from senti.cli import main
from senti.predict_io import score_file

NBSVM = Path(__file__).parent / "fixtures" / "legacy" / "nbsvm"
TEXTS = ["a great film", "   ", "dull and boring", "\t", " ", "", "fine"]
EMPTY = [False, True, False, True, True, True, False]


@pytest.mark.parametrize(("suffix", "sep"), [(".csv", ","), (".tsv", "\t")])
@pytest.mark.parametrize("columns", [["text"], ["id", "text"]])
def test_white_space_texts_keep_their_rows(tmp_path, suffix, sep, columns):
    src, dst = tmp_path / f"in{suffix}", tmp_path / "out.csv"
    frame = pd.DataFrame({"id": range(len(TEXTS)), "text": TEXTS})[columns]
    frame.to_csv(src, sep=sep, index=False)
    line = "   " if columns == ["text"] else f"1{sep}   "
    assert line in src.read_text().splitlines()  # unquoted, as pandas writes it
    model = senti.load(NBSVM)
    assert score_file(model, str(src), str(dst)) == len(TEXTS)
    scored = pd.read_csv(dst, keep_default_na=False, dtype={"text": str})
    assert scored[columns].to_dict("list") == frame.to_dict("list")
    assert scored["pred_empty"].tolist() == EMPTY
    assert scored["pred_label"].tolist() == list(model.predict(TEXTS))


def test_a_single_column_file_through_the_command(tmp_path):
    src, dst = tmp_path / "in.csv", tmp_path / "out.jsonl"
    pd.DataFrame({"text": TEXTS}).to_csv(src, index=False)
    assert src.read_text().splitlines()[2] == "   "  # unquoted: the line pandas' reader took for a blank one
    out = CliRunner().invoke(main, ["predict", str(NBSVM), "--input", str(src), "--output", str(dst)])
    assert out.exit_code == 0, out.output
    scored = pd.read_json(dst, lines=True, dtype=False)
    assert scored["text"].tolist() == TEXTS and scored["pred_empty"].tolist() == EMPTY


def test_an_empty_line_is_a_row_as_in_a_text_file(tmp_path):
    src, dst = tmp_path / "in.csv", tmp_path / "out.csv"
    src.write_text("text\ngood\n\nbad\n")
    assert score_file(senti.load(NBSVM), str(src), str(dst)) == 3
    scored = pd.read_csv(dst, keep_default_na=False)
    assert scored["text"].tolist() == ["good", "", "bad"] and scored["pred_empty"].tolist() == [False, True, False]

import pandas as pd
import pytest

from senti.data.readers import DataError, read_texts


@pytest.fixture
def frame():
    return pd.DataFrame({"review": ["good film", "bad film", "fine"], "stars": [1, 0, 1]})


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".jsonl", ".parquet", ".csv.gz"])
def test_each_table_format(tmp_path, frame, suffix):
    path = tmp_path / f"data{suffix}"
    if suffix == ".jsonl":
        frame.to_json(path, orient="records", lines=True)
    elif suffix == ".parquet":
        frame.to_parquet(path)
    else:
        frame.to_csv(path, sep="\t" if suffix == ".tsv" else ",", index=False)
    df = read_texts(path, "review", "stars")
    assert df["text"].tolist() == ["good film", "bad film", "fine"]
    assert df["label"].tolist() == ["1", "0", "1"]  # integer labels become strings, one label per value


def test_aclimdb_style_folder(tmp_path):
    for label, texts in {"pos": ["great", "superb"], "neg": ["awful"], "unsup": ["skip me"]}.items():
        (tmp_path / label).mkdir()
        for i, t in enumerate(texts):
            (tmp_path / label / f"{i}_7.txt").write_text(t)
    df = read_texts(tmp_path)
    assert sorted(zip(df["text"], df["label"], strict=True)) == [
        ("awful", "neg"), ("great", "pos"), ("superb", "pos")]


def test_missing_column_lists_the_columns_present(tmp_path, frame):
    path = tmp_path / "d.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(DataError, match=r"no text column 'text'.*\['review', 'stars'\]"):
        read_texts(path)
    with pytest.raises(DataError, match="no label column 'sentiment'"):
        read_texts(path, "review", "sentiment")


def test_empty_labels_are_an_error_not_a_class(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("text,label\ngood,pos\nbad,\n")
    with pytest.raises(DataError, match="1 row.*empty label.*row 2"):
        read_texts(path)


def test_non_utf8_reports_the_byte(tmp_path):
    path = tmp_path / "d.csv"
    path.write_bytes(b"text,label\ncaf\xe9,pos\n")
    with pytest.raises(DataError, match="not valid UTF-8 at byte"):
        read_texts(path)


def test_unknown_format_and_missing_file(tmp_path):
    (tmp_path / "data.xlsx").write_bytes(b"PK")
    with pytest.raises(DataError, match="cannot tell the format"):
        read_texts(tmp_path / "data.xlsx")
    with pytest.raises(DataError, match="no such file"):
        read_texts(tmp_path / "nope.csv")


def test_quoted_newlines_and_na_strings_survive(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text('text,label\n"line one\nline two",pos\nNA,neg\n')
    df = read_texts(path)
    assert df["text"].tolist() == ["line one\nline two", "NA"]

import gzip
import hashlib
import http.server
import io
import tarfile
import threading
from functools import partial

import pytest

import senti
from senti.data import download
from senti.data.datasets import DATASETS, describe_datasets, find_data_dir, load_dataset
from senti.data.readers import DataError

from .conftest import DATA_DIR, needs_data

# (train rows, test rows, labels) as documented in shared/data/README.md; datasets without an official
# test split are de-duplicated and held out 80/20.
EXPECTED = {
    "imdb": (25_000, 25_000, ["negative", "positive"]),
    "tweets": (27_480, 3_534, ["negative", "neutral", "positive"]),  # 27,481 less one empty tweet, skipped
    "sst2": (67_349, 872, ["negative", "positive"]),
    "sst5": (8_544, 1_101, ["negative", "neutral", "positive", "very negative", "very positive"]),
    "uci_sentences": (2_386, 597, ["negative", "positive"]),
    "airline_tweets": (11_541, 2_886, ["negative", "neutral", "positive"]),
}


@needs_data
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_named_dataset_counts_and_labels(name):
    n_train, n_test, labels = EXPECTED[name]
    train = load_dataset(name, "train", DATA_DIR)
    test = load_dataset(name, "test", DATA_DIR)
    assert (len(train), len(test)) == (n_train, n_test)
    assert sorted(train["label"].unique()) == labels
    assert train["text"].map(type).eq(str).all()


@needs_data
@pytest.mark.parametrize("name", ["uci_sentences", "airline_tweets"])
def test_holdout_is_fixed_and_disjoint(name):
    a, b = load_dataset(name, "train", DATA_DIR), load_dataset(name, "test", DATA_DIR)
    assert not set(a["text"]) & set(b["text"])
    assert load_dataset(name, "test", DATA_DIR)["text"].tolist() == b["text"].tolist()


@needs_data
def test_unlabelled_and_listing():
    unsup = load_dataset("imdb_unsup", "train", DATA_DIR)
    assert len(unsup) == 50_000 and "label" not in unsup.columns
    with pytest.raises(DataError, match="unlabelled"):
        load_dataset("imdb_unsup", "test", DATA_DIR)
    rows = {r["name"]: r for r in describe_datasets(DATA_DIR)}
    assert set(rows) == set(DATASETS)
    assert rows["imdb"]["train"] == 25_000 and rows["imdb"]["found"].endswith("imdb")


def test_unknown_and_missing_datasets_say_what_to_do(tmp_path):
    with pytest.raises(DataError, match="unknown dataset 'imbd'"):
        load_dataset("imbd")
    with pytest.raises(DataError, match="SENTI_DATA_DIR"):
        load_dataset("sst2", data_dir=tmp_path)
    assert find_data_dir("sst2", tmp_path) is None


def _aclimdb_archive() -> bytes:
    """A miniature aclImdb_v1.tar.gz with the real layout."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        files = {"aclImdb/train/pos/0_9.txt": "A moving, wonderful film.<br /><br />Loved it.",
                 "aclImdb/train/neg/0_2.txt": "Dull and far too long.",
                 "aclImdb/train/unsup/0_0.txt": "Saw it on a plane.",
                 "aclImdb/test/pos/0_10.txt": "Brilliant.",
                 "aclImdb/test/neg/0_1.txt": "Awful acting.",
                 "aclImdb/README": "miniature copy for tests"}
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@pytest.fixture
def archive_server(tmp_path):
    """Serve the miniature archive over real HTTP on 127.0.0.1."""
    data = _aclimdb_archive()
    (tmp_path / "www").mkdir()
    (tmp_path / "www" / "aclImdb_v1.tar.gz").write_bytes(data)
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path / "www"))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/aclImdb_v1.tar.gz", hashlib.sha256(data).hexdigest()
    server.shutdown()


def test_imdb_download_verify_extract_and_cache(tmp_path, archive_server, monkeypatch):
    url, sha = archive_server
    monkeypatch.setattr(download, "IMDB_SHA256", sha)
    monkeypatch.setenv("SENTI_IMDB_URL", url)
    monkeypatch.setenv("SENTI_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("SENTI_DATA_DIR", raising=False)
    monkeypatch.setattr("senti.data.datasets._candidate_dirs", lambda: [])
    train = senti.load_dataset("imdb", "train")
    assert sorted(zip(train["text"], train["label"], strict=True)) == [
        ("A moving, wonderful film.<br /><br />Loved it.", "positive"), ("Dull and far too long.", "negative")]
    assert len(senti.load_dataset("imdb_unsup", "train")) == 1
    with gzip.open(tmp_path / "cache" / "imdb" / "test.csv.gz", "rt") as f:
        assert f.readline().strip() == "text,label"
    # Cached: a second load needs no server.
    monkeypatch.setenv("SENTI_IMDB_URL", "http://127.0.0.1:9/unreachable")
    assert len(senti.load_dataset("imdb", "test")) == 2


def test_download_rejects_a_wrong_checksum_and_leaves_nothing(tmp_path, archive_server):
    url, _ = archive_server
    with pytest.raises(DataError, match="sha256 mismatch"):
        download.fetch_imdb(tmp_path, url=url, sha256="0" * 64)
    assert not list((tmp_path / "downloads").glob("*"))
    assert not (tmp_path / "imdb").exists()


def test_unreachable_download_says_where_to_put_the_data(tmp_path):
    with pytest.raises(DataError, match="could not download.*SENTI_DATA_DIR"):
        download.fetch_imdb(tmp_path, url="http://127.0.0.1:9/aclImdb_v1.tar.gz")
    assert not list((tmp_path / "downloads").glob("*"))

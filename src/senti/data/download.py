"""Fetch IMDB from its official archive when no local copy exists: progress bar, sha256 check, safe
extraction, then conversion to the same ``imdb/{train,test,unsup}.csv.gz`` layout as shared/data."""

from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
import urllib.request
from pathlib import Path

from tqdm.auto import tqdm

from senti.data.readers import DataError, read_folder
from senti.io import file_mode, sha256_file

IMDB_URL = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
IMDB_SHA256 = "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe"


def download(url: str, dest: Path, sha256: str, timeout: float = 60.0) -> Path:
    """Download ``url`` to ``dest`` atomically and check its sha256; an existing good file is reused."""
    if dest.is_file() and sha256_file(dest) == sha256:
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=dest.name, suffix=".part")
    os.fchmod(fd, file_mode(dest))  # mkstemp's 0600 would hide a shared data folder's archive from colleagues
    try:
        try:
            response = urllib.request.urlopen(url, timeout=timeout)
        except OSError as e:
            os.close(fd)
            raise DataError(f"could not download {url} ({e}). Without network access, point senti at a copy of the "
                            "data with --data-dir or SENTI_DATA_DIR (a directory holding imdb/train.csv.gz, "
                            "imdb/test.csv.gz, imdb/unsup.csv.gz)") from e
        with response as r, os.fdopen(fd, "wb") as f:
            total = int(r.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc=f"downloading {dest.name}") as bar:
                while chunk := r.read(1 << 20):
                    f.write(chunk)
                    bar.update(len(chunk))
            f.flush()
            os.fsync(f.fileno())
        got = sha256_file(Path(tmp))
        if got != sha256:
            raise DataError(f"{url}: sha256 mismatch (expected {sha256}, got {got}); the download is "
                            "corrupt or not the expected file, and was discarded")
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return dest


def fetch_imdb(root: Path, url: str | None = None, sha256: str | None = None) -> Path:
    """Make ``root/imdb/{train,test,unsup}.csv.gz`` from the aclImdb archive and return ``root``.

    ``$SENTI_IMDB_URL`` names a mirror; the archive must still match the official sha256.
    """
    url = url or os.environ.get("SENTI_IMDB_URL") or IMDB_URL
    sha256 = sha256 or IMDB_SHA256
    out = root / "imdb"
    names = {"train": ("train", ("unsup",)), "test": ("test", ()), "unsup": ("train", ("pos", "neg"))}
    if all((out / f"{n}.csv.gz").is_file() for n in names):
        return root
    archive = download(url, root / "downloads" / "aclImdb_v1.tar.gz", sha256)
    with tempfile.TemporaryDirectory(dir=root) as tmp:
        with tarfile.open(archive) as tar:
            tar.extractall(tmp, filter="data")  # refuses absolute paths, links out of tree, devices
        base = Path(tmp) / "aclImdb"
        if not base.is_dir():
            raise DataError(f"{archive}: no aclImdb/ folder inside")
        out.mkdir(parents=True, exist_ok=True)
        for name, (folder, skip) in names.items():
            df = read_folder(base / folder, skip=skip)
            if name == "unsup":
                df["label"] = "unsup"
            tmp_csv = out / f".{name}.csv.gz.part"
            df.to_csv(tmp_csv, index=False, compression={"method": "gzip", "mtime": 0})
            os.replace(tmp_csv, out / f"{name}.csv.gz")
    shutil.rmtree(root / "downloads", ignore_errors=True)
    return root

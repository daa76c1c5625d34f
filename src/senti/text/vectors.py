"""Pretrained word vectors (GloVe, word2vec, fastText): read them, line them up with a senti vocabulary, write them.

Three file layouts exist in the wild: word2vec binary (a ``count dim`` header line, then per word the UTF-8
word, a space and ``dim`` little-endian float32), word2vec / fastText text (the same header, then
``word v1 … vD`` lines) and GloVe text (no header). Any of them may be gzipped. Files are streamed, so a
5 GB GloVe file filtered to a 30k-word vocabulary never holds more than those 30k vectors in memory.
"""

from __future__ import annotations

import gzip
import logging
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import IO

import numpy as np

from senti.errors import ConfigError, DataError
from senti.io import atomic_write
from senti.text.vocab import PAD, UNK

log = logging.getLogger("senti")

FORMATS = ("auto", "text", "binary")
_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 20
_SNIFF = 1 << 16


def read_vectors(path: str | Path, vocab: Collection[str] | None = None, *,
                 fmt: str = "auto") -> tuple[list[str], np.ndarray]:
    """Words and their ``(n, dim)`` float32 vectors, in file order.

    With ``vocab``, only words in it, or whose lowercase form is in it, are kept (the whole file is still
    checked line by line). ``fmt="auto"`` takes a file with a ``count dim`` header as binary when its name ends
    in ``.bin`` or the line after the header is not text, and a file without a header as GloVe. Every way the
    file can be wrong raises :class:`~senti.data.readers.DataError` naming the file and the line (or word).
    """
    if fmt not in FORMATS:
        raise ConfigError(f"fmt must be one of {FORMATS}, got {fmt!r}")
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    if vocab is not None and not isinstance(vocab, set | frozenset | dict):
        vocab = set(vocab)
    with _open(path) as f:
        first = f.readline(_SNIFF)
        sample = f.read(_SNIFF)
    if not first.strip() and not sample.strip():
        raise DataError(f"{path}: the file is empty")
    header = _parse_header(first)
    if fmt == "auto":
        fmt = "binary" if header and _looks_binary(path, sample, header[1]) else "text"
    if fmt == "binary" and not header:
        raise DataError(f"{path}: line 1 should be the '<count> <dim>' header of a word2vec binary file, "
                        f"found {first[:60]!r}")
    with _open(path) as f:
        if header:
            f.readline()
        if fmt == "binary":
            return _read_binary(f, path, header, vocab)  # type: ignore[arg-type]
        return _read_text(f, path, header, vocab)


def align_vectors(itos: Sequence[str], words: Sequence[str], vectors: np.ndarray, *,
                  counts: Mapping[str, int] | None = None, seed: int = 0) -> tuple[np.ndarray, dict]:
    """A ``(len(itos), dim)`` float32 embedding matrix for a vocabulary, and how much of it the vectors cover.

    Each token takes the vector of the same word, else of its lowercase form (the exact lowercase word first,
    then the first cased variant in file order, which in frequency-sorted files is the most common one). The
    padding row is zeros; ``<unk>`` and tokens without a vector get seeded normal noise with the standard
    deviation of the found vectors, so they start on the same scale. Coverage counts real words only (not
    ``<pad>``/``<unk>``); ``token_fraction`` weighs them by ``counts`` (token occurrences) when given.
    """
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim != 2:
        raise ValueError(f"vectors must be a 2-D array, got shape {vectors.shape}")
    if len(words) != len(vectors):
        raise ValueError(f"{len(words)} words but {len(vectors)} vectors")
    exact: dict[str, int] = {}
    lower: dict[str, int] = {}
    for i, w in enumerate(words):
        exact.setdefault(w, i)
        lower.setdefault(w.lower(), i)

    dim = vectors.shape[1]
    rows = np.full(len(itos), -1)
    found = found_lower = 0
    missing: list[str] = []
    real = [i for i, t in enumerate(itos) if t not in (PAD, UNK)]
    for i in real:
        tok = itos[i]
        if tok in exact:
            rows[i], found = exact[tok], found + 1
            continue
        low = tok.lower()
        j = exact.get(low, lower.get(low, -1))
        if j >= 0:
            rows[i], found_lower = j, found_lower + 1
        else:
            missing.append(tok)

    hit = rows >= 0
    source = vectors[rows[hit]] if hit.any() else vectors
    std = float(source.std()) if source.size else 0.1
    matrix = np.random.default_rng(seed).normal(0.0, std or 0.1, size=(len(itos), dim)).astype(np.float32)
    matrix[hit] = vectors[rows[hit]]
    matrix[[i for i, t in enumerate(itos) if t == PAD]] = 0.0

    token_fraction = None
    if counts is not None:
        total = sum(counts.get(itos[i], 0) for i in real)
        covered = sum(counts.get(itos[i], 0) for i in real if hit[i])
        token_fraction = covered / total if total else 0.0
        missing.sort(key=lambda t: -counts.get(t, 0))  # stable: ties keep vocabulary order
    coverage = {
        "vocab_size": len(itos),
        "found": found,
        "found_lowercase": found_lower,
        "fraction": (found + found_lower) / len(real) if real else 0.0,
        "token_fraction": token_fraction,
        "dim": dim,
        "missing_examples": missing[:10],
    }
    return matrix, coverage


def write_vectors(path: str | Path, words: Sequence[str], vectors: np.ndarray, binary: bool = False) -> None:
    """Write word2vec text (or, with ``binary``, word2vec binary) format atomically; gzipped when ``path`` ends
    in ``.gz``. Float32 values are written with 9 significant digits, so text files read back bit for bit."""
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim != 2 or len(words) != len(vectors):
        raise ValueError(f"need one row per word: {len(words)} words, vectors of shape {vectors.shape}")
    for w in words:
        # Both formats end a word at the first space, and a newline would start a new record.
        if not w or any(c in w for c in " \n\r"):
            raise ValueError(f"cannot write the word {w!r}: words must be non-empty without spaces or newlines")
    n, dim = vectors.shape
    path = Path(path)

    def write(tmp: str) -> None:
        with open(tmp, "wb") as raw:
            # mtime=0 and no name in the gzip header: the same vectors give the same bytes.
            gz = gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) if path.name.endswith(".gz") else None
            f: IO[bytes] = gz if gz is not None else raw
            f.write(f"{n} {dim}\n".encode())
            for w, v in zip(words, vectors, strict=True):
                if binary:
                    # The trailing newline is what the original word2vec tool writes; every reader skips it.
                    f.write(w.encode("utf-8") + b" " + v.astype("<f4").tobytes() + b"\n")
                else:
                    f.write(f"{w} {' '.join([f'{x:.9g}' for x in v.tolist()])}\n".encode())
            if gz:
                gz.close()  # writes the gzip trailer; closing a GzipFile leaves ``raw`` open

    atomic_write(path, write)


def _open(path: Path) -> IO[bytes]:
    with open(path, "rb") as f:
        gz = f.read(2) == _GZIP_MAGIC
    return gzip.open(path, "rb") if gz else open(path, "rb")


def _parse_header(line: bytes) -> tuple[int, int] | None:
    parts = line.split()
    if len(parts) == 2 and all(p.isdigit() for p in parts):
        return int(parts[0]), int(parts[1])
    return None


def _looks_binary(path: Path, sample: bytes, dim: int) -> bool:
    name = path.name.lower().removesuffix(".gz")
    if name.endswith(".bin"):
        return True
    if name.endswith((".txt", ".vec")):
        return False
    line = sample.split(b"\n", 1)[0].rstrip(b" \r")
    try:
        fields = line.decode("utf-8").split(" ")
        np.array(fields[-dim:], dtype=np.float32)
    except (UnicodeDecodeError, ValueError):
        return True
    return len(fields) <= dim


def _is_float(s: bytes) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def _read_text(f: IO[bytes], path: Path, header: tuple[int, int] | None,
               vocab: Collection[str] | None) -> tuple[list[str], np.ndarray]:
    dim = header[1] if header else 0
    words: list[str] = []
    rows: list[np.ndarray] = []
    n_read = 0
    first_line = 2 if header else 1
    for n, raw in enumerate(f, start=first_line):
        s = raw.rstrip(b" \r\n")  # fastText ends each line with a space
        if not s:
            continue
        n_read += 1
        if not dim:
            # GloVe has no header: the dimension is the number of numeric fields that end the first line.
            dim = _trailing_numbers(s.split(b" "))
            if dim == 0:
                raise DataError(f"{path}: line {n}: expected a word followed by numbers, found {s[:60]!r}")
        n_spaces = s.count(b" ")
        if n_spaces < dim:
            said = f"the header says {dim}" if header else "as on the first line"
            raise DataError(f"{path}: line {n}: expected {dim} values after the word ({said}), found {n_spaces}")
        cut = s.index(b" ") if n_spaces == dim else _word_end(s, dim, path, n, header)
        word = s[:cut].decode("utf-8", "replace")
        if vocab is not None and word not in vocab and word.lower() not in vocab:
            continue
        try:
            vec = np.array(s[cut + 1:].split(b" "), dtype=np.float32)
        except ValueError:
            bad = next(x for x in s[cut + 1:].split(b" ") if not _is_float(x))
            raise DataError(f"{path}: line {n}: {bad[:30]!r} is not a number (word {word!r})") from None
        if not np.isfinite(vec).all():
            raise DataError(f"{path}: line {n}: the vector of {word!r} holds NaN or infinity")
        words.append(word)
        rows.append(vec)
    if header and n_read != header[0]:
        raise DataError(f"{path}: the header says {header[0]} words but the file has {n_read}"
                        + (" (truncated download?)" if n_read < header[0] else ""))
    if not n_read:
        raise DataError(f"{path}: the file holds no vectors")
    return words, np.stack(rows) if rows else np.zeros((0, dim), dtype=np.float32)


def _trailing_numbers(fields: list[bytes]) -> int:
    k = 0
    while k < len(fields) - 1 and _is_float(fields[-k - 1]):
        k += 1
    return k


def _word_end(s: bytes, dim: int, path: Path, n: int, header: tuple[int, int] | None) -> int:
    """Where the word ends on a line with more than ``dim`` spaces: GloVe 840B has a few words with spaces in
    them ("at name@domain.com"), so the vector is the last ``dim`` fields. If what would be the word's tail is
    numbers too, the line has too many values instead."""
    head = s.rsplit(b" ", dim)[0]
    extra = head.split(b" ")[1:]
    if all(_is_float(x) for x in extra):
        said = f"the header says {dim}" if header else "as on the first line"
        raise DataError(f"{path}: line {n}: expected {dim} values after the word ({said}), "
                        f"found {dim + len(extra)}")
    return len(head)


def _read_binary(f: IO[bytes], path: Path, header: tuple[int, int],
                 vocab: Collection[str] | None) -> tuple[list[str], np.ndarray]:
    count, dim = header
    size = 4 * dim
    words: list[str] = []
    rows: list[np.ndarray] = []
    buf, pos = b"", 0
    for i in range(count):
        while True:
            space = buf.find(b" ", pos)
            if space >= 0 and len(buf) - space - 1 >= size:
                break
            chunk = f.read(_CHUNK)
            if not chunk:
                raise DataError(f"{path}: the file ends early, in word {i + 1} of the {count} the header "
                                f"announces (truncated download?)")
            buf, pos = buf[pos:] + chunk, 0
        # The word2vec tool ends each vector with a newline, gensim does not: skip one if present.
        word = buf[pos:space].lstrip(b"\n").decode("utf-8", "replace")
        pos = space + 1 + size
        if vocab is not None and word not in vocab and word.lower() not in vocab:
            continue
        vec = np.frombuffer(buf, dtype="<f4", count=dim, offset=space + 1).astype(np.float32)
        if not np.isfinite(vec).all():
            raise DataError(f"{path}: word {i + 1} ({word!r}) has NaN or infinity in its vector; "
                            f"is this really a word2vec binary file?")
        words.append(word)
        rows.append(vec)
    return words, np.stack(rows) if rows else np.zeros((0, dim), dtype=np.float32)

"""Pretrained word vectors: reading every file layout, aligning to a vocabulary, writing, and training with gensim."""

from __future__ import annotations

import gzip
import json
import random
import struct
import sys
from dataclasses import asdict

import numpy as np
import pytest

from senti.config import CleanConfig
from senti.data.readers import DataError
from senti.io import TMP_SUFFIX
from senti.text.vectors import align_vectors, read_vectors, write_vectors
from senti.training.word2vec import pretrain_embeddings

# Values exact in float32 and in decimal, so every reader can be checked with ==.
WORDS = ["the", "Apple", "good"]
VECS = np.array([[0.5, -1.25, 3.0], [0.125, 2.0, -0.75], [-4.5, 0.0, 1.5]], dtype=np.float32)


def _text_lines(words=WORDS, vecs=VECS) -> list[str]:
    return [w + " " + " ".join(f"{x:g}" for x in v) for w, v in zip(words, vecs, strict=True)]


def _binary(words=WORDS, vecs=VECS, newline: bool = True) -> bytes:
    out = f"{len(words)} {vecs.shape[1]}\n".encode()
    for w, v in zip(words, vecs, strict=True):
        word = w if isinstance(w, bytes) else w.encode()
        out += word + b" " + struct.pack(f"<{len(v)}f", *v) + (b"\n" if newline else b"")
    return out


def _check(words, vecs, expect_words=WORDS, expect=VECS):
    assert words == list(expect_words)
    assert vecs.dtype == np.float32 and vecs.shape == (len(expect_words), 3)
    assert np.array_equal(vecs, expect)


# --- reading ---------------------------------------------------------------------------------------------------


def test_read_word2vec_text_with_header(tmp_path):
    p = tmp_path / "v.txt"
    p.write_text("3 3\n" + "\n".join(_text_lines()) + "\n")
    _check(*read_vectors(p))


def test_read_fasttext_vec_trailing_spaces_and_crlf(tmp_path):
    p = tmp_path / "v.vec"
    p.write_bytes(("3 3 \r\n" + "".join(line + " \r\n" for line in _text_lines())).encode())
    _check(*read_vectors(p))


def test_read_glove_without_header(tmp_path):
    p = tmp_path / "glove.6B.3d.txt"
    p.write_text("\n".join(_text_lines()) + "\n\n")  # a trailing blank line is ignored
    _check(*read_vectors(p))
    _check(*read_vectors(p, fmt="text"))


def test_read_glove_840b_words_with_spaces(tmp_path):
    # GloVe 840B: "at name@domain.com" is one word; a no-break space is part of a word, not a separator.
    lines = [*_text_lines(), "at name@domain.com 1 2 3", ". . . 4 5 6", "a\u00a0b 7 8 9"]
    p = tmp_path / "glove.840B.txt"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    words, vecs = read_vectors(p)
    assert words == [*WORDS, "at name@domain.com", ". . .", "a\u00a0b"]
    assert np.array_equal(vecs[3:], [[1, 2, 3], [4, 5, 6], [7, 8, 9]])


@pytest.mark.parametrize("newline", [True, False], ids=["word2vec-tool", "gensim"])
def test_read_binary(tmp_path, newline):
    p = tmp_path / "v.bin"
    p.write_bytes(_binary(newline=newline))
    _check(*read_vectors(p))
    _check(*read_vectors(p, fmt="binary"))


def test_binary_detected_without_bin_suffix(tmp_path):
    p = tmp_path / "vectors.w2v"
    p.write_bytes(_binary())
    _check(*read_vectors(p))
    t = tmp_path / "vectors.w2vt"
    t.write_text("3 3\n" + "\n".join(_text_lines()) + "\n")
    _check(*read_vectors(t))


def test_binary_invalid_utf8_word_is_replaced_not_fatal(tmp_path):
    p = tmp_path / "v.bin"
    p.write_bytes(_binary([b"caf\xe9", "the", "good"]))
    words, vecs = read_vectors(p)
    assert words == ["caf\ufffd", "the", "good"]
    assert np.array_equal(vecs, VECS)


@pytest.mark.parametrize("kind", ["text", "glove", "binary"])
def test_read_gzipped(tmp_path, kind):
    data = {"text": ("3 3\n" + "\n".join(_text_lines()) + "\n").encode(),
            "glove": ("\n".join(_text_lines()) + "\n").encode(),
            "binary": _binary()}[kind]
    p = tmp_path / ("v.bin.gz" if kind == "binary" else "v.txt.gz")
    p.write_bytes(gzip.compress(data))
    _check(*read_vectors(p))


@pytest.mark.parametrize("name,header", [("v.txt", True), ("glove.txt", False), ("v.bin", True)])
def test_vocab_filter_keeps_exact_and_lowercase_matches(tmp_path, name, header):
    p = tmp_path / name
    if name.endswith(".bin"):
        p.write_bytes(_binary())
    else:
        p.write_text(("3 3\n" if header else "") + "\n".join(_text_lines()) + "\n")
    words, vecs = read_vectors(p, vocab=["apple", "good", "absent"])
    _check(words, vecs, ["Apple", "good"], VECS[1:])
    words, vecs = read_vectors(p, vocab=("nothing",))
    assert words == [] and vecs.shape == (0, 3)


def test_bad_fmt_argument(tmp_path):
    p = tmp_path / "v.txt"
    p.write_text("a 1 2\n")
    with pytest.raises(ValueError, match="fmt must be one of"):
        read_vectors(p, fmt="glove")


# --- errors name the file and the line ---------------------------------------------------------------------------

ERRORS = {
    "short line": ("3 3\nthe 1 2 3\nApple 1 2\ngood 1 2 3\n", r"line 3: expected 3 values .*found 2"),
    "long line": ("3 3\nthe 1 2 3\nApple 1 2 3 4\ngood 1 2 3\n", r"line 3: expected 3 values .*found 4"),
    "glove short line": ("the 1 2 3\nApple 1 2 3\ngood 1 2\n", r"line 3: expected 3 values .*first line.*found 2"),
    "non-numeric": ("3 3\nthe 1 2 3\nApple 1 x2 3\ngood 1 2 3\n", r"line 3: b'x2' is not a number"),
    "nan": ("the 1 2 3\nApple 1 nan 3\n", r"line 2: .*NaN or infinity"),
    "header dim": ("2 4\nthe 1 2 3\nApple 1 2 3\n",
                   r"line 2: expected 4 values after the word \(the header says 4\), found 3"),
    "header count": ("5 3\nthe 1 2 3\nApple 1 2 3\n", r"header says 5 words but the file has 2 \(truncated"),
    "no numbers": ("just words here\n", r"line 1: expected a word followed by numbers"),
    "empty": ("", r"the file is empty"),
    "blank": ("\n \n", r"the file is empty"),
    "header only": ("3 3\n", r"header says 3 words but the file has 0"),
}


@pytest.mark.parametrize("case", list(ERRORS))
def test_read_errors_name_file_and_line(tmp_path, case):
    content, message = ERRORS[case]
    p = tmp_path / "broken.txt"
    p.write_text(content)
    with pytest.raises(DataError, match=message) as e:
        read_vectors(p)
    assert str(e.value).startswith(str(p))


def test_errors_are_raised_even_for_lines_the_vocab_filter_skips(tmp_path):
    p = tmp_path / "v.txt"
    p.write_text("3 3\nthe 1 2 3\nskipped 1 2\ngood 1 2 3\n")
    with pytest.raises(DataError, match="line 3"):
        read_vectors(p, vocab={"good"})


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="nope.vec: no such file"):
        read_vectors(tmp_path / "nope.vec")


@pytest.mark.parametrize("cut,word", [(2, 3), (14, 3), (19, 3), (30, 2)])
def test_truncated_binary(tmp_path, cut, word):
    p = tmp_path / "v.bin"
    p.write_bytes(_binary()[:-cut])  # each record is word, space, 12 bytes, newline
    with pytest.raises(DataError, match=rf"v.bin: the file ends early, in word {word} of the 3"):
        read_vectors(p)


def test_binary_forced_on_headerless_file(tmp_path):
    p = tmp_path / "glove.txt"
    p.write_text("\n".join(_text_lines()) + "\n")
    with pytest.raises(DataError, match=r"glove.txt: line 1 should be the '<count> <dim>' header"):
        read_vectors(p, fmt="binary")


# --- aligning to a vocabulary ------------------------------------------------------------------------------------


def test_align_exact_lowercase_padding_and_coverage():
    itos = ["<pad>", "<unk>", "good", "apple", "bad", "zzz", "qqq"]
    words = ["good", "Apple", "APPLE", "BAD", "bad", "Good"]
    vecs = np.arange(18, dtype=np.float32).reshape(6, 3)
    counts = {"good": 10, "apple": 5, "bad": 3, "zzz": 1, "qqq": 2}
    matrix, cov = align_vectors(itos, words, vecs, counts=counts, seed=3)
    assert matrix.shape == (7, 3) and matrix.dtype == np.float32
    assert np.array_equal(matrix[0], [0, 0, 0])  # padding
    assert np.array_equal(matrix[2], vecs[0])  # exact "good", not the later "Good"
    assert np.array_equal(matrix[3], vecs[1])  # no "apple": the first cased variant
    assert np.array_equal(matrix[4], vecs[4])  # exact "bad" wins over the earlier "BAD"
    assert cov == {"vocab_size": 7, "found": 2, "found_lowercase": 1, "fraction": 3 / 5,
                   "token_fraction": 18 / 21, "dim": 3, "missing_examples": ["qqq", "zzz"]}


def test_align_lowercase_token_prefers_exact_lowercase_word():
    matrix, cov = align_vectors(["<pad>", "<unk>", "Good"], ["GOOD", "good"], np.eye(2, dtype=np.float32))
    assert np.array_equal(matrix[2], [0, 1])
    assert cov["found_lowercase"] == 1 and cov["token_fraction"] is None


def test_align_oov_rows_match_found_std_and_seed():
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(300)]
    vecs = rng.normal(0.3, 2.0, size=(300, 50)).astype(np.float32)
    itos = ["<pad>", "<unk>", *words, *(f"oov{i}" for i in range(300))]
    matrix, cov = align_vectors(itos, words, vecs, seed=1)
    assert cov["found"] == 300 and cov["fraction"] == 0.5
    assert cov["missing_examples"] == [f"oov{i}" for i in range(10)]
    oov = matrix[302:]
    assert abs(oov.std() - vecs.std()) < 0.05 * vecs.std()
    assert np.array_equal(matrix[2:302], vecs)
    again, _ = align_vectors(itos, words, vecs, seed=1)
    other, _ = align_vectors(itos, words, vecs, seed=2)
    assert np.array_equal(again, matrix)
    assert not np.allclose(other[302:], oov)
    assert np.array_equal(other[2:302], vecs)


def test_align_with_nothing_found_still_gives_a_matrix():
    matrix, cov = align_vectors(["<pad>", "<unk>", "x"], ["y"], np.ones((1, 4), dtype=np.float32))
    assert matrix.shape == (3, 4) and cov["found"] == 0 and cov["fraction"] == 0.0
    assert np.array_equal(matrix[0], np.zeros(4)) and np.isfinite(matrix).all()


def test_align_rejects_mismatched_inputs():
    with pytest.raises(ValueError, match="2 words but 1 vectors"):
        align_vectors(["<pad>", "<unk>"], ["a", "b"], np.ones((1, 3)))


# --- writing -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name,binary", [("v.txt", False), ("v.bin", True), ("v.txt.gz", False), ("v.bin.gz", True)])
def test_write_roundtrip_and_gensim_reads_it(tmp_path, name, binary):
    from gensim.models import KeyedVectors

    rng = np.random.default_rng(0)
    words = ["the", "café", "good", "don't", "!"]
    vecs = rng.normal(size=(5, 7)).astype(np.float32)
    p = tmp_path / name
    write_vectors(p, words, vecs, binary=binary)
    got_words, got = read_vectors(p)
    assert got_words == words and np.array_equal(got, vecs)  # bit for bit, text included
    kv = KeyedVectors.load_word2vec_format(str(p), binary=binary)
    assert kv.index_to_key == words
    assert np.array_equal(kv.vectors, vecs)
    assert [q.name for q in tmp_path.iterdir()] == [name]  # no temp file left behind


@pytest.mark.parametrize("binary", [False, True])
def test_read_files_written_by_gensim(tmp_path, binary):
    from gensim.models import KeyedVectors

    kv = KeyedVectors(vector_size=4)
    vecs = np.random.default_rng(1).normal(size=(3, 4)).astype(np.float32)
    kv.add_vectors(["alpha", "beta", "gamma"], vecs)
    p = tmp_path / ("g.bin" if binary else "g.txt")
    kv.save_word2vec_format(str(p), binary=binary)
    words, got = read_vectors(p)
    assert words == ["alpha", "beta", "gamma"]
    assert np.array_equal(got, vecs) if binary else np.allclose(got, vecs, atol=1e-6)


def test_write_refuses_words_that_break_the_format(tmp_path):
    for bad in ["two words", "", "line\nbreak"]:
        with pytest.raises(ValueError, match="cannot write the word"):
            write_vectors(tmp_path / "v.txt", ["ok", bad], np.zeros((2, 2)))
    with pytest.raises(ValueError, match="one row per word"):
        write_vectors(tmp_path / "v.txt", ["ok"], np.zeros((2, 2)))
    assert not list(tmp_path.iterdir())


# --- training word vectors with gensim ---------------------------------------------------------------------------


def _corpus(n: int = 400, seed: int = 0) -> list[str]:
    """"good"/"great" share every context, and so do "car"/"truck"; the two pairs never meet."""
    rng = random.Random(seed)
    food = ["The food was {} and tasty!", "What a {} meal, the soup was {} too", "Such {} pizza and {} pasta"]
    road = ["He drove the {} down the road", "Her {} broke down on the highway", "Park the {} in the garage"]
    texts = []
    for i in range(n):
        templates, slot = (food, ["good", "great"]) if i % 2 else (road, ["car", "truck"])
        t = rng.choice(templates)
        texts.append(t.format(*(rng.choice(slot) for _ in range(t.count("{}")))))
    texts += ["<br />GOOD <b>Great</b> visit www.example.com"] * 2  # cleaned exactly like training data
    return texts


def test_pretrain_word2vec_writes_the_folder_and_learns_similarity(tmp_path):
    out = tmp_path / "emb"
    info = pretrain_embeddings(_corpus(), out, dim=16, epochs=20, min_count=2, workers=1, seed=0, progress=False)
    assert sorted(q.name for q in out.iterdir()) == ["embeddings.json", "vectors.bin", "vectors.txt"]
    assert not [q for q in tmp_path.iterdir() if q.name.endswith(TMP_SUFFIX)]
    assert json.loads((out / "embeddings.json").read_text()) == info
    assert info["algorithm"] == "word2vec" and info["dim"] == 16 and info["epochs"] == 20 and info["workers"] == 1
    assert info["texts"] == 402 and info["clean"] == asdict(CleanConfig())
    assert info["vocab_size"] > 10 and info["tokens"] > 2000 and info["gensim_version"]

    words, vecs = read_vectors(out / "vectors.txt")
    bwords, bvecs = read_vectors(out / "vectors.bin")
    assert words == bwords and np.array_equal(vecs, bvecs) and vecs.shape == (info["vocab_size"], 16)
    assert "good" in words and "Good" not in words and "br" not in words and "xxurl" in words

    def sim(a: str, b: str) -> float:
        x, y = vecs[words.index(a)], vecs[words.index(b)]
        return float(x @ y / np.linalg.norm(x) / np.linalg.norm(y))

    assert sim("good", "great") > sim("good", "truck") + 0.1
    assert sim("car", "truck") > sim("car", "great") + 0.1


def test_pretrain_is_reproducible_with_one_worker(tmp_path):
    texts = _corpus(100)
    for name in ("a", "b"):
        pretrain_embeddings(texts, tmp_path / name, dim=8, epochs=2, min_count=1, workers=1, progress=False)
    assert (tmp_path / "a" / "vectors.bin").read_bytes() == (tmp_path / "b" / "vectors.bin").read_bytes()


def test_pretrain_fasttext_keeps_word_vectors_only(tmp_path):
    out = tmp_path / "ft"
    info = pretrain_embeddings(iter(_corpus(100)), out, algorithm="fasttext", dim=8, epochs=2, min_count=2,
                               workers=1, progress=False)
    words, vecs = read_vectors(out / "vectors.txt")
    assert info["algorithm"] == "fasttext" and info["texts"] == 102
    assert len(words) == info["vocab_size"] and vecs.shape == (len(words), 8)


def test_pretrain_refuses_a_non_empty_folder_unless_overwrite(tmp_path):
    out = tmp_path / "emb"
    out.mkdir()
    (out / "notes.md").write_text("mine")
    texts = _corpus(60)
    with pytest.raises(FileExistsError, match="not empty.*overwrite"):
        pretrain_embeddings(texts, out, dim=4, epochs=1, min_count=1, workers=1, progress=False)
    assert [q.name for q in out.iterdir()] == ["notes.md"]
    pretrain_embeddings(texts, out, dim=4, epochs=1, min_count=1, workers=1, progress=False, overwrite=True)
    assert sorted(q.name for q in out.iterdir()) == ["embeddings.json", "notes.md", "vectors.bin", "vectors.txt"]
    assert (out / "notes.md").read_text() == "mine"
    empty = tmp_path / "empty"
    empty.mkdir()
    pretrain_embeddings(texts, empty, dim=4, epochs=1, min_count=1, workers=1, progress=False)
    assert (empty / "vectors.txt").is_file()


def test_pretrain_argument_and_data_errors(tmp_path):
    with pytest.raises(ValueError, match="algorithm must be one of"):
        pretrain_embeddings(["a b"], tmp_path / "x", algorithm="glove")
    with pytest.raises(ValueError, match="dim must be a positive integer"):
        pretrain_embeddings(["a b"], tmp_path / "x", dim=0)
    with pytest.raises(ValueError, match="hold no tokens"):
        pretrain_embeddings(["", "  ", "..."], tmp_path / "x", progress=False)
    with pytest.raises(ValueError, match="min_count=5"):
        pretrain_embeddings(["a b c"], tmp_path / "x", workers=1, progress=False)
    assert not (tmp_path / "x").exists()


def test_pretrain_without_gensim_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "gensim", None)
    monkeypatch.setitem(sys.modules, "gensim.models", None)
    with pytest.raises(ImportError, match=r"pip install 'senti\[word2vec\]'"):
        pretrain_embeddings(["a b"], tmp_path / "x")

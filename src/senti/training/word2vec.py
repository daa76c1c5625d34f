"""Word vectors trained on the user's own unlabelled text (gensim word2vec or fastText), tokenised by senti's
pipeline so that the words match the vocabulary a classifier will be trained with."""

from __future__ import annotations

import logging
import shutil
import sys
import time
import zlib
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from senti.config import CleanConfig
from senti.errors import ConfigError, DataError
from senti.io import TMP_SUFFIX, replace_dir, write_json
from senti.text.clean import Cleaner
from senti.text.tokenize import tokenize
from senti.text.vectors import write_vectors

log = logging.getLogger("senti")

ALGORITHMS = ("word2vec", "fasttext")
FILES = ("vectors.txt", "vectors.bin", "embeddings.json")
# gensim silently drops the words of a sentence past 10,000; longer texts are cut into pieces of that size.
_MAX_SENTENCE = 10_000


def pretrain_embeddings(texts: Iterable[str], output: str | Path, *, algorithm: str = "word2vec", dim: int = 128,
                        window: int = 5, min_count: int = 5, epochs: int = 5, workers: int = 2, seed: int = 0,
                        clean: CleanConfig | None = None, progress: bool = True, overwrite: bool = False) -> dict:
    """Train skip-gram word vectors with negative sampling on ``texts`` and write them to the folder ``output``.

    Each text goes through ``Cleaner(clean)`` and ``tokenize``, exactly as in training, so pass the clean config
    the classifier will use. ``output`` receives ``vectors.txt`` (word2vec text), ``vectors.bin`` (word2vec
    binary) and ``embeddings.json`` (how they were made); the returned dict is that JSON. With ``fasttext`` only
    the vectors of the vocabulary words are kept, not the subword model. The files are built in a temp folder
    and moved into place, so ``output`` never holds a half-written set; an existing non-empty ``output`` is
    refused (``FileExistsError``) unless ``overwrite``, which replaces these three files and leaves others.

    Only ``workers=1`` is reproducible run to run: with more threads gensim's result depends on scheduling.
    """
    _check_args(algorithm, dim, window, min_count, epochs, workers)
    output = Path(output)
    if output.exists() and not output.is_dir():
        raise FileExistsError(f"{output} is a file; the embeddings output must be a folder")
    if output.exists() and any(output.iterdir()) and not overwrite:
        raise FileExistsError(f"{output} is not empty; choose another output folder or pass --overwrite")
    gensim = _import_gensim()

    started = time.perf_counter()
    sentences, n_texts, n_tokens = _tokenise(texts, Cleaner(clean))
    if not n_tokens:
        raise DataError(f"the {n_texts} texts hold no tokens after cleaning; nothing to train on")
    params = {"vector_size": dim, "window": window, "min_count": min_count, "epochs": epochs, "workers": workers,
              "seed": seed, "sg": 1, "hs": 0, "negative": 5}
    model = (gensim.models.Word2Vec if algorithm == "word2vec" else gensim.models.FastText)(**params)
    model.build_vocab(sentences)
    if not len(model.wv):
        raise DataError(f"no word occurs at least min_count={min_count} times in the {n_tokens} tokens; "
                         f"lower min_count or give more text")
    log.info("%s: %d texts, %d tokens, %d words with at least %d occurrences", algorithm, n_texts, n_tokens,
             len(model.wv), min_count)
    model.train(sentences, total_examples=len(sentences), epochs=epochs,
                callbacks=[_progress_callback(gensim, epochs, n_tokens, progress)])
    info = {
        "algorithm": algorithm, "dim": dim, "window": window, "min_count": min_count, "epochs": epochs,
        "workers": workers, "seed": seed, "sg": 1, "negative": 5,
        "clean": asdict(clean or CleanConfig()),
        "texts": n_texts, "tokens": n_tokens, "vocab_size": len(model.wv),
        "seconds": round(time.perf_counter() - started, 3),
        "gensim_version": gensim.__version__,
        "reproducible": workers == 1,
        "files": {"text": FILES[0], "binary": FILES[1]},
    }
    _write_folder(output, model.wv.index_to_key, model.wv.vectors, info)
    return info


def _check_args(algorithm: str, dim: int, window: int, min_count: int, epochs: int, workers: int) -> None:
    if algorithm not in ALGORITHMS:
        raise ConfigError(f"algorithm must be one of {ALGORITHMS}, got {algorithm!r}")
    for name, value in (("dim", dim), ("window", window), ("min_count", min_count), ("epochs", epochs),
                        ("workers", workers)):
        if not isinstance(value, int) or value < 1:
            raise ConfigError(f"{name} must be a positive integer, got {value!r}")


def _import_gensim() -> Any:
    try:
        import gensim.models
        import gensim.models.callbacks
    except ImportError as e:
        raise ImportError("training word vectors needs gensim: pip install 'senti[word2vec]'") from e
    return gensim


def _tokenise(texts: Iterable[str], cleaner: Cleaner) -> tuple[list[list[str]], int, int]:
    # gensim reads the corpus once per epoch, and ``texts`` may be a one-pass iterator: keep the tokens.
    # One string object per distinct word instead of one per occurrence keeps that list a fraction of the size.
    interned: dict[str, str] = {}
    sentences: list[list[str]] = []
    n_texts = n_tokens = 0
    for text in texts:
        tokens = [interned.setdefault(t, t) for t in tokenize(cleaner(text))]
        n_texts += 1
        n_tokens += len(tokens)
        sentences.extend(tokens[i:i + _MAX_SENTENCE] for i in range(0, len(tokens), _MAX_SENTENCE))
    return sentences, n_texts, n_tokens


def _progress_callback(gensim: Any, epochs: int, n_tokens: int, progress: bool) -> Any:
    from tqdm.auto import tqdm

    class Progress(gensim.models.callbacks.CallbackAny2Vec):
        """One bar over the epochs (gensim reports nothing finer) and a log line per epoch with words/s."""

        def __init__(self) -> None:
            self.epoch = 0
            self.bar: Any = None
            self.start = 0.0

        def on_train_begin(self, model: Any) -> None:
            self.bar = tqdm(total=epochs, desc=f"{type(model).__name__.lower()}", unit="epoch", disable=not progress,
                            dynamic_ncols=True, mininterval=0.1 if sys.stderr.isatty() else 30.0)

        def on_epoch_begin(self, model: Any) -> None:
            self.start = time.perf_counter()

        def on_epoch_end(self, model: Any) -> None:
            self.epoch += 1
            rate = n_tokens / max(time.perf_counter() - self.start, 1e-9)
            self.bar.update(1)
            self.bar.set_postfix(words_per_s=f"{rate:,.0f}", refresh=False)
            log.info("epoch %d/%d: %s words/s", self.epoch, epochs, f"{rate:,.0f}")

        def on_train_end(self, model: Any) -> None:
            self.bar.close()

    return Progress()


def _write_folder(output: Path, words: list[str], vectors: Any, info: dict) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(f".{output.name}.{time.time_ns()}{TMP_SUFFIX}")
    tmp.mkdir()
    try:
        write_vectors(tmp / FILES[0], words, vectors)
        write_vectors(tmp / FILES[1], words, vectors, binary=True)
        write_json(tmp / FILES[2], info)
        if output.exists() and any(output.iterdir()):
            # Overwriting: replace our files one by one (each atomically), never the user's other files;
            # embeddings.json goes last, so it only ever describes vectors that are in place.
            for name in FILES:
                (tmp / name).replace(output / name)
        else:
            replace_dir(tmp, output)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _stable_hash(text: str) -> int:
    """gensim seeds each word's first vector from a hash of it; crc32 is the same in every process."""
    return zlib.crc32(text.encode("utf-8"))


def run_vectors(token_lists: list[list[str]], itos: list[str], *, dim: int, epochs: int, seed: int,
                unlabelled: list[list[str]] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
    """Word vectors trained inside a run (``train.word2vec``): CBOW with negative sampling on the run's training
    tokens and ``unlabelled`` ones, as a ``(len(itos), dim)`` matrix for the vocabulary (words word2vec kept
    too few times get seeded noise of the same scale). CBOW, not skip-gram: on IMDB's 75k reviews it trains
    in a third of the time, and a classifier fine-tunes the vectors anyway. One worker thread and a hash that
    does not change between processes, so that a seed gives the same vectors every time (gensim's own
    defaults, several threads and Python's salted ``hash``, do not): on IMDB that costs about 40 seconds."""
    from collections import Counter

    from senti.text.vectors import align_vectors

    gensim = _import_gensim()
    logging.getLogger("gensim").setLevel(logging.WARNING)  # its per-epoch progress lines drown the run's log
    started = time.perf_counter()
    corpus = token_lists + (unlabelled or [])
    sentences = [t[i:i + _MAX_SENTENCE] for t in corpus for i in range(0, max(len(t), 1), _MAX_SENTENCE)]
    n_tokens = sum(len(t) for t in corpus)
    model = gensim.models.Word2Vec(sentences, vector_size=dim, window=5, min_count=5, epochs=epochs, sg=0,
                                   negative=5, workers=1, seed=seed,
                                   hashfxn=_stable_hash)
    counts = Counter(t for tokens in token_lists for t in tokens)
    matrix, coverage = align_vectors(itos, model.wv.index_to_key, model.wv.vectors, counts=counts, seed=seed)
    info = {"algorithm": "word2vec CBOW (gensim)", "dim": dim, "epochs": epochs, "window": 5, "min_count": 5,
            "texts": len(corpus), "unlabelled_texts": len(unlabelled or []), "tokens": n_tokens,
            "seconds": round(time.perf_counter() - started, 1), "coverage": coverage,
            "gensim_version": gensim.__version__}
    log.info("word2vec: %d epochs on %d texts (%d unlabelled), %d tokens, in %.0fs; %d of %d vocabulary words",
             epochs, len(corpus), len(unlabelled or []), n_tokens, info["seconds"], coverage["found"],
             coverage["vocab_size"])
    return matrix, info

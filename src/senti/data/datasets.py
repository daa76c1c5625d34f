"""The named public datasets, read from a data directory laid out like ``shared/data``.

Where the data directory is: ``data_dir`` argument > ``$SENTI_DATA_DIR`` > ``./shared/data`` or
``../shared/data`` (from the working directory or the source checkout) > senti's download cache
(``$SENTI_CACHE_DIR``, default ``~/.cache/senti``), which IMDB fills from its official archive on first use.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from senti.data.readers import DataError, normalise

# Datasets without an official test split get this fixed hold-out, independent of the run seed, so that
# "--split test" names the same rows in every run and in every comparison.
HOLDOUT_SEED = 20_240_601
HOLDOUT_FRACTION = 0.2


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    folder: str
    files: dict[str, str]
    description: str
    label_names: dict[str, str] = field(default_factory=dict)
    dedupe: bool = False
    labelled: bool = True
    group: str | None = None  # a source column naming what each text is about (IMDB: the movie's page)
    # Settings that suit this data ({"clean": {...}, "vocab": {...}, "data": {...}}): cleaning, text length, how
    # to split; a run's preset gives way to them and the user's own settings override them.
    defaults: dict[str, dict[str, Any]] = field(default_factory=dict)


_TWEETS = {"clean": {"mentions": True, "hashtags": True, "repeated_chars": True, "emoji": "map"},
           "vocab": {"max_length": 64, "min_count": 1}}
_SENTENCES = {"vocab": {"max_length": 64, "min_count": 1}}
# SST-2 trains on phrases and tests on sentences: validation must be sentences too (senti.data.phrases).
_PHRASES = {**_SENTENCES, "data": {"valid_sentences": True}}


DATASETS: dict[str, DatasetSpec] = {
    s.name: s
    for s in [
        DatasetSpec("imdb", "imdb", {"train": "train.csv.gz", "test": "test.csv.gz"},
                    "IMDB movie reviews (Maas et al. 2011), 25k/25k, neg/pos",
                    {"neg": "negative", "pos": "positive"}, group="url",
                    # Validation keeps each movie's reviews on one side, as the test split does (its movies are
                    # not training's): a random split rewards memorising movies, and early stopping and the
                    # stacker then trust what will not carry over to new films. Its 50k unlabelled reviews
                    # feed train.word2vec.
                    defaults={"data": {"group_column": "group", "unlabelled": "imdb_unsup"}}),
        DatasetSpec("imdb_unsup", "imdb", {"train": "unsup.csv.gz"},
                    "IMDB unlabelled reviews, 50k", labelled=False),
        DatasetSpec("uci_sentences", "uci_sentiment_sentences", {"all": "sentences.csv.gz"},
                    "UCI labelled sentences (Amazon, IMDB, Yelp), 3k, 0/1",
                    {"0": "negative", "1": "positive"}, dedupe=True, defaults=_SENTENCES),
        DatasetSpec("tweets", "tweet_sentiment_extraction", {"train": "train.csv.gz", "test": "test.csv.gz"},
                    "Kaggle Tweet Sentiment Extraction, 27k/3.5k, 3 classes", defaults=_TWEETS),
        DatasetSpec("airline_tweets", "twitter_us_airline", {"all": "tweets.csv.gz"},
                    "Twitter US Airline Sentiment, 14.6k, 3 classes", dedupe=True, defaults=_TWEETS),
        DatasetSpec("sst2", "sst2", {"train": "train.csv.gz", "test": "dev.csv.gz"},
                    "SST-2 (GLUE) phrases 67k / dev sentences 872, 0/1",
                    {"0": "negative", "1": "positive"}, defaults=_PHRASES),
        DatasetSpec("sst5", "sst5", {"train": "train.csv.gz", "test": "dev.csv.gz"},
                    "SST-5 sentences 8.5k / dev 1.1k, 5 classes",
                    {"0": "very negative", "1": "negative", "2": "neutral", "3": "positive",
                     "4": "very positive"}, defaults=_SENTENCES),
    ]
}

# The same defaults by dataset name, for the callers that only need these (e.g. pretraining's cleaning).
DATASET_DEFAULTS: dict[str, dict[str, Any]] = {name: s.defaults for name, s in DATASETS.items() if s.defaults}


def _candidate_dirs() -> list[Path]:
    here = Path(__file__).resolve()
    cands = [Path.cwd() / "shared" / "data", Path.cwd().parent / "shared" / "data"]
    cands += [p / "shared" / "data" for p in here.parents[2:5]]
    return cands


def cache_dir() -> Path:
    return Path(os.environ.get("SENTI_CACHE_DIR") or Path.home() / ".cache" / "senti")


def find_data_dir(name: str, data_dir: str | Path | None = None) -> Path | None:
    """The first data directory that holds dataset ``name``'s files, or ``None``."""
    spec = get_spec(name)
    if data_dir is not None:
        roots = [Path(data_dir)]
    else:
        env = os.environ.get("SENTI_DATA_DIR")
        # An explicit setting is the only place looked at (besides the download cache): no silent fallback.
        roots = [Path(env), cache_dir()] if env else [*_candidate_dirs(), cache_dir()]
    for root in roots:
        if all((root / spec.folder / f).is_file() for f in spec.files.values()):
            return root
    return None


def get_spec(name: str) -> DatasetSpec:
    try:
        return DATASETS[name]
    except KeyError:
        raise DataError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}") from None


def load_dataset(name: str, split: str = "train", data_dir: str | Path | None = None,
                 download: bool = True) -> pd.DataFrame:
    """Load split ``train`` or ``test`` of a named dataset as a ``text``/``label`` DataFrame.

    Labels are mapped to readable names (``neg`` → ``negative``, SST ``0`` → ``negative``) so that models
    answer in words. Datasets with no official test split get a fixed, stratified 20 % hold-out
    (duplicates removed first where the source has them, so no text is on both sides).
    """
    spec = get_spec(name)
    if split not in ("train", "test"):
        raise DataError(f"split must be 'train' or 'test', got {split!r}")
    if split == "test" and not spec.labelled:
        raise DataError(f"{name} is unlabelled and has only a train split")
    root = find_data_dir(name, data_dir)
    if root is None and name in ("imdb", "imdb_unsup") and download and data_dir is None:
        from senti.data.download import fetch_imdb

        root = fetch_imdb(cache_dir())
    if root is None:
        where = data_dir or os.environ.get("SENTI_DATA_DIR") or "the default places"
        raise DataError(
            f"dataset {name!r} not found in {where}. Point senti at a directory laid out like shared/data "
            f"with --data-dir or SENTI_DATA_DIR (it needs {spec.folder}/{', '.join(spec.files.values())})."
        )
    folder = root / spec.folder
    if "all" in spec.files:
        df = _read(folder / spec.files["all"], spec)
        df = _holdout(df, split)
    else:
        df = _read(folder / spec.files[split], spec)
    return df.reset_index(drop=True)


def _read(path: Path, spec: DatasetSpec) -> pd.DataFrame:
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    columns = ["text", "label"] if spec.labelled else ["text"]
    if spec.group and spec.group in df.columns:
        columns.append(spec.group)
    # The group travels through normalise, which may skip rows with an empty text.
    out = normalise(df[columns], str(path)).rename(columns={spec.group: "group"} if spec.group else {})
    if spec.label_names:
        out["label"] = out["label"].map(lambda v: spec.label_names.get(v, v))
    if spec.dedupe:
        out = out.drop_duplicates("text", keep="first")
    return out


def _holdout(df: pd.DataFrame, split: str) -> pd.DataFrame:
    # Imported here: reading a file to score (senti predict --input) goes through this package and must not
    # pay scikit-learn's import (~1.4 s).
    from sklearn.model_selection import train_test_split

    train, test = train_test_split(df, test_size=HOLDOUT_FRACTION, random_state=HOLDOUT_SEED,
                                   stratify=df["label"])
    return (train if split == "train" else test).sort_index()


def describe_datasets(data_dir: str | Path | None = None) -> list[dict]:
    """One row per named dataset: where it was found and its row counts per split."""
    rows = []
    for name, spec in DATASETS.items():
        root = find_data_dir(name, data_dir)
        row = {"name": name, "description": spec.description, "found": str(root / spec.folder) if root else None}
        if root:
            for split in ("train", "test") if spec.labelled else ("train",):
                df = load_dataset(name, split, data_dir=root, download=False)
                row[split] = len(df)
                if spec.labelled:
                    row.setdefault("labels", label_order(name, df["label"].unique().tolist()))
        rows.append(row)
    return rows


def label_order(name: str, labels: Sequence[str]) -> list[str]:
    """A named dataset's labels in their natural order (SST-5: very negative … very positive), not the
    alphabet's; labels its spec does not name follow, sorted."""
    named = [v for v in get_spec(name).label_names.values() if v in labels]
    return named + sorted(set(labels) - set(named))


def unlabelled_texts(datasets: Sequence[str] = (), files: Sequence[str | Path] = (), data_dir: str | Path | None = None,
                     text_column: str = "text") -> tuple[list[str], str]:
    """Texts to pretrain on, and a description of where they came from. A labelled dataset contributes its
    training split only (labels ignored): its test texts must stay unseen."""
    from senti.data.readers import read_texts

    texts: list[str] = []
    parts = []
    for name in datasets:
        df = load_dataset(name, "train", data_dir)
        texts += df["text"].tolist()
        parts.append(f"{name} ({'train split, ' if get_spec(name).labelled else ''}{len(df):,} texts)")
    for path in files:
        df = read_texts(path, text_column, label_column=None)
        texts += df["text"].tolist()
        parts.append(f"{path} ({len(df):,} texts)")
    if not texts:
        raise DataError("nothing to pretrain on: give --dataset NAME (e.g. imdb_unsup) or --input FILE")
    return texts, ", ".join(parts)

"""Reading datasets: users' files in several formats and the named public datasets."""

from senti.data.datasets import DATASETS, describe_datasets, load_dataset
from senti.data.readers import DataError, read_texts

__all__ = ["DATASETS", "DataError", "describe_datasets", "load_dataset", "read_texts"]

"""Raw text → clean text → tokens → ids."""

from senti.text.clean import Cleaner
from senti.text.tokenize import tokenize
from senti.text.vocab import Vocabulary

__all__ = ["Cleaner", "Vocabulary", "tokenize"]

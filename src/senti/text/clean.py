"""Configurable text cleaning, the first step of the one data flow shared by training and prediction."""

from __future__ import annotations

import functools
import html
import re
import unicodedata
from collections.abc import Callable

from senti.config import CleanConfig
from senti.errors import ConfigError
from senti.text.negation import mark_negation
from senti.text.tokenize import tokenize

_HTML_BREAK = re.compile(r"<\s*br\s*/?\s*>", re.IGNORECASE)
_HTML_TAG = re.compile(r"</?[a-zA-Z][^<>]{0,200}>")
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
_MENTION = re.compile(r"(?<!\w)@\w+")
_HASHTAG = re.compile(r"(?<!\w)#(\w+)")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_PUNCT = re.compile(r"[^\w\s]")
_REPEAT = re.compile(r"(\w)\1{2,}")
# Control characters (not tab or newline) become spaces. A search first: most texts have none, and
# str.translate with a mapping costs 3× the search on a review.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_EMOJI = re.compile(r"[\U0001F000-\U0001FAFF\u2600-\u27BF]")
# The Kaggle tweets write apostrophes as backquotes ("don`t", in a third of them): read them as apostrophes.
_BACKQUOTE = re.compile(r"(?<=[^\W\d_])`(?=[^\W\d_])")
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")  # a word as the tokeniser reads it

# Negations flip sentiment, so they are kept even when stop words are removed.
NEGATIONS_AND_DEGREE = frozenset({"no", "nor", "not", "never", "none", "nothing", "nobody", "nowhere", "cannot",
                                  "against", "but", "very", "too", "few", "more", "most", "less", "least", "only",
                                  "again"})


def _emoji_name(match: re.Match[str]) -> str:
    name = unicodedata.name(match.group(0), "")
    return f" emoji_{name.lower().replace(' ', '_').replace('-', '_')} " if name else " "


class Cleaner:
    """Apply the cleaning steps of a :class:`~senti.config.CleanConfig` to texts.

    Placeholders (``xxurl``, ``xxemail``, ``xxuser``) keep the fact that something was there, which
    carries signal in tweets, without bloating the vocabulary with every address.
    """

    def __init__(self, config: CleanConfig | None = None):
        self.config = config or CleanConfig()
        self._steps = self._compile(self.config)
        self._stopwords: frozenset[str] = frozenset()
        # Each word's stem or lemma (one of the two; None: the words as they are).
        self._stem: Callable[[str], str] | None = None
        if self.config.stopwords:
            from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

            self._stopwords = frozenset(ENGLISH_STOP_WORDS - NEGATIONS_AND_DEGREE)
        scope = self.config.negation_scope
        if not isinstance(scope, int) or isinstance(scope, bool) or scope < 0:
            raise ConfigError(f"clean.negation_scope must be a whole number of words >= 0, got {scope!r}")
        self._negation_scope = scope
        if self.config.stem and self.config.lemmatize:
            raise ConfigError(f"clean: choose stem={self.config.stem!r} or lemmatize, not both")
        if self.config.stem:
            self._stem = _make_stemmer(self.config.stem)
        elif self.config.lemmatize:
            self._stem = _make_lemmatizer()

    @staticmethod
    def _compile(c: CleanConfig) -> list[Callable[[str], str]]:
        if c.emoji not in ("keep", "map", "drop"):
            raise ConfigError(f"clean.emoji must be 'keep', 'map' or 'drop', got {c.emoji!r}")
        # Each regex runs only when a cheap substring test says it can match: cleaning was the slowest part of
        # prediction (the e-mail pattern alone cost more than tokenising).
        steps: list[Callable[[str], str]] = [
            lambda s: _CONTROL.sub(" ", s) if _CONTROL.search(s) else s,
            lambda s: _BACKQUOTE.sub("'", s) if "`" in s else s,
        ]
        if c.html:
            steps.append(lambda s: html.unescape(_HTML_TAG.sub(" ", _HTML_BREAK.sub(" ", s))) if "<" in s or "&" in s
                         else s)
        if c.urls:
            steps.append(lambda s: _URL.sub(" xxurl ", s) if "://" in s or "www." in s.lower() else s)
        if c.emails:
            steps.append(lambda s: _EMAIL.sub(" xxemail ", s) if "@" in s else s)
        if c.mentions:
            steps.append(lambda s: _MENTION.sub(" xxuser ", s))
        if c.hashtags:
            steps.append(lambda s: _HASHTAG.sub(r" \1 ", s))
        if c.numbers:
            steps.append(lambda s: _NUMBER.sub(" ", s))
        if c.emoji == "map":
            steps.append(lambda s: _EMOJI.sub(_emoji_name, s))
        elif c.emoji == "drop":
            steps.append(lambda s: _EMOJI.sub(" ", s))
        if c.punctuation:
            steps.append(lambda s: _PUNCT.sub(" ", s))
        if c.lowercase:
            steps.append(str.lower)
        if c.repeated_chars:
            steps.append(lambda s: _REPEAT.sub(r"\1\1", s))
        return steps

    def __call__(self, text: str) -> str:
        text = self._apply_steps(text)
        if self._stopwords or self._stem:
            words = [w for w in text.split() if w not in self._stopwords]
            if self._stem:
                words = [self._stem(w) for w in words]
            return mark_negation(" ".join(words), self._negation_scope)
        return mark_negation(" ".join(text.split()), self._negation_scope)

    def tokens(self, text: str) -> list[str]:
        """``tokenize(self(text))``."""
        return tokenize(self.for_tokenizer(text))

    def for_tokenizer(self, text: str) -> str:
        """Text whose tokens are those of ``self(text)``: the cleaning steps without the whitespace
        normalisation, which the tokeniser does not need (12 µs of a review's ~40)."""
        if self._stopwords or self._stem:
            return self(text)
        return mark_negation(self._apply_steps(text), self._negation_scope)

    def _apply_steps(self, text: str) -> str:
        if not isinstance(text, str):
            raise TypeError(f"expected a str, got {type(text).__name__}")
        for step in self._steps:
            text = step(text)
        return text


def _make_stemmer(kind: str) -> Callable[[str], str]:
    if kind != "snowball":
        raise ConfigError(f"clean.stem must be 'snowball' or empty, got {kind!r}")
    try:
        from nltk.stem.snowball import SnowballStemmer
    except ImportError as e:
        raise ImportError("stemming needs NLTK: pip install nltk (no data download is needed)") from e
    return SnowballStemmer("english").stem


def _make_lemmatizer() -> Callable[[str], str]:
    """English lemmas from simplemma's tables, which ship in its wheel: nothing is downloaded, and a word it does
    not know stays as it is. Unlike a stem, a lemma is a real word ("movies" → "movie", "were" → "be").

    Applied to the words inside each whitespace-separated chunk ("running!" → "run!"), except contractions:
    simplemma reads "didn't" as "do", which would turn "I didn't like it" into "I do like it"."""
    try:
        import simplemma
    except ImportError as e:
        raise ImportError("lemmatizing needs simplemma: pip install 'senti[lemma]' (or pip install simplemma)") from e
    lemmatize = simplemma.lemmatize

    # Texts repeat their words: a cache makes each distinct word cost one table look-up.
    @functools.lru_cache(maxsize=1 << 18)
    def lemma(word: str) -> str:
        out = lemmatize(word, lang="en") or word  # never an empty lemma, which would drop the token
        return out.lower() if word.islower() else out  # simplemma writes "i" as "I": lowercased text stays so

    def one(match: re.Match[str]) -> str:
        word = match.group(0)
        return word if "'" in word or "’" in word else lemma(word)

    def chunk(text: str) -> str:
        return lemma(text) if text.isalpha() else _WORD.sub(one, text)

    return chunk

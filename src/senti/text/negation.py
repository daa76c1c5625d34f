"""Negation marking, the last cleaning step (``clean.negation_scope``): the words a negation governs become
words of their own.

"not good" and "good" share the word "good", so a bag of n-grams reads "The plot was not good." as mostly
praise, and a network trained on reviews that rarely say "not bad" reads it as "bad". Rewriting the words after a
negation with a prefix ("not xxnotgood"; Das & Chen 2001, Pang et al. 2002) gives them their own vector and
weights, learned from how the training texts use them. The scope is the ``scope`` words after the negation,
ended early by a clause mark (``. , ; : ! ? ( ) "``) or a contrast word ("not great, but fun").

The prefix is a word prefix like the cleaner's placeholders (``xxurl``), so every tokeniser path (the byte-level
fast ones included) reads a marked word as one token, and every model reads the text as it always has.
"""

from __future__ import annotations

import re

PREFIX = "xxnot"
NEGATIONS = frozenset({"not", "no", "never", "nothing", "nobody", "none", "nowhere", "neither", "nor", "cannot",
                       "without", "hardly", "barely"})
ENDS_SCOPE = frozenset({"but", "however", "although", "though", "yet", "whereas"})
# A word as the tokeniser reads it, or a mark that ends a clause.
_WORD_OR_MARK = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*|[.,;:!?()\"]")
# Texts without any of these hold no negation and are returned as they are, after one search.
_HINT = re.compile(r"n['’]t\b|\b(?:" + "|".join(sorted(NEGATIONS)) + r")\b", re.IGNORECASE)


def is_negation(word: str) -> bool:
    """A negation word, or a contraction of one ("didn't", "isn't", "don’t"), in any case."""
    word = word.lower()
    return word in NEGATIONS or word.endswith(("n't", "n’t"))


def mark_negation(text: str, scope: int) -> str:
    """``text`` with each of the ``scope`` words after a negation prefixed by ``xxnot`` (none with ``scope`` 0).

    A negation inside a scope is marked and starts a new scope rather than undoing it ("not that I never …":
    double negation is too rare and too varied for a rule)."""
    if scope <= 0 or not _HINT.search(text):
        return text
    parts: list[str] = []
    last = left = 0
    for m in _WORD_OR_MARK.finditer(text):
        word = m.group(0)
        if not word[0].isalpha():  # a clause mark
            left = 0
            continue
        if word.lower() in ENDS_SCOPE:
            left = 0
        elif left > 0:
            parts += [text[last:m.start()], PREFIX, word]
            last = m.end()
        left -= 1
        if is_negation(word):
            left = scope
    parts.append(text[last:])
    return "".join(parts)


def is_marked(token: str) -> bool:
    """A token :func:`mark_negation` wrote (``xxnotgood``)."""
    return token.startswith(PREFIX) and len(token) > len(PREFIX)


def unmark(token: str) -> str:
    """The word as written: ``good`` for ``xxnotgood``."""
    return token[len(PREFIX):] if is_marked(token) else token

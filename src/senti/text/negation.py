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
_LETTER = r"[^\W\d_]"
_WORD = rf"{_LETTER}+(?:['’]{_LETTER}+)*"  # a word as the tokeniser reads it
# A word or a mark that ends a clause.
_WORD_OR_MARK = re.compile(rf"{_WORD}|[.,;:!?()\"]")
# Where a negation may be: every negation word holds one of these (in lower case). Most matches are words such as
# "now" or "know", which the check on the whole word turns down; no look-behind or case folding in the pattern
# keeps the search at C speed (3.5× faster than with them).
_CANDIDATE = re.compile(r"no|n't|n’t|never|neither|without|hardly|barely")


def is_negation(word: str) -> bool:
    """A negation word, or a contraction of one ("didn't", "isn't", "don’t"), in any case."""
    word = word.lower()
    return word in NEGATIONS or word.endswith(("n't", "n’t"))


def mark_negation(text: str, scope: int) -> str:
    """``text`` with each of the ``scope`` words after a negation prefixed by ``xxnot`` (none with ``scope`` 0).

    A negation inside a scope is marked and starts a new scope rather than undoing it ("not that I never …":
    double negation is too rare and too varied for a rule). Only the words after each negation are read, not the
    whole text: 33 µs an IMDB review, a seventh of a word-by-word read."""
    if scope <= 0:
        return text
    marked: list[int] = []  # start offsets of the words to mark, in order
    lower = text.lower()
    if len(lower) != len(text):  # a letter whose lower case is longer ("İ"): offsets must stay the text's
        lower = "".join(ch if len(ch.lower()) != 1 else ch.lower() for ch in text)
    for candidate in _CANDIDATE.finditer(lower):
        at = candidate.start()
        # Tokens never hold whitespace, so reading them from the last whitespace before the candidate gives the
        # very tokens a read from the start would: the one that holds the candidate, then those after it.
        tokens = _WORD_OR_MARK.finditer(text, max(text.rfind(" ", 0, at), text.rfind("\n", 0, at)) + 1)
        for token in tokens:
            if token.end() > at:
                break
        else:
            continue
        if not is_negation(token.group(0)):
            continue
        left = scope
        for m in tokens:
            word = m.group(0)
            if not word[0].isalpha() or word.lower() in ENDS_SCOPE:
                break
            if not marked or m.start() > marked[-1]:
                marked.append(m.start())
            left -= 1
            if left == 0:
                break
    if not marked:
        return text
    parts, last = [], 0
    for start in marked:
        parts += [text[last:start], PREFIX]
        last = start
    parts.append(text[last:])
    return "".join(parts)


def is_marked(token: str) -> bool:
    """A token :func:`mark_negation` wrote (``xxnotgood``)."""
    return token.startswith(PREFIX) and len(token) > len(PREFIX)


def unmark(token: str) -> str:
    """The word as written: ``good`` for ``xxnotgood``."""
    return token[len(PREFIX):] if is_marked(token) else token

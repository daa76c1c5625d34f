"""Negation marking for bag-of-n-gram models: the words a negation governs become words of their own.

"not good" and "good" share the unigram "good" in a bag of n-grams, so a linear model reads "The plot was not
good." as mostly praise. Marking the tokens after a negation word with a prefix ("not NOT_good"; Das & Chen
2001, Pang et al. 2002) gives them their own weights, learned from how reviews use them. The scope is a window of
``scope`` tokens after the negation, ended early by a contrast word or "!" / "?" (the tokeniser keeps no other
punctuation), as a window of a few words is the usual approximation of a negation's syntactic scope.

Tokens never contain "_" (the tokeniser splits on it), so a marked token cannot collide with a word of the text.
"""

from __future__ import annotations

from collections.abc import Sequence

PREFIX = "NOT_"
NEGATIONS = frozenset({"not", "no", "never", "nothing", "nobody", "none", "nowhere", "neither", "nor", "cannot",
                       "without", "hardly", "barely"})
# A contrast word starts a clause the negation does not reach ("not great but fun").
ENDS_SCOPE = frozenset({"but", "however", "although", "though", "yet", "whereas", "!", "?"})


def is_negation(token: str) -> bool:
    """A negation word, or a contraction of one ("didn't", "isn't", "don’t"), in any case."""
    token = token.lower()
    return token in NEGATIONS or token.endswith(("n't", "n’t"))


def mark_negation(tokens: Sequence[str], scope: int) -> list[str]:
    """``tokens`` with each of the ``scope`` tokens after a negation word prefixed by ``NOT_`` (none with
    ``scope`` 0). A negation inside a scope starts a new one rather than undoing it ("not that I never …" stays
    marked: double negation is too rare and too varied to model with a rule)."""
    if scope <= 0:
        return list(tokens)
    out: list[str] = []
    left = 0
    for token in tokens:
        if token.lower() in ENDS_SCOPE:
            left = 0
        out.append(PREFIX + token if left > 0 else token)
        left -= 1
        if is_negation(token):
            left = scope
    return out


def is_marked(token: str) -> bool:
    return token.startswith(PREFIX)

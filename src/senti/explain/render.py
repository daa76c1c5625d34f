"""Explanations for people: the original text with each word coloured by its contribution (green towards the
predicted class, red against it; bold when strong), and the strongest words listed with their scores."""

from __future__ import annotations

import click

from senti.explain.attribution import Explanation

# Shares of the text's strongest |score| above which a word is coloured, and coloured in bold.
_FAINT, _STRONG = 0.15, 0.5


def colour_words(text: str, explanation: Explanation) -> str:
    """``text`` with ANSI colours on its words (whitespace and line breaks kept as they are)."""
    top = max((abs(w.score) for w in explanation.words), default=0.0)
    parts, pos = [], 0
    for w in explanation.words:
        parts.append(text[pos:w.start])
        share = abs(w.score) / top if top > 0 else 0.0
        if share >= _FAINT:
            parts.append(click.style(w.word, fg="green" if w.score > 0 else "red", bold=share >= _STRONG))
        else:
            parts.append(w.word)
        pos = w.end
    parts.append(text[pos:])
    return "".join(parts)


def format_explanation(text: str, explanation: Explanation, top_k: int = 5) -> str:
    """Label and probabilities, the coloured text, then the words that pushed most for and against."""
    probs = "  ".join(f"{lab}={p:.3f}" for lab, p in explanation.probabilities.items())
    ranked = sorted(explanation.words, key=lambda w: w.score, reverse=True)
    towards = ", ".join(f"{w.word} ({w.score:+.3f})" for w in ranked[:top_k] if w.score > 0) or "-"
    against = ", ".join(f"{w.word} ({w.score:+.3f})" for w in reversed(ranked[-top_k:]) if w.score < 0) or "-"
    return "\n".join([f"{explanation.label:<10} {probs}", f"  {colour_words(text, explanation)}",
                      f"  towards {explanation.label}: {towards}", f"  against: {against}"])

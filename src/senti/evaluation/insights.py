"""What a trained model has learned, in forms a person can look at: the words that push it towards each class,
a 2-D map of its word embeddings, and the test examples it gets most confidently wrong."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from senti.pipeline import SentimentModel

_BREAK = re.compile(r"<\s*br\s*/?\s*>", re.IGNORECASE)

# Words labelled on the embedding map when the vocabulary has them.
ANCHORS = ["good", "great", "excellent", "wonderful", "best", "love", "bad", "awful", "worst", "boring",
           "terrible", "waste", "not", "ok", "average", "funny", "beautiful", "stupid"]


def positive_column(labels: Sequence[str]) -> int:
    """The class that 'positive' means on a map: one named positive, else the last (ordinal scales)."""
    for i, lab in enumerate(labels):
        if lab.lower() in ("positive", "pos", "very positive"):
            return i
    return len(labels) - 1


def word_scores(model: SentimentModel, n_words: int = 5000) -> tuple[list[str], np.ndarray]:
    """Each of the ``n_words`` most frequent words, and the model's log-odds for each class given the word
    alone (neural models) or its weight per class (linear models)."""
    return model.scorer.word_scores(n_words)


def top_words(model: SentimentModel, k: int = 15, n_words: int = 5000) -> dict[str, list[tuple[str, float]]]:
    words, scores = word_scores(model, n_words)
    out = {}
    for j, lab in enumerate(model.labels):
        order = np.argsort(-scores[:, j], kind="stable")[:k]
        out[lab] = [(words[i], float(scores[i, j])) for i in order]
    return out


def embedding_projection(model: SentimentModel, n_words: int = 500) -> dict | None:
    """PCA of the embeddings of the most frequent words, with each word's P(positive) alone."""
    if model.vocab is None:  # classical models and ensembles have no embedding layer of their own
        return None
    from sklearn.decomposition import PCA

    weights = model.net.embedding.weight.detach().cpu().numpy()
    n = min(n_words, len(model.vocab) - 2)
    if n < 3:
        return None
    words = model.vocab.itos[2:2 + n]
    coords = PCA(n_components=2, random_state=0).fit_transform(weights[2:2 + n])
    proba = model.predict_proba_ids([[i] for i in range(2, 2 + n)], batch_size=1024)
    return {"coords": coords, "words": words, "scores": proba[:, positive_column(model.labels)], "method": "PCA"}


def confident_errors(texts: Sequence[str], labels: Sequence[str], proba: np.ndarray, classes: Sequence[str],
                     k: int = 10, max_chars: int = 1500) -> list[dict]:
    """The ``k`` misclassified examples with the highest confidence in the wrong label."""
    pred = proba.argmax(1)
    truth = np.asarray([list(classes).index(lab) for lab in labels])
    wrong = np.flatnonzero(pred != truth)
    order = wrong[np.argsort(-proba[wrong, pred[wrong]], kind="stable")][:k]
    out = []
    for i in order:
        text = _BREAK.sub(" ", texts[i])  # shown as prose: HTML line breaks would only be noise here
        out.append({"text": text if len(text) <= max_chars else text[:max_chars] + " …", "label": labels[i],
                    "predicted": classes[pred[i]], "confidence": float(proba[i, pred[i]])})
    return out

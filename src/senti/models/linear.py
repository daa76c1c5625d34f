"""Classical baselines as first-class senti models: TF-IDF + logistic regression, and NB-SVM (Wang & Manning
2012: logistic regression on binarised n-grams scaled by naive-Bayes log-count ratios).

They share senti's cleaning and tokenising, train with scikit-learn, and are stored like every senti model:
the n-gram vocabulary as JSON and the numbers (idf, NB ratios, weights) as safetensors — no pickle.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from senti.text.negation import is_marked
from senti.text.ngrams import ngram_counts

if TYPE_CHECKING:  # scikit-learn is imported where a model is fitted, not to score one
    import scipy.sparse as sp
    from sklearn.feature_extraction.text import CountVectorizer

KINDS = ("tfidf-logreg", "nbsvm")
_EXP_SAFE = 80.0  # e^80 is finite in float32 and float64


def sigmoid(x: np.ndarray) -> np.ndarray:
    """``1 / (1 + e^-x)`` without overflow: those very values wherever ``e^-x`` is finite, and ``e^x / (1 + e^x)``
    for ``x ≤ -80``, where ``e^-x`` overflows (a confident n-gram model reaches such scores on short texts)."""
    safe = x > -_EXP_SAFE
    p = 1 / (1 + np.exp(-np.where(safe, x, 0)))
    tail = np.exp(np.where(safe, -_EXP_SAFE, x))
    return np.where(safe, p, tail / (1 + tail))


@dataclass
class LinearConfig:
    kind: str = "tfidf-logreg"
    ngram_range: list[int] = field(default_factory=lambda: [1, 2])
    min_df: int = 2
    max_features: int | None = None
    sublinear_tf: bool = True
    C: float = 8.0
    nb_alpha: float = 1.0
    max_iter: int = 1000
    num_classes: int = 2
    vocab_size: int = 0  # filled in after fitting

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"model.kind must be one of {KINDS}, got {self.kind!r}")


def tfidf(counts: sp.csr_matrix, idf: np.ndarray, sublinear_tf: bool) -> sp.csr_matrix:
    """TfidfTransformer.transform (l2 norm) of float32 ``counts`` with sorted indices, in place, step for step as
    scikit-learn computes it, so the numbers are the same to the bit: float32 log and idf product, each row's sum
    of float32 squares accumulated in order in float64 (bincount adds in order), each value divided in float64."""
    X = counts
    if sublinear_tf:
        np.log(X.data, X.data)
        X.data += 1.0
    X.data *= idf[X.indices]
    rows = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))
    norms = np.sqrt(np.bincount(rows, weights=(X.data * X.data).astype(np.float64), minlength=X.shape[0]))
    norms[norms == 0] = 1.0  # a row of zeros stays as it is
    X.data = (X.data / norms[rows]).astype(X.dtype)
    return X


def _identity(tokens: list[str]) -> list[str]:
    return tokens


class LinearTextClassifier:
    """A linear model over n-gram features of pre-tokenised texts."""

    def __init__(self, config: LinearConfig):
        self.config = config
        self.vocabulary_: list[str] = []
        self.idf_: np.ndarray | None = None
        self.ratios_: np.ndarray | None = None  # (K', F) NB log-count ratios, NB-SVM only
        self.coef_: np.ndarray | None = None  # (K', F); K' = 1 for two classes
        self.intercept_: np.ndarray | None = None  # (K',)
        self._index: dict[str, int] | None = None  # n-gram → column, built when first needed
        self._fast: tuple[Any, np.ndarray] | None = None  # (NgramIndex, weights), built when first scoring

    def _vectorizer(self, vocabulary: dict[str, int] | None = None) -> CountVectorizer:
        from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

        c = self.config
        common = {"analyzer": "word", "tokenizer": _identity, "preprocessor": _identity, "token_pattern": None,
                  "lowercase": False, "ngram_range": tuple(c.ngram_range), "min_df": c.min_df,
                  "max_features": c.max_features, "vocabulary": vocabulary, "dtype": np.float32}
        if c.kind == "nbsvm":  # raw binary indicators, later scaled by the NB ratios
            return CountVectorizer(binary=True, **common)
        return TfidfVectorizer(sublinear_tf=c.sublinear_tf, **common)

    def fit(self, tokens: Sequence[list[str]], y: np.ndarray) -> LinearTextClassifier:
        from sklearn.linear_model import LogisticRegression

        c = self.config
        vec = self._vectorizer()
        X = vec.fit_transform(tokens)
        self.vocabulary_ = list(vec.get_feature_names_out())
        self._index = self._fast = None
        # get_feature_names_out is sorted like the column indices, so index i is column i.
        self.idf_ = vec.idf_.astype(np.float32) if c.kind != "nbsvm" else np.ones(X.shape[1], np.float32)
        y = np.asarray(y)
        if c.kind == "nbsvm":
            self.ratios_ = self._nb_ratios(X, y)
            coefs, intercepts = [], []
            for k, r in enumerate(self.ratios_):
                target = (y == (1 if len(self.ratios_) == 1 else k)).astype(int)
                lr = LogisticRegression(C=c.C, max_iter=c.max_iter).fit(X.multiply(r).tocsr(), target)
                coefs.append(lr.coef_[0])
                intercepts.append(lr.intercept_[0])
            self.coef_, self.intercept_ = np.asarray(coefs, np.float32), np.asarray(intercepts, np.float32)
        else:
            lr = LogisticRegression(C=c.C, max_iter=c.max_iter).fit(X, y)
            self.coef_, self.intercept_ = lr.coef_.astype(np.float32), lr.intercept_.astype(np.float32)
        c.vocab_size = len(self.vocabulary_)
        return self

    def _nb_ratios(self, X: sp.csr_matrix, y: np.ndarray) -> np.ndarray:
        alpha = self.config.nb_alpha
        classes = range(1, 2) if self.config.num_classes == 2 else range(self.config.num_classes)
        ratios = []
        for k in classes:
            p = alpha + np.asarray(X[y == k].sum(0)).ravel()
            q = alpha + np.asarray(X[y != k].sum(0)).ravel()
            ratios.append(np.log((p / p.sum()) / (q / q.sum())))
        return np.asarray(ratios, np.float32)

    def features(self, tokens: Sequence[list[str]]) -> sp.csr_matrix:
        """The n-gram features of ``tokens`` (binary counts, or TF-IDF with the learned idf), computed without
        scikit-learn: the very matrix its vectorizers give (tests/test_models.py)."""
        if self._index is None:
            self._index = {t: i for i, t in enumerate(self.vocabulary_)}
        ngram_range = tuple(self.config.ngram_range)
        if self.config.kind == "nbsvm":  # binary counts: the same matrix as CountVectorizer's
            return ngram_counts(tokens, self._index, ngram_range, binary=True)
        return tfidf(ngram_counts(tokens, self._index, ngram_range), self.idf_, self.config.sublinear_tf)

    def scores(self, tokens: Sequence[list[str]]) -> np.ndarray:
        """(N, K') decision scores, ``features(tokens) @ weights + intercept``, from the compiled n-gram pass
        (:class:`senti.text.ngram_index.NgramIndex`), which never builds the feature matrix."""
        return self._scores(*self._index_and_weights()[0].word_ids(tokens))

    def _index_and_weights(self) -> tuple[Any, np.ndarray]:
        if self._fast is None:
            from senti.text.ngram_index import NgramIndex

            weights = (self.coef_ * self.ratios_).T if self.ratios_ is not None else self.coef_.T
            self._fast = (NgramIndex(self.vocabulary_), np.ascontiguousarray(weights, dtype=np.float64))
        return self._fast

    def _scores(self, ids: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        index, weights = self._index_and_weights()
        idf = None if self.config.kind == "nbsvm" else self.idf_
        return index.scores_of_ids(ids, offsets, tuple(self.config.ngram_range), weights, idf,
                                   self.config.sublinear_tf) + self.intercept_

    def predict_proba_texts(self, texts: Sequence[str]) -> np.ndarray:
        """``predict_proba`` of cleaned texts (``Cleaner.for_tokenizer``), tokenised on the fast path."""
        return self._proba(self._scores(*self._index_and_weights()[0].word_ids_of_texts(texts)))

    def predict_proba(self, tokens: Sequence[list[str]]) -> np.ndarray:
        return self._proba(self.scores(tokens))

    def _proba(self, scores: np.ndarray) -> np.ndarray:
        if scores.shape[1] == 1:  # binary: one logit for the second class
            p1 = sigmoid(scores[:, 0])
            return np.column_stack([1 - p1, p1]).astype(np.float32)
        if self.ratios_ is not None:  # one-vs-rest: normalise the per-class probabilities
            probs = sigmoid(scores)
            return (probs / probs.sum(1, keepdims=True)).astype(np.float32)
        scores = scores - scores.max(1, keepdims=True)
        e = np.exp(scores)
        return (e / e.sum(1, keepdims=True)).astype(np.float32)

    def word_weights(self) -> tuple[list[str], np.ndarray]:
        """Single words and their weight towards each class (n_words, K); words as written, not their negated
        forms (``clean.negation_scope``), which no text contains."""
        index = {w: i for i, w in enumerate(self.vocabulary_)}
        words = [w for w in self.vocabulary_ if " " not in w and not is_marked(w)]
        cols = [index[w] for w in words]
        w = self.coef_[:, cols] * (self.ratios_[:, cols] if self.ratios_ is not None else 1.0)  # (K', n)
        return words, (np.vstack([-w[0], w[0]]).T if w.shape[0] == 1 else w.T)

    def state_dict(self) -> dict[str, np.ndarray]:
        state = {"idf": self.idf_, "coef": self.coef_, "intercept": self.intercept_}
        if self.ratios_ is not None:
            state["ratios"] = self.ratios_
        return {k: np.ascontiguousarray(v) for k, v in state.items()}

    def load_state_dict(self, state: dict[str, np.ndarray], vocabulary: list[str]) -> None:
        expected = {"idf", "coef", "intercept"} | ({"ratios"} if self.config.kind == "nbsvm" else set())
        if set(state) != expected:
            raise ValueError(f"expected weights {sorted(expected)}, found {sorted(state)}")
        arrays = {k: np.asarray(v) for k, v in state.items()}  # tensors too
        n = len(vocabulary)
        if arrays["idf"].shape != (n,) or arrays["coef"].shape[1] != n:
            raise ValueError(f"weights do not match the {n}-entry n-gram vocabulary")
        self.vocabulary_ = list(vocabulary)
        self._index = self._fast = None
        self.idf_, self.coef_, self.intercept_ = arrays["idf"], arrays["coef"], arrays["intercept"]
        self.ratios_ = arrays.get("ratios")

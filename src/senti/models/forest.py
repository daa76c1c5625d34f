"""Random forest over TF-IDF features, the third classical baseline.

scikit-learn fits it; senti stores the fitted trees as flat arrays (children, split feature, threshold, leaf
class distribution) in safetensors and predicts by walking them with NumPy — no pickle, as for every model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from senti.errors import ConfigError
from senti.models.linear import LinearTextClassifier
from senti.text.tokenize import tokenize

_ARRAYS = ("idf", "left", "right", "feature", "threshold", "values", "roots", "importance", "class_means")


@dataclass
class ForestConfig:
    kind: str = "random-forest"
    n_estimators: int = 100
    max_depth: int | None = None
    min_samples_leaf: int = 1
    ngram_range: list[int] = field(default_factory=lambda: [1, 1])
    min_df: int = 2
    max_features: int | None = 20_000  # n-gram vocabulary size
    sublinear_tf: bool = True
    seed: int = 0
    num_classes: int = 2
    vocab_size: int = 0

    def __post_init__(self) -> None:
        if self.kind != "random-forest":
            raise ConfigError(f"model.kind must be 'random-forest', got {self.kind!r}")


class ForestTextClassifier(LinearTextClassifier):
    """TF-IDF features (shared with the linear baselines) → random forest."""

    def fit(self, tokens: Sequence[list[str]], y: np.ndarray) -> ForestTextClassifier:
        from sklearn.ensemble import RandomForestClassifier

        c = self.config
        vec = self._vectorizer()
        X = vec.fit_transform(tokens)
        self.vocabulary_ = list(vec.get_feature_names_out())
        self._index = None
        self.idf_ = vec.idf_.astype(np.float32)
        y = np.asarray(y)
        rf = RandomForestClassifier(n_estimators=c.n_estimators, max_depth=c.max_depth,
                                    min_samples_leaf=c.min_samples_leaf, random_state=c.seed, n_jobs=-1).fit(X, y)
        left, right, feature, threshold, values, roots = [], [], [], [], [], []
        offset = 0
        for est in rf.estimators_:
            t = est.tree_
            leaf = t.children_left == -1
            left.append(np.where(leaf, -1, t.children_left + offset))
            right.append(np.where(leaf, -1, t.children_right + offset))
            feature.append(np.where(leaf, 0, t.feature))
            threshold.append(t.threshold)
            v = t.value[:, 0, :]
            values.append(v / np.maximum(v.sum(1, keepdims=True), 1e-12))
            roots.append(offset)
            offset += t.node_count
        self.trees_ = {"left": np.concatenate(left).astype(np.int64), "right": np.concatenate(right).astype(np.int64),
                       "feature": np.concatenate(feature).astype(np.int64),
                       "threshold": np.concatenate(threshold).astype(np.float64),  # float32 could flip splits
                       "values": np.concatenate(values).astype(np.float32), "roots": np.asarray(roots, np.int64)}
        self.importance_ = rf.feature_importances_.astype(np.float32)
        self.class_means_ = np.vstack([np.asarray(X[y == k].mean(0)).ravel() if (y == k).any()
                                       else np.zeros(X.shape[1]) for k in range(c.num_classes)]).astype(np.float32)
        c.vocab_size = len(self.vocabulary_)
        return self

    def predict_proba_texts(self, texts: Sequence[str]) -> np.ndarray:
        """``predict_proba`` of cleaned texts: the trees read the TF-IDF matrix, not the linear fast path."""
        return self.predict_proba([tokenize(t) for t in texts])

    def predict_proba(self, tokens: Sequence[list[str]], batch_size: int = 512) -> np.ndarray:
        X = self.features(tokens)
        out = np.empty((X.shape[0], self.config.num_classes), dtype=np.float32)
        for start in range(0, X.shape[0], batch_size):
            out[start:start + batch_size] = self._walk(X[start:start + batch_size].toarray())
        return out

    def _walk(self, dense: np.ndarray) -> np.ndarray:
        """Send every row down every tree at once; each loop step moves all unfinished (row, tree) pairs."""
        t = self.trees_
        n, n_trees = dense.shape[0], len(t["roots"])
        rows = np.repeat(np.arange(n), n_trees)
        node = np.tile(t["roots"], n)
        active = np.flatnonzero(t["left"][node] != -1)
        while active.size:
            nd = node[active]
            go_left = dense[rows[active], t["feature"][nd]] <= t["threshold"][nd]
            node[active] = np.where(go_left, t["left"][nd], t["right"][nd])
            active = active[t["left"][node[active]] != -1]
        return t["values"][node].reshape(n, n_trees, -1).mean(1)

    def word_weights(self) -> tuple[list[str], np.ndarray]:
        """Importance, signed by whether the word is more frequent in a class than on average."""
        index = {w: i for i, w in enumerate(self.vocabulary_)}
        words = [w for w in self.vocabulary_ if " " not in w]
        cols = [index[w] for w in words]
        direction = self.class_means_[:, cols] - self.class_means_[:, cols].mean(0, keepdims=True)  # (K, n)
        return words, (np.sign(direction) * self.importance_[cols]).T

    def state_dict(self) -> dict[str, np.ndarray]:
        arrays = {"idf": self.idf_, **self.trees_, "importance": self.importance_, "class_means": self.class_means_}
        return {k: np.ascontiguousarray(v) for k, v in arrays.items()}

    def load_state_dict(self, state: dict[str, np.ndarray], vocabulary: list[str]) -> None:
        if set(state) != set(_ARRAYS):
            raise ValueError(f"expected weights {sorted(_ARRAYS)}, found {sorted(state)}")
        a = {k: np.asarray(v) for k, v in state.items()}  # tensors too
        n_nodes, n_words = len(a["left"]), len(vocabulary)
        if a["idf"].shape != (n_words,) or a["values"].shape != (n_nodes, self.config.num_classes):
            raise ValueError("tree arrays do not match the vocabulary or the number of classes")
        children = np.concatenate([a["left"], a["right"], a["roots"]])
        if children.max(initial=-1) >= n_nodes or a["feature"].max(initial=0) >= n_words or (a["feature"] < 0).any():
            raise ValueError("tree arrays point outside the tree or the vocabulary")
        self.vocabulary_, self.idf_ = list(vocabulary), a["idf"]
        self._index = None
        self.trees_ = {k: a[k] for k in ("left", "right", "feature", "threshold", "values", "roots")}
        self.importance_, self.class_means_ = a["importance"], a["class_means"]
        self.ratios_ = None

"""The report's figures, drawn with matplotlib's Agg backend (no display needed). Each function writes one
PNG and returns its path; titles and axis labels are fixed strings that the tests check."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from senti.io import atomic_write

POS_COLOR, NEG_COLOR, NEUTRAL_COLOR = "#2a9d8f", "#e76f51", "#8d99ae"
plt.rcParams.update({"figure.dpi": 110, "axes.spines.top": False, "axes.spines.right": False,
                     "axes.titleweight": "bold", "font.size": 10})


def _save(fig: plt.Figure, path: Path) -> Path:
    fig.tight_layout()
    # Titles and axis labels go into the PNG's text chunks too, so tools (and tests) can read what it shows.
    axes = [{"title": ax.get_title(), "xlabel": ax.get_xlabel(), "ylabel": ax.get_ylabel()}
            for ax in fig.axes if ax.get_title() or ax.get_xlabel()]
    meta = {"Title": " | ".join(a["title"] for a in axes if a["title"]), "Description": json.dumps(axes),
            "Software": "senti"}
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", bbox_inches="tight", metadata=meta))
    plt.close(fig)
    return path


def class_colors(labels: Sequence[str]) -> list[str]:
    def color(label: str) -> str:
        low = label.lower()
        if "neg" in low:
            return NEG_COLOR
        if "pos" in low:
            return POS_COLOR
        return NEUTRAL_COLOR

    return [color(lab) for lab in labels]


def learning_curves(history: Sequence[Mapping[str, float]], best_epoch: int, path: Path) -> Path:
    """Loss and accuracy per epoch, train and validation, with the restored best epoch marked."""
    epochs = [r["epoch"] for r in history]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for ax, key, title in ((axes[0], "loss", "Loss"), (axes[1], "accuracy", "Accuracy")):
        if all(key in r for r in history):
            ax.plot(epochs, [r[key] for r in history], "o-", color="#264653", label="train")
        ax.plot(epochs, [r[f"val_{key}"] for r in history], "o-", color="#e9c46a", label="validation")
        if best_epoch > 0:
            ax.axvline(best_epoch, color="#999", ls="--", lw=1, label=f"best epoch ({best_epoch})")
        ax.set_title(f"{title} per epoch")
        ax.set_xlabel("epoch")
        ax.set_ylabel(key)
        ax.set_xticks(epochs)
        ax.legend(frameon=False)
    return _save(fig, path)


def confusion_matrix(cm: Sequence[Sequence[int]], labels: Sequence[str], path: Path) -> Path:
    """Counts and row-normalised rates (recall on the diagonal), side by side."""
    cm = np.asarray(cm, dtype=float)
    rates = cm / np.maximum(cm.sum(1, keepdims=True), 1)
    n = len(labels)
    size = 3.2 + 0.5 * n
    fig, axes = plt.subplots(1, 2, figsize=(2 * size + 1, size))
    for ax, data, title, fmt in ((axes[0], cm, "Confusion matrix (counts)", "{:.0f}"),
                                 (axes[1], rates, "Confusion matrix (row-normalised)", "{:.1%}")):
        im = ax.imshow(data if title.endswith("normalised)") else rates, cmap="Blues", vmin=0, vmax=1)
        for i in range(n):
            for j in range(n):
                ax.text(j, i, fmt.format(data[i, j]), ha="center", va="center",
                        color="white" if rates[i, j] > 0.5 else "black")
        ax.set_xticks(range(n), labels, rotation=30, ha="right")
        ax.set_yticks(range(n), labels)
        ax.set_xlabel("predicted label")
        ax.set_ylabel("true label")
        ax.set_title(title)
        ax.spines[:].set_visible(False)
    fig.colorbar(im, ax=axes[1], fraction=0.046, pad=0.04)
    return _save(fig, path)


def per_class_scores(per_class: Mapping[str, Mapping[str, float]], path: Path) -> Path:
    labels = list(per_class)
    x = np.arange(len(labels))
    fig, ax = plt.subplots(figsize=(max(5, 1.6 * len(labels) + 2), 3.6))
    for k, (metric, color) in enumerate((("precision", "#264653"), ("recall", "#2a9d8f"), ("f1", "#e9c46a"))):
        values = [per_class[lab][metric] for lab in labels]
        bars = ax.bar(x + (k - 1) * 0.26, values, 0.26, label=metric, color=color)
        ax.bar_label(bars, fmt="%.2f", fontsize=8, padding=2)
    ax.set_xticks(x, labels)
    ax.set_ylim(0, 1.1)
    ax.set_ylabel("score")
    ax.set_title("Precision, recall and F1 per class")
    ax.legend(frameon=False, ncols=3, loc="upper center", bbox_to_anchor=(0.5, -0.12))
    return _save(fig, path)


def top_words(words: Mapping[str, Sequence[tuple[str, float]]], path: Path, xlabel: str = "log-odds") -> Path:
    """Horizontal bars of the words that most push the model towards each class."""
    labels = list(words)
    fig, axes = plt.subplots(1, len(labels), figsize=(3.4 * len(labels), 4.6), squeeze=False)
    for ax, lab, color in zip(axes[0], labels, class_colors(labels), strict=True):
        items = list(words[lab])[::-1]
        ax.barh([w for w, _ in items], [s for _, s in items], color=color)
        ax.set_title(f"Top words: {lab}")
        ax.set_xlabel(xlabel)
        ax.tick_params(axis="y", labelsize=9)
    return _save(fig, path)


def embedding_map(coords: np.ndarray, words: Sequence[str], scores: np.ndarray, labelled: Sequence[str],
                  path: Path, method: str = "PCA") -> Path:
    """2-D projection of word embeddings, coloured by the model's sentiment for each word alone."""
    fig, ax = plt.subplots(figsize=(7.5, 6))
    sc = ax.scatter(coords[:, 0], coords[:, 1], c=scores, cmap="RdYlGn", vmin=0, vmax=1, s=10, alpha=0.7)
    index = {w: i for i, w in enumerate(words)}
    for w in labelled:
        if w in index:
            i = index[w]
            ax.annotate(w, coords[i], fontsize=8, xytext=(3, 3), textcoords="offset points")
            ax.scatter(*coords[i], s=24, facecolors="none", edgecolors="black", linewidths=0.7)
    fig.colorbar(sc, ax=ax, label="P(positive) for the word alone")
    ax.set_title(f"Word embeddings ({method}, {len(words)} most frequent words)")
    ax.set_xlabel(f"{method} 1")
    ax.set_ylabel(f"{method} 2")
    return _save(fig, path)


def comparison_bars(rows: Sequence[Mapping[str, float]], path: Path) -> Path:
    """Accuracy and macro-F1 per model, plus training time, for `senti compare`."""
    names = [r["model"] for r in rows]
    y = np.arange(len(names))
    fig, axes = plt.subplots(1, 2, figsize=(11, 0.55 * len(names) + 1.8), sharey=True)
    for k, (metric, color) in enumerate((("accuracy", "#264653"), ("macro_f1", "#2a9d8f"))):
        bars = axes[0].barh(y + (k - 0.5) * 0.38, [r[metric] for r in rows], 0.38, label=metric, color=color)
        axes[0].bar_label(bars, fmt="%.3f", fontsize=8, padding=2)
    lo = min(min(r["accuracy"], r["macro_f1"]) for r in rows)
    axes[0].set_xlim(max(0.0, lo - 0.1), 1.0)
    axes[0].set_yticks(y, names)
    axes[0].set_xlabel("test score")
    axes[0].set_title("Test accuracy and macro-F1")
    axes[0].legend(frameon=False, loc="lower right")
    bars = axes[1].barh(y, [r["train_seconds"] for r in rows], color="#e9c46a")
    axes[1].bar_label(bars, fmt="%.0f s", fontsize=8, padding=2)
    axes[1].set_xlabel("seconds")
    axes[1].set_title("Training time")
    axes[0].invert_yaxis()
    return _save(fig, path)


def class_balance(counts: Mapping[str, Mapping[str, int]], path: Path) -> Path:
    """Texts per class in each split (train, validation, test), with each class's share of its split."""
    splits = list(counts)
    labels = list(dict.fromkeys(lab for c in counts.values() for lab in c))
    colors = class_colors(labels)
    width = 0.8 / max(len(labels), 1)
    fig, ax = plt.subplots(figsize=(min(4 + 1.6 * len(splits) * max(len(labels), 2) / 2, 11), 3.6))
    x = np.arange(len(splits))
    for k, (lab, color) in enumerate(zip(labels, colors, strict=True)):
        values = [counts[s].get(lab, 0) for s in splits]
        shares = [v / max(sum(counts[s].values()), 1) for s, v in zip(splits, values, strict=True)]
        # A class whose color an earlier class has ("very negative" after "negative") is hatched.
        bars = ax.bar(x + (k - (len(labels) - 1) / 2) * width, values, width, label=lab, color=color,
                      hatch="//" if color in colors[:k] else None, edgecolor="white")
        ax.bar_label(bars, [f"{v:,}\n{s:.0%}" for v, s in zip(values, shares, strict=True)], fontsize=7,
                     padding=2)
    ax.set_xticks(x, splits)
    ax.margins(y=0.25)
    ax.set_title("Class balance per split")
    ax.set_xlabel("split")
    ax.set_ylabel("texts")
    ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return _save(fig, path)


def text_lengths(edges: Sequence[float], counts: Mapping[str, Sequence[int]], max_length: int | None,
                 truncated: Mapping[str, float], path: Path) -> Path:
    """Share of texts per length in tokens, one line per split (train as bars), with ``max_length`` marked and
    the share of texts it cuts; the last bin also holds every longer text."""
    edges = np.asarray(edges, dtype=float)
    widths = np.diff(edges)
    fig, ax = plt.subplots(figsize=(10, 3.6))
    styles = {"train": "#264653", "validation": "#e9c46a", "test": "#8d99ae"}
    for name, c in counts.items():
        share = np.asarray(c, dtype=float) / max(sum(c), 1)
        if name == "train":
            ax.bar(edges[:-1], share, widths, align="edge", color=styles[name], alpha=0.75, label="train")
        else:
            ax.step(edges, np.append(share, share[-1]), where="post", color=styles.get(name, "#555"), lw=1.5,
                    label=name)
    title = "Text length in tokens"
    if max_length is not None:
        cut = ", ".join(f"{truncated[s]:.1%} of {s}" for s in counts if s in truncated)
        ax.axvline(max_length, color=NEG_COLOR, ls="--", lw=1.5,
                   label=f"max_length = {max_length}" + (f" (cuts {cut})" if cut else ""))
        title += f" (max_length = {max_length})"
    ax.set_xlim(0, edges[-1])
    ax.set_title(title)
    ax.set_xlabel(f"tokens per text (the last bar: {int(edges[-2])} or more)")
    ax.set_ylabel("share of texts")
    ax.legend(frameon=True, framealpha=0.9, edgecolor="none", fontsize=8, loc="upper right")
    return _save(fig, path)


def word_cloud(words: Sequence[Sequence[Any]], label: str, path: Path) -> Path:
    """A word cloud of a class's distinctive words ([word, weight] pairs, the biggest weight drawn largest),
    in the class's color (wordcloud's bundled font: nothing is fetched)."""
    from wordcloud import WordCloud

    base = matplotlib.colors.to_rgb(class_colors([label])[0])

    def shade(word: str, font_size: int, position: Any, orientation: Any, random_state: Any = None,
              **kwargs: Any) -> str:
        # The class's color for the large words, mixed towards light grey for the small ones.
        weight = 0.55 + 0.45 * min(font_size / 80, 1.0)
        r, g, b = (round(255 * (weight * c + (1 - weight) * 0.85)) for c in base)
        return f"rgb({r},{g},{b})"

    fig, ax = plt.subplots(figsize=(5.2, 2.9))
    freqs = {str(w): float(s) for w, s in words if float(s) > 0}
    if freqs:
        cloud = WordCloud(width=780, height=420, background_color="white", random_state=0, max_words=len(freqs),
                          prefer_horizontal=0.95, color_func=shade, collocations=False,
                          relative_scaling=0.6, margin=3).generate_from_frequencies(freqs)
        ax.imshow(cloud.to_array(), interpolation="bilinear")
    else:
        ax.text(0.5, 0.5, "no distinctive words", ha="center", va="center", color="#888")
    ax.set_axis_off()
    ax.set_title(f"{label}: most distinctive words")
    return _save(fig, path)


def calibrated_range(confidence: np.ndarray, counts: np.ndarray, z: float = 1.96) -> tuple[np.ndarray, np.ndarray]:
    """Per bin, where a perfectly calibrated model's accuracy falls with ~95 % probability (normal approximation
    to the binomial: confidence ± z·sqrt(c(1-c)/n), clipped to [0, 1]); NaN for an empty bin. A bar outside it
    is miscalibration, not the noise of a small bin."""
    c, n = np.asarray(confidence, dtype=float), np.asarray(counts, dtype=float)
    half = z * np.sqrt(c * (1 - c) / np.where(n > 0, n, np.nan))
    return np.clip(c - half, 0, 1), np.clip(c + half, 0, 1)


def reliability_diagram(table: Mapping[str, Sequence[Any]], ece: float, split: str, path: Path) -> Path:
    """Accuracy against top-class confidence per equal-width bin (a calibrated model sits on the diagonal),
    with each bin's mean confidence marked and the range a calibrated model's accuracy would fall in there
    (:func:`calibrated_range`), and the number of examples per bin below."""
    edges = np.asarray(table["edges"], dtype=float)
    centers, width = (edges[:-1] + edges[1:]) / 2, np.diff(edges)
    counts = np.asarray(table["count"], dtype=int)
    acc = np.asarray([np.nan if a is None else a for a in table["accuracy"]], dtype=float)
    conf = np.asarray([np.nan if c is None else c for c in table["confidence"]], dtype=float)
    low, high = calibrated_range(conf, counts)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(6.4, 6.4), sharex=True, height_ratios=(3, 1.4))
    top.bar(centers, np.nan_to_num(acc), width * 0.92, color=POS_COLOR, label="accuracy in the bin")
    top.plot([0, 1], [0, 1], ls="--", color="#999", lw=1, label="perfect calibration")
    top.errorbar(conf, conf, yerr=[conf - low, high - conf], fmt="o", color="#264653", ms=4, elinewidth=1,
                 capsize=2, label="mean confidence, and 95 % range of a calibrated model")
    top.set_ylim(0, 1.02)
    top.set_ylabel("accuracy")
    top.set_title(f"Reliability on the {split} split: ECE {ece:.4f}")
    top.legend(frameon=False, loc="upper left", fontsize=8)
    bars = bottom.bar(centers, counts, width * 0.92, color=NEUTRAL_COLOR)
    bottom.bar_label(bars, labels=[f"{c:,}" if c else "" for c in counts], fontsize=7, padding=1)
    if counts.max(initial=0) > 50 * max(1, np.median(counts[counts > 0]) if counts.any() else 1):
        bottom.set_yscale("log")
    bottom.set_xlim(0, 1)
    bottom.set_xlabel("top-class confidence")
    bottom.set_ylabel("examples")
    return _save(fig, path)

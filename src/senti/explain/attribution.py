"""Per-word attributions: how much each word of the *original* text pushes the model towards a class.

Two methods:

- ``occlusion`` (every model type): the drop in the class probability when the word is deleted from the raw
  text. The perturbed texts go through the one prediction path (clean → tokenise → encode → model), so it is
  exact for the RNN/CNN nets, the linear baselines and the random forest alike, and all the one-word-removed
  variants of a text are scored in a single ``predict_proba`` call.
- ``integrated-gradients`` (the RNN/CNN nets): Sundararajan et al. 2017 on the word embeddings, from the
  all-padding (zero) embedding to the text's, integrating the gradient of the class probability. Token
  attributions are mapped back onto the original words by aligning the tokens of each word with the tokens of
  the whole text.

- ``word-alone`` (every model type): what each word says by itself, the log-odds of the class when the model
  reads only that word, relative to chance (1 / number of classes). Context-free, so it does not explain the
  prediction in context, but it is a sharp lexicon of the model's sentiment words, and finds the rationale
  spans that people select better than the in-context methods (see bench/tweets.py).

Words are the whitespace-separated chunks of the original text (the unit of the Kaggle tweet-extraction
metric), with character offsets so that a page can highlight the original.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import torch

from senti.errors import ConfigError
from senti.models.batching import collate
from senti.scoring import NeuralScorer
from senti.text.negation import unmark
from senti.text.vocab import truncate_ids

if TYPE_CHECKING:
    from senti.scoring import Classifier

METHODS = ("occlusion", "integrated-gradients", "word-alone")
_WORD = re.compile(r"\S+")
# Occlusion scores the variants of this many words per predict call at most, bounding memory on long reviews.
_MAX_VARIANTS = 8192


@dataclass
class WordScore:
    """A word of the original text (``text[start:end] == word``) and its signed contribution to a class."""

    word: str
    start: int
    end: int
    score: float


@dataclass
class Explanation:
    """A prediction with the contribution of each word of the text to the predicted class."""

    label: str
    probabilities: dict[str, float]
    words: list[WordScore] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"label": self.label, "probabilities": dict(self.probabilities),
                "words": [asdict(w) for w in self.words]}


def word_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) character offsets of the whitespace-separated words of ``text``."""
    return [m.span() for m in _WORD.finditer(text)]


def explain(model: Classifier, texts: Sequence[str], method: str = "occlusion", batch_size: int = 256
            ) -> list[Explanation]:
    """Explain the predicted class of each text (see :meth:`senti.SentimentModel.explain`)."""
    proba, scores = attribute(model, texts, method, batch_size=batch_size)
    labels = model.labels
    out = []
    for text, p, s in zip(texts, proba, scores, strict=True):
        words = [WordScore(text[a:b], a, b, float(v)) for (a, b), v in zip(word_spans(text), s, strict=True)]
        out.append(Explanation(labels[int(p.argmax())], {lab: float(v) for lab, v in zip(labels, p, strict=True)},
                               words))
    return out


def attribute(model: Classifier, texts: Sequence[str], method: str = "occlusion",
              targets: Sequence[int] | None = None, batch_size: int = 256, steps: int = 32
              ) -> tuple[np.ndarray, list[np.ndarray]]:
    """Class probabilities (N, C) of the texts and, per text, one score per word (``word_spans``) towards
    class index ``targets[i]`` (default: the predicted class)."""
    if method not in METHODS:
        raise ConfigError(f"method must be one of {METHODS}, got {method!r}")
    proba = model.predict_proba(texts, batch_size)  # also validates the texts
    target = proba.argmax(1) if targets is None else np.asarray(targets, dtype=np.int64)
    if len(target) != len(texts):
        raise ValueError(f"got {len(target)} targets for {len(texts)} texts")
    if method == "occlusion":
        return proba, _occlusion(model, texts, proba, target, batch_size)
    if method == "word-alone":
        return proba, _word_alone(model, texts, target, batch_size)
    if not isinstance(model.scorer, NeuralScorer):
        kind = model.scorer.model_config.get("kind", "classical")
        raise ConfigError(f"the integrated-gradients method needs a neural network (RNN, CNN, minGRU); this is a "
                          f"{kind} model: use the occlusion or word-alone method (senti: --method occlusion)")
    return proba, _integrated_gradients(model, texts, target, batch_size, steps)


def _occlusion(model: Classifier, texts: Sequence[str], proba: np.ndarray, target: np.ndarray,
               batch_size: int) -> list[np.ndarray]:
    spans = [word_spans(t) for t in texts]
    scores: list[np.ndarray] = []
    start = 0
    while start < len(texts):
        # A chunk of whole texts whose variants fit the budget (always at least one text).
        stop, n_variants = start, 0
        while stop < len(texts) and (stop == start or n_variants + len(spans[stop]) <= _MAX_VARIANTS):
            n_variants += len(spans[stop])
            stop += 1
        variants = [texts[i][:a] + " " + texts[i][b:] for i in range(start, stop) for a, b in spans[i]]
        p = model.predict_proba(variants, batch_size) if variants else np.empty((0, proba.shape[1]))
        offset = 0
        for i in range(start, stop):
            k = len(spans[i])
            scores.append((proba[i, target[i]] - p[offset:offset + k, target[i]]).astype(np.float32))
            offset += k
        start = stop
    return scores


def _word_alone(model: Classifier, texts: Sequence[str], target: np.ndarray, batch_size: int
                ) -> list[np.ndarray]:
    spans = [word_spans(t) for t in texts]
    words = [t[a:b] for t, sp in zip(texts, spans, strict=True) for a, b in sp]
    n_classes = len(model.labels)
    p = model.predict_proba(words, batch_size) if words else np.empty((0, n_classes), dtype=np.float32)
    p = np.clip(p.astype(np.float64), 1e-6, 1 - 1e-6)
    log_odds = np.log(p) - np.log1p(-p) - np.log(1 / (n_classes - 1))  # 0 where p = 1 / n_classes
    scores, offset = [], 0
    for sp, k in zip(spans, target, strict=True):
        scores.append(log_odds[offset:offset + len(sp), k].astype(np.float32))
        offset += len(sp)
    return scores


def _integrated_gradients(model: Classifier, texts: Sequence[str], target: np.ndarray, batch_size: int,
                          steps: int) -> list[np.ndarray]:
    scorer = model.scorer
    vc = scorer.vocab_config
    tokens = [scorer.tokens(t) for t in texts]
    ids = [scorer.vocab.encode(t, vc.max_length, vc.truncate) for t in tokens]
    net = scorer.net
    temperature = float(getattr(model, "temperature", 1.0))
    device = next(net.parameters()).device
    # Midpoint Riemann sum of the path integral: alpha = (k + 0.5) / steps.
    alphas = ((torch.arange(steps, dtype=torch.float32) + 0.5) / steps).to(device)
    per_batch = max(1, batch_size // steps)
    token_scores: list[np.ndarray] = []
    # cuDNN's RNN backward refuses eval mode; the native kernels compute the same gradients.
    with torch.enable_grad(), torch.backends.cudnn.flags(enabled=False):
        for start in range(0, len(ids), per_batch):
            chunk = range(start, min(start + per_batch, len(ids)))
            x, lengths = collate([ids[i] for i in chunk])
            x, lengths = x.to(device), lengths.to(device)
            k, T = x.shape
            emb = net.embed(x).detach()  # (k, T, E); the baseline is the zero (padding) embedding
            path = (alphas.view(-1, 1, 1, 1) * emb.unsqueeze(0)).reshape(steps * k, T, -1).requires_grad_()
            logits = net(x.repeat(steps, 1), lengths.repeat(steps), embedded=path)  # (S*k, C)
            tgt = torch.as_tensor(target[list(chunk)], device=device).repeat(steps)
            # The calibrated probability, as predict_proba gives it: softmax(logits / T).
            prob = torch.softmax(logits.float() / temperature, dim=-1).gather(1, tgt.unsqueeze(1)).sum()
            (grad,) = torch.autograd.grad(prob, path)
            attr = (grad.view(steps, k, T, -1).mean(0) * emb).sum(-1)  # (k, T)
            token_scores += [attr[j, :int(lengths[j])].cpu().numpy() for j in range(k)]
    return [_tokens_to_words(model, text, toks, s) for text, toks, s in zip(texts, tokens, token_scores,
                                                                           strict=True)]


def _tokens_to_words(model: Classifier, text: str, tokens: list[str], token_scores: np.ndarray) -> np.ndarray:
    """Sum token attributions into the words of the original text.

    Cleaning is word-local for nearly every step (URLs, mentions, case, repeated letters), so tokenising each
    word alone gives the text's tokens; ``difflib`` aligns the two where a step spans words (an HTML tag with a
    space inside), and tokens cut by truncation keep no score.
    """
    spans = word_spans(text)
    owner_tokens: list[str] = []
    owners: list[int] = []
    for w, (a, b) in enumerate(spans):
        word_tokens = model.scorer.tokens(text[a:b])
        owner_tokens += word_tokens
        owners += [w] * len(word_tokens)
    vc = model.scorer.vocab_config
    kept = list(range(len(tokens)))
    if len(kept) > vc.max_length:
        kept = truncate_ids(kept, vc.max_length, vc.truncate)
    position_score = dict(zip(kept, token_scores.tolist(), strict=False))
    out = np.zeros(len(spans), dtype=np.float32)
    # A word alone has no negation before it: "bad" in the text's tokens is "xxnotbad" after "not".
    matcher = difflib.SequenceMatcher(a=[unmark(t) for t in owner_tokens], b=[unmark(t) for t in tokens],
                                      autojunk=False)
    for block in matcher.get_matching_blocks():
        for j in range(block.size):
            out[owners[block.a + j]] += position_score.get(block.b + j, 0.0)
    return out

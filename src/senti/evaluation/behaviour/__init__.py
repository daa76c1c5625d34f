"""Behaviour checks: a template-generated test suite in the spirit of CheckList (Ribeiro et al. 2020), with
templates and word lists written for senti (reviews of films, products, restaurants and apps).

    >>> from senti.evaluation.behaviour import run_suite
    >>> result = run_suite(senti.load("runs/imdb"))          # doctest: +SKIP
    >>> result.rates["negation"]                             # doctest: +SKIP
    >>> print(result.format(show=3))                         # doctest: +SKIP

**What it tests.** Fifteen tests in three kinds (see :mod:`.templates` for the exact rules and the labelling
decisions): minimum functionality (MFT: the sentence has one clear label) for plain polarity, negation, negated
negatives, "not bad", contrast, intensifiers and downtoners; invariance (INV: the prediction stays, and no
polarity probability moves more than ``INV_TOLERANCE`` = 0.1) to names, punctuation, typos in words without
sentiment and an unrelated sentence; directional (DIR: the named polarity's probability may move the wrong way
by at most ``DIR_TOLERANCE`` = 0.05) for intensifiers, downtoners and an added clearly positive or negative
clause.

**Any model.** Only ``model.labels`` and ``model.predict_proba(texts)`` are used, so every kind of senti model
(network, n-gram, ensemble) and any object with those two runs. The model's labels are mapped to positive and
negative by name (positive / pos / very positive …; 1 and 0 for numeric binary labels) or as given; the
probabilities of all labels of one polarity are summed (a 5-class model's "very positive" and "positive"), and
the rest (neutral) is "other". The predicted polarity is the largest of the three sums.

**Generation.** Each template is expanded into up to ``CASES_PER_TEMPLATE`` distinct cases by a random
generator seeded from the suite seed and the template's id, so the cases are the same on every machine and a
template's cases do not change when others are added.

**Two halves.** The TEMPLATES (not the cases) are split into ``dev`` and ``heldout`` by the parity of the first
byte of sha256("senti-behaviour-split-v1:" + template id): a fixed, per-template assignment that no later edit
of other templates moves. Look at the dev half's failures while developing a model; keep the held-out half
unread and only report its rates, so a model tuned on the suite's sentences shows as a gap between the halves.
"""

from senti.evaluation.behaviour.generate import CASES_PER_TEMPLATE, HALVES, SPLITS, Case, generate, template_half
from senti.evaluation.behaviour.runner import (
    DIR_TOLERANCE,
    INV_TOLERANCE,
    LabelMap,
    Outcome,
    SuiteResult,
    map_labels,
    run_suite,
)
from senti.evaluation.behaviour.templates import TEMPLATES, TESTS, Template, Test

__all__ = ["CASES_PER_TEMPLATE", "DIR_TOLERANCE", "HALVES", "INV_TOLERANCE", "SPLITS", "TEMPLATES", "TESTS", "Case",
           "LabelMap", "Outcome", "SuiteResult", "Template", "Test", "generate", "map_labels", "run_suite",
           "template_half"]

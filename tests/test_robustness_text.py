"""Issue #8, text: whatever a user sends, every kind of model answers with a valid probability distribution."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import senti

from .conftest import synthetic_reviews
from .test_properties import TEXT

# Each cell and pooling (GRU max+mean, stacked BiLSTM last state, LSTM attention, simple RNN), the CNN, and the
# three classical baselines.
SMALL = {"epochs": 1, "embedding_dim": 16, "hidden_size": 16}
KINDS = {"gru": SMALL, "bilstm": SMALL, "lstm": {**SMALL, "pooling": "attention"}, "simple-rnn": SMALL,
         "conv1d": {"epochs": 1, "embedding_dim": 16, "num_filters": 8},
         "tfidf-logreg": {}, "nbsvm": {}, "random-forest": {}}

AWKWARD = {
    "empty": "",
    "whitespace only": " \t\n\r\u00a0\u2003 ",
    "only emoji": "😀🤬👍🏽👨‍👩‍👧",
    "only punctuation": "!!!???...;;;---",
    "only HTML": "<p><br /><b></b></p>&nbsp;&amp;",
    "1 MB of one word": "great " * 170_000,
    "control characters": "\x00\x01\x07\x1b[31m\x7f\u200b\ufeff bad",
    "right-to-left": "\u202eהסרט היה נורא\u202c الفيلم رائع",
    "mixed scripts": "Great фильм 素晴らしい映画 très bien Ελληνικά",
}


@pytest.fixture(scope="module")
def models():
    df = synthetic_reviews(300, seed=13)
    return {kind: senti.train(None, train=df, model=kind, min_count=1, progress=False, **kw).model
            for kind, kw in KINDS.items()}


def assert_distributions(proba, n):
    assert proba.shape == (n, 2) and proba.dtype.kind == "f"
    assert np.isfinite(proba).all() and (proba >= 0).all()
    np.testing.assert_allclose(proba.sum(1), 1.0, atol=1e-5)


@pytest.mark.parametrize("kind", KINDS)
def test_awkward_texts_get_a_distribution_from_every_model(models, kind):
    proba = models[kind].predict_proba(list(AWKWARD.values()))
    assert_distributions(proba, len(AWKWARD))
    assert len(models[kind].predict(list(AWKWARD.values()))) == len(AWKWARD)


@given(st.lists(TEXT, min_size=1, max_size=6), st.sampled_from(sorted(KINDS)))
@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_text_gets_a_distribution_from_every_model(models, texts, kind):
    proba = models[kind].predict_proba(texts)
    assert_distributions(proba, len(texts))
    assert list(models[kind].predict(texts)) == [models[kind].labels[i] for i in proba.argmax(1)]

import pytest
import torch

from senti.models.mingru import POOLINGS as MINGRU_POOLINGS
from senti.models.registry import PRESETS, build_model, full_model_config, is_neural
from senti.models.rnn import POOLINGS, reverse_index

NEURAL = sorted(p for p in PRESETS if is_neural(PRESETS[p]["model"]))


def _net(preset: str, **kw):
    torch.manual_seed(0)
    return build_model({**PRESETS[preset]["model"], "vocab_size": 50, "num_classes": 3, **kw}).eval()


@pytest.mark.parametrize("preset", NEURAL)
def test_every_network_preset_builds_and_maps_a_batch_to_logits(preset):
    net = _net(preset)
    ids = torch.randint(2, 50, (4, 9))
    out = net(ids, torch.tensor([9, 5, 1, 3]))
    assert out.shape == (4, 3) and torch.isfinite(out).all()


def _poolings(preset: str) -> tuple[str, ...]:
    return MINGRU_POOLINGS if PRESETS[preset]["model"]["architecture"] == "senti.mingru.v1" else POOLINGS


PADDING_CASES = [(p, pool) for p in NEURAL if p != "conv1d" for pool in _poolings(p)] + [("conv1d", None)]


@pytest.mark.parametrize(("preset", "pooling"), PADDING_CASES)
def test_padding_never_changes_a_prediction(preset, pooling):
    """Right padding is made exact (forward state at len-1, backward RNN on each row reversed within its
    length, masked pooling), so a text scores the same alone and in a padded batch."""
    net = _net(preset, **({"pooling": pooling} if pooling else {}))
    text = torch.randint(2, 50, (1, 6))
    alone = net(text, torch.tensor([6]))
    padded = torch.cat([text, torch.zeros(1, 5, dtype=torch.long)], dim=1)
    batch = torch.cat([padded, torch.randint(2, 50, (1, 11))])
    together = net(batch, torch.tensor([6, 11]))
    torch.testing.assert_close(together[:1], alone, atol=1e-5, rtol=1e-4)


def test_reverse_index_flips_within_length_only():
    idx = reverse_index(torch.tensor([3, 1, 4]), 4)
    assert idx.tolist() == [[2, 1, 0, 3], [0, 1, 2, 3], [3, 2, 1, 0]]


def test_unknown_architecture_and_options_fail_clearly():
    with pytest.raises(ValueError, match="unknown architecture 'senti.transformer.v9'"):
        build_model({"architecture": "senti.transformer.v9"})
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['hiden_size'\]"):
        build_model({"architecture": "senti.rnn.v1", "hiden_size": 3})
    with pytest.raises(ValueError, match="model.cell"):
        build_model({"architecture": "senti.rnn.v1", "cell": "transformer"})


def test_full_config_records_every_default():
    cfg = full_model_config({"architecture": "senti.rnn.v1", "cell": "gru"})
    assert cfg["architecture"] == "senti.rnn.v1" and cfg["hidden_size"] == 128 and cfg["pooling"] == "maxmean"


def test_random_forest_walk_matches_scikit_learn():
    """senti's NumPy tree walk over the exported arrays gives scikit-learn's own probabilities."""
    import numpy as np
    from sklearn.ensemble import RandomForestClassifier

    from senti.models.forest import ForestConfig, ForestTextClassifier

    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(30)]
    docs = [list(rng.choice(words, size=8)) for _ in range(200)]
    y = np.array([int("w1" in d or "w2" in d) + int("w3" in d) for d in docs])
    clf = ForestTextClassifier(ForestConfig(n_estimators=7, num_classes=3, min_df=1)).fit(docs, y)
    X = clf.features(docs)
    ref = RandomForestClassifier(n_estimators=7, random_state=0, n_jobs=-1).fit(X, y)
    np.testing.assert_allclose(clf.predict_proba(docs), ref.predict_proba(X), atol=1e-6)
    again = ForestTextClassifier(ForestConfig(n_estimators=7, num_classes=3, min_df=1))
    again.load_state_dict(clf.state_dict(), clf.vocabulary_)
    np.testing.assert_array_equal(again.predict_proba(docs), clf.predict_proba(docs))
    bad = clf.state_dict()
    bad["left"][0] = 10**9
    with pytest.raises(ValueError, match="outside the tree"):
        again.load_state_dict(bad, clf.vocabulary_)


@pytest.mark.parametrize("kind", ["nbsvm", "tfidf-logreg"])
def test_a_confident_ngram_model_scores_without_overflow(kind):
    # SST-2 sentences made NB-SVM's sigmoid warn "overflow encountered in exp": a score of -100 overflows e^-x in
    # float32. Overflow now raises, so the old 1 / (1 + e^-x) fails this test.
    import numpy as np

    from senti.models.linear import LinearConfig, LinearTextClassifier, sigmoid

    texts = [["great", "fun"], ["awful", "dull"], ["great"], ["awful"]] * 5
    y = np.array([1, 0, 1, 0] * 5)
    clf = LinearTextClassifier(LinearConfig(kind=kind, ngram_range=[1, 1], min_df=1)).fit(texts, y)
    clf.coef_ = clf.coef_ * 1e4  # scores of ±hundreds: far past where e^-x overflows in float32
    with np.errstate(over="raise"):
        proba = clf.predict_proba([["awful", "awful"], ["great", "great"], ["awful"]])
    np.testing.assert_array_equal(proba.argmax(1), [0, 1, 0])
    assert np.isfinite(proba).all() and proba[0, 0] == pytest.approx(1.0) and proba[1, 1] == pytest.approx(1.0)
    # Where 1 / (1 + e^-x) did not overflow, the values are those very values.
    x = np.linspace(-79.9, 80, 4001, dtype=np.float32)
    np.testing.assert_array_equal(sigmoid(x), 1 / (1 + np.exp(-x)))
    with np.errstate(over="raise"):
        tail = sigmoid(np.array([-100.0, -1000.0], dtype=np.float32))
    assert (tail >= 0).all() and tail[0] == pytest.approx(np.exp(-100.0), rel=1e-3)


def test_nbsvm_scores_with_senti_counts_exactly_as_with_scikit_learns():
    # Prediction counts n-grams with senti.text.ngrams (no scikit-learn import); the probabilities must be those
    # that CountVectorizer's matrix gave.
    import numpy as np

    from senti.models.linear import LinearConfig, LinearTextClassifier

    train = [["a", "good", "film"], ["a", "bad", "film"], ["good", "good", "fun"], ["bad", "plot", "not", "good"]] * 3
    clf = LinearTextClassifier(LinearConfig(kind="nbsvm", ngram_range=[1, 3], min_df=1)).fit(train, [1, 0, 1, 0] * 3)
    texts = [["not", "good", "film"], ["a", "good", "good", "film", "unseen"], [], ["bad"]]
    ours = clf.predict_proba(texts)
    vectorizer = clf._vectorizer({t: i for i, t in enumerate(clf.vocabulary_)})
    clf.features = lambda tokens: vectorizer.transform(tokens)  # scikit-learn's matrix instead
    np.testing.assert_array_equal(ours, clf.predict_proba(texts))


@pytest.mark.parametrize(("kind", "sublinear_tf"), [("tfidf-logreg", True), ("tfidf-logreg", False),
                                                    ("random-forest", True)])
def test_tfidf_features_are_scikit_learns_to_the_bit(kind, sublinear_tf):
    # TF-IDF scoring (tfidf-logreg, the forest) computes the features with senti.text.ngrams and NumPy, no
    # scikit-learn import: the matrix and the probabilities must be exactly those of TfidfVectorizer.transform.
    import numpy as np

    from senti.models.forest import ForestConfig, ForestTextClassifier
    from senti.models.linear import LinearConfig, LinearTextClassifier

    rng = np.random.default_rng(1)
    words = [f"w{i}" for i in range(40)]
    train = [list(rng.choice(words, size=rng.integers(3, 30))) for _ in range(300)]
    y = np.array([int("w1" in d) + int("w2" in d and "w3" not in d) for d in train])
    if kind == "random-forest":
        clf = ForestTextClassifier(ForestConfig(n_estimators=9, num_classes=3, min_df=1, ngram_range=[1, 2]))
    else:
        clf = LinearTextClassifier(LinearConfig(kind=kind, num_classes=3, min_df=1, ngram_range=[1, 2],
                                                sublinear_tf=sublinear_tf))
    clf.fit(train, y)
    texts = [list(rng.choice(words, size=rng.integers(0, 60))) for _ in range(200)] + [[], ["unseen"]]
    ours = clf.features(texts)
    vectorizer = clf._vectorizer({t: i for i, t in enumerate(clf.vocabulary_)})
    vectorizer.idf_ = clf.idf_
    theirs = vectorizer.transform(texts)
    assert ours.dtype == theirs.dtype == np.float32
    np.testing.assert_array_equal(ours.indptr, theirs.indptr)
    np.testing.assert_array_equal(ours.indices, theirs.indices)
    np.testing.assert_array_equal(ours.data, theirs.data)
    proba = clf.predict_proba(texts)
    clf.features = lambda tokens: vectorizer.transform(tokens)  # scikit-learn's matrix instead
    np.testing.assert_array_equal(proba, clf.predict_proba(texts))

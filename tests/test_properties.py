"""Property-based tests: whatever text arrives, cleaning, encoding and prediction stay well-defined."""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from senti.config import CleanConfig
from senti.text import Cleaner, Vocabulary, tokenize

# Any Unicode, with extra weight on what scraped reviews contain: HTML, emoji, RTL scripts, control characters.
SPICE = st.sampled_from(["<br />", "<b>", "&amp;", "😀", "🤬", "مرحبا", "שלום", "\x00", "\u202e", "\t\n",
                         "http://x.co/a", "me@x.org", "@user", "#tag", "!!!", "sooooo", "NA", " "])
TEXT = st.lists(st.one_of(st.text(max_size=40), SPICE), max_size=12).map("".join)
CONFIGS = st.builds(CleanConfig, html=st.booleans(), urls=st.booleans(), emails=st.booleans(),
                    mentions=st.booleans(), hashtags=st.booleans(), numbers=st.booleans(),
                    punctuation=st.booleans(), lowercase=st.booleans(), repeated_chars=st.booleans(),
                    emoji=st.sampled_from(["keep", "map", "drop"]), stopwords=st.booleans())


@given(TEXT, CONFIGS)
@settings(max_examples=300, deadline=None)
def test_cleaning_is_total_idempotent_in_shape_and_free_of_control_chars(text, config):
    out = Cleaner(config)(text)
    assert isinstance(out, str)
    assert out == out.strip() and "  " not in out
    assert not any(ord(c) < 32 for c in out)
    assert all(t.strip() for t in tokenize(out))


@given(st.lists(st.lists(st.text(min_size=1, max_size=5), max_size=20), max_size=20),
       st.lists(st.text(max_size=5), max_size=300), st.integers(1, 50), st.sampled_from(["head", "tail", "both"]))
@settings(max_examples=200, deadline=None)
def test_encoding_is_bounded_and_never_empty(docs, tokens, max_length, truncate):
    vocab = Vocabulary.build(docs, max_size=50, min_count=1)
    ids = vocab.encode(tokens, max_length, truncate)
    assert 1 <= len(ids) <= max_length
    assert all(1 <= i < len(vocab) for i in ids)  # never the padding id


@given(st.lists(TEXT, min_size=1, max_size=8))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_every_text_gets_a_probability_distribution(tiny_run, texts):
    proba = tiny_run.model.predict_proba(texts)
    assert proba.shape == (len(texts), 2)
    assert np.isfinite(proba).all() and (proba >= 0).all()
    np.testing.assert_allclose(proba.sum(1), 1.0, atol=1e-5)
    assert list(tiny_run.model.predict(texts)) == [tiny_run.model.labels[i] for i in proba.argmax(1)]


def test_a_megabyte_of_one_word_and_only_markup(tiny_run):
    huge = "great " * 170_000
    assert len(tokenize(Cleaner()(huge))) == 170_000
    assert len(tiny_run.model.encode([huge])[0]) == tiny_run.model.vocab_config.max_length  # truncated, not fed whole
    assert Cleaner()("<p><br /></p>") == ""
    proba = tiny_run.model.predict_proba([huge, "<p><br /></p>", "😀😀😀", "!!!???"])
    np.testing.assert_allclose(proba.sum(1), 1.0, atol=1e-5)


@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=200))
def test_the_ascii_tokeniser_is_the_general_one_on_ascii(text):
    from senti.text.tokenize import _ASCII_TOKEN, _TOKEN

    assert _ASCII_TOKEN.findall(text) == _TOKEN.findall(text)


@given(TEXT, CONFIGS)
@settings(max_examples=150, deadline=None)
def test_cleaner_tokens_are_the_tokens_of_the_cleaned_text(text, config):
    cleaner = Cleaner(config)
    assert cleaner.tokens(text) == tokenize(cleaner(text))


ASCII_TEXT = st.text(alphabet=st.sampled_from("ab Z09'.,!?_-\n\t&<>é’😀"), max_size=80)


@given(st.one_of(ASCII_TEXT, st.text(alphabet=st.characters(max_codepoint=127), max_size=120)))
def test_byte_tokeniser_gives_the_regex_tokens(text):
    from senti.text.tokenize import ascii_tokens

    if text.isascii():
        assert [t.decode() for t in ascii_tokens(text)] == tokenize(text)


@given(st.one_of(ASCII_TEXT, TEXT), st.integers(1, 30), st.sampled_from(["head", "tail", "both"]))
def test_encode_text_is_encode_of_the_tokens(text, max_length, truncate):
    vocab = Vocabulary(["<pad>", "<unk>", "ab", "b", "a'b", "0", "9.9", "!", "?", "é", "z"])
    assert vocab.encode_text(text, max_length, truncate) == vocab.encode(tokenize(text), max_length, truncate)

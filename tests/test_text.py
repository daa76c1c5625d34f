import pytest

from senti.config import CleanConfig
from senti.text import Cleaner, Vocabulary, tokenize
from senti.text.vocab import PAD_ID, UNK_ID


def clean(text: str, **kw) -> str:
    return Cleaner(CleanConfig(**kw))(text)


def test_default_cleaning_strips_html_urls_emails_and_lowercases():
    raw = "Great<br /><br />film! See http://x.com/a?b=1 or mail me@ex.org &amp; <i>enjoy</i>"
    assert clean(raw) == "great film! see xxurl or mail xxemail & enjoy"


def test_each_optional_step():
    assert clean("@bob loves #BestMovie", mentions=True, hashtags=True) == "xxuser loves bestmovie"
    assert clean("rated 10 out of 10", numbers=True) == "rated out of"
    assert clean("wow, great... really?!", punctuation=True) == "wow great really"
    assert clean("Sooooo gooood", repeated_chars=True) == "soo good"
    assert clean("Keep Case", lowercase=False) == "Keep Case"
    assert clean("love it 😍", emoji="map") == "love it emoji_smiling_face_with_heart_shaped_eyes"
    assert clean("love it 😍", emoji="drop") == "love it"
    assert clean("love it 😍") == "love it 😍"


def test_stopwords_keep_negations():
    assert clean("this is not a good movie", stopwords=True) == "not good movie"


def test_stemming_needs_nltk_or_fails_clearly():
    try:
        import nltk  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="NLTK"):
            Cleaner(CleanConfig(stem="snowball"))
    else:
        assert clean("running movies", stem="snowball") == "run movi"


def test_cleaner_rejects_bad_options_and_non_str():
    with pytest.raises(ValueError, match="emoji"):
        Cleaner(CleanConfig(emoji="smile"))
    with pytest.raises(TypeError):
        Cleaner()(None)  # type: ignore[arg-type]


def test_control_characters_and_empty_text():
    assert clean("a\x00b\x1fc") == "a b c"
    assert clean("") == ""
    assert clean("   \n\t ") == ""


def test_tokenize_words_contractions_punctuation_emoji_and_scripts():
    assert tokenize("don't stop!! 4.5 stars 😀 привет مرحبا") == [
        "don't", "stop", "!", "!", "4.5", "stars", "😀", "привет", "مرحبا"]


def test_vocab_is_frequency_ranked_deterministic_and_limited():
    docs = [["b", "a", "a"], ["c", "b", "a"], ["d"]]
    v = Vocabulary.build(docs, max_size=10, min_count=2)
    assert v.itos == ["<pad>", "<unk>", "a", "b"]
    assert Vocabulary.build(docs, max_size=3, min_count=1).itos == ["<pad>", "<unk>", "a"]
    # ties are broken alphabetically, whatever the input order
    assert Vocabulary.build([["y", "x"]], min_count=1).itos == Vocabulary.build([["x", "y"]], min_count=1).itos


def test_encode_oov_and_truncation_modes():
    v = Vocabulary(["<pad>", "<unk>"] + [str(i) for i in range(10)])
    toks = [str(i) for i in range(10)]
    ids = v.encode(toks, max_length=100)
    assert ids == list(range(2, 12))
    assert v.encode(toks, 4, "head") == [2, 3, 4, 5]
    assert v.encode(toks, 4, "tail") == [8, 9, 10, 11]
    assert v.encode(toks, 4, "both") == [2, 9, 10, 11]
    assert v.encode(["zzz"], 4) == [UNK_ID]
    assert v.encode([], 4) == [UNK_ID]  # never empty: the network always sees one step
    assert PAD_ID not in v.encode(toks, 4)
    with pytest.raises(ValueError, match="truncate"):
        v.encode(toks, 4, "middle")


def test_vocabulary_validates_its_tokens():
    with pytest.raises(ValueError):
        Vocabulary(["a", "b"])
    with pytest.raises(ValueError):
        Vocabulary(["<pad>", "<unk>", "x", "x"])

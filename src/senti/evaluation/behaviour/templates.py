"""The tests of the behaviour suite and their templates.

A template is a sentence with slots: ``{aspect}``, ``{pos}``, ``{name2}`` (a second, different name),
``{thing|typo}`` (the filler with one typo), ``{pclause|cap}`` (capitalised). Slots are filled from
:mod:`senti.evaluation.behaviour.lexicon`. A test of kind

- ``MFT`` (minimum functionality) has one sentence and the polarity a reader gives it: ``positive``,
  ``negative``, or ``not negative`` (positive, or neutral for a model that has a neutral class);
- ``INV`` (invariance) has a sentence and a variant that must get the same prediction, with no class
  probability moving more than the invariance tolerance;
- ``DIR`` (directional) has a sentence and a variant, and a direction: ``+positive`` means P(positive) of the
  variant must not fall below the sentence's by more than the directional tolerance, ``-positive`` that it must
  not rise above it by more than that (likewise for ``negative``).

Decisions a reader may not share, stated here so the pass rates can be read: a negated positive ("not good")
is negative. A negated strong negative phrased as praise ("never boring", "not disappointed at all", "I can't say
I hated it", "no complaints") is positive. A bare negated negative ("not bad", "wasn't terrible") is tepid: the
suite only asks that it not be called negative (``not_bad``). After "but", "yet", "even so" the second clause
decides; with "although" / "despite" the main clause decides; with a trailing "though" clause, the clause
before it decides.
"""

from __future__ import annotations

from dataclasses import dataclass

from senti.evaluation.behaviour.lexicon import DOMAINS


@dataclass(frozen=True)
class Test:
    name: str
    capability: str
    kind: str  # MFT, INV or DIR
    description: str


@dataclass(frozen=True)
class Template:
    id: str  # stable: the held-out split is a hash of it
    test: str
    text: str
    expect: str | None = None  # MFT: the polarity; DIR: the direction; INV: None
    variant: str | None = None  # INV and DIR: the changed sentence, filled with the same words
    domains: tuple[str, ...] = DOMAINS


TESTS: list[Test] = [
    Test("polarity", "Vocabulary", "MFT", "plain positive and negative sentences"),
    Test("negation", "Negation", "MFT", "a negated positive is negative (\"not good\")"),
    Test("negated_negative", "Negation", "MFT", "praise through a negated negative (\"never boring\")"),
    Test("not_bad", "Negation", "MFT", "a bare negated negative (\"not bad\") is not negative"),
    Test("contrast", "Contrast", "MFT", "the clause that \"but\" / \"although\" / \"though\" marks decides"),
    Test("intensifier", "Intensity", "MFT", "intensified words keep their polarity (\"very good\")"),
    Test("intensifier_dir", "Intensity", "DIR", "\"very good\" at least as positive as \"good\" (and negative)"),
    Test("downtoner", "Intensity", "MFT", "downtoned words keep their polarity (\"fairly good\")"),
    Test("downtoner_dir", "Intensity", "DIR", "\"somewhat good\" no more positive than \"good\" (and negative)"),
    Test("names", "Robustness", "INV", "person and place names swapped"),
    Test("punctuation", "Robustness", "INV", "final punctuation added, removed or changed"),
    Test("typos", "Robustness", "INV", "one typo in a word that carries no sentiment"),
    Test("unrelated_sentence", "Robustness", "INV", "a neutral, unrelated sentence added"),
    Test("add_positive", "Direction", "DIR", "a clearly positive clause added does not lower P(positive)"),
    Test("add_negative", "Direction", "DIR", "a clearly negative clause added does not raise P(positive)"),
]

P, N, NN = "positive", "negative", "not negative"


def _group(test: str, prefix: str, rows: list[tuple]) -> list[Template]:
    out = []
    for i, row in enumerate(rows, 1):
        text, expect, *rest = row
        variant = rest[0] if rest else None
        domains = rest[1] if len(rest) > 1 else DOMAINS
        out.append(Template(f"{prefix}.{i:02d}", test, text, expect, variant, domains))
    return out


TEMPLATES: list[Template] = [
    *_group("polarity", "pol", [
        ("The {aspect} was {pos}.", P), ("The {aspect} was {neg}.", N),
        ("This {thing} is {pos}.", P), ("This {thing} is {neg}.", N),
        ("I {used} the {thing} and it was {pos}.", P), ("I {used} the {thing} and it was {neg}.", N),
        ("{pclause|cap}.", P), ("{nclause|cap}.", N),
        ("Honestly, the {aspect} is {pos}.", P), ("Honestly, the {aspect} is {neg}.", N),
    ]),
    *_group("negation", "neg", [
        ("The {aspect} was not {pos}.", N), ("This {thing} is not {pos}.", N),
        ("I did not enjoy the {thing}.", N), ("The {aspect} isn't {pos} at all.", N),
        ("I would not call the {aspect} {pos}.", N), ("I don't think the {thing} is {pos}.", N),
        ("Nothing about the {aspect} was {pos}.", N), ("There is nothing {pos} about the {thing}.", N),
        ("I didn't like the {aspect} of this {thing}.", N), ("The {thing} was never {mpos}.", N),
    ]),
    *_group("negated_negative", "nneg", [
        ("The {thing} was never {dull}.", P), ("I was not disappointed by the {thing} at all.", P),
        ("I can't say I hated the {thing}.", P), ("I have no complaints about the {aspect}.", P),
        ("There was nothing I disliked about the {thing}.", P), ("Not once did the {thing} feel {dull}.", P),
        ("The {thing} never {fail}.", P), ("The {thing} was not {dull} in the slightest.", P),
        ("You won't regret trying this {thing}.", P), ("I have nothing bad to say about the {thing}.", P),
    ]),
    *_group("not_bad", "nbad", [
        ("The {aspect} was not {neg}.", NN), ("This {thing} is not {neg} at all.", NN),
        ("The {thing} wasn't {neg}.", NN), ("Honestly, the {aspect} was not {neg}.", NN),
        ("The {aspect} isn't {mneg}.", NN), ("Not {neg} at all.", NN), ("The {thing} is not {mneg} in any way.", NN),
    ]),
    *_group("contrast", "con", [
        ("The {aspect} was {neg}, but the {aspect2} was {pos}.", P),
        ("The {aspect} was {pos}, but the {aspect2} was {neg}.", N),
        ("Although the {aspect} is {pos}, the {thing} is {neg}.", N),
        ("Although the {aspect} is {neg}, the {thing} is {pos}.", P),
        ("{pclause|cap}, though the {aspect} was {mneg}.", P),
        ("{nclause|cap}, though the {aspect} was {mpos}.", N),
        ("The {aspect} was {pos}; even so, {nclause}.", N),
        ("Despite the {neg} {aspect}, {pclause}.", P),
        ("The {aspect} is {neg}, yet {pclause}.", P),
        ("Despite the {pos} {aspect}, {nclause}.", N),
    ]),
    *_group("intensifier", "int", [
        ("The {aspect} was {int} {mpos}.", P), ("The {aspect} was {int} {mneg}.", N),
        ("This {thing} is {int} {mpos}.", P), ("This {thing} is {int} {mneg}.", N),
        ("I was {int} impressed by the {thing}.", P), ("I was {int} disappointed with the {thing}.", N),
    ]),
    *_group("intensifier_dir", "intd", [
        ("The {aspect} was {mpos}.", "+positive", "The {aspect} was {int} {mpos}."),
        ("The {aspect} was {mneg}.", "+negative", "The {aspect} was {int} {mneg}."),
        ("This {thing} is {mpos}.", "+positive", "This {thing} is {int} {mpos}."),
        ("This {thing} is {mneg}.", "+negative", "This {thing} is {int} {mneg}."),
        ("I was impressed by the {thing}.", "+positive", "I was {int} impressed by the {thing}."),
        ("I was disappointed with the {thing}.", "+negative", "I was {int} disappointed with the {thing}."),
    ]),
    *_group("downtoner", "down", [
        ("The {aspect} was {dpos} {mpos}.", P), ("The {aspect} was {dneg} {mneg}.", N),
        ("This {thing} is {dpos} {mpos}.", P), ("This {thing} is {dneg} {mneg}.", N),
        ("I was {dpos} impressed by the {thing}.", P), ("I was {dneg} disappointed by the {thing}.", N),
    ]),
    *_group("downtoner_dir", "downd", [
        ("The {aspect} was {mpos}.", "-positive", "The {aspect} was {dpos} {mpos}."),
        ("The {aspect} was {mneg}.", "-negative", "The {aspect} was {dneg} {mneg}."),
        ("This {thing} is {mpos}.", "-positive", "This {thing} is {dpos} {mpos}."),
        ("This {thing} is {mneg}.", "-negative", "This {thing} is {dneg} {mneg}."),
        ("I was impressed by the {thing}.", "-positive", "I was {dpos} impressed by the {thing}."),
        ("I was disappointed by the {thing}.", "-negative", "I was {dneg} disappointed by the {thing}."),
    ]),
    *_group("names", "name", [
        ("{name} recommended this {thing} to me, and it was {pos}.", None,
         "{name2} recommended this {thing} to me, and it was {pos}."),
        ("I {used} the {thing} with {name}, and we both found it {neg}.", None,
         "I {used} the {thing} with {name2}, and we both found it {neg}."),
        ("My friend {name} thinks the {aspect} is {pos}.", None, "My friend {name2} thinks the {aspect} is {pos}."),
        ("{name} and I {used} the {thing} in {place}; the {aspect} was {neg}.", None,
         "{name2} and I {used} the {thing} in {place2}; the {aspect} was {neg}."),
        ("The {aspect} was {mpos}, said {name}.", None, "The {aspect} was {mpos}, said {name2}."),
        ("We {used} this {thing} in {place} and it was {mneg}.", None,
         "We {used} this {thing} in {place2} and it was {mneg}."),
        ("I heard of it from {name} in {place}. The {aspect} was {neg}.", None,
         "I heard of it from {name2} in {place2}. The {aspect} was {neg}."),
    ]),
    *_group("punctuation", "punct", [
        ("The {aspect} was {pos}.", None, "The {aspect} was {pos}!"),
        ("The {aspect} was {neg}.", None, "The {aspect} was {neg}"),
        ("This {thing} is {pos}!", None, "This {thing} is {pos}."),
        ("I {used} the {thing} and it was {neg}.", None, "I {used} the {thing} and it was {neg}!!"),
        ("The {aspect}, honestly, was {mpos}.", None, "The {aspect} honestly was {mpos}."),
        ("{pclause|cap}.", None, "{pclause|cap}"),
        ("{nclause|cap}!", None, "{nclause|cap}."),
        ("The {thing} is {mneg}.", None, "The {thing} is {mneg}..."),
    ]),
    *_group("typos", "typo", [
        ("The {aspect} was {pos}.", None, "The {aspect|typo} was {pos}."),
        ("The {aspect} was {neg}.", None, "The {aspect|typo} was {neg}."),
        ("This {thing} is {mpos}.", None, "This {thing|typo} is {mpos}."),
        ("I {used} the {thing} and it was {neg}.", None, "I {used} the {thing|typo} and it was {neg}."),
        ("{name} says the {aspect} is {mneg}.", None, "{name|typo} says the {aspect} is {mneg}."),
        ("The {aspect} of this {thing} is {pos}.", None, "The {aspect} of this {thing|typo} is {pos}."),
        ("We {used} the {thing} in {place}, and it was {mpos}.", None,
         "We {used} the {thing} in {place|typo}, and it was {mpos}."),
    ]),
    *_group("unrelated_sentence", "unrel", [
        ("The {aspect} was {pos}.", None, "The {aspect} was {pos}. {neutral}"),
        ("The {aspect} was {neg}.", None, "The {aspect} was {neg}. {neutral}"),
        ("This {thing} is {mpos}.", None, "{neutral} This {thing} is {mpos}."),
        ("{nclause|cap}.", None, "{nclause|cap}. {neutral}"),
        ("{pclause|cap}.", None, "{neutral} {pclause|cap}."),
        ("I {used} the {thing}, and it was {mneg}.", None, "I {used} the {thing}, and it was {mneg}. {neutral}"),
    ]),
    *_group("add_positive", "addp", [
        ("The {aspect} was {neg}.", "+positive", "The {aspect} was {neg}. {pclause|cap}."),
        ("The {aspect} was {mpos}.", "+positive", "The {aspect} was {mpos}, and {pclause}."),
        ("I {used} the {thing} last week.", "+positive", "I {used} the {thing} last week, and {pclause}."),
        ("This {thing} is {mneg}.", "+positive", "This {thing} is {mneg}. Still, {pclause}."),
        ("{nclause|cap}.", "+positive", "{nclause|cap}. Even so, {pclause}."),
        ("The {thing} was {dpos} {mpos}.", "+positive", "The {thing} was {dpos} {mpos}. Overall, {pclause}."),
    ]),
    *_group("add_negative", "addn", [
        ("The {aspect} was {pos}.", "+negative", "The {aspect} was {pos}. {nclause|cap}."),
        ("The {aspect} was {mneg}.", "+negative", "The {aspect} was {mneg}, and {nclause}."),
        ("I {used} the {thing} last week.", "+negative", "I {used} the {thing} last week, and {nclause}."),
        ("This {thing} is {mpos}.", "+negative", "This {thing} is {mpos}. Sadly, {nclause}."),
        ("{pclause|cap}.", "+negative", "{pclause|cap}. Even so, {nclause}."),
        ("The {thing} was {dneg} {mneg}.", "+negative", "The {thing} was {dneg} {mneg}. Overall, {nclause}."),
    ]),
]

"""Word lists the behaviour templates are filled from, written for senti: reviews of films, products,
restaurants and apps.

A slot is looked up in the domain's own lists first (``DOMAIN_WORDS``), then in the shared ones (``COMMON``).
The shared adjectives are chosen to read naturally after any aspect of any domain ("the battery was superb",
"the waiter was superb"); words that only fit one domain ("bland", "buggy") live in that domain's lists.
"""

from __future__ import annotations

DOMAINS = ("film", "product", "restaurant", "app")

# Clear, strong polarity words: a reader labels a sentence built on one without hesitation.
POSITIVE = ["good", "great", "excellent", "wonderful", "superb", "fantastic", "brilliant", "outstanding",
            "lovely", "impressive", "terrific", "delightful", "amazing", "first-rate"]
NEGATIVE = ["bad", "awful", "terrible", "dreadful", "horrible", "poor", "disappointing", "lousy", "abysmal",
            "atrocious", "dismal", "pathetic", "appalling", "shoddy"]
# Mid-strength positives that stay positive under a downtoner ("fairly enjoyable").
MILD_POSITIVE = ["good", "enjoyable", "pleasant", "nice", "solid", "decent", "likeable", "satisfying"]
# Negatives that stay negative under a downtoner ("a bit disappointing").
MILD_NEGATIVE = ["disappointing", "underwhelming", "frustrating", "annoying", "tiresome", "clumsy",
                 "irritating", "weak"]

INTENSIFIERS = ["very", "really", "extremely", "incredibly", "truly", "remarkably", "exceptionally",
                "genuinely", "seriously", "thoroughly"]
# Downtoners that read naturally before a positive adjective, and before a negative one.
DOWNTONERS_POS = ["fairly", "somewhat", "reasonably", "moderately", "rather", "mostly"]
DOWNTONERS_NEG = ["a bit", "slightly", "somewhat", "a little", "mildly", "rather"]

# Whole clauses, no leading capital and no final stop (templates add them). Negative ones avoid negation
# words so that they are negative to every reader and every model that knows the words.
POSITIVE_CLAUSES = ["I loved every minute of it", "it was worth every penny", "I would happily recommend it",
                    "it exceeded all my expectations", "it was an absolute joy", "I was thoroughly impressed",
                    "it is one of the best I have come across", "I am delighted with it",
                    "it made my whole week", "I would gladly pay for it again"]
NEGATIVE_CLAUSES = ["it was a complete waste of money", "I regret every minute of it",
                    "it was a total letdown", "I hated almost everything about it", "it was a miserable experience",
                    "it is one of the worst I have come across", "I want my money back",
                    "it left me angry and annoyed", "I was thoroughly disappointed", "it was an utter disaster"]

FIRST_NAMES = ["Maria", "James", "Aisha", "Wei", "Olga", "Carlos", "Priya", "Kwame", "Sofia", "Hiroshi",
               "Fatima", "Liam", "Ngozi", "Mateo", "Ingrid", "Tariq", "Chloe", "Dmitri", "Amara", "Ravi"]
PLACES = ["Lisbon", "Nairobi", "Toronto", "Osaka", "Lima", "Krakow", "Dublin", "Melbourne", "Cairo", "Denver",
          "Seoul", "Glasgow", "Manila", "Bogota", "Helsinki", "Accra"]

# Statements that carry no opinion of the thing reviewed.
NEUTRAL_SENTENCES = ["I wrote this on a Tuesday.", "My sister came along with me.", "It was raining that day.",
                     "I read about it in a newspaper.", "I am writing this after work.",
                     "A friend told me about it last month.", "I had a cup of tea beforehand.",
                     "The weather was mild.", "I wrote this review on the train.", "It was my first time."]

COMMON: dict[str, list[str]] = {
    "pos": POSITIVE, "neg": NEGATIVE, "mpos": MILD_POSITIVE, "mneg": MILD_NEGATIVE, "int": INTENSIFIERS,
    "dpos": DOWNTONERS_POS, "dneg": DOWNTONERS_NEG, "pclause": POSITIVE_CLAUSES, "nclause": NEGATIVE_CLAUSES,
    "name": FIRST_NAMES, "place": PLACES, "neutral": NEUTRAL_SENTENCES,
}

# thing: what is reviewed; aspect: a part of it (sentiment-free nouns, so a typo in one changes no opinion);
# dull: a domain's own negative that, negated, praises ("never boring"); fail: a past-tense failure;
# used: how the reviewer met it; when: a neutral time phrase.
DOMAIN_WORDS: dict[str, dict[str, list[str]]] = {
    "film": {
        "thing": ["film", "movie", "picture", "documentary", "thriller", "comedy", "drama"],
        "aspect": ["plot", "acting", "script", "soundtrack", "cinematography", "dialogue", "ending", "cast",
                   "direction", "pacing"],
        "dull": ["boring", "dull", "tedious", "predictable", "slow"],
        "fail": ["dragged", "dragged on", "felt too long"],
        "used": ["watched", "saw", "streamed"],
        "neutral": ["I watched it on a Tuesday.", "It runs about two hours.", "I saw it at the cinema downtown.",
                    "It came out last spring.", "We watched it after dinner."],
    },
    "product": {
        "thing": ["blender", "kettle", "backpack", "vacuum cleaner", "phone case", "desk lamp", "toaster",
                  "headset"],
        "aspect": ["design", "build quality", "battery", "packaging", "handle", "finish", "material", "motor",
                   "cable"],
        "dull": ["flimsy", "unreliable", "noisy", "fiddly", "awkward"],
        "fail": ["broke", "stopped working", "fell apart"],
        "used": ["bought", "ordered", "used"],
        "neutral": ["It arrived in a brown box.", "I ordered the blue one.", "It was delivered on a Monday.",
                    "I bought it for my kitchen.", "It came with a manual in four languages."],
    },
    "restaurant": {
        "thing": ["restaurant", "bistro", "diner", "cafe", "pizzeria", "noodle bar", "steakhouse"],
        "aspect": ["food", "service", "menu", "dessert", "staff", "wine list", "main course", "atmosphere",
                   "bread"],
        "dull": ["bland", "greasy", "stale", "overpriced", "cramped"],
        "fail": ["disappointed", "let us down", "went wrong"],
        "used": ["visited", "tried", "went to"],
        "neutral": ["We went on a Tuesday evening.", "It is near the train station.", "We sat by the window.",
                    "We booked a table for four.", "It opened two years ago."],
    },
    "app": {
        "thing": ["app", "game", "photo editor", "budgeting app", "music player", "browser", "calendar app"],
        "aspect": ["interface", "layout", "update", "menu", "settings page", "search", "sync", "login screen",
                   "onboarding"],
        "dull": ["buggy", "slow", "confusing", "clunky", "laggy"],
        "fail": ["crashed", "froze", "lost my data"],
        "used": ["installed", "downloaded", "tried"],
        "neutral": ["I installed it on my phone last week.", "It has a blue icon.", "I use it on my tablet.",
                    "The download took a minute.", "I found it in the app store."],
    },
}


def words(slot: str, domain: str) -> list[str]:
    """The fillers of ``slot`` in ``domain``: the domain's own list followed by the shared one."""
    found = DOMAIN_WORDS[domain].get(slot, []) + COMMON.get(slot, [])
    if not found:
        raise KeyError(f"no word list for slot {slot!r}")
    return found

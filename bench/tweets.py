"""3-class tweets: classification, explanations and rationale spans, in one run.

    SENTI_DATA_DIR=../shared/data .venv/bin/python bench/tweets.py

1. Classification. senti's default model (BiGRU) and two classical baselines (TF-IDF + logistic regression,
   NB-SVM), all with senti's tweet cleaning: on Kaggle Tweet Sentiment Extraction they train on the fixed "fit"
   part of train (80 %) and are tested on the official test split; on Twitter US Airline Sentiment they train on
   the de-duplicated train split and are tested on its fixed hold-out.
2. Explanations. Occlusion, integrated gradients and each word alone on the BiGRU: deletion faithfulness (delete
   the k words an explanation ranks highest, or k random words) on test tweets, and time per tweet and per
   230-word review.
3. Rationales. Spans from the attributions, scored with the competition's word-level Jaccard against the human
   ``selected_text`` on the fixed "eval" part of train (10 %, never trained on), next to the whole-text and
   neutral-whole + top-word baselines computed from the same attributions (occlusion, integrated gradients, or
   each word alone; word-alone also with the VADER lexicon prior). The span settings are chosen on the "dev"
   part (the other 10 %), without Kaggle's offset quirk; the eval rows only report. No model ever sees
   ``selected_text``.

Writes bench/results/tweets.json and tweets.md. Run it alone: on two cores a second CPU-heavy job slows it.

``--rationales-only nbsvm`` (3 minutes) measures the best rationale setting more carefully: word-alone NB-SVM
scores with and without the lexicon prior, settings chosen by 5-fold cross-fitting on the fit + dev rows, the
offset quirk off and allowed, and the lexicon's paired gain with its standard error; writes
bench/results/tweets_rationales.{json,md}.
"""

from __future__ import annotations

import dataclasses
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import numpy as np
import pandas as pd
from _common import machine_info, peak_rss_mib

import senti
from senti.explain.attribution import METHODS, attribute
from senti.explain.faithfulness import deletion_test
from senti.explain.rationale import (
    LEXICON_WEIGHT,
    SpanSettings,
    attributions_for,
    load_selections,
    partition,
    score_spans,
)
from senti.io import atomic_write, write_json
from senti.training.run import DATASET_DEFAULTS

RESULTS = Path(__file__).parent / "results"
MODELS = ("default", "tfidf-logreg", "nbsvm")
# The default preset's 3 epochs suit IMDB's long reviews; on ~20k tweets validation is still rising after 3, so
# the network gets up to 8 with early stopping on validation macro-F1 (carved out of train, never the test split).
NEURAL_TRAINING = {"epochs": 8, "patience": 2, "monitor": "val_macro_f1"}
PENALTIES = (0.1, 0.2, 0.3, 0.4, 0.5, 0.7)
CONFIDENCES = (0.0, 0.6, 0.7, 0.8, 0.9, 0.95)
# expected-jaccard span selection, and Kaggle's offset quirk (shift_after_spaces; 0 = off): see rationale.py.
SLOPES = (8.0, 16.0, 32.0)
MIDPOINTS = (0.125, 0.25, 0.375)
SHIFTS = (0, 2)
# --rationales-only: cross-fitting folds, VADER lexicon weights and position priors tried (rationale.py).
FOLDS = 5
LEXICON_WEIGHTS = (0.0, 0.5, 1.0)
POSITIONS = (0.0, 0.05, 0.1)
N_FAITHFULNESS = 600  # test tweets for the deletion test and the timings


def classify(out: Path, parts: dict) -> tuple[dict, dict]:
    """Train each model on tweets (fit part) and on airline tweets; test metrics and train time."""
    tweets_test = senti.load_dataset("tweets", "test")
    fit = parts["fit"][["text", "label"]]
    results: dict = {"tweets": {}, "airline_tweets": {}}
    models = {}
    for name in MODELS:
        kw = NEURAL_TRAINING if name == "default" else {}
        run = senti.train(out / f"tweets-{name}", train=fit, test=tweets_test, model=name, progress=False,
                          report=False, **DATASET_DEFAULTS["tweets"], **kw)
        models[name] = run.model
        results["tweets"][name] = summary(run)
        air = senti.train(out / f"airline-{name}", dataset="airline_tweets", model=name, progress=False,
                          report=False, **kw)
        results["airline_tweets"][name] = summary(air)
        print(f"{name}: tweets {results['tweets'][name]}, airline {results['airline_tweets'][name]}", flush=True)
    return results, models


def summary(run: senti.Run) -> dict:
    m = run.metrics
    return {"accuracy": round(m["accuracy"], 4), "macro_f1": round(m["macro_f1"], 4), "n_test": m["n"],
            "train_seconds": round(m["train_seconds"], 1), "epochs_run": len(run.history),
            "val_macro_f1": [round(r["val_macro_f1"], 4) for r in run.history]}


def explanations(model: senti.SentimentModel) -> dict:
    """Faithfulness and speed of occlusion vs integrated gradients on real test tweets."""
    test = senti.load_dataset("tweets", "test")
    texts = test[test["text"].str.split().str.len() >= 8]["text"].sample(N_FAITHFULNESS, random_state=0).tolist()
    review = " ".join(senti.load_dataset("imdb", "test")["text"].iloc[0].split()[:230])
    # The same network reading a whole review (as the IMDB model does) rather than the tweets' 64 tokens.
    long_model = senti.SentimentModel.from_parts(model.net, model.vocab, model.labels, model.clean_config,
                                                 dataclasses.replace(model.vocab_config, max_length=400),
                                                 model.model_config)
    out = {}
    for method in METHODS:
        t0 = time.perf_counter()
        attribute(model, texts, method)
        per_tweet_ms = (time.perf_counter() - t0) / len(texts) * 1000
        t1 = time.perf_counter()
        for _ in range(3):
            long_model.explain([review], method)
        review_ms = (time.perf_counter() - t1) / 3 * 1000
        deletion = deletion_test(model, texts, method, ks=(1, 2, 3))
        out[method] = {"ms_per_tweet_batched": round(per_tweet_ms, 2), "ms_one_230_word_review": round(review_ms),
                       **{f"delete_{k}": v for k, v in deletion.items()}}
        print(method, out[method], flush=True)
    out["texts"] = f"{len(texts)} tweets of the official test split with 8 words or more"
    return out


def rationales(models: dict, parts: dict) -> list[dict]:
    """Jaccard on the eval rows, with the span settings chosen on the dev rows, per model / method / sentiment."""
    committees = {"default": ["default"], "tfidf-logreg": ["tfidf-logreg"], "nbsvm": ["nbsvm"],
                  "default+nbsvm": ["default", "nbsvm"]}
    both = ("label", "predicted")
    cases = [(c, "occlusion", s, 0.0) for c in committees for s in both]
    cases.append(("default", "integrated-gradients", "label", 0.0))  # IG costs minutes here: one case to compare
    cases += [(c, "word-alone", s, 0.0) for c in ("nbsvm", "default+nbsvm") for s in both]
    cases += [(c, "word-alone", "label", 0.0) for c in ("default", "tfidf-logreg")]
    cases += [(c, "word-alone", s, LEXICON_WEIGHT) for c in ("nbsvm", "default+nbsvm") for s in both]
    rows = []
    for committee, method, sentiment, lexicon in cases:
        members = [models[m] for m in committees[committee]]
        att = {}
        for part in ("dev", "eval"):
            df = parts[part]
            given = df["label"].tolist() if sentiment == "label" else None
            t0 = time.perf_counter()
            att[part] = attributions_for(members, df["text"].tolist(), given, method, lexicon=lexicon)
            seconds = time.perf_counter() - t0
        confidences = CONFIDENCES if sentiment == "predicted" else (0.9,)
        grid = [SpanSettings(p, 2, c, "max-subarray") for p in PENALTIES for c in confidences]
        grid += [SpanSettings(min_confidence=c, slope=a, midpoint=m) for a in SLOPES for m in MIDPOINTS
                 for c in confidences]  # without Kaggle's offset quirk: --rationales-only measures it
        best = max(grid, key=lambda s: score_spans(parts["dev"], att["dev"], sentiment, s)[0]["jaccard"])
        dev = score_spans(parts["dev"], att["dev"], sentiment, best)[0]
        ev = score_spans(parts["eval"], att["eval"], sentiment, best)[0]
        default = score_spans(parts["eval"], att["eval"], sentiment, SpanSettings())[0]
        rows.append({"models": committee, "method": method, "sentiment": sentiment, "lexicon": lexicon,
                     "chosen_on_dev": dataclasses.asdict(best), "dev_jaccard": round(dev["jaccard"], 4),
                     "eval": ev, "eval_jaccard_with_default_settings": round(default["jaccard"], 4),
                     "attribution_seconds_eval": round(seconds, 1)})
        print(f"{committee} {method} {sentiment} lexicon {lexicon}: eval jaccard {ev['jaccard']:.4f} (whole text "
              f"{ev['jaccard_whole_text']:.4f}, top word {ev['jaccard_neutral_whole_else_top_word']:.4f}), "
              f"settings {best}", flush=True)
    return rows


def markdown(result: dict) -> str:
    lines = ["# Tweets: 3-class sentiment, explanations, rationale spans", "",
             f"Machine: {result['machine']['cpu']}, {result['machine']['cores']} cores; "
             f"{result['machine']['date']}; commit {result['machine']['git_commit']}.", "",
             "## Classification (test splits)", "",
             "| model | tweets accuracy | tweets macro-F1 | airline accuracy | airline macro-F1 | train s (tweets) |",
             "| --- | --- | --- | --- | --- | --- |"]
    for name in MODELS:
        t, a = result["classification"]["tweets"][name], result["classification"]["airline_tweets"][name]
        lines.append(f"| {name} | {t['accuracy']:.4f} | {t['macro_f1']:.4f} | {a['accuracy']:.4f} | "
                     f"{a['macro_f1']:.4f} | {t['train_seconds']} |")
    lines += ["", "## Explanations: occlusion, integrated gradients, each word alone (BiGRU, test tweets)", "",
              "| method | ms/tweet (batched) | ms for one 230-word review | delete top-2: Δp / flipped | "
              "delete 2 random: Δp / flipped |", "| --- | --- | --- | --- | --- |"]
    for method in METHODS:
        e = result["explanations"][method]
        top, rnd = e["delete_2"]["top"], e["delete_2"]["random"]
        lines.append(f"| {method} | {e['ms_per_tweet_batched']} | {e['ms_one_230_word_review']} | "
                     f"{top['probability_drop']:.3f} / {top['flipped']:.3f} | "
                     f"{rnd['probability_drop']:.3f} / {rnd['flipped']:.3f} |")
    lines += ["", "## Rationale spans: word-level Jaccard on the eval rows (2,748 tweets of train, never trained on)",
              "", "| models | method | sentiment | span Jaccard | whole text | neutral whole + top word | "
              "settings (chosen on dev) |", "| --- | --- | --- | --- | --- | --- | --- |"]
    best = max(r["eval"]["jaccard"] for r in result["rationales"])
    for r in result["rationales"]:
        ev, s = r["eval"], r["chosen_on_dev"]
        conf = f", min_confidence {s['min_confidence']}" if r["sentiment"] == "predicted" else ""
        how = (f"penalty {s['penalty']}" if s["selection"] == "max-subarray"
               else f"expected-jaccard, slope {s['slope']:g}, midpoint {s['midpoint']:g}, position {s['position']:g}")
        if s["shift_after_spaces"]:
            how += f", shift after {s['shift_after_spaces']} spaces"
        j = f"**{ev['jaccard']:.4f}**" if ev["jaccard"] == best else f"{ev['jaccard']:.4f}"
        method = r["method"] + (f" + VADER × {r['lexicon']:g}" if r.get("lexicon") else "")
        lines.append(f"| {r['models']} | {method} | {r['sentiment']} | {j} | "
                     f"{ev['jaccard_whole_text']:.4f} | {ev['jaccard_neutral_whole_else_top_word']:.4f} | "
                     f"{how}{conf} |")
    return "\n".join(lines) + "\n"


def cross_fitted(name: str, pool: pd.DataFrame, weights: tuple[float, ...]) -> dict[float, tuple]:
    """Word-alone attributions of every ``pool`` row (given sentiment) from a model trained on the other folds,
    per lexicon weight: spans for all of fit + dev without any row scoring a model that trained on it."""
    from sklearn.model_selection import StratifiedKFold

    n = len(pool)
    out = {w: ([""] * n, np.zeros(n), [np.empty(0)] * n) for w in weights}
    folds = StratifiedKFold(FOLDS, shuffle=True, random_state=0).split(pool, pool["label"])
    for train_idx, held_idx in folds:
        with tempfile.TemporaryDirectory() as tmp:
            model = senti.train(Path(tmp) / name, train=pool.iloc[train_idx][["text", "label"]], model=name,
                                progress=False, report=False, **DATASET_DEFAULTS["tweets"]).model
        held = pool.iloc[held_idx]
        for w in weights:
            chosen, confidence, scores = attributions_for(model, held["text"].tolist(), held["label"].tolist(),
                                                          "word-alone", lexicon=w)
            for k, i in enumerate(held_idx):
                out[w][0][i], out[w][1][i], out[w][2][i] = chosen[k], confidence[k], scores[k]
    return out


def rationales_only(names: list[str]) -> None:
    """``--rationales-only nbsvm[,tfidf-logreg]``: just these classical models (seconds each), word-alone scores
    with and without the VADER lexicon prior, given sentiment. The span settings (and the lexicon weight) are
    chosen by 5-fold cross-fitting on the fit + dev rows (24,732 tweets: ten times the dev rows alone, so the
    choice is not made on noise); a model trained on the fit rows then scores the eval rows, which nothing else
    touches. Writes bench/results/tweets_rationales.{json,md}."""
    info = machine_info()
    t0 = time.perf_counter()
    rows: list[dict] = []
    parts = partition(load_selections("tweets", "train"))
    pool = pd.concat([parts["fit"], parts["dev"]]).sort_index()
    lines = [f"Rationale spans from word-alone scores, given sentiment. Settings chosen by {FOLDS}-fold cross-fitting "
             f"on the {len(pool):,} fit + dev tweets (each scored by a model that never trained on it); the eval "
             f"rows ({len(parts['eval']):,} tweets, never trained on or chosen on) are scored by a model trained on "
             "the fit rows. Lexicon: the VADER valence towards the sentiment, times the weight, added to each "
             "word's log-odds (senti/explain/lexicon.py).", "",
             "| model | lexicon | offset quirk | chosen settings | cross-fitted Jaccard | eval Jaccard | whole text "
             "| neutral whole + top word | per label (eval) |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    grid = [SpanSettings(slope=a, midpoint=m, position=pos, shift_after_spaces=sh)
            for a in SLOPES for m in MIDPOINTS for pos in POSITIONS for sh in SHIFTS]
    for name in names:
        crossed = cross_fitted(name, pool, LEXICON_WEIGHTS)
        with tempfile.TemporaryDirectory() as tmp:
            model = senti.train(Path(tmp) / name, train=parts["fit"][["text", "label"]], model=name,
                                progress=False, report=False, **DATASET_DEFAULTS["tweets"]).model
        evals = {w: attributions_for(model, parts["eval"]["text"].tolist(), parts["eval"]["label"].tolist(),
                                     "word-alone", lexicon=w) for w in LEXICON_WEIGHTS}
        cv = {(w, s): score_spans(pool, crossed[w], "label", s)[0]["jaccard"] for w in LEXICON_WEIGHTS for s in grid}
        per_row = {}
        for lexicon in (False, True):
            for quirk in (False, True):
                options = [(w, s) for w, s in cv if bool(w) == lexicon and bool(s.shift_after_spaces) <= quirk]
                w, best = max(options, key=cv.get)
                ev, ev_rows = score_spans(parts["eval"], evals[w], "label", best)
                _, cv_rows = score_spans(pool, crossed[w], "label", best)
                per_row[lexicon, quirk] = (cv_rows["jaccard_span"].to_numpy(), ev_rows["jaccard_span"].to_numpy())
                per_label = ", ".join(f"{k} {v['jaccard']:.4f}" for k, v in ev["per_label"].items())
                how = f"slope {best.slope:g}, midpoint {best.midpoint:g}, position {best.position:g}" + (
                    f", shift after {best.shift_after_spaces} spaces" if best.shift_after_spaces else "")
                rows.append({"model": name, "method": "word-alone", "sentiment": "label", "lexicon": w,
                             "offset_quirk_allowed": quirk, "chosen": dataclasses.asdict(best),
                             "cross_fitted_jaccard": cv[w, best], "cross_fitted_n": len(pool), "eval": ev})
                lines.append(f"| {name} | {w:g} | {'allowed' if quirk else 'off'} | {how} | {cv[w, best]:.4f} | "
                             f"**{ev['jaccard']:.4f}** | {ev['jaccard_whole_text']:.4f} | "
                             f"{ev['jaccard_neutral_whole_else_top_word']:.4f} | {per_label} |")
                print(lines[-1], flush=True)
        lines.append("")
        for quirk in (False, True):
            gains = [with_ - without for with_, without in zip(per_row[True, quirk], per_row[False, quirk],
                                                                 strict=True)]
            text = ", ".join(f"{where} {g.mean():+.4f} ± {g.std() / np.sqrt(len(g)):.4f}"
                             for where, g in zip(("cross-fitted", "eval"), gains, strict=True))
            lines.append(f"- {name}, offset quirk {'allowed' if quirk else 'off'}: the lexicon's gain (paired, "
                         f"± one standard error): {text}.")
            rows.append({"model": name, "offset_quirk_allowed": quirk, "lexicon_gain": {
                where: {"mean": float(g.mean()), "se": float(g.std() / np.sqrt(len(g)))}
                for where, g in zip(("cross_fitted", "eval"), gains, strict=True)}})
            print(lines[-1], flush=True)
    seconds = round(time.perf_counter() - t0)
    lines.append(f"\n{seconds} s on {info['cores']} cores ({info['cpu']}), load average at start "
                 f"{info['load_average_1m_at_start']:.2f}.")
    write_json(RESULTS / "tweets_rationales.json", {"benchmark": "tweets_rationales", "machine": info,
                                                   "wall_seconds": seconds, "rows": rows})
    atomic_write(RESULTS / "tweets_rationales.md",
                 lambda tmp: Path(tmp).write_text("\n".join(lines) + "\n", encoding="utf-8"))


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--rationales-only":
        rationales_only(sys.argv[2].split(","))
        return
    info = machine_info()
    t0 = time.perf_counter()
    parts = partition(load_selections("tweets", "train"))
    with tempfile.TemporaryDirectory() as tmp:
        classification, models = classify(Path(tmp), parts)
    result = {"benchmark": "tweets", "machine": info, "neural_training": NEURAL_TRAINING,
              "other_load": "machine.load_average_1m_at_start is the load when the run began; run alone, timings "
                            "hold for two free cores; accuracy and Jaccard do not depend on load",
              "splits": {k: len(v) for k, v in parts.items()},
              "classification": classification,
              "explanations": explanations(models["default"]),
              "rationales": rationales(models, parts)}
    result["wall_seconds_total"] = round(time.perf_counter() - t0)
    result["peak_rss_mib"] = round(peak_rss_mib())
    write_json(RESULTS / "tweets.json", result)
    atomic_write(RESULTS / "tweets.md", lambda tmp: Path(tmp).write_text(markdown(result), encoding="utf-8"))
    print(f"→ {RESULTS / 'tweets.json'}, {RESULTS / 'tweets.md'}")


if __name__ == "__main__":
    main()

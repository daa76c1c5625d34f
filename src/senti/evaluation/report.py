"""``report.html``: one self-contained page per run (images embedded, opens offline), with its PNGs beside
it; and a comparison page for several runs."""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from senti.evaluation import plots
from senti.evaluation.data_profile import read_profile
from senti.evaluation.insights import ANCHORS, embedding_projection, top_words
from senti.evaluation.sizes import model_size
from senti.io import atomic_write, atomic_write_text, read_json, write_json

FIGURES = {
    "class_balance.png": "Class balance per split",
    "text_lengths.png": "Text length in tokens",
    "learning_curves.png": "Learning curves",
    "confusion_matrix.png": "Confusion matrix",
    "per_class.png": "Per-class scores",
    "reliability.png": "Calibration",
    "top_words.png": "Words that drive each class",
    "embeddings.png": "Word embedding map",
}

_CSS = """
body{font:15px/1.5 system-ui,-apple-system,'Segoe UI',sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;
color:#222;background:#fafafa}
h1{margin-bottom:0}.sub{color:#666;margin-top:.2em}
.cards{display:flex;gap:1em;flex-wrap:wrap;margin:1.5em 0}
.card{background:#fff;border-radius:10px;padding:.8em 1.2em;box-shadow:0 1px 3px #0002;min-width:9em}
.card b{display:block;font-size:1.7em}.card span{color:#666;font-size:.85em}
section{background:#fff;border-radius:10px;padding:1em 1.4em;margin:1.2em 0;box-shadow:0 1px 3px #0002}
img{max-width:100%}table{border-collapse:collapse;font-size:.92em}
td,th{padding:.3em .8em;border-bottom:1px solid #eee;text-align:right}th{background:#f3f3f3}
td:first-child,th:first-child{text-align:left}
.err{border-left:4px solid #e76f51;padding:.4em .8em;margin:.6em 0;background:#fff8f6}
.err small{color:#666}pre{background:#f6f6f6;padding:.8em;overflow:auto;font-size:.85em}
details summary{cursor:pointer;color:#555}
.clouds{display:grid;grid-template-columns:repeat(auto-fill,minmax(420px,1fr));gap:.6em}
.note{color:#555;font-size:.92em}
"""


def _img(path: Path, alt: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode()
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


# Each comparison column at the precision its unit deserves.
_FORMATS = {"accuracy": "{:.4f}", "macro_f1": "{:.4f}", "macro-F1": "{:.4f}", "train_seconds": "{:.1f}",
            "train s": "{:.1f}", "predict_per_s": "{:,.0f}", "predict texts/s": "{:,.0f}", "model_mib": "{:.1f}",
            "size MiB": "{:.1f}"}


def _formatted(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for col in out.columns:
        if out[col].dtype.kind == "f":
            fmt = _FORMATS.get(col, "{:.4f}")
            out[col] = out[col].map(fmt.format)
    return out


def _table(df: pd.DataFrame) -> str:
    return _formatted(df).to_html(index=False, border=0, escape=True)


def _page(title: str, body: str) -> str:
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<meta name='viewport' content='width=device-width,initial-scale=1'><style>{_CSS}</style></head>"
            f"<body>{body}<p class='sub'>Made by senti.</p></body></html>")


def make_figures(run_dir: Path, model: Any | None = None) -> dict[str, Path]:
    """Draw every figure the run's files allow; returns {file name: path}."""
    from senti.pipeline import SentimentModel

    run_dir = Path(run_dir)
    model = model or SentimentModel.load(run_dir)
    out: dict[str, Path] = _data_figures(run_dir)
    hist = read_json(run_dir / "history.json") if (run_dir / "history.json").is_file() else None
    if hist and hist["epochs"]:
        out["learning_curves.png"] = plots.learning_curves(hist["epochs"], hist.get("best_epoch", -1),
                                                           run_dir / "learning_curves.png")
    metrics = read_json(run_dir / "metrics.json") if (run_dir / "metrics.json").is_file() else None
    if metrics:
        out["confusion_matrix.png"] = plots.confusion_matrix(metrics["confusion_matrix"], metrics["labels"],
                                                             run_dir / "confusion_matrix.png")
        out["per_class.png"] = plots.per_class_scores(metrics["per_class"], run_dir / "per_class.png")
    shown = reliability_shown(metrics, model.metadata)
    if shown is not None:
        out["reliability.png"] = plots.reliability_diagram(shown["table"], shown["ece"], shown["split"],
                                                           run_dir / "reliability.png")
    words = top_words(model)
    xlabel = {"senti.linear.v1": "weight", "senti.forest.v1": "signed importance"}.get(
        model.model_config.get("architecture"), "log-odds")
    out["top_words.png"] = plots.top_words(words, run_dir / "top_words.png", xlabel)
    proj = embedding_projection(model)
    if proj is not None:
        labelled = ANCHORS + [w for lab in words for w, _ in words[lab][:4]]
        out["embeddings.png"] = plots.embedding_map(proj["coords"], proj["words"], proj["scores"], labelled,
                                                    run_dir / "embeddings.png", proj["method"])
    return out


def reliability_shown(metrics: dict[str, Any] | None, metadata: dict[str, Any]) -> dict[str, Any] | None:
    """What the reliability diagram shows: the test split's bins (metrics.json), else the validation split's
    after calibration (the manifest's ``calibration``); None for a run that recorded neither."""
    if metrics and "reliability" in metrics:
        return {"split": "test", "table": metrics["reliability"], "ece": metrics["ece"],
                "brier": metrics.get("brier"), "calibration": metrics.get("calibration"), "n": metrics["n"],
                "ece_floor": metrics.get("ece_floor"), "ece_p": metrics.get("ece_p")}
    cal = metadata.get("calibration") or {}
    if "reliability" in cal:
        return {"split": "validation", "table": cal["reliability"], "ece": cal["ece_after"], "brier": None,
                "calibration": cal}
    return None


_OBJECTIVE = {"brier": "Brier score", "nll": "negative log-likelihood"}


def _calibration_section(shown: dict[str, Any], figure: Path) -> str:
    cal = shown["calibration"] or {}
    objective = _OBJECTIVE.get(cal.get("objective", "nll"), "?")
    note = (f"Probabilities are calibrated by temperature scaling: T = {cal['temperature']:.3f}, fitted on "
            f"{cal['n']:,} {cal['fitted_on']} examples by minimising the {objective} "
            f"(validation ECE {cal['ece_before']:.4f} before, "
            f"{cal['ece_after']:.4f} after)." if "temperature" in cal else "Probabilities are not calibrated.")
    brier = f" Brier score {shown['brier']:.4f}." if shown.get("brier") is not None else ""
    noise = ""
    if shown.get("ece_floor") is not None:  # how much of that ECE sampling noise alone would give
        noise = (f" On {shown['n']:,} examples a perfectly calibrated model would show an ECE of about "
                 f"{shown['ece_floor']:.4f} by chance alone (p = {shown['ece_p']:.2f} that it shows this much or "
                 "more: a small p means the miscalibration is real).")
    return (f"<section><h2>{FIGURES['reliability.png']}</h2><p>Expected calibration error (15 equal-width bins of "
            f"the top-class confidence) on the {shown['split']} split: <b>{shown['ece']:.4f}</b>.{brier}{noise} "
            f"{note}</p>{_img(figure, 'reliability diagram')}</section>")


def cloud_file(index: int) -> str:
    """The word cloud of the ``index``-th class (by index: a label may hold any character)."""
    return f"words_{index}.png"


def _data_figures(run_dir: Path) -> dict[str, Path]:
    profile = read_profile(run_dir)
    if profile is None:
        return {}
    out = {"class_balance.png": plots.class_balance(profile["class_counts"], run_dir / "class_balance.png")}
    hist = profile["histogram"]
    if hist["counts"]:
        truncated = {s: v["truncated_texts"] for s, v in profile["lengths"].items() if "truncated_texts" in v}
        out["text_lengths.png"] = plots.text_lengths(hist["edges"], hist["counts"], profile["max_length"],
                                                     truncated, run_dir / "text_lengths.png")
    for i, label in enumerate(profile["distinctive_words"]):
        out[cloud_file(i)] = plots.word_cloud(profile["distinctive_words"][label], label,
                                              run_dir / cloud_file(i))
    return out


def _balance_table(counts: dict[str, dict[str, int]]) -> pd.DataFrame:
    """One row per class, one column per split: "count (share of the split)"."""
    labels = list(dict.fromkeys(lab for c in counts.values() for lab in c))
    rows = []
    for lab in labels:
        row = {"class": lab}
        for split, c in counts.items():
            n, total = c.get(lab, 0), sum(c.values())
            row[split] = f"{n:,} ({n / max(total, 1):.1%})"
        rows.append(row)
    rows.append({"class": "all", **{split: f"{sum(c.values()):,}" for split, c in counts.items()}})
    return pd.DataFrame(rows)


def _data_section(profile: dict[str, Any] | None, figures: dict[str, Path]) -> str:
    if profile is None:
        return ""
    counts = profile["class_counts"]
    parts = ["<section id='data'><h2>The data</h2>",
             "<p class='note'>Texts per class in each split the run used (validation is carved out of the "
             "training data unless given); the model's scores are only as good as the smallest class allows.</p>",
             _table(_balance_table(counts))]
    if "class_balance.png" in figures:
        parts.append(_img(figures["class_balance.png"], "class balance per split"))
    train = profile["lengths"].get("train", {})
    if "text_lengths.png" in figures and "median" in train:
        sampled = (f" (measured on {train['measured']:,} of {train['rows']:,} training texts)"
                   if train["measured"] < train["rows"] else "")
        text = (f"Training texts have a median of {train['median']:.0f} tokens after cleaning, 90 % of them at "
                f"most {train['p90']:.0f}, the longest {train['max']:,}{sampled}. ")
        if profile["max_length"] is not None:
            text += (f"The network reads at most <b>max_length = {profile['max_length']}</b> tokens: that cuts "
                     f"<b>{train['truncated_texts']:.1%}</b> of the training texts, dropping "
                     f"{train['dropped_tokens']:.1%} of all their tokens.")
        else:
            text += "This model reads whole texts (max_length applies to the networks only)."
        parts.append(f"<h3>{FIGURES['text_lengths.png']}</h3><p class='note'>{text}</p>"
                     f"{_img(figures['text_lengths.png'], 'histogram of text lengths in tokens')}")
    clouds = [(label, figures[cloud_file(i)]) for i, label in enumerate(profile["distinctive_words"])
              if cloud_file(i) in figures]
    if clouds:
        parts.append("<h3>Each class's most distinctive words</h3><p class='note'>The words that set a class "
                     "apart from the others in the training texts, as the model reads them after cleaning "
                     "(placeholders such as xxurl included): ranked by the z-scored log-odds ratio with an "
                     "informative prior, larger for stronger evidence, not by frequency; English stop words "
                     "other than negations are left out.</p><div class='clouds'>"
                     + "".join(_img(path, f"word cloud: {label}") for label, path in clouds) + "</div>")
    parts.append("</section>")
    return "".join(parts)


def write_report(run_dir: str | Path, model: Any | None = None) -> Path:
    """Write ``RUN_DIR/report.html`` (and its PNGs) from the run's files."""
    run_dir = Path(run_dir)
    figures = make_figures(run_dir, model)
    cfg = read_json(run_dir / "config.json") if (run_dir / "config.json").is_file() else {}
    metrics = read_json(run_dir / "metrics.json") if (run_dir / "metrics.json").is_file() else None
    hist = read_json(run_dir / "history.json") if (run_dir / "history.json").is_file() else {}
    errors = read_json(run_dir / "errors.json") if (run_dir / "errors.json").is_file() else []
    data = cfg.get("data", {})
    source = data.get("dataset") or data.get("train") or "?"
    parts = [f"<h1>senti report: {html.escape(run_dir.name)}</h1>",
             f"<p class='sub'>model <b>{html.escape(cfg.get('preset', '?'))}</b> "
             f"({html.escape(str(cfg.get('model', {}).get('architecture', '?')))}) on "
             f"<b>{html.escape(str(source))}</b></p>"]
    cards = []
    if metrics:
        cards += [(f"{metrics['accuracy']:.2%}", "test accuracy"), (f"{metrics['macro_f1']:.3f}", "macro-F1"),
                  (f"{metrics['n']:,}", "test examples")]
        if "ece" in metrics:
            cards.append((f"{metrics['ece']:.3f}", "test calibration error (ECE)"))
    if hist:
        cards += [(f"{hist.get('train_seconds', 0):.0f} s", "training time"),
                  (f"{hist.get('best_epoch', '?')} / {hist.get('epochs_run', '?')}", "best / epochs run")]
    parts.append("<div class='cards'>" + "".join(f"<div class='card'><b>{v}</b><span>{k}</span></div>"
                                                  for v, k in cards) + "</div>")
    parts.append(_data_section(read_profile(run_dir), figures))
    if "learning_curves.png" in figures:
        parts.append(f"<section><h2>{FIGURES['learning_curves.png']}</h2>"
                     f"{_img(figures['learning_curves.png'], 'learning curves')}</section>")
    if metrics:
        per_class = pd.DataFrame([{"class": k, **v} for k, v in metrics["per_class"].items()])
        parts.append(f"<section><h2>{FIGURES['confusion_matrix.png']}</h2>"
                     f"{_img(figures['confusion_matrix.png'], 'confusion matrix')}</section>")
        parts.append(f"<section><h2>{FIGURES['per_class.png']}</h2>{_table(per_class)}"
                     f"{_img(figures['per_class.png'], 'per-class scores')}</section>")
    if "reliability.png" in figures:
        parts.append(_calibration_section(reliability_shown(metrics, _manifest(run_dir, model)),
                                          figures["reliability.png"]))
    if errors:
        items = "".join(f"<div class='err'><small>true <b>{html.escape(e['label'])}</b>, predicted "
                        f"<b>{html.escape(e['predicted'])}</b> with {e['confidence']:.1%}</small>"
                        f"<div>{html.escape(e['text'])}</div></div>" for e in errors)
        parts.append(f"<section><h2>Most confidently wrong test examples</h2>{items}</section>")
    parts.append(f"<section><h2>{FIGURES['top_words.png']}</h2>"
                 "<p>For a network: its log-odds for each class given the word alone; for a linear model: the "
                 f"word's weight.</p>{_img(figures['top_words.png'], 'top words')}</section>")
    if "embeddings.png" in figures:
        parts.append(f"<section><h2>{FIGURES['embeddings.png']}</h2>"
                     f"{_img(figures['embeddings.png'], 'embedding map')}</section>")
    parts.append("<section><details><summary>Configuration (resolved)</summary><pre>"
                 f"{html.escape(json.dumps(cfg, indent=2))}</pre></details></section>")
    path = run_dir / "report.html"
    atomic_write_text(path, _page(f"senti report: {run_dir.name}", "".join(parts)))
    return path


def _manifest(run_dir: Path, model: Any | None) -> dict[str, Any]:
    if model is not None:
        return model.metadata
    from senti.bundle import MANIFEST

    path = run_dir / "model" / MANIFEST
    return read_json(path) if path.is_file() else {}


def markdown_table(df: pd.DataFrame) -> str:
    df = _formatted(df)
    lines = ["| " + " | ".join(df.columns) + " |", "|" + "---|" * len(df.columns)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join(lines) + "\n"


def summarize_run(run_dir: Path) -> dict[str, Any]:
    """One comparison row from a finished run directory."""
    cfg, metrics = read_json(run_dir / "config.json"), read_json(run_dir / "metrics.json")
    size = model_size(run_dir).model_bytes  # members included, ONNX exports not
    return {"model": cfg.get("preset", run_dir.name), "run": str(run_dir), "accuracy": metrics["accuracy"],
            "macro_f1": metrics["macro_f1"], "train_seconds": metrics["train_seconds"],
            "predict_per_s": metrics["n"] / max(metrics["eval_seconds"], 1e-9), "model_mib": size / 2**20,
            "n_test": metrics["n"]}


def _comparison_balance(runs: Sequence[str], models: Sequence[str]) -> str:
    """Texts per class and split of each compared run (runs on the same data show the same counts)."""
    rows = []
    for run, model in zip(runs, models, strict=True):
        profile = read_profile(Path(run))
        if profile is None:
            continue
        for split, c in profile["class_counts"].items():
            total = sum(c.values())
            rows.append({"model": model, "split": split,
                         **{lab: f"{n:,} ({n / max(total, 1):.1%})" for lab, n in c.items()}})
    if not rows:
        return ""
    return ("<section><h2>Class balance per split</h2><p class='note'>Texts per class in each run's splits "
            "(— where a run has no such class; runs trained before senti recorded it are left out).</p>"
            f"{_table(pd.DataFrame(rows).fillna('—'))}</section>")  # —: a class the run does not have


def write_comparison(run_dirs: Sequence[str | Path], output: str | Path, title: str = "") -> Path:
    """Comparison table (Markdown, CSV, JSON), bar chart and HTML page for finished runs."""
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    rows = [summarize_run(Path(d)) for d in run_dirs]
    df = pd.DataFrame(rows).sort_values("accuracy", ascending=False)
    write_json(output / "comparison.json", {"title": title, "rows": df.to_dict(orient="records")})
    atomic_write(output / "comparison.csv", lambda tmp: df.to_csv(tmp, index=False))
    shown = df[["model", "accuracy", "macro_f1", "train_seconds", "predict_per_s", "model_mib"]]
    md = shown.rename(columns={"train_seconds": "train s", "predict_per_s": "predict texts/s",
                               "model_mib": "size MiB", "macro_f1": "macro-F1"})
    atomic_write_text(output / "comparison.md", markdown_table(md))
    chart = plots.comparison_bars(df.to_dict(orient="records"), output / "comparison.png")
    body = (f"<h1>senti comparison</h1><p class='sub'>{html.escape(title)}</p>"
            f"<section>{_table(md)}</section><section>{_img(chart, 'comparison chart')}</section>"
            + _comparison_balance(df["run"].tolist(), df["model"].tolist()))
    path = output / "comparison.html"
    atomic_write_text(path, _page("senti comparison", body))
    return path

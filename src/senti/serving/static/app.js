// The senti web page: one review → label, confidence and word contributions; one file → table, chart, download.
// Plain DOM, no framework. Every piece of user or model text is inserted with textContent, never innerHTML.
"use strict";

(function () {
  const TABLE_ROWS = 100;        // rows of a scored file shown in the table (the download has them all)
  const MIN_SHADE = 0.06;        // words below this share of the strongest |score| are left unshaded
  const SVG_NS = "http://www.w3.org/2000/svg";

  const $ = (id) => document.getElementById(id);
  let model = null;              // GET /v1/model, once loaded
  let downloadUrl = null;        // object URL of the last scored file
  let chartData = null;          // [counts, total] of the last scored file, to redraw the chart on resize

  // ---------------------------------------------------------------------------------------------
  // Small helpers
  // ---------------------------------------------------------------------------------------------

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else node.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children) node.append(c);  // strings become text nodes
    return node;
  }

  function svg(tag, attrs, text) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // Lengths and offsets in characters (code points), as the server counts them in Python; JavaScript's own
  // string indices count UTF-16 units, and an emoji is two of those.
  const charLength = (s) => {
    let n = 0;
    for (const _ of s) n++;
    return n;
  };

  const pct = (p, digits = 1) => `${(100 * p).toFixed(digits)} %`;
  const fmtInt = (n) => n.toLocaleString("en-US");
  // A word score: three decimals, or two significant digits when smaller (a confident model's scores can be tiny).
  function signed(x) {
    const a = Math.abs(x);
    if (a === 0) return "0";
    return (x > 0 ? "+" : "−") + (a >= 0.001 ? a.toFixed(3) : a.toExponential(1));
  }

  function fmtBytes(n) {
    if (n < 1024) return `${n} bytes`;
    if (n < 1024 * 1024) return `${(n / 1024).toFixed(0)} KB`;
    return `${(n / 1024 / 1024).toFixed(1)} MB`;
  }

  // Sentiment direction of a label from its name: +1 positive-like, −1 negative-like, 0 otherwise.
  function polarity(label) {
    const l = String(label).toLowerCase();
    if (/neg|bad|worst|hate/.test(l)) return -1;
    if (/pos|good|great|love/.test(l)) return 1;
    return 0;
  }

  // A stable CSS class for a label: colours by polarity, otherwise by its position among the model's labels.
  function labelClass(label) {
    const p = polarity(label);
    if (p > 0) return "tone-pos";
    if (p < 0) return "tone-neg";
    if (/neutral|mixed|none|other/i.test(label)) return "tone-neu";
    const i = model ? model.labels.indexOf(label) : -1;
    return `tone-${(i < 0 ? 0 : i) % 4}`;
  }

  function showError(node, message) {
    node.textContent = message;
    node.hidden = false;
  }

  function clearError(node) {
    node.textContent = "";
    node.hidden = true;
  }

  function setBusy(button, busy, busyText) {
    if (busy) {
      button.dataset.idleText = button.textContent;
      button.textContent = busyText;
    } else if (button.dataset.idleText) {
      button.textContent = button.dataset.idleText;
    }
    button.disabled = busy;
    button.setAttribute("aria-busy", busy ? "true" : "false");
  }

  // The message of an API error: {"detail": "..."} (or FastAPI's list form), else the HTTP status.
  async function apiError(response) {
    let detail = null;
    try {
      const body = await response.json();
      detail = body && body.detail;
      if (Array.isArray(detail)) detail = detail.map((d) => d.msg || JSON.stringify(d)).join("; ");
    } catch (_) {
      // not JSON: fall back on the status line
    }
    const status = `${response.status}${response.statusText ? " " + response.statusText : ""}`;
    return detail ? String(detail) : `The server answered ${status}.`;
  }

  async function request(url, options) {
    let response;
    try {
      response = await fetch(url, options);
    } catch (e) {
      throw new Error(`Could not reach the senti server (${e.message}). Is \`senti serve\` still running?`);
    }
    if (!response.ok) throw new Error(await apiError(response));
    return response;
  }

  // ---------------------------------------------------------------------------------------------
  // CSV (RFC 4180): quoted fields with commas, doubled quotes and line breaks; CRLF or LF rows.
  // ---------------------------------------------------------------------------------------------

  function parseCSV(text, delimiter = ",") {
    const rows = [];
    const n = text.length;
    let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;  // byte-order mark
    if (i >= n) return rows;
    let row = [];
    for (;;) {
      let field;
      if (text[i] === '"') {
        const parts = [];
        let j = i + 1;
        for (;;) {
          const q = text.indexOf('"', j);
          if (q < 0) throw new SyntaxError(`unterminated quoted field in row ${rows.length + 1}`);
          parts.push(text.slice(j, q));
          if (text[q + 1] === '"') {
            parts.push('"');
            j = q + 2;
          } else {
            i = q + 1;
            break;
          }
        }
        field = parts.join("");
        if (i < n && text[i] !== delimiter && text[i] !== "\n" && text[i] !== "\r") {
          throw new SyntaxError(`unexpected character after a quoted field in row ${rows.length + 1}`);
        }
      } else {
        let j = i;
        while (j < n && text[j] !== delimiter && text[j] !== "\n" && text[j] !== "\r") j++;
        field = text.slice(i, j);
        i = j;
      }
      row.push(field);
      if (i >= n) {
        rows.push(row);
        break;
      }
      if (text[i] === delimiter) {
        i++;
        if (i >= n) {          // a trailing delimiter ends the row with an empty field
          row.push("");
          rows.push(row);
          break;
        }
        continue;
      }
      i += text[i] === "\r" && text[i + 1] === "\n" ? 2 : 1;  // end of row
      rows.push(row);
      row = [];
      if (i >= n) break;
    }
    return rows;
  }

  // ---------------------------------------------------------------------------------------------
  // Model header
  // ---------------------------------------------------------------------------------------------

  async function loadModel() {
    try {
      model = await (await request("/v1/model")).json();
    } catch (e) {
      $("model-name").textContent = "Model information unavailable";
      showError($("predict-error"), `Could not load the model description: ${e.message}`);
      return;
    }
    $("model-name").textContent = model.name || "senti model";
    document.title = `${model.name || "senti"} · senti`;

    const cfg = model.config || {};
    const arch = [model.architecture];
    if (cfg.cell) arch.push(`${cfg.bidirectional ? "bi" : ""}${String(cfg.cell).toUpperCase()} ${cfg.hidden_size || ""}`.trim());
    if (model.training && model.training.preset) arch.push(`preset ${model.training.preset}`);
    if (model.runtime) arch.push(`runtime ${model.runtime}`);
    $("model-arch").textContent = arch.filter(Boolean).join(" · ");

    const labels = $("model-labels");
    labels.replaceChildren(...(model.labels || []).map((l) => el("li", { class: `label-badge small ${labelClass(l)}`, text: l })));

    const m = model.metrics || {};
    const metrics = [];
    if (typeof m.accuracy === "number") metrics.push(["accuracy", pct(m.accuracy)]);
    if (typeof m.macro_f1 === "number") metrics.push(["macro-F1", m.macro_f1.toFixed(3)]);
    if (typeof m.n === "number") metrics.push(["test texts", fmtInt(m.n)]);
    const dl = $("model-metrics");
    dl.replaceChildren(...metrics.map(([k, v]) => el("div", {}, el("dt", { text: k }), el("dd", { text: v }))));
    dl.hidden = metrics.length === 0;

    const version = [model.senti_version && `senti ${model.senti_version}`, model.runtime && `runtime ${model.runtime}`];
    $("footer-text").textContent =
      `Served by ${version.filter(Boolean).join(", ") || "senti"}: the page, the model and your texts stay on this server.`;

    const limits = model.limits || {};
    const upload = limits.max_upload_bytes || limits.max_body_bytes;
    if (upload) $("file-hint").textContent = `Up to ${fmtBytes(upload)}; rows are scored in order, one output row per input row.`;
    updateCharCount();
  }

  // ---------------------------------------------------------------------------------------------
  // One review
  // ---------------------------------------------------------------------------------------------

  function updateCharCount() {
    const n = charLength($("review-text").value);
    const max = model && model.limits && model.limits.max_chars;
    const node = $("char-count");
    node.textContent = max ? `${fmtInt(n)} / ${fmtInt(max)} characters` : `${fmtInt(n)} characters`;
    node.classList.toggle("over", Boolean(max && n > max));
  }

  async function analyse(event) {
    if (event) event.preventDefault();
    const error = $("predict-error");
    clearError(error);
    const text = $("review-text").value;
    if (!text.trim()) {
      showError(error, "Type or paste a review first.");
      $("review-text").focus();
      return;
    }
    const max = model && model.limits && model.limits.max_chars;
    const length = charLength(text);
    if (max && length > max) {
      showError(error, `This review has ${fmtInt(length)} characters; the server accepts up to ${fmtInt(max)}.`);
      return;
    }
    const button = $("analyse-button");
    setBusy(button, true, "Analysing…");
    try {
      const response = await request("/v1/predict", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ texts: [text], explain: true }),
      });
      const body = await response.json();
      renderPrediction(text, body.predictions[0]);
    } catch (e) {
      $("predict-result").hidden = true;
      showError(error, e.message);
    } finally {
      setBusy(button, false);
    }
  }

  function renderPrediction(text, pred) {
    const badge = $("pred-label");
    badge.textContent = pred.label;
    badge.className = `label-badge ${labelClass(pred.label)}`;

    const conf = Number(pred.confidence);
    $("confidence-fill").style.width = `${(100 * conf).toFixed(1)}%`;
    $("confidence-fill").className = `meter-fill ${labelClass(pred.label)}`;
    $("confidence-meter").setAttribute("aria-valuenow", (100 * conf).toFixed(1));
    $("confidence-meter").setAttribute("aria-valuetext", pct(conf));
    $("confidence-value").textContent = pct(conf);

    const labels = model && model.labels ? model.labels : Object.keys(pred.probabilities);
    const rows = labels.map((label) => {
      const p = Number(pred.probabilities[label] || 0);
      const fill = el("div", { class: `meter-fill ${labelClass(label)}` });
      fill.style.width = `${(100 * p).toFixed(1)}%`;
      return el("tr", { class: label === pred.label ? "chosen" : null },
        el("th", { scope: "row", text: label }),
        el("td", { class: "prob-bar" }, el("div", { class: "meter thin", "aria-hidden": "true" }, fill)),
        el("td", { class: "num", text: pct(p) }));
    });
    $("probabilities").tBodies[0].replaceChildren(...rows);

    renderWords(text, pred.label, pred.words || []);
    $("predict-result").hidden = false;
  }

  // How a word's score (its contribution to the predicted label) is coloured. For a positive- or negative-like
  // prediction the colour says which sentiment the word pushes toward; otherwise, whether it supports the label.
  function wordScale(predLabel) {
    const p = polarity(predLabel);
    if (p !== 0) {
      return {
        tone: (score) => (score * p > 0 ? "pos" : "neg"),
        legend: [["neg", "pushes toward negative"], ["pos", "pushes toward positive"]],
      };
    }
    return {
      tone: (score) => (score > 0 ? "for" : "against"),
      legend: [["against", `argues against “${predLabel}”`], ["for", `supports “${predLabel}”`]],
    };
  }

  function renderWords(text, predLabel, words) {
    const target = $("explained");
    const chars = Array.from(text);  // the server's offsets count characters (code points)
    const span = (a, b) => chars.slice(a, b).join("");
    const valid = words
      .filter((w) => Number.isInteger(w.start) && Number.isInteger(w.end) && w.start >= 0 && w.end <= chars.length && w.start < w.end)
      .sort((a, b) => a.start - b.start);
    const scale = wordScale(predLabel);
    const strongest = Math.max(1e-9, ...valid.map((w) => Math.abs(w.score)));

    const nodes = [];
    let at = 0;
    for (const w of valid) {
      if (w.start < at) continue;  // overlapping span: keep the first
      if (w.start > at) nodes.push(document.createTextNode(span(at, w.start)));
      const strength = Math.abs(w.score) / strongest;
      const tone = strength < MIN_SHADE ? "none" : scale.tone(w.score);
      const mark = el("mark", {
        class: `word w-${tone}`,
        title: `${signed(w.score)} toward “${predLabel}”`,
        "data-score": w.score,
      }, span(w.start, w.end));
      if (tone !== "none") mark.style.setProperty("--strength", (0.15 + 0.85 * strength).toFixed(3));
      nodes.push(mark);
      at = w.end;
    }
    if (at < chars.length) nodes.push(document.createTextNode(span(at, chars.length)));
    target.replaceChildren(...nodes);

    // Legend: the two colours, what they mean, and how to read the shades.
    const legend = $("legend");
    if (!valid.length) {
      legend.replaceChildren(el("p", { class: "hint", text: "The server returned no word contributions for this text." }));
      $("top-words").replaceChildren();
      return;
    }
    legend.replaceChildren(
      ...scale.legend.map(([tone, meaning]) => el("span", { class: "legend-item" },
        el("span", { class: `swatch w-${tone}`, "aria-hidden": "true" }), meaning)),
      el("span", { class: "legend-item hint" },
        `A word's score is how much the probability of “${predLabel}” falls when the word is removed (it rises `
        + "for a negative score); shades are relative to the strongest word here. Hover a word for its score."));

    // The strongest words on each side, as text, for keyboard and screen-reader users too.
    const ranked = valid.filter((w) => Math.abs(w.score) / strongest >= MIN_SHADE);
    const side = (sign) => ranked.filter((w) => Math.sign(w.score) === sign)
      .sort((a, b) => Math.abs(b.score) - Math.abs(a.score)).slice(0, 6);
    const list = (title, ws) => el("div", { class: "top-list" },
      el("h4", { class: "result-caption", text: title }),
      ws.length
        ? el("ul", {}, ...ws.map((w) => el("li", { class: `chip w-${scale.tone(w.score)}` },
          el("span", { text: w.word }), el("span", { class: "num", text: signed(w.score) }))))
        : el("p", { class: "hint", text: "none" }));
    $("top-words").replaceChildren(
      list(`Most for “${predLabel}”`, side(1)),
      list(`Most against “${predLabel}”`, side(-1)));
  }

  // ---------------------------------------------------------------------------------------------
  // A file
  // ---------------------------------------------------------------------------------------------

  async function scoreFile(event) {
    if (event) event.preventDefault();
    const error = $("file-error");
    clearError(error);
    const file = $("file-input").files[0];
    if (!file) {
      showError(error, "Choose a file of reviews first.");
      $("file-input").focus();
      return;
    }
    const limits = (model && model.limits) || {};
    const maxBytes = limits.max_upload_bytes || limits.max_body_bytes;
    if (maxBytes && file.size > maxBytes) {
      showError(error, `${file.name} is ${fmtBytes(file.size)}; the server accepts files up to ${fmtBytes(maxBytes)}. `
        + "Score larger files with `senti predict RUN_DIR --input FILE`.");
      return;
    }
    const column = $("text-column").value.trim() || "text";
    const form = new FormData();
    form.append("file", file, file.name);
    form.append("text_column", column);

    const button = $("score-button");
    setBusy(button, true, "Scoring…");
    try {
      const response = await request("/v1/predict/file", { method: "POST", body: form });
      const csv = await response.text();
      let rows;
      try {
        rows = parseCSV(csv);
      } catch (e) {
        throw new Error(`The scored file could not be read: ${e.message}.`);
      }
      renderFile(file.name, column, csv, rows);
    } catch (e) {
      $("file-result").hidden = true;
      showError(error, e.message);
    } finally {
      setBusy(button, false);
    }
  }

  function renderFile(fileName, column, csv, rows) {
    const header = rows[0] || [];
    const data = rows.slice(1);
    const col = (name) => header.indexOf(name);
    const iLabel = col("pred_label");
    const iConf = col("pred_confidence");
    if (iLabel < 0 || iConf < 0) throw new Error("The server's answer has no pred_label / pred_confidence columns.");
    let iText = col(column);
    if (iText < 0) iText = col("text");
    if (iText < 0) iText = header.findIndex((h) => !h.startsWith("pred_") && !h.startsWith("prob_"));

    // Counts per label, in the model's label order (labels with no rows included).
    const counts = new Map(((model && model.labels) || []).map((l) => [l, 0]));
    for (const r of data) counts.set(r[iLabel], (counts.get(r[iLabel]) || 0) + 1);

    $("file-summary").textContent = `${fmtInt(data.length)} ${data.length === 1 ? "row" : "rows"} of ${fileName} scored.`;
    $("file-result").hidden = false;  // before drawing: the chart is sized to its container
    chartData = [counts, data.length];
    renderChart(counts, data.length);
    renderTable(header, data, iText, iLabel, iConf);

    if (downloadUrl) URL.revokeObjectURL(downloadUrl);
    downloadUrl = URL.createObjectURL(new Blob([csv], { type: "text/csv;charset=utf-8" }));
    const link = $("download-link");
    link.href = downloadUrl;
    link.download = `${fileName.replace(/\.[^.]*$/, "") || "reviews"}-scored.csv`;
  }

  function renderChart(counts, total) {
    const chart = $("label-chart");
    const entries = [...counts.entries()];
    // Drawn at the container's width (at most 640 px), so the text keeps its size on a phone.
    const W = Math.round(Math.min(640, Math.max(260, chart.parentElement.clientWidth || 640)));
    const longest = Math.max(4, ...entries.map(([l]) => String(l).length));
    const rowH = 30, top = 4, valueW = 100, labelW = Math.min(160, Math.max(60, 8 * longest + 16));
    const barMax = W - labelW - valueW;
    const H = top * 2 + rowH * entries.length;
    chart.setAttribute("viewBox", `0 0 ${W} ${H}`);
    chart.setAttribute("width", W);
    chart.setAttribute("height", H);

    const summary = entries.map(([l, c]) => `${l}: ${c}`).join(", ");
    const nodes = [svg("title", { id: "label-chart-title" }, `Label distribution. ${summary}`)];
    entries.forEach(([label, count], k) => {
      const y = top + k * rowH;
      const w = count ? Math.max(2, (barMax * count) / total) : 0;  // the track is 100 %
      const g = svg("g", { class: "bar", "data-label": label, "data-count": count });
      g.append(
        svg("text", { x: labelW - 10, y: y + rowH / 2, "text-anchor": "end", "dominant-baseline": "central", class: "bar-label" }, label),
        svg("rect", { x: labelW, y: y + 5, width: barMax, height: rowH - 10, rx: 3, class: "bar-track" }),
        svg("rect", { x: labelW, y: y + 5, width: w, height: rowH - 10, rx: 3, class: `bar-fill ${labelClass(label)}` }),
        svg("text", { x: labelW + barMax + 10, y: y + rowH / 2, "dominant-baseline": "central", class: "bar-value" },
          `${fmtInt(count)} (${total ? pct(count / total, 0) : "0 %"})`));
      nodes.push(g);
    });
    chart.replaceChildren(...nodes);
  }

  function renderTable(header, data, iText, iLabel, iConf) {
    const table = $("results-table");
    const textName = iText >= 0 ? header[iText] : "text";
    table.tHead.replaceChildren(el("tr", {},
      el("th", { scope: "col", class: "num", text: "#" }),
      el("th", { scope: "col", text: textName }),
      el("th", { scope: "col", text: "label" }),
      el("th", { scope: "col", class: "num", text: "confidence" })));
    const shown = data.slice(0, TABLE_ROWS);
    table.tBodies[0].replaceChildren(...shown.map((r, k) => {
      const text = iText >= 0 ? (r[iText] ?? "") : "";
      const conf = Number(r[iConf]);
      return el("tr", {},
        el("td", { class: "num", text: fmtInt(k + 1) }),
        el("td", { class: "text-cell" }, el("div", { class: "clamp", title: text.slice(0, 2000) }, text)),
        el("td", {}, el("span", { class: `label-badge small ${labelClass(r[iLabel])}`, text: r[iLabel] })),
        el("td", { class: "num", text: Number.isFinite(conf) ? pct(conf) : r[iConf] }));
    }));
    $("results-caption").textContent = data.length > TABLE_ROWS
      ? `The first ${TABLE_ROWS} of ${fmtInt(data.length)} rows (the download holds them all)`
      : `All ${fmtInt(data.length)} ${data.length === 1 ? "row" : "rows"}`;
  }

  // ---------------------------------------------------------------------------------------------
  // Wiring
  // ---------------------------------------------------------------------------------------------

  function init() {
    $("predict-form").addEventListener("submit", analyse);
    $("review-text").addEventListener("input", updateCharCount);
    $("review-text").addEventListener("keydown", (e) => {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) analyse(e);
    });
    $("file-form").addEventListener("submit", scoreFile);
    $("file-input").addEventListener("change", () => clearError($("file-error")));
    $("text-column").addEventListener("input", () => clearError($("file-error")));

    const zone = $("dropzone");
    zone.addEventListener("dragover", (e) => {
      e.preventDefault();
      zone.classList.add("dragging");
    });
    zone.addEventListener("dragleave", () => zone.classList.remove("dragging"));
    zone.addEventListener("drop", (e) => {
      e.preventDefault();
      zone.classList.remove("dragging");
      if (e.dataTransfer && e.dataTransfer.files.length) {
        $("file-input").files = e.dataTransfer.files;
        clearError($("file-error"));
      }
    });
    let pending = false;
    window.addEventListener("resize", () => {
      if (pending || !chartData || $("file-result").hidden) return;
      pending = true;
      requestAnimationFrame(() => {
        pending = false;
        renderChart(...chartData);
      });
    });
    loadModel();
  }

  // For tests and the console: the CSV parser the page uses.
  window.senti = Object.freeze({ parseCSV });
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();

// The page of vramcalc serve: a form whose fields are the CLI's flags (the URL's query string
// is the API's), the answer drawn from the JSON documents of /v1/estimate. No library, no
// build step; every number shown comes from the API's JSON.
"use strict";

const $ = (id) => document.getElementById(id);
const GiB = 2 ** 30;

// Bytes as the CLI's tables print them (src/report/text_util.cpp, format_bytes): GiB with two
// decimals from 1 GiB up, smaller values at their own binary scale.
function formatBytes(bytes) {
  if (bytes >= GiB) return (bytes / GiB).toFixed(2) + " GiB";
  const units = ["B", "KiB", "MiB", "GiB"];
  let v = bytes, u = 0;
  while (v >= 1024 && u < 3) { v /= 1024; u++; }
  return u === 0 ? bytes + " B" : v.toFixed(2) + " " + units[u];
}

const withCommas = (n) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");

// The form's fields that are flags, by the API's (and the CLI's) names.
const FLAGS = ["quant", "kv", "ctx", "batch", "engine", "gpu-memory-utilization", "max-num-seqs", "flash-attn", "cache-type-k"];
const ENGINE_KEYS = { "gpu-memory-utilization": "gpu_memory_utilization", "max-num-seqs": "max_num_seqs",
                      "flash-attn": "flash_attn", "cache-type-k": "cache_type_k" };

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  for (const c of children) e.append(c);
  return e;
}

function svg(tag, attrs, text) {
  const e = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

// The query as [name, value] pairs, in the API's names: model, the flags given, gpu as NxID.
function query() {
  const q = [["model", $("model").value.trim()]];
  for (const name of FLAGS) {
    const field = $(name);
    if (field.closest(".engine-opt") && !field.closest(".engine-opt").classList.contains("shown")) continue;
    const v = field.value.trim();
    if (v !== "") q.push([name, v]);
  }
  const gpu = $("gpu").value;
  if (gpu !== "") {
    const n = parseInt($("count").value, 10) || 1;
    q.push(["gpu", n > 1 ? n + "x" + gpu : gpu]);
  }
  return q;
}

const queryString = (q) => q.map(([k, v]) => encodeURIComponent(k) + "=" + encodeURIComponent(v)).join("&");

// The form from the URL's query string (a shared link).
function fromUrl() {
  const p = new URLSearchParams(location.search);
  if (p.has("model")) $("model").value = p.get("model");
  for (const name of FLAGS) if (p.has(name)) $(name).value = p.get(name);
  if (p.has("gpu")) {
    const m = /^(\d+)x(.+)$/.exec(p.get("gpu"));
    $("count").value = m ? m[1] : "1";
    setGpu(m ? m[2] : p.get("gpu"));
  }
}

function setGpu(id) {
  const select = $("gpu");
  if (![...select.options].some((o) => o.value === id)) select.append(el("option", { value: id }, id));
  select.value = id;
}

function showEngineOptions() {
  const engine = $("engine").value;
  for (const label of document.querySelectorAll(".engine-opt")) {
    label.classList.toggle("shown", label.dataset.engine === engine);
  }
}

async function api(path) {
  const r = await fetch(path);
  return { status: r.status, body: await r.json() };
}

// The verdict line, as the CLI's table words it, for the first GPU asked for.
function verdict(doc) {
  const asked = doc.fit.filter((f) => f.requested);
  if (asked.length === 0) {
    const fits = doc.fit.filter((f) => f.fits);
    return { cls: fits.length ? "fits" : "nofit",
             text: fits.length ? "Fits on " + fits.length + " of the catalog's GPU configurations below."
                               : "Fits on none of the catalog's GPUs." };
  }
  const f = asked[0];
  const where = f.count + "× " + f.gpu_name + " (tp " + f.tp + ", pp " + f.pp + ")";
  if (f.fits) {
    return { cls: "fits", text: "FITS on " + where + ": " + formatBytes(f.required_bytes_per_gpu) + " per GPU, " +
             formatBytes(f.headroom_bytes) + " headroom on each." };
  }
  return { cls: "nofit", text: "DOES NOT FIT on " + where + ": " + formatBytes(f.required_bytes_per_gpu) +
           " per GPU, " + formatBytes(f.usable_bytes) + " usable." + (f.problem ? " " + f.problem : "") };
}

function memoryRows(doc) {
  const m = doc.memory, s = doc.settings;
  const rows = [
    ["Weights", m.weights_bytes, s.quant + ", " + withCommas(doc.model.params_total) + " params"],
    ["KV cache", m.kv_cache_bytes, formatBytes(m.kv_bytes_per_token) + "/token × " + withCommas(s.context_tokens) +
      " tokens × " + s.batch + (s.batch === 1 ? " sequence" : " sequences") + ", " + s.kv_dtype],
  ];
  if (m.state_bytes > 0) rows.push(["Recurrent state", m.state_bytes, ""]);
  rows.push(["Runtime overhead", m.overhead_bytes, "per GPU"]);
  rows.push(["Total", m.total_bytes, "on one GPU"]);
  return rows;
}

function render(doc) {
  const v = verdict(doc);
  $("verdict").className = "verdict " + v.cls;
  $("verdict").textContent = v.text;
  const s = doc.settings;
  $("summary").textContent = doc.model.name + " (" + doc.model.id + "): weights " + s.quant + " · KV cache " +
    s.kv_dtype + " · context " + withCommas(s.context_tokens) + " tokens · batch " + s.batch;
  const table = $("memory");
  table.replaceChildren();
  for (const [name, bytes, why] of memoryRows(doc)) {
    table.append(el("tr", { "data-line": name }, el("td", {}, name), el("td", { class: "num" }, formatBytes(bytes)),
                    el("td", { class: "why" }, why)));
  }
  const bars = $("bars");
  bars.replaceChildren();
  const rows = doc.fit.filter((f) => f.requested);
  for (const f of rows.length ? rows : doc.fit) {
    const used = el("div", { class: "used" + (f.fits ? "" : " over") });
    used.style.width = Math.min(100, (100 * f.required_bytes_per_gpu) / Math.max(1, f.usable_bytes)).toFixed(1) + "%";
    bars.append(el("div", { class: "bar", "data-gpu": f.gpu },
      el("div", { class: "label" }, f.count + "× " + f.gpu_name + ": " + formatBytes(f.required_bytes_per_gpu) +
         " of " + formatBytes(f.usable_bytes) + (f.fits ? "" : " (does not fit)")),
      el("div", { class: "track" }, used)));
  }
  $("notes").replaceChildren(...doc.notes.map((n) => el("li", {}, n)));
}

// Memory against context: the same request at up to 8 contexts (doubling from 1k to the
// model's maximum or the context asked, whichever is longer), drawn as one line, with the
// first requested GPU's usable memory as a dashed line.
async function plot(base, doc) {
  const box = $("plot");
  box.replaceChildren();
  const max = Math.max(doc.model.max_context_tokens, doc.settings.context_tokens);
  const contexts = [];
  for (let c = 1024; c < max && contexts.length < 7; c *= 2) contexts.push(c);
  contexts.push(max);
  const points = [];
  for (const c of contexts) {
    const q = base.filter(([k]) => k !== "ctx").concat([["ctx", String(c)]]);
    const r = await api("/v1/estimate?" + queryString(q));
    if (r.status !== 200) return;
    const asked = r.body.fit.find((f) => f.requested);
    points.push([c, asked ? asked.required_bytes_per_gpu : r.body.memory.total_bytes]);
  }
  const asked = doc.fit.find((f) => f.requested);
  const cap = asked ? asked.usable_bytes : 0;
  const W = 600, H = 220, L = 70, B = 30, T = 10, R = 10;
  const ymax = Math.max(cap, ...points.map((p) => p[1])) * 1.05;
  const lx = (c) => L + ((W - L - R) * Math.log2(c / contexts[0])) / Math.max(1, Math.log2(max / contexts[0]));
  const ly = (b) => H - B - ((H - B - T) * b) / ymax;
  const g = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": "memory against context length" });
  g.append(svg("line", { class: "axis", x1: L, y1: H - B, x2: W - R, y2: H - B }));
  g.append(svg("line", { class: "axis", x1: L, y1: T, x2: L, y2: H - B }));
  g.append(svg("polyline", { class: "need", points: points.map(([c, b]) => lx(c) + "," + ly(b)).join(" ") }));
  if (cap > 0) {
    g.append(svg("line", { class: "cap", x1: L, y1: ly(cap), x2: W - R, y2: ly(cap) }));
    g.append(svg("text", { x: W - R, y: ly(cap) - 4, "text-anchor": "end" }, "usable " + formatBytes(cap)));
  }
  for (const [c, b] of points) {
    g.append(svg("circle", { cx: lx(c), cy: ly(b), r: 3, fill: "currentColor" }));
    g.append(svg("text", { x: lx(c), y: H - B + 14, "text-anchor": "middle" }, c >= 1024 ? c / 1024 + "k" : String(c)));
  }
  g.append(svg("text", { x: 4, y: T + 10 }, formatBytes(ymax / 1.05)));
  g.append(svg("text", { x: 4, y: H - B }, "0"));
  box.append(el("p", {}, (asked ? "Per GPU" : "Total") + " memory against context (tokens):"), g);
}

async function estimate() {
  const q = query();
  history.replaceState(null, "", "?" + queryString(q));
  const r = await api("/v1/estimate?" + queryString(q));
  if (r.status !== 200) {
    $("verdict").className = "verdict error";
    $("verdict").textContent = r.body.error ? r.body.error.message : "error " + r.status;
    for (const id of ["memory", "bars", "plot", "notes"]) $(id).replaceChildren();
    $("summary").textContent = "";
    return;
  }
  render(r.body);
  await plot(q, r.body);
  document.body.dataset.done = "1";
}

// The same request as a command line, and as a deployment of a `vramcalc check` file.
function asCli() {
  const parts = ["vramcalc"];
  for (const [k, v] of query()) {
    if (k === "model") parts.splice(1, 0, v);
    else parts.push("--" + k, /^[\w.,:%-]+$/.test(v) ? v : "'" + v.replace(/'/g, "'\\''") + "'");
  }
  return parts.join(" ");
}

function asYaml() {
  const q = Object.fromEntries(query());
  const keys = { quant: "quant", kv: "kv_dtype", ctx: "context", batch: "batch", engine: "engine", gpu: "gpu" };
  const lines = ["deployments:", "  - name: " + q.model, "    model: " + q.model];
  for (const [k, key] of Object.entries(keys)) if (q[k] !== undefined) lines.push("    " + key + ": " + q[k]);
  const opts = Object.entries(ENGINE_KEYS).filter(([k]) => q[k] !== undefined);
  if (opts.length) {
    lines.push("    engine_options:");
    for (const [k, key] of opts) lines.push("      " + key + ": " + q[k]);
  }
  return lines.join("\n") + "\n";
}

async function copy(text) {
  $("copied").hidden = false;
  $("copied").textContent = text;
  try { await navigator.clipboard.writeText(text); } catch (e) { /* shown below the answer instead */ }
}

async function start() {
  const [models, gpus] = await Promise.all([api("/v1/models"), api("/v1/gpus")]);
  const names = $("models");
  for (const m of models.body.models) {
    names.append(el("option", { value: m.id }, m.name));
    for (const a of m.aliases) names.append(el("option", { value: a }, m.id));
  }
  for (const g of gpus.body.gpus) $("gpu").append(el("option", { value: g.id }, g.name));
  fromUrl();
  showEngineOptions();
  await formats();
  $("engine").addEventListener("change", showEngineOptions);
  $("model").addEventListener("change", formats);
  $("form").addEventListener("submit", (e) => { e.preventDefault(); estimate(); });
  $("copy-cli").addEventListener("click", () => copy(asCli()));
  $("copy-yaml").addEventListener("click", () => copy(asYaml()));
  if (location.search) await estimate();
}

async function formats() {
  const r = await api("/v1/formats?model=" + encodeURIComponent($("model").value.trim() || "llama3-8b"));
  const list = $("formats");
  list.replaceChildren();
  if (r.status === 200) for (const f of r.body.formats) list.append(el("option", { value: f.id }, f.description));
}

start();

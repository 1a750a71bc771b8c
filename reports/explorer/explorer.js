// claa explorer: the token view and the per-layer drill-down of one run.
// The run's data is embedded as JSON in #claa-data ("claa-explorer" version 1); everything is drawn from it
// with plain DOM/SVG calls: no library and no network, so the page also works from file://.
'use strict';
// The embedded data: JSON, or {"encoding": "deflate-base64", "data": ...} — the writer deflates it where
// zlib is built in (4–5× smaller); the browser inflates it with DecompressionStream (no library).
async function loadExplorerData() {
  const embedded = JSON.parse(document.getElementById('claa-data').textContent);
  if (embedded.encoding !== 'deflate-base64') return embedded;
  const bytes = Uint8Array.from(atob(embedded.data), (ch) => ch.charCodeAt(0));
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('deflate'));
  return JSON.parse(await new Response(stream).text());
}

loadExplorerData().then(function (DATA) {
  const PAGE_SIZE = 512;            // spans per pane and page: keeps 8K-token prompts fluid
  const SVG_NS = 'http://www.w3.org/2000/svg';
  // Okabe-Ito + Tableau colours; a heuristic's style is (colour, dash), unique for up to 40 heuristics.
  const COLOURS = ['#0072b2', '#d55e00', '#009e73', '#cc79a7', '#e69f00', '#56b4e9', '#000000',
    '#8c564b', '#7f7f7f', '#bcbd22'];
  const DASHES = ['', '7 3', '2 2', '9 3 2 3'];
  const $ = (id) => document.getElementById(id);
  const views = DATA.token_views || [];
  const heuristics = DATA.heuristics || [];

  // What is on screen. view = index into token_views, keep = index into that view's keep_rates.
  const state = {
    view: 0, a: null, b: null, layer: 0, keep: 0, page: 0,
    metric: null, detail: null, hidden: new Set(),
  };
  const panes = { A: null, B: null };   // last pane models (see paneModel)

  // ---------- small helpers ----------

  function pct(rate) { return `${+(rate * 100).toFixed(2)}%`; }
  function fmt(v, digits = 4) { return v == null || !Number.isFinite(v) ? '—' : v.toFixed(digits); }
  function isNum(v) { return typeof v === 'number' && Number.isFinite(v); }

  function option(value, label, attrs = {}) {
    const o = document.createElement('option');
    o.value = String(value);
    o.textContent = label;
    for (const [k, v] of Object.entries(attrs)) o.setAttribute(k, v);
    return o;
  }

  function fillSelect(sel, options, value) {
    sel.replaceChildren(...options);
    if (value != null) sel.value = String(value);
  }

  function svg(name, attrs = {}, parent = null) {
    const e = document.createElementNS(SVG_NS, name);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (parent) parent.appendChild(e);
    return e;
  }

  function styleOf(h) {
    const i = Math.max(0, heuristics.indexOf(h));
    return { colour: COLOURS[i % COLOURS.length], dash: DASHES[Math.floor(i / COLOURS.length) % DASHES.length] };
  }

  // ---------- levels strings: the one decoder for kept and oracle sets ----------

  // A level character is '.' (never kept) or the base-36 index of the smallest keep rate whose set holds the token.
  function levelOf(ch) { return ch === '.' ? Infinity : parseInt(ch, 36); }

  // Flags (1 = in the set) of the tokens kept at keep index i. An entry is a levels string, or — for a
  // layer whose sets are not nested (PyramidKV's integer budgets) — one flag string per keep rate.
  function decodeSet(entry, i) {
    if (Array.isArray(entry)) {
      const f = entry[i] || '';
      return Uint8Array.from(f, (ch) => (ch === '1' ? 1 : 0));
    }
    const flags = new Uint8Array(entry.length);
    for (let t = 0; t < entry.length; t++) if (levelOf(entry[t]) <= i) flags[t] = 1;
    return flags;
  }

  // How many tokens an entry covers (the positions its ranking was compared on).
  function rankedLength(entry) { return Array.isArray(entry) ? (entry[0] || '').length : entry.length; }

  // A token's level text in an entry: "kept from 10%", or for flag strings the rates that keep it.
  function entryText(view, entry, t) {
    if (!Array.isArray(entry)) return levelText(view, entry[t]);
    const rates = entry.map((f, i) => (f[t] === '1' ? pct(view.keep_rates[i]) : null)).filter((r) => r);
    return rates.length ? `kept at ${rates.join(', ')}` : 'never kept';
  }

  function flagsToList(flags) {
    const out = [];
    for (let t = 0; t < flags.length; t++) if (flags[t]) out.push(t);
    return out;
  }

  // A heuristic's entry at one layer: n_layers entries, or one when it is layer-independent.
  function keptLevels(view, h, layer) {
    const k = view.kept ? view.kept[h] : undefined;
    if (k == null) return null;
    if (typeof k === 'string') return k;
    if (k.length === 1) return k[0];
    return k[layer] ?? null;
  }

  function levelText(view, ch) {
    if (ch == null) return '—';
    const d = levelOf(ch);
    return d === Infinity ? 'never kept' : `kept from ${pct(view.keep_rates[d])}`;
  }

  // ---------- token view model ----------

  function currentView() { return views[state.view]; }

  // Everything a pane shows, computed once per selection; keptSet() and the span classes both read it.
  function paneModel(view, h, layer, keep) {
    const levels = keptLevels(view, h, layer);
    if (levels === null) return { heuristic: h, missing: true, why: 'not recorded for this sample' };
    // "" is how the run records a layer whose scores were not finite: there is no kept set to show.
    if (levels === '') return { heuristic: h, missing: true, why: 'no kept set at this layer (non-finite scores)' };
    const kept = decodeSet(levels, keep);
    // A ranking covers the positions it was compared on (the prompt less the query window W for the
    // window-query heuristics, the whole prompt for the others); the oracle's set is its top-k there.
    const ranked = rankedLength(levels);
    const oracleLevels = view.oracle_levels[String(ranked)];
    if (oracleLevels == null) return { heuristic: h, missing: true, why: `no oracle set for ${ranked} ranked tokens` };
    const oracle = decodeSet(oracleLevels, keep);
    const c = { hits: 0, misses: 0, falseKeeps: 0, oracle: 0 };
    for (let t = 0; t < ranked; t++) {
      if (oracle[t]) c.oracle++;
      const s = stateOf(kept, oracle, t);
      if (s === 'hit') c.hits++; else if (s === 'miss') c.misses++; else if (s === 'false-keep') c.falseKeeps++;
    }
    return { heuristic: h, missing: false, kept, oracle, ranked, oracleLevels, counts: c };
  }

  // The single place that decides hit / miss / false keep of a scored token.
  function stateOf(kept, oracle, t) {
    if (kept[t]) return oracle[t] ? 'hit' : 'false-keep';
    return oracle[t] ? 'miss' : '';
  }

  function tokenClasses(view, model, t, evidence) {
    let c = 'tok';
    if (model && !model.missing && t >= model.ranked) c += ' window';
    else if (model && !model.missing) {
      const s = stateOf(model.kept, model.oracle, t);
      if (s === 'hit' || s === 'false-keep') c += ' kept';
      if (s) c += ' ' + s;
    }
    if (evidence[t]) c += ' evidence';
    return c;
  }

  // Per-view data that does not depend on the heuristic: evidence flags and the oracle's maximum mass.
  const viewCache = new Map();
  function viewInfo(view) {
    if (!viewCache.has(view)) {
      const ev = new Uint8Array(view.tokens.length);
      for (const [b, e] of view.evidence || []) for (let t = b; t < e && t < ev.length; t++) ev[t] = 1;
      let max = 0;
      for (const m of view.oracle || []) if (m > max) max = m;
      viewCache.set(view, { evidence: ev, oracleMax: max });
    }
    return viewCache.get(view);
  }

  // Newlines keep their line break but get a visible mark; an empty token gets a thin placeholder.
  function shownText(s) {
    if (s === '') return '∅';
    return s.replace(/\r/g, '').replace(/\n/g, '↵\n');
  }

  // ---------- token view rendering ----------

  function pageCount(view) { return Math.max(1, Math.ceil(view.tokens.length / PAGE_SIZE)); }

  function renderPane(el, model, view) {
    const head = el.querySelector('.pane-head');
    const box = el.querySelector('.tokens');
    head.replaceChildren(paneHead(model, view));
    const info = viewInfo(view);
    const start = state.page * PAGE_SIZE;
    const end = Math.min(view.tokens.length, start + PAGE_SIZE);
    const frag = document.createDocumentFragment();
    for (let t = start; t < end; t++) {
      const span = document.createElement('span');
      span.className = tokenClasses(view, model, t, info.evidence);
      span.dataset.i = t;
      span.textContent = shownText(view.tokens[t]);
      const m = view.oracle[t] ?? 0;
      if (m > 0 && info.oracleMax > 0) {
        span.style.backgroundColor = `rgba(240, 200, 0, ${(0.85 * Math.sqrt(m / info.oracleMax)).toFixed(3)})`;
      }
      frag.appendChild(span);
    }
    box.replaceChildren(frag);
  }

  function paneHead(model, view) {
    const div = document.createElement('div');
    const name = document.createElement('strong');
    name.textContent = `${model.heuristic} · layer ${state.layer} · keep ${pct(view.keep_rates[state.keep])}`;
    div.appendChild(name);
    const p = document.createElement('div');
    p.className = 'counts';
    if (model.missing) {
      p.textContent = model.why;
      p.classList.add('warn');
    } else {
      const c = model.counts;
      const recall = c.oracle ? c.hits / c.oracle : NaN;
      p.textContent = `hits ${c.hits} · misses ${c.misses} · false keeps ${c.falseKeeps} · ` +
        `oracle set ${c.oracle} · recall ${Number.isFinite(recall) ? recall.toFixed(3) : '—'}`;
      if (model.ranked < view.tokens.length) p.textContent += ` · ranks ${model.ranked} tokens, the query window is kept`;
    }
    div.appendChild(p);
    return div;
  }

  function renderSampleInfo(view) {
    const s = DATA.samples[view.sample] || {};
    const rows = [
      ['sample', s.id], ['dataset', s.dataset], ['score', `${s.score} / ${s.max_score}`],
      ['prompt tokens', view.tokens.length], ['evidence spans', (view.evidence || []).length],
      ['answer', JSON.stringify(view.answer ?? s.answer ?? '')],
      ['gold', (view.gold || []).map((g) => JSON.stringify(g)).join(', ') || '—'],
    ];
    const dl = document.createElement('dl');
    for (const [k, v] of rows) {
      const dt = document.createElement('dt'); dt.textContent = k;
      const dd = document.createElement('dd'); dd.textContent = v == null ? '—' : String(v);
      dl.append(dt, dd);
    }
    $('sample-info').replaceChildren(dl);
  }

  function renderPager(view) {
    const n = pageCount(view);
    const start = state.page * PAGE_SIZE;
    const end = Math.min(view.tokens.length, start + PAGE_SIZE);
    $('page-info').textContent = `page ${state.page + 1} / ${n} (tokens ${start}–${end - 1})`;
    $('page-prev').disabled = state.page === 0;
    $('page-next').disabled = state.page >= n - 1;
    $('jump-evidence').disabled = !(view.evidence || []).length;
  }

  function renderTokenView() {
    const view = currentView();
    if (!view) return;
    panes.A = paneModel(view, state.a, state.layer, state.keep);
    panes.B = state.b ? paneModel(view, state.b, state.layer, state.keep) : null;
    renderPane($('pane-a'), panes.A, view);
    $('pane-b').hidden = !panes.B;
    $('tv-body').classList.toggle('single', !panes.B);
    if (panes.B) renderPane($('pane-b'), panes.B, view);
    renderPager(view);
    renderSampleInfo(view);
  }

  // Go to the page holding token t and scroll it into view in both panes.
  function showToken(t) {
    state.page = Math.floor(t / PAGE_SIZE);
    renderTokenView();
    for (const id of ['pane-a', 'pane-b']) {
      const span = $(id).querySelector(`.tok[data-i="${t}"]`);
      if (span && !$(id).hidden) span.scrollIntoView({ block: 'center' });
    }
  }

  // Next evidence span starting after the current page (wrapping around), so repeated clicks visit them all.
  function jumpToEvidence() {
    const view = currentView();
    const starts = (view.evidence || []).map((s) => s[0]).sort((x, y) => x - y);
    if (!starts.length) return;
    const after = (state.page + 1) * PAGE_SIZE;
    showToken(starts.find((b) => b >= after) ?? starts[0]);
  }

  function jumpToMiss() {
    const m = panes.A;
    if (!m || m.missing) return;
    const after = (state.page + 1) * PAGE_SIZE;
    let first = -1, next = -1;
    for (let t = 0; t < m.kept.length; t++) {
      if (stateOf(m.kept, m.oracle, t) !== 'miss') continue;
      if (first < 0) first = t;
      if (t >= after) { next = t; break; }
    }
    if (first >= 0) showToken(next >= 0 ? next : first);
  }

  function levels(model) { return keptLevels(currentView(), model.heuristic, state.layer); }

  function tokenHover(ev) {
    const span = ev.target.closest('.tok[data-i]');
    if (!span) return;
    const view = currentView();
    const t = +span.dataset.i;
    let text = `#${t} ${JSON.stringify(view.tokens[t])}`;
    text += ` · oracle mass ${(view.oracle[t] ?? 0).toExponential(2)}`;
    for (const [name, m] of [['A', panes.A], ['B', panes.B]]) {
      if (!m) continue;
      if (m.missing) text += ` · ${name} ${m.heuristic}: ${m.why}`;
      else if (t >= m.ranked) text += ` · ${name} ${m.heuristic}: query window (always kept)`;
      else text += ` · ${name} ${m.heuristic}: ${entryText(view, levels(m), t)}, oracle ${levelText(view, m.oracleLevels[t])}`;
    }
    $('tok-readout').textContent = text;
  }

  // ---------- token view controls ----------

  function fillTokenControls() {
    fillSelect($('sel-sample'), views.map((v, i) => {
      const s = DATA.samples[v.sample] || {};
      return option(i, `${s.id} (${s.dataset}, score ${s.score})`, { 'data-id': s.id ?? '' });
    }), state.view);
    fillSelect($('sel-layer'), Array.from({ length: DATA.n_layers }, (_, l) => option(l, `layer ${l}`)), state.layer);
    fillHeuristicSelects();
    fillKeepSelect();
  }

  // Heuristic names carry "(not recorded)" when the current sample lacks their kept sets.
  function fillHeuristicSelects() {
    const view = currentView();
    const label = (h) => (view && keptLevels(view, h, 0) === null ? `${h} (not recorded)` : h);
    fillSelect($('sel-a'), heuristics.map((h) => option(h, label(h))), state.a);
    fillSelect($('sel-b'), [option('', 'none'), ...heuristics.map((h) => option(h, label(h)))], state.b ?? '');
  }

  function fillKeepSelect() {
    const view = currentView();
    const rates = view ? view.keep_rates : [];
    state.keep = Math.min(state.keep, Math.max(0, rates.length - 1));
    fillSelect($('sel-keep'), rates.map((r, i) => option(i, pct(r))), state.keep);
  }

  function onTokenControl() {
    const view = +$('sel-sample').value;
    if (view !== state.view) {
      state.view = view;
      state.page = 0;
      fillKeepSelect();
    }
    state.a = $('sel-a').value;
    state.b = $('sel-b').value || null;
    state.layer = +$('sel-layer').value;
    state.keep = +$('sel-keep').value;
    fillHeuristicSelects();
    renderTokenView();
  }

  function setDefaults() {
    state.a = heuristics.includes('claa') ? 'claa' : heuristics[0] ?? null;
    state.b = heuristics.includes('fastkv') ? 'fastkv' : null;
    state.layer = Math.max(0, Math.floor(DATA.n_layers / 2) - 1);
    state.keep = 0;
    state.metric = (DATA.metric_names || []).includes('spearman') ? 'spearman' : (DATA.metric_names || [])[0];
  }

  // ---------- drill-down statistics ----------

  const statsCache = new Map();

  // Mean, standard error (sample std / sqrt(n)) and the values of one metric, heuristic and layer; nulls skipped.
  function cellStats(metric, h, layer) {
    const key = `${metric}\u0000${h}\u0000${layer}`;
    if (!statsCache.has(key)) {
      const rows = ((DATA.metrics || {})[metric] || {})[h] || [];
      const values = rows.map((r) => (r ? r[layer] : null)).filter(isNum);
      const n = values.length;
      const mean = n ? values.reduce((s, v) => s + v, 0) / n : null;
      let se = null;
      if (n > 1) {
        const ss = values.reduce((s, v) => s + (v - mean) ** 2, 0);
        se = Math.sqrt(ss / (n - 1)) / Math.sqrt(n);
      }
      statsCache.set(key, { n, mean, se, values: rows.map((r) => (r && isNum(r[layer]) ? r[layer] : null)) });
    }
    return statsCache.get(key);
  }

  function metricRange(metric) {
    let lo = Infinity, hi = -Infinity;
    for (const h of heuristics) {
      for (let l = 0; l < DATA.n_layers; l++) {
        const m = cellStats(metric, h, l).mean;
        if (m != null) { lo = Math.min(lo, m); hi = Math.max(hi, m); }
      }
    }
    return lo <= hi ? [lo, hi] : [0, 1];
  }

  // ---------- heatmap ----------

  // Viridis stops: perceptually even and readable in greyscale.
  const VIRIDIS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
  function heatColour(u) {
    const x = Math.min(1, Math.max(0, u)) * (VIRIDIS.length - 1);
    const i = Math.min(VIRIDIS.length - 2, Math.floor(x));
    const f = x - i;
    const c = VIRIDIS[i].map((v, k) => Math.round(v + f * (VIRIDIS[i + 1][k] - v)));
    return `rgb(${c.join(',')})`;
  }

  function renderHeatmap() {
    const metric = state.metric;
    const [lo, hi] = metricRange(metric);
    const grid = $('heatmap');
    grid.style.gridTemplateColumns = `10em repeat(${DATA.n_layers}, minmax(12px, 1fr))`;
    const cells = [document.createElement('div')];
    for (let l = 0; l < DATA.n_layers; l++) cells.push(textDiv('col-head', l % 5 === 0 ? String(l) : ''));
    for (const h of heuristics) {
      cells.push(textDiv('row-head', h));
      for (let l = 0; l < DATA.n_layers; l++) cells.push(heatCell(metric, h, l, lo, hi));
    }
    grid.replaceChildren(...cells);
    renderHeatScale(lo, hi);
  }

  function textDiv(cls, text) {
    const d = document.createElement('div');
    d.className = cls;
    d.textContent = text;
    return d;
  }

  function heatCell(metric, h, l, lo, hi) {
    const st = cellStats(metric, h, l);
    const d = document.createElement('div');
    d.className = 'cell';
    d.dataset.heuristic = h;
    d.dataset.layer = l;
    d.dataset.value = st.mean == null ? '' : st.mean.toFixed(6);
    d.title = `${h}, layer ${l}: ${metric} mean ${fmt(st.mean)} ± ${fmt(st.se)} (n=${st.n})`;
    if (st.mean == null) d.classList.add('na');
    else d.style.backgroundColor = heatColour(hi > lo ? (st.mean - lo) / (hi - lo) : 0.5);
    if (state.detail && state.detail.h === h && state.detail.layer === l) d.classList.add('selected');
    return d;
  }

  function renderHeatScale(lo, hi) {
    const bar = document.createElement('span');
    bar.className = 'scale-bar';
    bar.style.background = `linear-gradient(to right, ${[0, 0.25, 0.5, 0.75, 1].map(heatColour).join(',')})`;
    $('heat-scale').replaceChildren(`mean ${state.metric}: ${fmt(lo, 3)} `, bar, ` ${fmt(hi, 3)}`);
  }

  function heatHover(ev) {
    const c = ev.target.closest('.cell');
    if (c) $('heat-readout').textContent = c.title;
  }

  function heatClick(ev) {
    const c = ev.target.closest('.cell');
    if (!c) return;
    state.detail = { h: c.dataset.heuristic, layer: +c.dataset.layer };
    for (const s of $('heatmap').querySelectorAll('.cell.selected')) s.classList.remove('selected');
    c.classList.add('selected');
    renderDetail();
  }

  // ---------- SVG plots ----------

  // Round tick values covering [lo, hi].
  function ticks(lo, hi, count) {
    const span = hi - lo || 1;
    const step0 = span / count;
    const mag = 10 ** Math.floor(Math.log10(step0));
    const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => span / s <= count) || 10 * mag;
    const out = [];
    for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9; v += step) out.push(+v.toFixed(10));
    return out;
  }

  // An SVG with axes over layers (x) and [lo, hi] (y); returns the svg and its x / y scales.
  function plotFrame(width, height, lo, hi, yLabel) {
    const m = { l: 52, r: 12, t: 10, b: 34 };
    const root = svg('svg', { viewBox: `0 0 ${width} ${height}`, width, height, class: 'plot' });
    const nx = Math.max(1, DATA.n_layers - 1);
    const x = (l) => m.l + (l / nx) * (width - m.l - m.r);
    const y = (v) => height - m.b - ((v - lo) / (hi - lo || 1)) * (height - m.t - m.b);
    const axes = svg('g', { class: 'axes' }, root);
    for (const v of ticks(lo, hi, 5)) {
      svg('line', { x1: m.l, x2: width - m.r, y1: y(v), y2: y(v), class: 'grid' }, axes);
      svg('text', { x: m.l - 6, y: y(v) + 4, 'text-anchor': 'end' }, axes).textContent = String(v);
    }
    for (let l = 0; l < DATA.n_layers; l += DATA.n_layers > 16 ? 5 : 1) {
      svg('text', { x: x(l), y: height - m.b + 16, 'text-anchor': 'middle' }, axes).textContent = String(l);
    }
    svg('text', { x: (m.l + width - m.r) / 2, y: height - 4, 'text-anchor': 'middle' }, axes).textContent = 'layer';
    const yl = svg('text', { x: 12, y: height / 2, 'text-anchor': 'middle', transform: `rotate(-90 12 ${height / 2})` }, axes);
    yl.textContent = yLabel;
    return { root, x, y };
  }

  // Path data through the points, broken where a value is missing.
  function linePath(values, x, y) {
    let d = '', pen = false;
    values.forEach((v, l) => {
      if (v == null) { pen = false; return; }
      d += `${pen ? 'L' : 'M'}${x(l).toFixed(1)},${y(v).toFixed(1)}`;
      pen = true;
    });
    return d;
  }

  // One polygon per run of layers that have a standard error: mean + se forward, mean - se back.
  function bandPaths(stats, x, y) {
    const runs = [];
    let run = [];
    stats.forEach((s, l) => {
      if (s.mean != null && s.se != null) run.push(l);
      else if (run.length) { runs.push(run); run = []; }
    });
    if (run.length) runs.push(run);
    return runs.map((r) => {
      const up = r.map((l) => `${x(l).toFixed(1)},${y(stats[l].mean + stats[l].se).toFixed(1)}`);
      const down = r.slice().reverse().map((l) => `${x(l).toFixed(1)},${y(stats[l].mean - stats[l].se).toFixed(1)}`);
      return `M${up.join('L')}L${down.join('L')}Z`;
    });
  }

  // ---------- detail panel (one heuristic, every layer) ----------

  function renderDetail() {
    const box = $('detail');
    if (!state.detail) { box.hidden = true; return; }
    const { h, layer } = state.detail;
    const metric = state.metric;
    const stats = Array.from({ length: DATA.n_layers }, (_, l) => cellStats(metric, h, l));
    const all = stats.flatMap((s) => s.values.filter((v) => v != null));
    const lo = all.length ? Math.min(...all) : 0, hi = all.length ? Math.max(...all) : 1;
    const pad = (hi - lo) * 0.05 || 0.05;
    const { root, x, y } = plotFrame(760, 300, lo - pad, hi + pad, metric);
    const { colour } = styleOf(h);
    drawDots(root, stats, x, y, layer, colour);
    for (const d of bandPaths(stats, x, y)) svg('path', { d, class: 'band', fill: colour }, root);
    svg('path', { d: linePath(stats.map((s) => s.mean), x, y), class: 'mean-line', stroke: colour }, root);
    svg('line', { x1: x(layer), x2: x(layer), y1: y(hi + pad), y2: y(lo - pad), class: 'marker' }, root);
    box.replaceChildren(detailHead(h, layer, stats[layer], metric), root);
    box.hidden = false;
  }

  // Per-sample values as dots, spread a little sideways so equal values stay visible.
  function drawDots(root, stats, x, y, layer, colour) {
    const g = svg('g', { class: 'dots', fill: colour }, root);
    const step = Math.abs(x(1) - x(0)) * 0.6;
    stats.forEach((s, l) => {
      const n = s.values.length;
      s.values.forEach((v, j) => {
        if (v == null) return;
        const dx = n > 1 ? (j / (n - 1) - 0.5) * step : 0;
        svg('circle', { cx: (x(l) + dx).toFixed(1), cy: y(v).toFixed(1), r: l === layer ? 2.6 : 1.8,
          class: l === layer ? 'on' : '' }, g);
      });
    });
  }

  function detailHead(h, layer, st, metric) {
    const head = document.createElement('div');
    head.className = 'detail-head';
    const title = document.createElement('strong');
    title.textContent = `${h}: ${metric} per layer (mean ± stderr band, dots = samples)`;
    const info = document.createElement('span');
    info.textContent = ` layer ${layer}: mean ${fmt(st.mean)} ± ${fmt(st.se)} (n=${st.n})`;
    const open = document.createElement('button');
    open.type = 'button';
    open.textContent = 'show in token view';
    open.disabled = !views.length;
    open.onclick = () => { api.select({ a: h, layer }); $('token-view').scrollIntoView(); };
    const close = document.createElement('button');
    close.type = 'button';
    close.textContent = 'close';
    close.onclick = () => { state.detail = null; renderDetail(); renderHeatmap(); };
    head.append(title, info, ' ', open, ' ', close);
    return head;
  }

  // ---------- line plot of every heuristic ----------

  function renderLinePlot() {
    const metric = state.metric;
    const [lo, hi] = metricRange(metric);
    const pad = (hi - lo) * 0.05 || 0.05;
    const { root, x, y } = plotFrame(820, 380, lo - pad, hi + pad, `mean ${metric}`);
    for (const h of heuristics) {
      const means = Array.from({ length: DATA.n_layers }, (_, l) => cellStats(metric, h, l).mean);
      const { colour, dash } = styleOf(h);
      const p = svg('path', { d: linePath(means, x, y), class: 'line', stroke: colour, 'data-heuristic': h }, root);
      if (dash) p.setAttribute('stroke-dasharray', dash);
      if (state.hidden.has(h)) p.style.display = 'none';
      svg('title', {}, p).textContent = h;
    }
    $('line-plot').replaceChildren(root);
    renderLineLegend();
  }

  function renderLineLegend() {
    const items = heuristics.map((h) => {
      const li = document.createElement('li');
      li.dataset.heuristic = h;
      li.classList.toggle('off', state.hidden.has(h));
      const sw = svg('svg', { width: 34, height: 10, class: 'swatch' });
      const { colour, dash } = styleOf(h);
      svg('line', { x1: 1, x2: 33, y1: 5, y2: 5, stroke: colour, 'stroke-width': 2.5, 'stroke-dasharray': dash }, sw);
      li.append(sw, h);
      return li;
    });
    $('line-legend').replaceChildren(...items);
  }

  // Hidden lines get display:none, so they neither draw nor catch the mouse.
  function toggleLine(h) {
    if (state.hidden.has(h)) state.hidden.delete(h); else state.hidden.add(h);
    const path = $('line-plot').querySelector(`path[data-heuristic="${CSS.escape(h)}"]`);
    if (path) path.style.display = state.hidden.has(h) ? 'none' : '';
    const li = $('line-legend').querySelector(`li[data-heuristic="${CSS.escape(h)}"]`);
    if (li) li.classList.toggle('off', state.hidden.has(h));
    return !state.hidden.has(h);
  }

  function highlightLine(h) {
    $('line-plot').classList.toggle('dim', h != null);
    for (const p of $('line-plot').querySelectorAll('path.line')) p.classList.toggle('hl', p.dataset.heuristic === h);
  }

  // ---------- wiring ----------

  function renderDrill() {
    if (statsCache.size > 50000) statsCache.clear();    // bounds memory when many metrics are browsed
    renderHeatmap();
    renderDetail();
    renderLinePlot();
  }

  function wire() {
    for (const id of ['sel-sample', 'sel-a', 'sel-b', 'sel-layer', 'sel-keep']) $(id).addEventListener('change', onTokenControl);
    $('page-prev').onclick = () => { state.page--; renderTokenView(); };
    $('page-next').onclick = () => { state.page++; renderTokenView(); };
    $('jump-evidence').onclick = jumpToEvidence;
    $('jump-miss').onclick = jumpToMiss;
    $('tv-body').addEventListener('mouseover', tokenHover);
    syncScroll($('pane-a').querySelector('.tokens'), $('pane-b').querySelector('.tokens'));
    $('sel-metric').addEventListener('change', () => { state.metric = $('sel-metric').value; renderDrill(); });
    $('heatmap').addEventListener('mouseover', heatHover);
    $('heatmap').addEventListener('click', heatClick);
    const legend = $('line-legend');
    legend.addEventListener('click', (ev) => { const li = ev.target.closest('li'); if (li) toggleLine(li.dataset.heuristic); });
    legend.addEventListener('mouseover', (ev) => { const li = ev.target.closest('li'); highlightLine(li ? li.dataset.heuristic : null); });
    legend.addEventListener('mouseleave', () => highlightLine(null));
    // hovering a line itself highlights it too (its name shows as the path's tooltip)
    const plot = $('line-plot');
    plot.addEventListener('mouseover', (ev) => { if (ev.target.matches('path.line')) highlightLine(ev.target.dataset.heuristic); });
    plot.addEventListener('mouseout', (ev) => { if (ev.target.matches('path.line')) highlightLine(null); });
  }

  // The two panes show the same tokens, so they scroll together.
  function syncScroll(a, b) {
    let busy = false;
    const follow = (src, dst) => () => {
      if (busy) return;
      busy = true;
      dst.scrollTop = src.scrollTop;
      requestAnimationFrame(() => { busy = false; });
    };
    a.addEventListener('scroll', follow(a, b));
    b.addEventListener('scroll', follow(b, a));
  }

  // ---------- public API (used by tests/browser/check_explorer.py) ----------

  function findView(sample) {
    if (typeof sample === 'string') return views.findIndex((v) => (DATA.samples[v.sample] || {}).id === sample);
    return views.findIndex((v) => v.sample === sample);
  }

  const api = {
    ready: false,
    readyAt: null,
    // Change the token view's selection; keep is an index into the sample's keep_rates, keepRate a rate.
    select(sel = {}) {
      if (sel.sample != null) {
        const i = findView(sel.sample);
        if (i < 0) throw new Error(`no token view for sample ${sel.sample}`);
        if (i !== state.view) { state.view = i; state.page = 0; }
      }
      if (sel.a != null) state.a = sel.a;
      if (sel.b !== undefined) state.b = sel.b || null;
      if (sel.layer != null) state.layer = sel.layer;
      if (sel.keep != null || sel.keepRate != null) {
        const rates = currentView().keep_rates;
        const i = sel.keep != null ? sel.keep : rates.indexOf(sel.keepRate);
        if (!(i >= 0 && i < rates.length)) throw new Error(`no keep rate ${sel.keep ?? sel.keepRate} in this sample`);
        state.keep = i;
      }
      fillTokenControls();
      renderTokenView();
    },
    keptSet(pane) {
      const m = panes[String(pane).toUpperCase()];
      return m && !m.missing ? flagsToList(m.kept) : [];
    },
    oracleSet() {  // the oracle's set pane A's hits and misses are counted against
      const m = panes.A;
      return m && !m.missing ? flagsToList(m.oracle) : [];
    },
    toggleLine,
    meanMetric(metric, h, layer) { return cellStats(metric, h, layer).mean; },
    state,
  };
  window.claaExplorer = api;

  function init() {
    document.title = DATA.title || 'claa explorer';
    $('title').textContent = DATA.title || 'claa explorer';
    $('subtitle').textContent = `${DATA.samples.length} samples · ${heuristics.length} heuristics · ` +
      `${DATA.n_layers} layers · keep rates ${(DATA.keep_rates || []).map(pct).join(', ')} · ` +
      `${views.length} token view${views.length === 1 ? '' : 's'}`;
    // the writer may leave out token views that do not fit its size budget; say which
    const left = DATA.token_views_left_out || [];
    if (left.length) $('subtitle').textContent += ` (left out for size: ${left.join(', ')})`;
    setDefaults();
    fillSelect($('sel-metric'), (DATA.metric_names || []).map((m) => option(m, m)), state.metric);
    wire();
    if (views.length) {
      fillTokenControls();
      renderTokenView();
    } else {
      $('no-views').hidden = false;
      for (const id of ['tv-controls', 'legend', 'tv-body']) $(id).hidden = true;
      document.querySelector('.pager').hidden = true;
    }
    renderDrill();
    api.ready = true;
    api.readyAt = performance.now();
  }

  init();
}).catch((error) => {
  // A page that cannot read its own data says so instead of staying blank.
  document.getElementById('subtitle').textContent = `This page could not read its embedded data: ${error}`;
  throw error;
});

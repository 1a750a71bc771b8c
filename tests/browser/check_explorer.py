#!/usr/bin/env python3
"""Browser check of a claa explorer page against the run's samples.jsonl.

usage: check_explorer.py RUN_DIR [--html RUN_DIR/explorer.html] [--artifacts DIR] [--sample ID] [--expect-mismatch]
       check_explorer.py RUN_DIR --tamper COPY.html [...]

Reads RUN_DIR/samples.jsonl on its own (the page is not trusted), opens the page in headless Chromium from
file:// with every other request blocked, drives the token view through its <select> elements and compares
window.claaExplorer.keptSet / oracleSet and the classes of the visible token spans with the sets decoded from
the records; checks a heatmap cell's mean spearman and the line plot legend toggle; writes screenshots.
Exit 0 with "browser check: ok (...)" when everything agrees, else 1 with one line per disagreement;
--expect-mismatch inverts that (for a page whose embedded data was tampered with). --tamper COPY.html writes a
copy of the page whose embedded data drops one token from the checked heuristic's kept set (its first token kept
at the smallest rate, at the checked layer) and checks that copy with --expect-mismatch: it shows the check fails
when the page and samples.jsonl disagree.
Without playwright or Chromium it prints "CLAA-SKIP: <why>" and exits 0.
"""
import argparse
import base64
import json
import math
import os
import random
import re
import sys
import time
import zlib
from pathlib import Path

STATE_CLASSES = ("kept", "hit", "miss", "false-keep")


def decode(levels, i):
    """Token indices kept at keep index i of a recorded entry: a levels string ('.' = never, else the base-36
    smallest keep index), or one flag string per keep rate ('1' = kept) where the sets are not nested."""
    if isinstance(levels, list):
        return [t for t, c in enumerate(levels[i]) if c == "1"]
    return [t for t, c in enumerate(levels) if c != "." and int(c, 36) <= i]


def ranked(levels):
    """How many tokens a recorded entry covers."""
    return len(levels[0] if isinstance(levels, list) else levels)


def levels_at(view, h, layer):
    k = view["kept"].get(h)
    if k is None:
        return None
    return k[0] if len(k) == 1 else k[layer]


def oracle_at(view, levels, keep):
    """The oracle's set a ranking is measured against: its top-k on the positions that ranking covers."""
    return decode(view["oracle_levels"][str(ranked(levels))], keep)


def expected_classes(ranked, kept, oracle, t):
    """The state classes span t must carry (tokens a ranking does not cover: none)."""
    if t >= ranked:
        return set()
    if t in kept:
        return {"kept", "hit"} if t in oracle else {"kept", "false-keep"}
    return {"miss"} if t in oracle else set()


class Check:
    def __init__(self, page):
        self.page = page
        self.problems = []
        self.notes = []

    def fail(self, msg):
        self.problems.append(msg)

    def select(self, sel_id, value):
        self.page.select_option(f"#{sel_id}", value=str(value))

    def compare_sets(self, what, got, want):
        if list(got) != list(want):
            g, w = set(got), set(want)
            self.fail(f"{what}: page has {len(g)} tokens, samples.jsonl {len(w)}; "
                      f"only on page {sorted(g - w)[:5]}, only in jsonl {sorted(w - g)[:5]}")

    def dom_classes(self, pane_id):
        return self.page.evaluate(
            """id => Array.from(document.querySelectorAll('#' + id + ' .tok[data-i]'),
                                 s => [+s.dataset.i, s.className])""", pane_id)

    def compare_dom(self, label, pane_id, view, levels, kept, oracle):
        spans = self.dom_classes(pane_id)
        if not spans:
            self.fail(f"{label}: no token spans in #{pane_id}")
        if len(spans) > 512:
            self.fail(f"{label}: {len(spans)} spans on one page (> 512)")
        kept, oracle = set(kept), set(oracle)
        evidence = {t for b, e in view.get("evidence", []) for t in range(b, e)}
        bad = 0
        for t, cls in spans:
            have = set(cls.split()) & {*STATE_CLASSES, "evidence", "window"}
            want = expected_classes(ranked(levels), kept, oracle, t)
            want |= {"evidence"} if t in evidence else set()
            want |= {"window"} if t >= ranked(levels) else set()
            if have != want:
                if bad < 3:
                    self.fail(f"{label}: token {t} has classes {sorted(have)}, expected {sorted(want)}")
                bad += 1
        if bad > 3:
            self.fail(f"{label}: {bad - 3} more tokens with wrong classes")
        return len(spans)

    def check_pane(self, label, pane, pane_id, view, h, layer, keep):
        levels = levels_at(view, h, layer)
        got = self.page.evaluate("p => window.claaExplorer.keptSet(p)", pane)
        if not levels:  # not recorded, or a layer with non-finite scores
            if got:
                self.fail(f"{label}: {h} has no kept set in samples.jsonl but the page keeps {len(got)} tokens")
            return
        kept, oracle = decode(levels, keep), oracle_at(view, levels, keep)
        self.compare_sets(f"{label} keptSet({pane}) {h} layer {layer} keep #{keep}", got, kept)
        if pane == "A":
            self.compare_sets(f"{label} oracleSet {h} keep #{keep}",
                              self.page.evaluate("window.claaExplorer.oracleSet()"), oracle)
        self.compare_dom(f"{label} DOM", pane_id, view, levels, kept, oracle)


DATA_RE = re.compile(r'(<script type="application/json" id="claa-data">)(.*?)(</script>)', re.S)


def tamper(src, dst, sample_id, heuristic, layer):
    """A copy of the page whose embedded kept set of (sample, heuristic, layer) lacks one token."""
    page = Path(src).read_text(encoding="utf-8")
    m = DATA_RE.search(page)
    data = json.loads(m.group(2))
    deflated = data.get("encoding") == "deflate-base64"  # the writer's compressed form
    if deflated:
        data = json.loads(zlib.decompress(base64.b64decode(data["data"])))
    view = next(v for v in data["token_views"] if data["samples"][v["sample"]]["id"] == sample_id)
    kept = view["kept"][heuristic]                 # one entry per layer, or one for every layer
    at = 0 if len(kept) == 1 else layer
    if isinstance(kept[at], list):                  # flag strings per keep rate: drop from the first
        t = kept[at][0].index("1")
        kept[at][0] = kept[at][0][:t] + "." + kept[at][0][t + 1:]
    else:                                           # levels: kept at the smallest rate -> never kept
        t = kept[at].index("0")
        kept[at] = kept[at][:t] + "." + kept[at][t + 1:]
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    if deflated:
        text = json.dumps({"encoding": "deflate-base64",
                           "data": base64.b64encode(zlib.compress(text.encode("utf-8"), 9)).decode("ascii")})
    text = text.replace("<", "\\u003c")
    Path(dst).write_text(page[:m.start(2)] + text + page[m.end(2):], encoding="utf-8")
    print(f"tampered copy {dst}: {heuristic} layer {layer} token {t} of sample {sample_id} no longer kept")


def default_choice(records):
    """The combination the check starts with: claa and fastkv (else the first two), layer L/2 - 1, keep #0."""
    heuristics = list(records[0]["heuristics"])
    n_layers = len(records[0]["heuristics"][heuristics[0]]["layers"])
    a, b = ("claa", "fastkv") if {"claa", "fastkv"} <= set(heuristics) else (heuristics + heuristics)[:2]
    return heuristics, n_layers, a, b, max(0, n_layers // 2 - 1), 0


def run_check(args, records, view_rec):
    from playwright.sync_api import sync_playwright

    view = view_rec["token_view"]
    heuristics, n_layers, a, b, layer, keep = default_choice(records)
    html = Path(args.html or Path(args.run_dir, "explorer.html")).resolve()
    shots = Path(args.artifacts or Path(args.run_dir, "browser_artifacts"))
    shots.mkdir(parents=True, exist_ok=True)
    errors = []

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=os.environ.get("CLAA_CHROMIUM", "/usr/bin/chromium"),
                                    args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1500, "height": 1000})
        page.on("console", lambda m: m.type == "error" and errors.append(f"console error: {m.text}"))
        page.on("pageerror", lambda e: errors.append(f"page error: {e}"))

        def route(r):
            if r.request.url.startswith(("file:", "data:", "about:")):
                r.continue_()
            else:
                errors.append(f"blocked network request: {r.request.url}")
                r.abort()
        page.route("**/*", route)

        c = Check(page)
        t0 = time.perf_counter()
        page.goto(html.as_uri())
        page.wait_for_function("window.claaExplorer && window.claaExplorer.ready === true", timeout=60000)
        wall_ms = (time.perf_counter() - t0) * 1000
        ready_ms = page.evaluate("window.claaExplorer.readyAt")
        load = f"load {ready_ms:.0f} ms navigation->ready ({wall_ms:.0f} ms wall), page {html.stat().st_size / 1e6:.2f} MB"
        print(f"explorer {load}")

        # 1. the default combination, set through the UI
        value = page.evaluate("id => { const o = Array.from(document.querySelectorAll('#sel-sample option'))"
                              ".find(o => o.dataset.id === id); return o ? o.value : null; }", view_rec["id"])
        if value is None:
            c.fail(f"sample selector has no option for {view_rec['id']}")
        else:
            c.select("sel-sample", value)
        c.select("sel-a", a)
        c.select("sel-b", b)
        c.select("sel-layer", layer)
        c.select("sel-keep", keep)
        c.check_pane("A", "A", "pane-a", view, a, layer, keep)
        c.check_pane("B", "B", "pane-b", view, b, layer, keep)
        page.locator("#token-view").screenshot(path=str(shots / "token_view.png"))
        pages = 1
        if len(view["tokens"]) > 512 and page.is_enabled("#page-next"):  # the next page must agree too
            page.click("#page-next")
            c.check_pane("A page 2", "A", "pane-a", view, a, layer, keep)
            pages = 2
        if view.get("evidence"):              # "jump to evidence" shows a page where an evidence span starts
            page.click("#jump-evidence")
            shown = {t for t, _ in c.dom_classes("pane-a")}
            if not any(b in shown for b, _ in view["evidence"]):
                c.fail(f"jump to evidence: no evidence span starts on the page shown ({min(shown)}..{max(shown)})")
            c.check_pane("A at the evidence", "A", "pane-a", view, a, layer, keep)
            page.locator("#token-view").screenshot(path=str(shots / "token_view_evidence.png"))

        # 2. one more (heuristic, layer, keep), fixed seed
        rng = random.Random(20240607)
        h2 = rng.choice(sorted(view["kept"]))
        l2, k2 = rng.randrange(n_layers), rng.randrange(len(view["keep_rates"]))
        c.select("sel-a", h2)
        c.select("sel-b", "")
        c.select("sel-layer", l2)
        c.select("sel-keep", k2)
        c.check_pane(f"random ({h2}, {l2}, #{k2})", "A", "pane-a", view, h2, l2, k2)
        if page.locator("#pane-b").is_visible():
            c.fail("pane B is visible with heuristic B = none")

        # 3. heatmap cell: mean spearman over the records
        c.select("sel-metric", "spearman")
        vals = [r["heuristics"][a]["layers"][layer].get("spearman") for r in records]
        vals = [v for v in vals if isinstance(v, (int, float)) and math.isfinite(v)]
        want = sum(vals) / len(vals) if vals else None
        cell = page.locator(f'#heatmap .cell[data-heuristic="{a}"][data-layer="{layer}"]')
        if cell.count() != 1:
            c.fail(f"heatmap: {cell.count()} cells for ({a}, layer {layer})")
        else:
            got = cell.get_attribute("data-value")
            api = page.evaluate("([h, l]) => window.claaExplorer.meanMetric('spearman', h, l)", [a, layer])
            for what, g in (("cell data-value", float(got) if got else None), ("meanMetric", api)):
                if (g is None) != (want is None) or (want is not None and abs(g - want) > 1e-3):
                    c.fail(f"heatmap {what} ({a}, layer {layer}) spearman: page {g}, samples.jsonl {want}")
            cell.hover()
            cell.click()
            if not page.locator("#detail svg path.mean-line").count():
                c.fail("detail panel has no mean curve after clicking a heatmap cell")
            if not page.locator("#detail svg circle").count():
                c.fail("detail panel has no per-sample dots")
        page.locator("#drill").screenshot(path=str(shots / "heatmap_detail.png"))

        # 4. line plot: one path per heuristic, each with its own colour + dash; the legend toggles it
        styles = page.eval_on_selector_all("#line-plot path.line", """ps => ps.map(p =>
            [p.dataset.heuristic, p.getAttribute('stroke'), p.getAttribute('stroke-dasharray') || ''])""")
        if sorted(s[0] for s in styles) != sorted(heuristics):
            c.fail(f"line plot: paths for {sorted(s[0] for s in styles)}, expected {sorted(heuristics)}")
        if len({(s[1], s[2]) for s in styles}) != len(styles):
            c.fail("line plot: two heuristics share a colour + dash style")
        cells = page.locator("#heatmap .cell").count()
        if cells != len(heuristics) * n_layers:
            c.fail(f"heatmap: {cells} cells, expected {len(heuristics)} x {n_layers}")
        line = f'#line-plot path[data-heuristic="{a}"]'
        display = lambda: page.eval_on_selector(line, "e => getComputedStyle(e).display")  # noqa: E731
        if page.locator(line).count() != 1:
            c.fail(f"line plot: {page.locator(line).count()} paths for {a}")
        else:
            page.click(f'#line-legend li[data-heuristic="{a}"]')
            if display() != "none":
                c.fail(f"line plot: {a} still displayed after a legend click")
            page.click(f'#line-legend li[data-heuristic="{a}"]')
            if display() == "none":
                c.fail(f"line plot: {a} still hidden after a second legend click")
        page.hover(f'#line-legend li[data-heuristic="{heuristics[-1]}"]')
        page.locator("#lines").screenshot(path=str(shots / "line_plot.png"))
        browser.close()

    for e in errors:
        c.fail(e)
    summary = (f"sample {view_rec['id']}, A={a} B={b} layer {layer} keep #{keep}, random ({h2}, {l2}, #{k2}), "
               f"{pages} page(s), {load}; screenshots in {shots}")
    return c.problems, summary


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dir")
    ap.add_argument("--html")
    ap.add_argument("--artifacts")
    ap.add_argument("--sample")
    ap.add_argument("--expect-mismatch", action="store_true")
    ap.add_argument("--tamper", metavar="COPY.html")
    args = ap.parse_args()

    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as e:
        print(f"CLAA-SKIP: playwright is not installed ({e})")
        return 0
    chromium = os.environ.get("CLAA_CHROMIUM", "/usr/bin/chromium")
    if not os.access(chromium, os.X_OK):
        print(f"CLAA-SKIP: no Chromium at {chromium} (set CLAA_CHROMIUM)")
        return 0

    path = Path(args.run_dir, "samples.jsonl")
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    records = [r for r in records if r.get("heuristics")]  # empty answers have no rank metrics
    views = [r for r in records if "token_view" in r and (args.sample is None or r["id"] == args.sample)]
    if not records or not views:
        print(f"browser check: {path} has no record with a token_view"
              + (f" for sample {args.sample}" if args.sample else ""))
        return 0 if args.expect_mismatch else 1

    if args.tamper:
        _, _, a, _, layer, _ = default_choice(records)
        tamper(args.html or Path(args.run_dir, "explorer.html"), args.tamper, views[0]["id"], a, layer)
        args.html, args.expect_mismatch = args.tamper, True
    problems, summary = run_check(args, records, views[0])
    if args.expect_mismatch:
        if problems:
            print(f"browser check: mismatch found as expected ({len(problems)} disagreement(s); first: {problems[0]})")
            return 0
        print(f"browser check: expected a mismatch but the page agrees with samples.jsonl ({summary})")
        return 1
    if problems:
        for p in problems:
            print(p)
        return 1
    print(f"browser check: ok ({summary})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

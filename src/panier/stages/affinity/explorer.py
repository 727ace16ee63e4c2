"""The rules explorer: one self-contained HTML page for reading the model's rules.

Everything it shows is embedded in the page as JSON and drawn by a few hundred lines of plain
JavaScript and inline SVG: no library, no CDN, no network, so it opens offline from a file,
an artifact download or an email. It holds a searchable, sortable, paginated rule table, a
support/confidence scatter coloured by lift, a graph of the affinity groups and a page per
group. The page is a pure function of its inputs: equal inputs give identical bytes.
"""

from __future__ import annotations

import html
import json
import math
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd

from panier.stages.affinity.groups import UNGROUPED, AffinityGroups

#: Most edges drawn inside one group's page (the strongest by phi).
MAX_GROUP_EDGES = 300
GRAPH_SIZE = 640


def _num(value: float, digits: int = 6) -> float | None:
    value = float(value)
    return round(value, digits) if math.isfinite(value) else None


def group_layout(result: AffinityGroups, seed: int) -> dict[str, list[float]]:
    """Positions (pixels in a GRAPH_SIZE square) of the groups in the overview graph: a
    seeded spring layout of the groups, joined by their summed between-group phi."""
    graph = nx.Graph()
    numbers = result.groups["group"].astype(int).tolist()
    graph.add_nodes_from(numbers)
    for row in result.groups.itertuples():
        for neighbour in row.neighbours:
            graph.add_edge(
                int(row.group), int(neighbour["group"]), weight=float(neighbour["weight"])
            )
    if not numbers:
        return {}
    if len(numbers) == 1:
        return {str(numbers[0]): [GRAPH_SIZE / 2, GRAPH_SIZE / 2]}
    # k: the springs' rest length, longer than networkx's default so that circles keep apart.
    raw = nx.spring_layout(graph, seed=seed, weight="weight", k=3 / math.sqrt(len(numbers)))
    xy = np.array([raw[n] for n in numbers])
    low, high = xy.min(axis=0), xy.max(axis=0)
    span = np.where(high - low > 0, high - low, 1.0)
    margin = 110  # room for the labels under the circles
    scaled = margin + (xy - low) / span * (GRAPH_SIZE - 2 * margin)
    return {str(n): [round(float(x), 1), round(float(y), 1)] for n, (x, y) in zip(numbers, scaled)}


def explorer_data(
    rules: pd.DataFrame, result: AffinityGroups, title: str, seed: int
) -> dict[str, Any]:
    """What the page embeds: rules as compact rows, products, groups, edges inside groups
    and the overview layout. Floats rounded to 6 digits, so the JSON is stable."""
    rule_rows = [
        [list(map(str, a)), str(c), _num(s), _num(cf), _num(lf), int(n), int(g), int(h)]
        for a, c, s, cf, lf, n, g, h in zip(
            rules["antecedent"],
            rules["consequent"],
            rules["support"],
            rules["confidence"],
            rules["lift"],
            rules["count"],
            result.rule_groups,
            result.rule_anchors,
        )
    ]
    items = {
        str(code): [str(text) if text is not None else "", int(group), int(baskets)]
        for code, text, group, baskets in zip(
            result.items["item_code"],
            result.items["description"],
            result.items["group"],
            result.items["baskets"],
        )
    }
    group_of = dict(zip(result.items["item_code"], result.items["group"]))
    inside = result.edges[
        np.array(
            [
                group_of.get(s) == group_of.get(t) != UNGROUPED
                for s, t in zip(result.edges["source"], result.edges["target"])
            ],
            dtype=bool,
        )
    ]
    inside = inside.assign(_g=inside["source"].map(group_of))
    edges: dict[str, list[list[Any]]] = {}
    for number, frame in inside.groupby("_g", sort=True):
        frame = frame.sort_values(
            ["phi", "source", "target"], ascending=[False, True, True], kind="stable"
        ).head(MAX_GROUP_EDGES)
        edges[str(int(number))] = [
            [s, t, _num(p, 4)] for s, t, p in zip(frame["source"], frame["target"], frame["phi"])
        ]
    groups = []
    for row in result.groups.to_dict(orient="records"):
        row = dict(row)
        row["basket_share"] = _num(row["basket_share"])
        row["volume_share"] = _num(row["volume_share"])
        row["items"] = [item["item_code"] for item in row["items"]]
        row["top_rules"] = [
            {k: (_num(v) if isinstance(v, float) else v) for k, v in r.items()}
            for r in row["top_rules"]
        ]
        groups.append(row)
    return {
        "title": title,
        "summary": result.summary,
        "rules": rule_rows,
        "items": items,
        "groups": groups,
        "edges": edges,
        "layout": group_layout(result, seed),
        "size": GRAPH_SIZE,
    }


def render_explorer(
    rules: pd.DataFrame, result: AffinityGroups, title: str = "Rules explorer", seed: int = 0
) -> str:
    """The explorer page as one HTML string (data, style and script inline)."""
    data = json.dumps(
        explorer_data(rules, result, title, seed),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )
    # Inside <script>, "</" could end the element early: escape it (JSON allows "\/").
    data = data.replace("</", "<\\/")
    return (
        _PAGE.replace("__TITLE__", html.escape(title))
        .replace("__STYLE__", _STYLE)
        .replace("__SCRIPT__", _SCRIPT)
        .replace("__DATA__", data)
    )


_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>__TITLE__</title>
<style>__STYLE__</style>
</head>
<body>
<header>
  <h1>__TITLE__</h1>
  <p id="summary"></p>
  <nav>
    <a href="#rules" data-view="rules">Rules</a>
    <a href="#scatter" data-view="scatter">Support / confidence</a>
    <a href="#graph" data-view="graph">Affinity groups</a>
    <span id="group-nav"></span>
  </nav>
</header>
<section id="filters">
  <label>Search <input id="search" type="search"
     placeholder="item code or description" autocomplete="off"></label>
  <label>support &ge; <input id="min-support" type="number" step="any" min="0" value="0"></label>
  <label>confidence &ge; <input id="min-confidence" type="number" step="any" min="0"
     value="0"></label>
  <label>lift &ge; <input id="min-lift" type="number" step="any" min="0" value="0"></label>
  <label>group <select id="group-filter"><option value="">all</option></select></label>
  <span id="match-count"></span>
</section>
<main>
<section id="view-rules" class="view">
  <table id="rules-table">
    <thead><tr>
      <th data-key="0">antecedent</th><th data-key="1">consequent</th>
      <th data-key="2" class="num">support</th><th data-key="3" class="num">confidence</th>
      <th data-key="4" class="num">lift</th><th data-key="5" class="num">baskets</th>
      <th data-key="6" class="num">group</th>
    </tr></thead>
    <tbody></tbody>
  </table>
  <div class="pager"><button id="prev">&larr; previous</button> <span id="page-info"></span>
    <button id="next">next &rarr;</button></div>
</section>
<section id="view-scatter" class="view">
  <p class="note">Each dot is a rule passing the filters above; colour is lift (pale: low,
    dark: high). Hover a dot for the rule.</p>
  <div id="scatter"></div>
</section>
<section id="view-graph" class="view">
  <p class="note">Each circle is an affinity group (area: products); lines join neighbouring
    groups (thicker: more affinity). Click a group to open its page.</p>
  <div id="graph"></div>
</section>
<section id="view-group" class="view"></section>
</main>
<div id="tooltip" role="tooltip"></div>
<script id="explorer-data" type="application/json">__DATA__</script>
<script>__SCRIPT__</script>
</body>
</html>
"""

_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#234;color:#fff;padding:8px 16px}
header h1{font-size:18px;margin:4px 0}
header p{margin:4px 0;color:#cde}
nav a{color:#fff;margin-right:14px;text-decoration:none;border-bottom:2px solid transparent}
nav a.active{border-bottom-color:#fc6}
#group-nav select{margin-left:4px}
#filters{padding:8px 16px;background:#eef;display:flex;gap:14px;flex-wrap:wrap;
  align-items:center}
#filters input[type=number]{width:80px}
#filters input[type=search]{width:240px}
main{padding:8px 16px}
.view{display:none}.view.active{display:block}
table{border-collapse:collapse;background:#fff;width:100%}
th,td{border-bottom:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top}
th{cursor:pointer;background:#f0f0f4;user-select:none}
th.sorted-asc::after{content:" \\25B2"}th.sorted-desc::after{content:" \\25BC"}
.num{text-align:right;font-variant-numeric:tabular-nums}
.item{white-space:nowrap}
.item small{color:#777}
.pager{margin:8px 0}
.note{color:#555}
#tooltip{position:fixed;pointer-events:none;background:#fff;border:1px solid #888;
  padding:4px 8px;display:none;font-size:12px;max-width:420px;box-shadow:2px 2px 6px #0003}
svg text{font-size:11px}
.node-label{fill:#345}
.node{cursor:pointer;stroke:#234;stroke-width:1}
.node:hover{stroke-width:3}
.cards{display:flex;gap:16px;flex-wrap:wrap}
.card{background:#fff;border:1px solid #ddd;padding:8px;flex:1 1 420px}
"""

_SCRIPT = r"""
"use strict";
const D = JSON.parse(document.getElementById("explorer-data").textContent);
const PAGE = 50, MAX_DOTS = 5000;
const state = {sort: 4, desc: true, page: 0, rows: []};
const $ = (id) => document.getElementById(id);
const NS = "http://www.w3.org/2000/svg";
function el(tag, attrs, text) {
  const node = tag.startsWith("svg:") ? document.createElementNS(NS, tag.slice(4))
                                      : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}
function desc(code) { const it = D.items[code]; return it && it[0] && it[0] !== code ? it[0] : ""; }
function itemLabel(code) { const d = desc(code); return d ? code + " (" + d + ")" : code; }
function ruleText(r) { return r[0].join(" + ") + " -> " + r[1]; }
function plural(n, word) { return n + " " + word + (n === 1 ? "" : "s"); }
function fmt(x, d) { return x === null ? "" : Number(x).toFixed(d); }
const searchText = D.rules.map(r => r[0].concat([r[1]]).map(c => (c + " " + desc(c))
  .toLowerCase()).join(" | "));

function itemCell(codes) {
  const td = el("td", {class: "item"});
  codes.forEach((c, i) => {
    if (i) td.append(" + ");
    td.append(c);
    const d = desc(c);
    if (d) td.append(el("small", {}, " " + d));
  });
  return td;
}

function filtered() {
  const q = $("search").value.trim().toLowerCase();
  const s = parseFloat($("min-support").value) || 0;
  const c = parseFloat($("min-confidence").value) || 0;
  const l = parseFloat($("min-lift").value) || 0;
  const g = $("group-filter").value;
  const out = [];
  D.rules.forEach((r, i) => {
    if (r[2] < s || r[3] < c || r[4] < l) return;
    if (g !== "" && String(r[6]) !== g && String(r[7]) !== g) return;
    if (q && !searchText[i].includes(q)) return;
    out.push(r);
  });
  const k = state.sort, sign = state.desc ? -1 : 1;
  const key = (r) => k === 0 ? r[0].join(" ") : r[k];
  out.sort((a, b) => { const x = key(a), y = key(b);
    return x < y ? -sign : x > y ? sign : 0; });
  return out;
}

function renderTable() {
  const rows = state.rows, tbody = document.querySelector("#rules-table tbody");
  const pages = Math.max(1, Math.ceil(rows.length / PAGE));
  state.page = Math.min(state.page, pages - 1);
  tbody.replaceChildren();
  for (const r of rows.slice(state.page * PAGE, (state.page + 1) * PAGE)) {
    const tr = el("tr");
    tr.append(itemCell(r[0]), itemCell([r[1]]), el("td", {class: "num"}, fmt(r[2], 4)),
              el("td", {class: "num"}, fmt(r[3], 3)), el("td", {class: "num"}, fmt(r[4], 2)),
              el("td", {class: "num"}, String(r[5])));
    const g = el("td", {class: "num"});
    const shown = r[6] || r[7];
    if (shown) { const a = el("a", {href: "#group-" + shown}, String(shown));
                 g.append(a); if (!r[6]) g.title = "consequent's group"; }
    tr.append(g);
    tbody.append(tr);
  }
  $("page-info").textContent = "page " + (state.page + 1) + " of " + pages;
  $("prev").disabled = state.page === 0;
  $("next").disabled = state.page >= pages - 1;
  $("match-count").textContent = rows.length + " of " + D.rules.length + " rules";
  document.querySelectorAll("#rules-table th").forEach(th => {
    th.classList.toggle("sorted-asc", +th.dataset.key === state.sort && !state.desc);
    th.classList.toggle("sorted-desc", +th.dataset.key === state.sort && state.desc);
  });
}

function liftColour(lift, maxLift) {
  const t = maxLift > 1 ? Math.min(1, Math.log(Math.max(lift, 1)) / Math.log(maxLift)) : 0;
  return "hsl(" + (50 - 50 * t).toFixed(0) + ",90%," + (75 - 45 * t).toFixed(0) + "%)";
}

function showTip(evt, text) {
  const tip = $("tooltip");
  tip.textContent = text; tip.style.display = "block";
  tip.style.left = (evt.clientX + 12) + "px"; tip.style.top = (evt.clientY + 12) + "px";
}
function hideTip() { $("tooltip").style.display = "none"; }

function renderScatter() {
  const box = $("scatter"); box.replaceChildren();
  const W = 900, H = 520, L = 60, B = 40, T = 10, R = 20;
  const dots = state.rows.slice().sort((a, b) => b[4] - a[4]).slice(0, MAX_DOTS);
  const svg = el("svg:svg", {width: W, height: H, viewBox: "0 0 " + W + " " + H});
  const maxS = Math.max(1e-9, ...dots.map(r => r[2]));
  const maxL = Math.max(1, ...D.rules.map(r => r[4] || 1));
  const x = (s) => L + s / maxS * (W - L - R), y = (c) => H - B - c * (H - B - T);
  svg.append(el("svg:line", {x1: L, y1: H - B, x2: W - R, y2: H - B, stroke: "#333"}),
             el("svg:line", {x1: L, y1: T, x2: L, y2: H - B, stroke: "#333"}));
  for (let i = 0; i <= 4; i++) {
    svg.append(el("svg:text", {x: x(maxS * i / 4), y: H - B + 16, "text-anchor": "middle"},
                  (maxS * i / 4).toPrecision(2)),
               el("svg:text", {x: L - 6, y: y(i / 4) + 4, "text-anchor": "end"},
                  (i / 4).toFixed(2)));
  }
  svg.append(el("svg:text", {x: (W + L) / 2, y: H - 4, "text-anchor": "middle"}, "support"),
             el("svg:text", {x: 14, y: H / 2, transform: "rotate(-90 14 " + H / 2 + ")",
                             "text-anchor": "middle"}, "confidence"));
  for (const r of dots.slice().reverse()) {
    const c = el("svg:circle", {cx: x(r[2]).toFixed(1), cy: y(r[3]).toFixed(1), r: 4,
                                fill: liftColour(r[4], maxL), stroke: "#0004",
                                class: "dot"});
    const text = ruleText(r) + "  support " + fmt(r[2], 4) + ", confidence " + fmt(r[3], 3) +
                 ", lift " + fmt(r[4], 2);
    c.addEventListener("mousemove", (e) => showTip(e, text));
    c.addEventListener("mouseleave", hideTip);
    svg.append(c);
  }
  const legend = el("p", {class: "note"}, "lift: ");
  for (const v of [1, Math.sqrt(maxL), maxL]) {
    legend.append(el("span", {style: "display:inline-block;width:12px;height:12px;" +
                              "vertical-align:middle;border-radius:6px;background:" +
                              liftColour(v, maxL)}), " " + v.toFixed(1) + "  ");
  }
  box.append(svg, legend);
  if (state.rows.length > MAX_DOTS)
    box.append(el("p", {class: "note"}, "Showing the " + MAX_DOTS + " rules of highest lift " +
                                        "of " + state.rows.length + "."));
}

function groupById(n) { return D.groups.find(g => g.group === n); }

function renderGraph() {
  const box = $("graph"); box.replaceChildren();
  const S = D.size, svg = el("svg:svg", {width: S, height: S, viewBox: "0 0 " + S + " " + S});
  if (!D.groups.length) { box.append(el("p", {}, "No affinity groups.")); return; }
  const maxSize = Math.max(...D.groups.map(g => g.size));
  const maxW = Math.max(1e-9, ...D.groups.flatMap(g => g.neighbours.map(n => n.weight)));
  const drawn = new Set();
  for (const g of D.groups) for (const n of g.neighbours) {
    const key = Math.min(g.group, n.group) + "-" + Math.max(g.group, n.group);
    if (drawn.has(key)) continue; drawn.add(key);
    const a = D.layout[g.group], b = D.layout[n.group];
    if (!a || !b) continue;
    svg.append(el("svg:line", {x1: a[0], y1: a[1], x2: b[0], y2: b[1], stroke: "#89a",
                               "stroke-width": (1 + 5 * n.weight / maxW).toFixed(1),
                               class: "link"}));
  }
  for (const g of D.groups) {
    const p = D.layout[g.group], r = 8 + 30 * Math.sqrt(g.size / maxSize);
    const c = el("svg:circle", {cx: p[0], cy: p[1], r: r.toFixed(1), class: "node",
                                fill: "hsl(" + (g.group * 47 % 360) + ",60%,70%)",
                                "data-group": g.group});
    const text = "Group " + g.group + ": " + g.label + " - " + g.size + " products, " +
                 (100 * g.basket_share).toFixed(1) + "% of baskets";
    c.addEventListener("mousemove", (e) => showTip(e, text));
    c.addEventListener("mouseleave", hideTip);
    c.addEventListener("click", () => { hideTip(); location.hash = "#group-" + g.group; });
    const short = g.label.length > 32 ? g.label.slice(0, 31) + "\u2026" : g.label;
    svg.append(c, el("svg:text", {x: p[0], y: p[1] + 4, "text-anchor": "middle",
                                  "pointer-events": "none"}, String(g.group)),
               el("svg:text", {x: p[0], y: (p[1] + r + 13).toFixed(1), "text-anchor": "middle",
                               "pointer-events": "none", class: "node-label"}, short));
  }
  box.append(svg);
}

function renderGroup(n) {
  const box = $("view-group"); box.replaceChildren();
  const g = groupById(n);
  if (!g) { box.append(el("p", {}, "No group " + n + ".")); return; }
  box.append(el("h2", {}, "Group " + g.group + ": " + g.label));
  box.append(el("p", {}, g.size + " products; in " + (100 * g.basket_share).toFixed(1) +
    "% of baskets, " + (100 * g.volume_share).toFixed(1) + "% of item occurrences; " +
    plural(g.rules_inside, "rule") + " wholly inside, " + g.rules_anchored +
    " with their consequent and an antecedent item here."));
  const near = el("p", {}, "Nearest groups (shelves to place alongside): ");
  if (!g.neighbours.length) near.append("none");
  g.neighbours.forEach((nb, i) => {
    if (i) near.append(", ");
    const other = groupById(nb.group);
    near.append(el("a", {href: "#group-" + nb.group},
                   nb.group + (other ? " (" + other.label + ")" : "")));
  });
  const show = el("button", {id: "show-group-rules"}, "Show its rules in the table");
  show.addEventListener("click", () => { $("group-filter").value = String(g.group);
                                         update(); location.hash = "#rules"; });
  box.append(near, show);
  const cards = el("div", {class: "cards"});
  const left = el("div", {class: "card"}), right = el("div", {class: "card"});
  left.append(el("h3", {}, "Products"));
  const t = el("table"), named = g.items.some(code => desc(code));
  t.append(el("tr"));
  t.firstChild.append(el("th", {}, "item"));
  if (named) t.firstChild.append(el("th", {}, "description"));
  t.firstChild.append(el("th", {class: "num"}, "baskets"));
  for (const code of g.items) {
    const tr = el("tr");
    tr.append(el("td", {}, code));
    if (named) tr.append(el("td", {}, desc(code)));
    tr.append(el("td", {class: "num"}, String(D.items[code][2])));
    t.append(tr);
  }
  left.append(t);
  right.append(el("h3", {}, "Strongest rules inside"));
  const ul = el("ul");
  if (!g.top_rules.length) ul.append(el("li", {}, "no rule lies wholly inside this group"));
  for (const r of g.top_rules)
    ul.append(el("li", {}, r.rule + " (confidence " + fmt(r.confidence, 3) + ", lift " +
                            fmt(r.lift, 2) + ")"));
  right.append(ul, el("h3", {}, "Products and their affinity"), groupSvg(g));
  cards.append(left, right);
  box.append(cards);
}

function groupSvg(g) {
  const S = 420, svg = el("svg:svg", {width: S, height: S, viewBox: "0 0 " + S + " " + S,
                                      class: "group-graph"});
  const pos = {}, n = g.items.length, R = S / 2 - 60;
  g.items.forEach((code, i) => {
    const a = 2 * Math.PI * i / n - Math.PI / 2;
    pos[code] = [S / 2 + R * Math.cos(a), S / 2 + R * Math.sin(a)];
  });
  const edges = D.edges[g.group] || [];
  const maxPhi = Math.max(1e-9, ...edges.map(e => e[2]));
  for (const [s, t, phi] of edges)
    svg.append(el("svg:line", {x1: pos[s][0].toFixed(1), y1: pos[s][1].toFixed(1),
                               x2: pos[t][0].toFixed(1), y2: pos[t][1].toFixed(1),
                               stroke: "#89a", "stroke-opacity": (0.2 + 0.8 * phi / maxPhi)
                               .toFixed(2), "stroke-width": 1.5}));
  for (const code of g.items) {
    const [x, y] = pos[code];
    const c = el("svg:circle", {cx: x.toFixed(1), cy: y.toFixed(1), r: 6, class: "node",
                                fill: "#fc6"});
    c.addEventListener("mousemove", (e) => showTip(e, itemLabel(code)));
    c.addEventListener("mouseleave", hideTip);
    svg.append(c);
    if (n <= 40) svg.append(el("svg:text", {x: x.toFixed(1), y: (y - 9).toFixed(1),
      "text-anchor": "middle"}, (desc(code) || code).slice(0, 18)));
  }
  return svg;
}

function update() { state.rows = filtered(); state.page = 0; renderTable();
  if (currentView() === "scatter") renderScatter(); }
function currentView() { const h = location.hash.slice(1) || "rules";
  return h.startsWith("group-") ? "group" : h; }
function route() {
  const h = location.hash.slice(1) || "rules", view = currentView();
  document.querySelectorAll(".view").forEach(v => v.classList.toggle("active",
    v.id === "view-" + view));
  document.querySelectorAll("nav a").forEach(a => a.classList.toggle("active",
    a.dataset.view === view));
  $("filters").style.display = view === "rules" || view === "scatter" ? "flex" : "none";
  if (view === "scatter") renderScatter();
  if (view === "graph") renderGraph();
  if (view === "group") renderGroup(parseInt(h.slice(6), 10));
}

const s = D.summary;
$("summary").textContent = D.rules.length + " rules; " + s.groups + " affinity groups of " +
  s.grouped_items + " products (" + s.ungrouped_items + " ungrouped); " +
  s.rules_inside_groups + " rules lie inside one group.";
const select = $("group-filter"), jump = el("select", {id: "group-jump"});
jump.append(el("option", {value: ""}, "group pages..."));
for (const g of D.groups) {
  select.append(el("option", {value: String(g.group)}, g.group + ": " + g.label));
  jump.append(el("option", {value: String(g.group)}, g.group + ": " + g.label));
}
jump.addEventListener("change", () => { if (jump.value) location.hash = "#group-" + jump.value; });
$("group-nav").append(jump);
for (const id of ["search", "min-support", "min-confidence", "min-lift", "group-filter"])
  $(id).addEventListener("input", update);
document.querySelectorAll("#rules-table th").forEach(th => th.addEventListener("click", () => {
  const k = +th.dataset.key;
  state.desc = state.sort === k ? !state.desc : k >= 2;
  state.sort = k; update();
}));
$("prev").addEventListener("click", () => { state.page--; renderTable(); });
$("next").addEventListener("click", () => { state.page++; renderTable(); });
window.addEventListener("hashchange", route);
update();
route();
"""


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

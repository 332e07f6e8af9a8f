#include "cluster_page.hpp"

namespace clossyne::broker {
namespace {

// Elements the browser test reads carry data-* attributes: data-worker / data-shard and
// data-state ("alive", "dead", "draining"; "ok", "unavailable", "busy").
constexpr std::string_view kPage = R"HTML(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Clossyne cluster</title>
<style>
  :root { --bg:#0f1419; --panel:#171d24; --line:#263040; --text:#d8dee9; --dim:#7d8899;
          --red:#e5484d; --amber:#f5a524; --green:#3dd68c; }
  * { box-sizing: border-box; }
  body { margin:0; background:var(--bg); color:var(--text);
         font:14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
  header { display:flex; align-items:baseline; gap:24px; padding:14px 24px;
           border-bottom:1px solid var(--line); background:var(--panel); }
  header h1 { font-size:18px; margin:0; letter-spacing:.5px; }
  header h1 span { color:var(--dim); font-weight:400; }
  .stat { color:var(--dim); } .stat b { color:var(--text); font-size:16px; margin-right:4px; }
  #conn { margin-left:auto; font-size:12px; color:var(--dim); }
  #conn.bad { color:var(--red); font-weight:600; }
  main { padding:16px 24px; }
  h2 { font-size:12px; text-transform:uppercase; letter-spacing:1px; color:var(--dim);
       margin:18px 0 8px; font-weight:600; }
  #alerts div { background:rgba(229,72,77,.15); border:1px solid var(--red); color:#ffb4b6;
                padding:6px 10px; border-radius:4px; margin-bottom:6px; font-weight:600; }
  #strip { display:flex; height:76px; border-radius:4px; overflow:hidden;
           border:1px solid var(--line); background:#0b0f13; }
  .shard { position:relative; min-width:3px; border-right:1px solid var(--bg); overflow:hidden;
           display:flex; flex-direction:column; align-items:center; justify-content:center;
           color:rgba(0,0,0,.78); font-size:11px; cursor:default; white-space:nowrap; }
  .shard b { font-size:13px; }
  .shard .members { position:absolute; left:0; right:0; bottom:0; height:8px; display:flex; }
  .shard .members i { flex:1; border-top:1px solid rgba(0,0,0,.5); }
  .shard.unavailable { background:repeating-linear-gradient(45deg,var(--red) 0 6px,#8c1d21 6px 12px) !important;
                       color:#fff; }
  .shard.busy::after { content:""; position:absolute; inset:0;
    background:repeating-linear-gradient(-45deg,rgba(255,255,255,.28) 0 5px,transparent 5px 10px);
    animation:slide 1s linear infinite; background-size:28px 28px; }
  @keyframes slide { to { background-position:28px 0; } }
  .shard:hover { filter:brightness(1.25); }
  #axis { position:relative; height:18px; color:var(--dim); font-size:11px; margin-top:3px;
          font-family:ui-monospace, "DejaVu Sans Mono", monospace; }
  #axis span { position:absolute; transform:translateX(-50%); white-space:nowrap; }
  #axis span:first-child { transform:none; } #axis span:last-child { transform:translateX(-100%); }
  #tip { position:fixed; pointer-events:none; background:#0b0f13; border:1px solid var(--line);
         padding:8px 10px; border-radius:4px; font-size:12px; display:none; z-index:9; max-width:360px; }
  #tip b { color:#fff; }
  .grid { display:grid; grid-template-columns: 3fr 2fr; gap:24px; }
  table { width:100%; border-collapse:collapse; font-variant-numeric:tabular-nums; }
  th { text-align:right; color:var(--dim); font-weight:500; font-size:12px; padding:4px 8px;
       border-bottom:1px solid var(--line); }
  td { text-align:right; padding:6px 8px; border-bottom:1px solid var(--line); }
  th:first-child, td:first-child, th:nth-child(2), td:nth-child(2) { text-align:left; }
  #shard-table th:nth-child(3), #shard-table th:nth-child(4), #shards td:nth-child(3), #shards td:nth-child(4) { text-align:left; }
  #shards td:nth-child(2) { font-family:ui-monospace, "DejaVu Sans Mono", monospace; font-size:12px; }
  tr.dead td { background:rgba(229,72,77,.18); color:#ffb4b6; }
  .sw { display:inline-block; width:12px; height:12px; border-radius:3px; margin-right:8px;
        vertical-align:-1px; }
  .badge { font-size:11px; padding:1px 7px; border-radius:9px; font-weight:700; }
  .badge.alive { background:rgba(61,214,140,.15); color:var(--green); }
  .badge.dead { background:var(--red); color:#fff; }
  .badge.draining { background:rgba(245,165,36,.18); color:var(--amber); }
  .bar { height:6px; background:var(--line); border-radius:3px; overflow:hidden; min-width:120px; }
  .bar i { display:block; height:100%; background:var(--amber); }
  .change { display:grid; grid-template-columns: 90px 1fr 60px; gap:10px; align-items:center;
            padding:6px 0; border-bottom:1px solid var(--line); }
  .none { color:var(--dim); padding:6px 0; }
  .event { padding:3px 0; font-size:13px; } .event time { color:var(--dim); margin-right:8px;
           font-variant-numeric:tabular-nums; }
  .event.bad { color:#ffb4b6; } .event.good { color:var(--green); }
  .kind { font-weight:700; color:var(--amber); text-transform:uppercase; font-size:11px; }
</style>
</head>
<body>
<header>
  <h1>Clossyne <span>cluster</span></h1>
  <div class="stat"><b id="s-workers">–</b>workers</div>
  <div class="stat"><b id="s-shards">–</b>shards</div>
  <div class="stat"><b id="s-keys">–</b>keys</div>
  <div class="stat"><b id="s-ops">–</b>ops/s</div>
  <div class="stat"><b id="s-bytes">–</b>memory</div>
  <div id="conn">connecting…</div>
</header>
<main>
  <div id="alerts"></div>
  <h2>Key space <span style="text-transform:none;letter-spacing:0">(shards sized by keys, coloured by owner)</span></h2>
  <div id="strip"></div>
  <div id="axis"></div>
  <div class="grid">
    <section>
      <h2>Workers</h2>
      <table><thead><tr><th>worker</th><th>state</th><th>keys</th><th>shards</th><th>ops/s</th>
        <th>memory</th><th>rss</th><th>heartbeat</th></tr></thead><tbody id="workers"></tbody></table>
    </section>
    <section>
      <h2>Changes in flight</h2>
      <div id="changes"></div>
      <h2>Seen by this page</h2>
      <div id="events"><div class="none">nothing yet</div></div>
    </section>
  </div>
  <h2>Shards</h2>
  <table id="shard-table"><thead><tr><th>shard</th><th>range</th><th>owner</th><th>members</th><th>keys</th>
    <th>memory</th><th>epoch</th></tr></thead><tbody id="shards"></tbody></table>
  <div>
  </div>
</main>
<div id="tip"></div>
<script>
"use strict";
const PALETTE = ["#4c9aff","#3dd68c","#f5a524","#c27aff","#2ec4d6","#ff7ab6","#a3d65c",
                 "#ff9f5a","#7aa2ff","#e8d35a","#5ad6b0","#d67a7a"];
const colours = new Map();
function colourOf(id) {
  if (!colours.has(id)) colours.set(id, PALETTE[colours.size % PALETTE.length]);
  return colours.get(id);
}
function num(n) {
  if (n >= 1e9) return (n / 1e9).toFixed(1) + "G";
  if (n >= 1e6) return (n / 1e6).toFixed(1) + "M";
  if (n >= 1e4) return (n / 1e3).toFixed(1) + "k";
  return String(n);
}
function bytes(n) {
  const u = ["B","KiB","MiB","GiB","TiB"]; let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(1) : n) + " " + u[i];
}
function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}
function bound(b, inf) { return b === null ? inf : JSON.stringify(b); }

function drawStrip(st, alive) {
  const strip = document.getElementById("strip");
  const total = st.shards.reduce((a, s) => a + s.keys, 0);
  const floor = Math.max(1, total / Math.max(1, st.shards.length) / 8);  // empty shards stay visible
  strip.replaceChildren();
  for (const s of st.shards) {
    const down = !s.owner || !alive.has(s.owner);
    const d = el("div", "shard" + (down ? " unavailable" : "") + (s.change ? " busy" : ""));
    d.dataset.shard = s.id;
    d.dataset.state = down ? "unavailable" : (s.change ? "busy" : "ok");
    d.style.flex = String(s.keys + floor);
    if (!down) d.style.background = colourOf(s.owner);
    d.appendChild(el("b", "", "#" + s.id));
    d.appendChild(el("span", "", (s.owner || "no owner") + " · " + num(s.keys)));
    if (s.members && s.members.length > 1) {
      const m = el("div", "members");
      for (const mem of s.members) {
        const i = el("i");
        i.style.background = alive.has(mem.worker) ? colourOf(mem.worker) : "var(--red)";
        m.appendChild(i);
      }
      d.appendChild(m);
    }
    d.addEventListener("mousemove", ev => showTip(ev, s, down));
    d.addEventListener("mouseleave", () => { document.getElementById("tip").style.display = "none"; });
    strip.appendChild(d);
  }
  drawAxis(st, floor);
}

// The bounds under the strip, at each shard's left edge (labels that would overlap are dropped).
function drawAxis(st, floor) {
  const axis = document.getElementById("axis");
  axis.replaceChildren();
  const width = axis.clientWidth || 1200;
  const sum = st.shards.reduce((a, s) => a + s.keys + floor, 0) || 1;
  let at = 0, last = -1e9;
  const label = (x, text) => {
    const sp = el("span", "", text.length > 14 ? text.slice(0, 13) + "…" : text);
    sp.style.left = (100 * x) + "%"; axis.appendChild(sp); last = x * width;
  };
  label(0, "−∞");
  for (const s of st.shards) {
    if (at > 0 && at < 0.97 && at * width - last > 70) label(at, s.lo === null ? "−∞" : s.lo);
    at += (s.keys + floor) / sum;
  }
  const end = el("span", "", "+∞"); end.style.left = "100%"; axis.appendChild(end);
}

function drawShards(st, alive) {
  const body = document.getElementById("shards");
  body.replaceChildren();
  for (const s of st.shards) {
    const down = !s.owner || !alive.has(s.owner);
    const tr = el("tr", down ? "dead" : "");
    tr.dataset.shardRow = s.id;
    const owner = el("td");
    if (s.owner) { const sw = el("span", "sw"); sw.style.background = colourOf(s.owner); owner.append(sw); }
    owner.append(s.owner || "none");
    const members = s.members ? s.members.map(m => m.worker + (m.role === "primary" ? "*" : "") +
                                     (m.state !== "in-sync" ? " (" + m.state + ")" : "")).join(" ") : "–";
    const range = "[" + bound(s.lo, "−∞") + ", " + bound(s.hi, "+∞") + ")";
    tr.append(el("td", "", "#" + s.id + (down ? "  UNAVAILABLE" : "") + (s.change ? "  " + s.change.kind : "")),
              el("td", "", range), owner, el("td", "", members), el("td", "", num(s.keys)),
              el("td", "", bytes(s.bytes)), el("td", "", String(s.epoch)));
    body.appendChild(tr);
  }
}

function showTip(ev, s, down) {
  const tip = document.getElementById("tip");
  tip.replaceChildren();
  const line = (k, v) => { const p = el("div"); p.appendChild(el("b", "", k + " ")); p.append(v); tip.appendChild(p); };
  line("shard", String(s.id) + " (epoch " + s.epoch + ")");
  line("range", "[" + bound(s.lo, "−∞") + ", " + bound(s.hi, "+∞") + ")");
  line("owner", (s.owner || "none") + (down ? "  — UNAVAILABLE" : ""));
  if (s.members) line("members", s.members.map(m => m.worker + (m.role === "primary" ? "*" : "") +
                                      (m.state !== "in-sync" ? " (" + m.state + ")" : "")).join(", "));
  line("keys", num(s.keys) + ", " + bytes(s.bytes));
  if (s.change) line("change", s.change.kind);
  tip.style.display = "block";
  tip.style.left = Math.min(ev.clientX + 14, innerWidth - 370) + "px";
  tip.style.top = (ev.clientY + 14) + "px";
}

function drawWorkers(st) {
  const body = document.getElementById("workers");
  body.replaceChildren();
  for (const w of st.workers) {
    const state = !w.alive ? "dead" : (w.draining ? "draining" : "alive");
    const tr = el("tr", w.alive ? "" : "dead");
    tr.dataset.worker = w.id;
    tr.dataset.state = state;
    const name = el("td");
    const sw = el("span", "sw"); sw.style.background = colourOf(w.id);
    name.append(sw, w.id);
    const badge = el("td"); badge.appendChild(el("span", "badge " + state, state));
    const age = w.heartbeat_age_ms;
    tr.append(name, badge, el("td", "", num(w.keys)), el("td", "", String(w.shards)),
              el("td", "", w.alive ? num(w.ops_per_sec) : "–"), el("td", "", bytes(w.bytes)), el("td", "", bytes(w.rss)),
              el("td", "", age < 1000 ? age + " ms" : (age / 1000).toFixed(1) + " s"));
    body.appendChild(tr);
  }
}

function drawChanges(st) {
  const box = document.getElementById("changes");
  box.replaceChildren();
  const busy = st.shards.filter(s => s.change);
  if (!busy.length) { box.appendChild(el("div", "none", "none — the cluster is settled")); return; }
  for (const s of busy) {
    const row = el("div", "change");
    row.dataset.change = s.id;
    const what = el("div"); what.append(el("span", "kind", s.change.kind), " #" + s.id);
    const joining = (s.members || []).find(m => m.state === "catching-up");
    const mid = el("div");
    mid.append((s.owner || "?") + (joining ? " → " + joining.worker : ""));
    let pct = "";
    if (s.change.copied !== undefined) {
      const p = s.keys ? Math.min(100, 100 * s.change.copied / s.keys) : 0;
      const bar = el("div", "bar"); const fill = el("i"); fill.style.width = p.toFixed(0) + "%";
      bar.appendChild(fill); mid.appendChild(bar); pct = p.toFixed(0) + "%";
    }
    row.append(what, mid, el("div", "", pct));
    box.appendChild(row);
  }
}

function drawAlerts(st, alive) {
  const box = document.getElementById("alerts");
  box.replaceChildren();
  if (!st.ready) box.appendChild(el("div", "", "Cluster not ready: waiting for workers to register"));
  for (const w of st.workers)
    if (!w.alive) box.appendChild(el("div", "", "Worker " + w.id + " is DEAD (silent for " +
                                           (w.heartbeat_age_ms / 1000).toFixed(1) + " s)"));
  const down = st.shards.filter(s => !s.owner || !alive.has(s.owner));
  if (down.length) box.appendChild(el("div", "", down.length + " range(s) unavailable: shard " +
                                              down.map(s => s.id).join(", ")));
}

// Transitions this page saw between two reads (a worker dying or coming back, a range going down or
// up, a change starting or ending), newest first: what happened while the operator looked away.
let previous = null;
const events = [];
function noteEvents(st, alive) {
  const now = new Date();
  const add = (kind, cls, text, who) => events.unshift({kind, cls, text, who, t: now});
  if (previous) {
    const was = new Map(previous.workers.map(w => [w.id, w]));
    for (const w of st.workers) {
      const p = was.get(w.id);
      if (!p) add("worker-new", "good", "worker " + w.id + " joined", w.id);
      else if (p.alive && !w.alive) add("worker-dead", "bad", "worker " + w.id + " died", w.id);
      else if (!p.alive && w.alive) add("worker-alive", "good", "worker " + w.id + " is back", w.id);
    }
    const before = new Map(previous.shards.map(s => [s.id, s]));
    for (const s of st.shards) {
      const p = before.get(s.id);
      if (s.change && (!p || !p.change || p.change.kind !== s.change.kind))
        add("change", "", s.change.kind + " of shard " + s.id + " started", s.id);
      if (p && p.change && !s.change) add("change-end", "good", p.change.kind + " of shard " + s.id + " ended", s.id);
    }
    const ids = new Set(st.shards.map(s => s.id));
    const gone = previous.shards.filter(s => !ids.has(s.id)).map(s => s.id);
    const fresh = st.shards.filter(s => !before.has(s.id)).map(s => s.id);
    if (gone.length || fresh.length)
      add("map", "", "shard map: " + (gone.length ? "−" + gone.join(",") + " " : "") +
                     (fresh.length ? "+" + fresh.join(",") : ""), "");
  }
  previous = st;
  events.splice(8);
  const box = document.getElementById("events");
  if (!events.length) return;
  box.replaceChildren();
  for (const e of events) {
    const d = el("div", "event " + e.cls);
    d.dataset.event = e.kind; d.dataset.who = e.who; d.dataset.t = e.t.getTime();
    d.append(el("time", "", e.t.toLocaleTimeString()), e.text);
    box.appendChild(d);
  }
}

function draw(st) {
  for (const w of st.workers) colourOf(w.id);  // stable colours: first seen order
  const alive = new Set(st.workers.filter(w => w.alive).map(w => w.id));
  const text = (id, v) => { document.getElementById(id).textContent = v; };
  text("s-workers", alive.size + "/" + st.workers.length);
  text("s-shards", st.shards.length);
  text("s-keys", num(st.shards.reduce((a, s) => a + s.keys, 0)));  // replicas counted once
  text("s-ops", num(st.workers.reduce((a, w) => a + (w.alive ? w.ops_per_sec : 0), 0)));
  text("s-bytes", bytes(st.workers.reduce((a, w) => a + w.bytes, 0)));
  drawAlerts(st, alive);
  drawStrip(st, alive);
  drawWorkers(st);
  drawChanges(st);
  drawShards(st, alive);
  noteEvents(st, alive);
}

async function tick() {
  const conn = document.getElementById("conn");
  try {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), 2000);
    const res = await fetch("/status.json", {cache: "no-store", signal: ctl.signal});
    clearTimeout(timer);
    if (!res.ok) throw new Error("HTTP " + res.status);
    draw(await res.json());
    conn.className = "";
    conn.textContent = "updated " + new Date().toLocaleTimeString();
  } catch (e) {
    conn.className = "bad";
    conn.textContent = "broker unreachable (" + e.message + ")";
  }
  setTimeout(tick, 1000);
}
tick();
</script>
</body>
</html>
)HTML";

}  // namespace

std::string_view cluster_page_html() {
  return kPage;
}

}  // namespace clossyne::broker

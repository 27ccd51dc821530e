/**
 * The `/inspect` page: plain HTML, CSS and JavaScript in one document, nothing loaded from
 * elsewhere, so it works without internet. It reads `/inspect/events` (Server-Sent Events: the
 * tree, then frames of changes) and `/inspect/history/<n>` (one sector's state history).
 */
export const INSPECT_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>sector-storage · actors</title>
<style>
  body { font: 13px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; margin: 0; color: #1d2330; background: #f6f7f9; }
  header { padding: 8px 14px; background: #1d2330; color: #f6f7f9; display: flex; gap: 18px; align-items: baseline; }
  header h1 { font-size: 15px; margin: 0; }
  #status.live { color: #7ee787; } #status.down { color: #ff7b72; }
  main { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 12px; padding: 12px; }
  section { background: #fff; border: 1px solid #d8dce3; border-radius: 6px; padding: 8px 10px; overflow: auto; }
  h2 { font-size: 13px; margin: 0 0 6px; text-transform: uppercase; letter-spacing: .04em; color: #57606a; }
  .actor { padding: 1px 0; cursor: default; }
  .actor > .row { display: flex; gap: 8px; white-space: nowrap; }
  .actor.sector > .row { cursor: pointer; }
  .actor.selected > .row { background: #fff4d6; }
  .children { margin-left: 16px; border-left: 1px dotted #c8ccd3; padding-left: 6px; }
  .id { font-weight: 600; }
  .state { padding: 0 6px; border-radius: 8px; background: #ddf4ff; color: #0a3069; }
  .status-error .state, .state.failed { background: #ffebe9; color: #82071e; }
  .ctx { color: #57606a; overflow: hidden; text-overflow: ellipsis; }
  .changed > .row .state { background: #fff8c5; }
  table { border-collapse: collapse; width: 100%; } td, th { text-align: left; padding: 1px 6px; border-bottom: 1px solid #eef0f3; }
  #events { max-height: 40vh; }
  #events div { white-space: nowrap; }
  #events .t { color: #8c959f; }
  #timeline { width: 100%; }
  .muted { color: #8c959f; }
</style>
</head>
<body>
<header><h1>sector-storage actors</h1><span id="status" class="down">connecting…</span><span id="counts"></span><span id="dropped" class="muted"></span></header>
<main>
  <div>
    <section><h2>Actor tree</h2><div id="tree" class="muted">waiting for the daemon…</div></section>
    <section style="margin-top:12px"><h2>Workers</h2><table id="workers"><thead><tr><th>worker</th><th>host</th><th>connected</th><th>enabled</th><th>cordoned</th><th>running</th><th>preparing</th></tr></thead><tbody></tbody></table></section>
  </div>
  <div>
    <section><h2>Time travel <span id="history-title" class="muted">(click a sector)</span></h2>
      <input id="timeline" type="range" min="0" max="0" value="0" disabled>
      <div id="history-step" class="muted">no sector selected</div>
      <table id="history-context"><tbody></tbody></table>
    </section>
    <section style="margin-top:12px"><h2>Recent events</h2><div id="events"></div></section>
  </div>
</main>
<script>
"use strict";
const actors = new Map();
let workers = [];
let events = [];
let selected = null;
let history = [];
let followLatest = true;
let pending = false;
const changedNow = new Set();
// the page is /inspect (or /inspect/): its streams are below it
const base = location.pathname.replace(/\\/+$/, '') + '/';
const $ = (id) => document.getElementById(id);
const text = (tag, cls, value) => { const e = document.createElement(tag); if (cls) e.className = cls; e.textContent = value; return e; };
const time = (t) => new Date(t).toLocaleTimeString();
const ctxLine = (ctx) => Object.entries(ctx).map(([k, v]) => k + '=' + v).join('  ');

function schedule() { if (!pending) { pending = true; requestAnimationFrame(render); } }

function applyTree(tree) {
  actors.clear();
  for (const a of tree.actors) actors.set(a.session, a);
  workers = tree.workers; events = tree.events.slice(-100);
  $('dropped').textContent = tree.dropped ? tree.dropped + ' events not shown (sampled)' : '';
  schedule();
}

function applyFrame(frame) {
  for (const a of frame.actors) { actors.set(a.session, a); changedNow.add(a.session); }
  for (const s of frame.removed) actors.delete(s);
  workers = frame.workers;
  events = events.concat(frame.events).slice(-100);
  $('dropped').textContent = frame.dropped ? frame.dropped + ' events not shown (sampled)' : '';
  if (selected !== null && frame.actors.some((a) => a.id === 'sector:' + selected)) loadHistory(selected);
  schedule();
}

function actorNode(a, children) {
  const node = document.createElement('div');
  node.className = 'actor ' + a.kind + ' status-' + a.status + (changedNow.has(a.session) ? ' changed' : '') + (a.id === 'sector:' + selected ? ' selected' : '');
  node.dataset.actor = a.id;
  const row = document.createElement('div'); row.className = 'row';
  row.append(text('span', 'id', a.id));
  const state = text('span', 'state' + (/Failed|Unrecoverable/.test(a.state || '') ? ' failed' : ''), a.state || a.status);
  row.append(state);
  row.append(text('span', 'muted', 'since ' + time(a.since) + ' · ' + a.events + ' events'));
  const ctx = text('span', 'ctx', ctxLine(a.context)); ctx.title = ctxLine(a.context); row.append(ctx);
  if (a.kind === 'sector') row.addEventListener('click', () => select(Number(a.id.slice(7))));
  node.append(row);
  const kids = children.get(a.session) || [];
  if (kids.length) {
    const box = document.createElement('div'); box.className = 'children';
    for (const k of kids) box.append(actorNode(k, children));
    node.append(box);
  }
  return node;
}

const order = (a, b) => { const na = Number(a.id.split(':')[1]), nb = Number(b.id.split(':')[1]); return a.kind === b.kind && !isNaN(na) && !isNaN(nb) ? na - nb : a.id < b.id ? -1 : 1; };

function render() {
  pending = false;
  const children = new Map();
  const roots = [];
  for (const a of actors.values()) {
    if (a.parent && actors.has(a.parent)) { const l = children.get(a.parent) || []; l.push(a); children.set(a.parent, l); } else roots.push(a);
  }
  for (const l of children.values()) l.sort(order);
  const tree = $('tree'); tree.className = ''; tree.replaceChildren(...roots.sort(order).map((r) => actorNode(r, children)));
  changedNow.clear();
  const kinds = {}; for (const a of actors.values()) kinds[a.kind] = (kinds[a.kind] || 0) + 1;
  $('counts').textContent = Object.entries(kinds).map(([k, n]) => n + ' ' + k).join(', ');
  $('workers').tBodies[0].replaceChildren(...workers.map((w) => { const tr = document.createElement('tr'); tr.dataset.worker = w.id; for (const v of [w.id, w.hostname, w.connected, w.enabled, w.cordoned, w.running, w.preparing]) tr.append(text('td', '', String(v))); return tr; }));
  $('events').replaceChildren(...events.slice().reverse().map((e) => { const d = document.createElement('div'); d.append(text('span', 't', time(e.t) + ' '), text('span', 'id', e.actor), document.createTextNode(' ← ' + e.type + (e.source ? ' from ' + e.source : ''))); return d; }));
}

function select(n) { selected = n; followLatest = true; loadHistory(n); schedule(); }

async function loadHistory(n) {
  const res = await fetch(base + 'history/' + n);
  if (!res.ok || n !== selected) return;
  history = await res.json();
  const range = $('timeline'); range.disabled = history.length === 0; range.max = String(Math.max(0, history.length - 1));
  if (followLatest) range.value = range.max;
  $('history-title').textContent = 'sector ' + n + ' · ' + history.length + ' steps';
  showStep();
}

function showStep() {
  const i = Number($('timeline').value); const h = history[i];
  if (!h) return;
  $('history-step').textContent = (i + 1) + '/' + history.length + '  ' + time(h.t) + '  ' + h.state + ' (' + h.status + ')  ← ' + h.event;
  $('history-step').dataset.state = h.state;
  $('history-context').tBodies[0].replaceChildren(...Object.entries(h.context).map(([k, v]) => { const tr = document.createElement('tr'); tr.append(text('td', 'id', k), text('td', '', v)); return tr; }));
}
$('timeline').addEventListener('input', () => { followLatest = Number($('timeline').value) === history.length - 1; showStep(); });

function connect() {
  const source = new EventSource(base + 'events');
  source.addEventListener('tree', (e) => { $('status').textContent = 'live'; $('status').className = 'live'; applyTree(JSON.parse(e.data)); });
  source.addEventListener('frame', (e) => applyFrame(JSON.parse(e.data)));
  source.onerror = () => { $('status').textContent = 'disconnected, retrying…'; $('status').className = 'down'; };
}
connect();
</script>
</body>
</html>
`;

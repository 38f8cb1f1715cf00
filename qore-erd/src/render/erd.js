(function () {
'use strict';
const D = JSON.parse(document.getElementById('erd').textContent);
const T = D.tables, E = D.edges;
const HEADER = 26, ROW = 18, PAD = 8;
const FONT = 'DejaVu Sans Mono, Menlo, Consolas, monospace';
const canvas = document.getElementById('c');
const ctx = canvas.getContext('2d');
const panel = document.getElementById('panel');
let scale = 1, tx = 0, ty = 0, W = 0, H = 0, dpr = 1;
let hoverEdge = -1, hoverTable = -1, selected = -1;
let matches = new Set(), matchCols = new Map();
let pending = false;
const frames = [];
window.__erdFrames = frames;

document.title = D.title;
document.getElementById('title').textContent = D.title;

// Bounding boxes of the routes, and a uniform grid of boxes and route
// segments, so hit tests and culling look at a few items, not all.
const CELL = 400;
const grid = new Map();
function cellsOf(x0, y0, x1, y1, fn) {
  for (let cx = Math.floor(x0 / CELL); cx <= Math.floor(x1 / CELL); cx++)
    for (let cy = Math.floor(y0 / CELL); cy <= Math.floor(y1 / CELL); cy++) fn(cx + ',' + cy);
}
function put(key, item) { let l = grid.get(key); if (!l) { l = []; grid.set(key, l); } l.push(item); }
T.forEach(function (t, i) { const b = t.box; cellsOf(b[0], b[1], b[0] + b[2], b[1] + b[3], function (k) { put(k, ['t', i]); }); });
E.forEach(function (e, i) {
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (let k = 0; k < e.points.length; k++) {
    const p = e.points[k];
    x0 = Math.min(x0, p[0]); y0 = Math.min(y0, p[1]); x1 = Math.max(x1, p[0]); y1 = Math.max(y1, p[1]);
    if (k > 0) { const q = e.points[k - 1]; cellsOf(Math.min(p[0], q[0]), Math.min(p[1], q[1]), Math.max(p[0], q[0]), Math.max(p[1], q[1]), function (c) { put(c, ['s', i, k]); }); }
  }
  e.bb = [x0, y0, x1, y1];
});

function resize() {
  dpr = window.devicePixelRatio || 1;
  W = window.innerWidth; H = window.innerHeight - 40;
  canvas.width = Math.round(W * dpr); canvas.height = Math.round(H * dpr);
  canvas.style.width = W + 'px'; canvas.style.height = H + 'px';
  schedule();
}
function fit() {
  const s = Math.min(W / (D.width + 40), H / (D.height + 40));
  scale = Math.max(0.02, Math.min(2, s));
  tx = (W - D.width * scale) / 2; ty = (H - D.height * scale) / 2;
  schedule();
}
function schedule() { if (!pending) { pending = true; requestAnimationFrame(function () { pending = false; draw(); }); } }
function toWorld(px, py) { return [(px - tx) / scale, (py - ty) / scale]; }

function cut(s, n) { return s.length <= n ? s : s.slice(0, n - 1) + '\u2026'; }
function shortTag(t) { return t.indexOf('VFK\u2192') === 0 ? 'VFK' : t.indexOf('FK\u2192') === 0 ? 'FK' : t; }
function portY(t, col) {
  const ci = t.columns.findIndex(function (c) { return c.name === col; });
  const r = t.rows.indexOf(ci);
  return r < 0 ? -1 : r;
}

function draw() {
  const t0 = performance.now();
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.fillStyle = '#f7f8fb'; ctx.fillRect(0, 0, W, H);
  ctx.setTransform(dpr * scale, 0, 0, dpr * scale, dpr * tx, dpr * ty);
  const v = [toWorld(0, 0), toWorld(W, H)];
  const vx0 = v[0][0], vy0 = v[0][1], vx1 = v[1][0], vy1 = v[1][1];
  const visible = function (x0, y0, x1, y1) { return x1 >= vx0 && x0 <= vx1 && y1 >= vy0 && y0 <= vy1; };
  // Relations under the boxes.
  ctx.lineWidth = Math.max(1, 1.3 / scale * Math.min(1, scale * 2));
  const hl = hoverEdge >= 0 ? E[hoverEdge] : null;
  for (let pass = 0; pass < 2; pass++) {
    ctx.setLineDash([]);
    ctx.strokeStyle = pass ? '#8a5bb0' : '#7d8aa5';
    if (pass) ctx.setLineDash([5, 4]);
    ctx.beginPath();
    for (let i = 0; i < E.length; i++) {
      const e = E[i];
      if ((e.virtual ? 1 : 0) !== pass || i === hoverEdge) continue;
      if (!visible(e.bb[0], e.bb[1], e.bb[2], e.bb[3])) continue;
      const p = e.points;
      ctx.moveTo(p[0][0], p[0][1]);
      for (let k = 1; k < p.length; k++) ctx.lineTo(p[k][0], p[k][1]);
    }
    ctx.stroke();
  }
  ctx.setLineDash([]);
  if (scale >= 0.28) {
    // Crow's foot at the referencing column, a bar at the referenced one.
    ctx.strokeStyle = '#7d8aa5'; ctx.beginPath();
    for (let i = 0; i < E.length; i++) {
      const e = E[i], p = e.points;
      if (p.length < 2 || !visible(e.bb[0], e.bb[1], e.bb[2], e.bb[3])) continue;
      const end = function (a, b) { const dx = b[0] - a[0], dy = b[1] - a[1], l = Math.hypot(dx, dy) || 1; return [dx / l, dy / l]; };
      const a = p[0], u = end(a, p[1]), tip = [a[0] + u[0] * 12, a[1] + u[1] * 12];
      ctx.moveTo(tip[0], tip[1]); ctx.lineTo(a[0] - u[1] * 6, a[1] + u[0] * 6);
      ctx.moveTo(tip[0], tip[1]); ctx.lineTo(a[0] + u[1] * 6, a[1] - u[0] * 6);
      const z = p[p.length - 1], w = end(z, p[p.length - 2]), m = [z[0] + w[0] * 6, z[1] + w[1] * 6];
      ctx.moveTo(m[0] - w[1] * 6, m[1] + w[0] * 6); ctx.lineTo(m[0] + w[1] * 6, m[1] - w[0] * 6);
    }
    ctx.stroke();
  }
  if (hl) {
    ctx.strokeStyle = '#e8590c'; ctx.lineWidth = Math.max(2.5, 2.5 / scale);
    ctx.beginPath(); ctx.moveTo(hl.points[0][0], hl.points[0][1]);
    for (let k = 1; k < hl.points.length; k++) ctx.lineTo(hl.points[k][0], hl.points[k][1]);
    ctx.stroke();
  }
  const detail = scale >= 0.55 ? 2 : scale >= 0.28 ? 1 : 0;
  ctx.textBaseline = 'alphabetic';
  for (let i = 0; i < T.length; i++) {
    const t = T[i], b = t.box;
    if (!visible(b[0], b[1], b[0] + b[2], b[1] + b[3])) continue;
    const hit = matches.has(i), sel = i === selected || i === hoverTable;
    ctx.fillStyle = '#fff'; ctx.fillRect(b[0], b[1], b[2], b[3]);
    ctx.fillStyle = t.color; ctx.fillRect(b[0], b[1], b[2], Math.min(HEADER, b[3]));
    ctx.lineWidth = hit || sel ? Math.max(3, 3 / scale) : Math.max(1, 1 / scale);
    ctx.strokeStyle = hit ? '#f08c00' : sel ? '#1c7ed6' : '#8a94a6';
    ctx.strokeRect(b[0], b[1], b[2], b[3]);
    if (detail === 0) continue;
    ctx.fillStyle = '#fff'; ctx.font = 'bold 13px ' + FONT;
    ctx.fillText(cut(t.label, 48), b[0] + PAD, b[1] + 17);
    if (detail < 2) continue;
    const hlCols = new Set();
    if (hl && hl.from === i) hl.from_columns.forEach(function (c) { hlCols.add(c); });
    if (hl && hl.to === i) hl.to_columns.forEach(function (c) { hlCols.add(c); });
    const mc = matchCols.get(i);
    for (let r = 0; r < t.rows.length; r++) {
      const c = t.columns[t.rows[r]], y = b[1] + HEADER + r * ROW;
      if (hlCols.has(c.name) || (mc && mc.has(c.name))) {
        ctx.fillStyle = hlCols.has(c.name) ? '#ffe8cc' : '#fff3bf';
        ctx.fillRect(b[0] + 1, y + 1, b[2] - 2, ROW - 1);
      }
      const pk = c.tags.some(function (g) { return g.indexOf('PK') === 0; });
      ctx.font = (pk ? 'bold ' : '') + '12px ' + FONT; ctx.fillStyle = '#1d2330';
      ctx.fillText(cut(c.name, 36), b[0] + PAD, y + 13);
      ctx.font = '12px ' + FONT; ctx.fillStyle = '#6b7385';
      ctx.fillText(cut(c.type, 22), b[0] + t.type_x, y + 13);
      if (c.tags.length) {
        ctx.font = 'bold 10px ' + FONT; ctx.fillStyle = '#2a4a8a'; ctx.textAlign = 'right';
        ctx.fillText(c.tags.map(shortTag).join(' '), b[0] + b[2] - PAD, y + 13);
        ctx.textAlign = 'left';
      }
    }
  }
  document.getElementById('zoom').textContent = Math.round(scale * 100) + '%';
  frames.push(performance.now() - t0);
  if (frames.length > 2000) frames.splice(0, 1000);
}

function segDist(px, py, a, b) {
  const dx = b[0] - a[0], dy = b[1] - a[1];
  const l = dx * dx + dy * dy;
  let u = l ? ((px - a[0]) * dx + (py - a[1]) * dy) / l : 0;
  u = Math.max(0, Math.min(1, u));
  const x = a[0] + u * dx - px, y = a[1] + u * dy - py;
  return Math.sqrt(x * x + y * y);
}
function hitTest(px, py) {
  const w = toWorld(px, py), items = grid.get(Math.floor(w[0] / CELL) + ',' + Math.floor(w[1] / CELL)) || [];
  let best = -1, bd = 6 / scale;
  for (const it of items) {
    if (it[0] === 't') {
      const b = T[it[1]].box;
      if (w[0] >= b[0] && w[0] <= b[0] + b[2] && w[1] >= b[1] && w[1] <= b[1] + b[3]) return { table: it[1] };
    }
  }
  for (const it of items) {
    if (it[0] !== 's') continue;
    const p = E[it[1]].points, d = segDist(w[0], w[1], p[it[2] - 1], p[it[2]]);
    if (d < bd) { bd = d; best = it[1]; }
  }
  return best >= 0 ? { edge: best } : {};
}

function el(tag, text, cls) { const e = document.createElement(tag); if (text != null) e.textContent = text; if (cls) e.className = cls; return e; }

function openTable(i) {
  const t = T[i];
  selected = i; schedule();
  const api = window.qoreErd;
  if (api && typeof api.on_open === 'function') { api.on_open({ table: t.name, label: t.label, kind: t.kind }); return; }
  panel.innerHTML = '';
  const close = el('button', 'Close'); close.id = 'close';
  close.addEventListener('click', function () { panel.classList.remove('open'); selected = -1; schedule(); });
  panel.appendChild(close);
  panel.appendChild(el('h2', t.name));
  const facts = [t.kind];
  if (t.count != null) facts.push('about ' + t.count + ' rows');
  panel.appendChild(el('div', facts.join(' \u00b7 '), 'muted'));
  if (t.comment) panel.appendChild(el('p', t.comment));
  panel.appendChild(el('h3', 'Columns'));
  const ct = el('table'); ct.id = 'columns';
  t.columns.forEach(function (c) {
    const tr = el('tr');
    tr.appendChild(el('td', c.name));
    tr.appendChild(el('td', c.type, 'muted'));
    const td = el('td');
    c.tags.forEach(function (g, k) { const s = el('span', g, 'tag'); s.title = c.help[k] || ''; td.appendChild(s); });
    if (c.default) td.appendChild(el('div', 'default ' + c.default, 'muted'));
    if (c.generated) td.appendChild(el('div', 'generated ' + c.generated, 'muted'));
    tr.appendChild(td);
    ct.appendChild(tr);
  });
  panel.appendChild(ct);
  if (t.indexes.length) { panel.appendChild(el('h3', 'Indexes')); const u = el('ul'); t.indexes.forEach(function (x) { u.appendChild(el('li', x)); }); panel.appendChild(u); }
  if (t.constraints.length) { panel.appendChild(el('h3', 'Constraints')); const u = el('ul'); t.constraints.forEach(function (x) { u.appendChild(el('li', x)); }); panel.appendChild(u); }
  if (t.sample) {
    panel.appendChild(el('h3', 'First rows'));
    const wrap = el('div'); wrap.id = 'samples';
    const st = el('table'), hr = el('tr');
    t.sample.columns.forEach(function (c) { hr.appendChild(el('th', c)); });
    st.appendChild(hr);
    t.sample.rows.forEach(function (r) { const tr = el('tr'); r.forEach(function (v) { tr.appendChild(el('td', v == null ? 'NULL' : v, v == null ? 'muted' : null)); }); st.appendChild(tr); });
    wrap.appendChild(st); panel.appendChild(wrap);
  }
  if (t.query) {
    panel.appendChild(el('h3', 'Open it'));
    const pre = el('pre', t.query); pre.id = 'query'; panel.appendChild(pre);
    const copy = el('button', 'Copy');
    copy.addEventListener('click', function () { if (navigator.clipboard) navigator.clipboard.writeText(t.query).catch(function () {}); });
    panel.appendChild(copy);
  }
  panel.classList.add('open');
}

function center(i) {
  const b = T[i].box;
  scale = Math.max(scale, 0.8);
  tx = W / 2 - (b[0] + b[2] / 2) * scale; ty = H / 2 - (b[1] + b[3] / 2) * scale;
}
function search(q) {
  q = (q || '').trim().toLowerCase();
  matches = new Set(); matchCols = new Map();
  if (q) {
    T.forEach(function (t, i) {
      if (t.name.toLowerCase().indexOf(q) >= 0) matches.add(i);
      t.columns.forEach(function (c) {
        if (c.name.toLowerCase().indexOf(q) >= 0) {
          matches.add(i);
          let s = matchCols.get(i); if (!s) { s = new Set(); matchCols.set(i, s); } s.add(c.name);
        }
      });
    });
    const first = matches.values().next();
    if (!first.done) center(first.value);
  }
  document.getElementById('hits').textContent = q ? matches.size + (matches.size === 1 ? ' table' : ' tables') : '';
  draw();
  return [...matches].map(function (i) { return T[i].name; });
}

let drag = null;
canvas.addEventListener('pointerdown', function (e) {
  drag = { x: e.clientX, y: e.clientY, tx: tx, ty: ty, moved: false };
  canvas.setPointerCapture(e.pointerId); canvas.classList.add('drag');
});
canvas.addEventListener('pointermove', function (e) {
  if (drag) {
    const dx = e.clientX - drag.x, dy = e.clientY - drag.y;
    if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
    tx = drag.tx + dx; ty = drag.ty + dy; schedule();
    return;
  }
  const r = canvas.getBoundingClientRect(), h = hitTest(e.clientX - r.left, e.clientY - r.top);
  const he = h.edge != null ? h.edge : -1, ht = h.table != null ? h.table : -1;
  if (he !== hoverEdge || ht !== hoverTable) {
    hoverEdge = he; hoverTable = ht;
    canvas.title = he >= 0 ? (E[he].name ? E[he].name + ': ' : '') + T[E[he].from].label + '(' + E[he].from_columns.join(', ') + ') \u2192 ' + T[E[he].to].label + '(' + E[he].to_columns.join(', ') + ')' : ht >= 0 ? T[ht].name : '';
    schedule();
  }
});
canvas.addEventListener('pointerup', function (e) {
  const d = drag; drag = null; canvas.classList.remove('drag');
  if (d && !d.moved) {
    const r = canvas.getBoundingClientRect(), h = hitTest(e.clientX - r.left, e.clientY - r.top);
    if (h.table != null) openTable(h.table);
  }
});
canvas.addEventListener('wheel', function (e) {
  e.preventDefault();
  const r = canvas.getBoundingClientRect(), px = e.clientX - r.left, py = e.clientY - r.top;
  const f = Math.exp(-e.deltaY * 0.0015), ns = Math.max(0.02, Math.min(4, scale * f));
  tx = px - (px - tx) * ns / scale; ty = py - (py - ty) * ns / scale; scale = ns;
  schedule();
}, { passive: false });
document.getElementById('fit').addEventListener('click', fit);
document.getElementById('search').addEventListener('input', function (e) { search(e.target.value); });
window.addEventListener('resize', resize);

const lg = document.getElementById('legend');
(D.legend || []).forEach(function (l) { const d = el('div'); d.appendChild(el('b', l[0])); d.appendChild(document.createTextNode(' ' + l[1])); lg.appendChild(d); });
if (!lg.childNodes.length) lg.style.display = 'none';

window.qoreErd = {
  on_open: null,
  open: function (name) { const i = T.findIndex(function (t) { return t.name === name || t.label === name; }); if (i >= 0) { center(i); openTable(i); } return i >= 0; },
  center: function (name) { const i = T.findIndex(function (t) { return t.name === name || t.label === name; }); if (i >= 0) { center(i); draw(); } return i >= 0; },
  search: search,
  fit: fit,
  view: function () { return { scale: scale, tx: tx, ty: ty }; },
  draw: draw,
};
resize(); fit(); draw();
window.__erdReadyMs = performance.now();
document.body.setAttribute('data-ready', '1');
})();

// Lays out the graph of a `qore erd --format json` file with dagre and
// elkjs (layered), the same box sizes and relations, and counts the
// crossings of all three drawings with one function. Prints JSON.
// Usage: node compare.mjs DIAGRAM.json   (NODE_PATH: where dagre and elkjs are)
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(process.env.ERD_NODE_MODULES + '/');
const dagre = require('@dagrejs/dagre');
const ELK = require('elkjs/lib/elk.bundled.js');

const D = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const boxes = D.layout.boxes, rels = D.model.relations;

// Crossings between polylines: segment pairs of different relations that
// cross at a point inside both (shared end points are not crossings).
function crossings(lines) {
  const segs = [];
  lines.forEach((pts, i) => { for (let k = 1; k < pts.length; k++) segs.push([pts[k - 1], pts[k], i]); });
  // A grid keeps this near-linear on 1,000 tables.
  const CELL = 200, grid = new Map();
  segs.forEach((s, n) => {
    const x0 = Math.floor(Math.min(s[0][0], s[1][0]) / CELL), x1 = Math.floor(Math.max(s[0][0], s[1][0]) / CELL);
    const y0 = Math.floor(Math.min(s[0][1], s[1][1]) / CELL), y1 = Math.floor(Math.max(s[0][1], s[1][1]) / CELL);
    for (let x = x0; x <= x1; x++) for (let y = y0; y <= y1; y++) { const k = x + ',' + y; if (!grid.has(k)) grid.set(k, []); grid.get(k).push(n); }
  });
  const d = (a, b, c) => (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]);
  const E = 1e-6, seen = new Set();
  let count = 0;
  for (const list of grid.values()) {
    for (let i = 0; i < list.length; i++) for (let j = i + 1; j < list.length; j++) {
      const a = segs[list[i]], b = segs[list[j]];
      if (a[2] === b[2]) continue;
      const key = list[i] < list[j] ? list[i] * 1e7 + list[j] : list[j] * 1e7 + list[i];
      if (seen.has(key)) continue;
      const d1 = d(b[0], b[1], a[0]), d2 = d(b[0], b[1], a[1]), d3 = d(a[0], a[1], b[0]), d4 = d(a[0], a[1], b[1]);
      if (((d1 > E && d2 < -E) || (d1 < -E && d2 > E)) && ((d3 > E && d4 < -E) || (d3 < -E && d4 > E))) { seen.add(key); count++; }
    }
  }
  return count;
}
function overlaps(rects) {
  let n = 0;
  const idx = rects.map((_, i) => i).sort((a, b) => rects[a][0] - rects[b][0]);
  for (let k = 0; k < idx.length; k++) {
    const a = rects[idx[k]];
    for (let m = k + 1; m < idx.length; m++) {
      const b = rects[idx[m]];
      if (b[0] >= a[0] + a[2]) break;
      if (b[1] < a[1] + a[3] && a[1] < b[1] + b[3]) n++;
    }
  }
  return n;
}

const out = { tables: boxes.length, relations: rels.length };
out.qore = { crossings: crossings(D.layout.edges.map((e) => e.points)), overlaps: overlaps(boxes.map((b) => [b.x, b.y, b.w, b.h])) };
if (process.argv[3] === '--qore-only') { console.log(JSON.stringify(out)); process.exit(0); }

{
  const g = new dagre.graphlib.Graph({ multigraph: true });
  g.setGraph({ rankdir: 'LR', nodesep: 28, ranksep: 60 });
  g.setDefaultEdgeLabel(() => ({}));
  boxes.forEach((b, i) => g.setNode(String(i), { width: b.w, height: b.h }));
  rels.forEach((r, i) => { if (r.from !== r.to) g.setEdge(String(r.to), String(r.from), {}, 'e' + i); });
  const t0 = performance.now();
  dagre.layout(g);
  const ms = performance.now() - t0;
  const lines = g.edges().map((e) => g.edge(e).points.map((p) => [p.x, p.y]));
  const rects = boxes.map((_, i) => { const n = g.node(String(i)); return [n.x - n.width / 2, n.y - n.height / 2, n.width, n.height]; });
  out.dagre = { ms, crossings: crossings(lines), overlaps: overlaps(rects) };
}
{
  const elk = new ELK();
  const graph = {
    id: 'root',
    layoutOptions: { 'elk.algorithm': 'layered', 'elk.direction': 'RIGHT', 'elk.edgeRouting': 'ORTHOGONAL', 'elk.spacing.nodeNode': '28' },
    children: boxes.map((b, i) => ({ id: 'n' + i, width: b.w, height: b.h })),
    edges: rels.filter((r) => r.from !== r.to).map((r, i) => ({ id: 'e' + i, sources: ['n' + r.to], targets: ['n' + r.from] })),
  };
  const t0 = performance.now();
  const res = await elk.layout(graph);
  const ms = performance.now() - t0;
  const lines = res.edges.flatMap((e) => (e.sections || []).map((s) => [[s.startPoint.x, s.startPoint.y], ...(s.bendPoints || []).map((p) => [p.x, p.y]), [s.endPoint.x, s.endPoint.y]]));
  out.elkjs = { ms, crossings: crossings(lines), overlaps: overlaps(res.children.map((c) => [c.x, c.y, c.width, c.height])) };
}
console.log(JSON.stringify(out));

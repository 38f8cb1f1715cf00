//! A layered (Sugiyama-style) layout of one connected group of tables:
//! cycles broken, layers assigned by network simplex (`rank.rs`), long
//! relations split by dummy vertices, crossings reduced by port-aware
//! barycenter sweeps and adjacent swaps, vertical positions
//! straightened by isotonic regression, and relations routed orthogonally
//! through dummy slots and per-channel tracks, so they never cross a box.
//!
//! Left to right: a referenced table sits left of the tables that reference
//! it; relations leave a box's right side at the row of their column and
//! enter the next box's left side at the row of theirs.

use std::cmp::Ordering;

use super::order::{crossings, initial_order, reorder, transpose};

/// A relation between two boxes of the group, with where it attaches.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Link {
    /// The referenced box (placed left).
    pub from: usize,
    /// Offset of its port from the box's top.
    pub from_y: f64,
    /// The referencing box.
    pub to: usize,
    /// Offset of its port from the box's top.
    pub to_y: f64,
}

/// Positions of the boxes (top-left corners) and each link's route, from
/// its `from` port to its `to` port.
#[derive(Debug, Clone, Default)]
pub(crate) struct Placed {
    pub pos: Vec<(f64, f64)>,
    pub routes: Vec<Vec<(f64, f64)>>,
    pub width: f64,
    pub height: f64,
}

/// Space between boxes of one layer.
const BOX_GAP: f64 = 28.0;
/// Space between a dummy slot and its neighbours.
const DUMMY_GAP: f64 = 10.0;
/// Space between two parallel vertical tracks in a channel.
const TRACK: f64 = 7.0;
/// Margin between a layer and the first or last track of a channel.
const CHANNEL_PAD: f64 = 24.0;
/// Ordering sweeps (each one down and one up).
const SWEEPS: usize = 16;

/// One vertex of the layered graph: a box, or a dummy point of a long link.
#[derive(Debug, Clone, Copy)]
pub(super) struct Vertex {
    pub(super) h: f64,
    pub(super) w: f64,
    pub(super) dummy: bool,
}

/// A link's piece between two adjacent layers: upper (left) vertex and its
/// port offset, lower (right) vertex and its port offset.
#[derive(Debug, Clone, Copy)]
pub(super) struct Seg {
    pub(super) a: usize,
    pub(super) a_off: f64,
    pub(super) b: usize,
    pub(super) b_off: f64,
}

/// Lays out one connected group. `sizes` are (width, height) per box.
pub(crate) fn layered(sizes: &[(f64, f64)], links: &[Link]) -> Placed {
    let n = sizes.len();
    let mut verts: Vec<Vertex> = sizes
        .iter()
        .map(|&(w, h)| Vertex { h, w, dummy: false })
        .collect();
    // 1. Break cycles: links along a DFS back edge are laid out reversed.
    let reversed = back_edges(n, links);
    let dir: Vec<(usize, f64, usize, f64)> = links
        .iter()
        .zip(&reversed)
        .map(|(l, &rev)| {
            if rev {
                (l.to, l.to_y, l.from, l.from_y)
            } else {
                (l.from, l.from_y, l.to, l.to_y)
            }
        })
        .collect();
    // 2. Layers.
    let rank = ranks(n, &dir);
    let layers_n = rank.iter().copied().max().map_or(1, |m| m + 1);
    // 3. Dummy vertices for links spanning several layers.
    let mut vrank = rank.clone();
    let mut chains: Vec<Vec<usize>> = Vec::with_capacity(links.len());
    let mut segs: Vec<Seg> = Vec::new();
    let mut seg_of_link: Vec<Vec<usize>> = Vec::with_capacity(links.len());
    for &(a, a_off, b, b_off) in &dir {
        let mut chain = vec![a];
        if a == b {
            chains.push(chain);
            seg_of_link.push(Vec::new());
            continue;
        }
        for r in rank[a] + 1..rank[b] {
            verts.push(Vertex {
                h: 0.0,
                w: 0.0,
                dummy: true,
            });
            vrank.push(r);
            chain.push(verts.len() - 1);
        }
        chain.push(b);
        let mut mine = Vec::new();
        for k in 0..chain.len() - 1 {
            let (u, v) = (chain[k], chain[k + 1]);
            mine.push(segs.len());
            segs.push(Seg {
                a: u,
                a_off: if k == 0 { a_off } else { 0.0 },
                b: v,
                b_off: if k + 2 == chain.len() { b_off } else { 0.0 },
            });
        }
        seg_of_link.push(mine);
        chains.push(chain);
    }
    let vn = verts.len();
    let mut down: Vec<Vec<usize>> = vec![Vec::new(); vn];
    let mut up: Vec<Vec<usize>> = vec![Vec::new(); vn];
    for (i, s) in segs.iter().enumerate() {
        down[s.a].push(i);
        up[s.b].push(i);
    }
    // 4. Order within layers.
    let mut layers = initial_order(&vrank, layers_n, &down, &segs);
    let mut coord = vec![0.0; vn];
    for l in &layers {
        stack(l, &verts, &mut coord);
    }
    let mut best = layers.clone();
    let mut best_cross = crossings(&layers, &segs, &coord, &up);
    let mut stale = 0;
    for it in 0..SWEEPS {
        if best_cross == 0 || stale >= 4 {
            break;
        }
        for i in 1..layers.len() {
            reorder(&mut layers[i], &verts, &mut coord, &up, &segs, true);
        }
        for i in (0..layers.len().saturating_sub(1)).rev() {
            reorder(&mut layers[i], &verts, &mut coord, &down, &segs, false);
        }
        transpose(&mut layers, &verts, &mut coord, &up, &down, &segs);
        let c = crossings(&layers, &segs, &coord, &up);
        if c < best_cross {
            best_cross = c;
            best = layers.clone();
            stale = 0;
        } else {
            stale += 1;
        }
        // Alternate tie handling so equal keys do not freeze the order.
        if it % 2 == 1 {
            for l in &mut layers {
                l.reverse();
                stack(l, &verts, &mut coord);
            }
        }
    }
    let layers = best;
    for l in &layers {
        stack(l, &verts, &mut coord);
    }
    // 5. Vertical positions: each vertex pulled towards its neighbours'
    // ports, order and spacing kept.
    for round in 0..8 {
        let order: Vec<usize> = if round % 2 == 0 {
            (0..layers.len()).collect()
        } else {
            (0..layers.len()).rev().collect()
        };
        for i in order {
            straighten(&layers[i], &verts, &mut coord, &up, &down, &segs);
        }
    }
    let min_y = coord.iter().copied().fold(f64::INFINITY, f64::min);
    let min_y = if min_y.is_finite() { min_y } else { 0.0 };
    // Whole units: ports (offsets in whole units too) that nearly line up
    // line up exactly, and a link is straight or has a visible jog.
    for c in &mut coord {
        *c = (*c - min_y).round();
    }
    // 6. Channels between layers and the x of each layer.
    let port = |v: usize, off: f64| coord[v] + off;
    let mut tracks: Vec<Vec<(usize, usize)>> = vec![Vec::new(); layers.len()];
    let mut seg_track = vec![0usize; segs.len()];
    for (i, s) in segs.iter().enumerate() {
        let (y1, y2) = (port(s.a, s.a_off), port(s.b, s.b_off));
        if (y1 - y2).abs() > 0.5 {
            tracks[vrank[s.a]].push((i, 0));
        }
    }
    let mut channel_w = vec![0.0; layers.len()];
    for (r, ch) in tracks.iter_mut().enumerate() {
        let t = assign_tracks(ch, &segs, &port);
        for &(s, k) in ch.iter() {
            seg_track[s] = k;
        }
        channel_w[r] = 2.0 * CHANNEL_PAD + t.saturating_sub(1) as f64 * TRACK;
    }
    let mut layer_x = vec![0.0; layers.len()];
    let mut layer_w = vec![0.0f64; layers.len()];
    for (r, l) in layers.iter().enumerate() {
        layer_w[r] = l.iter().map(|&v| verts[v].w).fold(0.0, f64::max);
        if r > 0 {
            layer_x[r] = layer_x[r - 1] + layer_w[r - 1] + channel_w[r - 1];
        }
    }
    // 7. Routes.
    let mut routes = Vec::with_capacity(links.len());
    for (li, chain) in chains.iter().enumerate() {
        let (a, a_off, b, b_off) = dir[li];
        let mut pts: Vec<(f64, f64)> = Vec::new();
        if a == b {
            let x = layer_x[rank[a]] + verts[a].w;
            let y = coord[a];
            let out = x + CHANNEL_PAD * 0.6;
            pts.extend([(x, y + a_off), (out, y + a_off), (out, y + b_off), (x, y + b_off)]);
        } else {
            pts.push((layer_x[rank[a]] + verts[a].w, port(a, a_off)));
            for &si in &seg_of_link[li] {
                let s = segs[si];
                let r = vrank[s.a];
                let (y1, y2) = (port(s.a, s.a_off), port(s.b, s.b_off));
                if (y1 - y2).abs() > 0.5 {
                    let x = layer_x[r] + layer_w[r] + CHANNEL_PAD + seg_track[si] as f64 * TRACK;
                    pts.push((x, y1));
                    pts.push((x, y2));
                }
            }
            pts.push((layer_x[rank[b]], port(b, b_off)));
            let _ = chain;
        }
        simplify(&mut pts);
        if reversed[li] {
            pts.reverse();
        }
        routes.push(pts);
    }
    let pos: Vec<(f64, f64)> = (0..n).map(|v| (layer_x[rank[v]], coord[v])).collect();
    let mut width = (0..n).map(|v| pos[v].0 + verts[v].w).fold(0.0, f64::max);
    let mut height = (0..n).map(|v| pos[v].1 + verts[v].h).fold(0.0, f64::max);
    for r in &routes {
        for &(x, y) in r {
            width = width.max(x);
            height = height.max(y);
        }
    }
    Placed {
        pos,
        routes,
        width,
        height,
    }
}

/// Links along a back edge of a depth-first search (visited in index
/// order): reversing them leaves no cycle.
fn back_edges(n: usize, links: &[Link]) -> Vec<bool> {
    let mut out: Vec<Vec<(usize, usize)>> = vec![Vec::new(); n];
    for (i, l) in links.iter().enumerate() {
        if l.from != l.to {
            out[l.from].push((l.to, i));
        }
    }
    let mut rev = vec![false; links.len()];
    // 0 unvisited, 1 on the stack, 2 done.
    let mut state = vec![0u8; n];
    for root in 0..n {
        if state[root] != 0 {
            continue;
        }
        let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
        state[root] = 1;
        while let Some(&mut (v, ref mut next)) = stack.last_mut() {
            if *next < out[v].len() {
                let (w, li) = out[v][*next];
                *next += 1;
                match state[w] {
                    0 => {
                        state[w] = 1;
                        stack.push((w, 0));
                    }
                    1 => rev[li] = true,
                    _ => {}
                }
            } else {
                state[v] = 2;
                stack.pop();
            }
        }
    }
    rev
}

/// Layers by network simplex (the shortest links in total), bounded so a
/// pathological schema still lays out quickly.
fn ranks(n: usize, dir: &[(usize, f64, usize, f64)]) -> Vec<usize> {
    let links: Vec<(usize, usize)> = dir.iter().map(|&(a, _, b, _)| (a, b)).collect();
    super::rank::network_simplex(n, &links, 20 * n + 100)
}

fn gap(a: &Vertex, b: &Vertex) -> f64 {
    if a.dummy || b.dummy {
        DUMMY_GAP
    } else {
        BOX_GAP
    }
}

/// Stacks a layer's vertices top to bottom with their gaps.
pub(super) fn stack(layer: &[usize], verts: &[Vertex], coord: &mut [f64]) {
    let mut y = 0.0;
    for (k, &v) in layer.iter().enumerate() {
        if k > 0 {
            y += gap(&verts[layer[k - 1]], &verts[v]);
        }
        coord[v] = y;
        y += verts[v].h;
    }
}

/// Moves the vertices of a layer as close as possible (least squares) to
/// the median of what their links want, keeping their order and gaps:
/// isotonic regression by pooling adjacent violators.
fn straighten(
    layer: &[usize],
    verts: &[Vertex],
    coord: &mut [f64],
    up: &[Vec<usize>],
    down: &[Vec<usize>],
    segs: &[Seg],
) {
    if layer.is_empty() {
        return;
    }
    // Offsets that turn "y[k+1] >= y[k] + h[k] + gap" into "z[k+1] >= z[k]".
    let mut offset = vec![0.0; layer.len()];
    for k in 1..layer.len() {
        offset[k] =
            offset[k - 1] + verts[layer[k - 1]].h + gap(&verts[layer[k - 1]], &verts[layer[k]]);
    }
    // Blocks: (weighted sum, weight, count).
    let mut blocks: Vec<(f64, f64, usize)> = Vec::with_capacity(layer.len());
    for (k, &v) in layer.iter().enumerate() {
        let mut want: Vec<f64> = up[v]
            .iter()
            .map(|&s| coord[segs[s].a] + segs[s].a_off - segs[s].b_off)
            .chain(
                down[v]
                    .iter()
                    .map(|&s| coord[segs[s].b] + segs[s].b_off - segs[s].a_off),
            )
            .collect();
        let (target, w) = if want.is_empty() {
            (coord[v], 0.05)
        } else {
            want.sort_by(|a, b| a.partial_cmp(b).unwrap_or(Ordering::Equal));
            let m = want.len();
            let med = if m % 2 == 1 {
                want[m / 2]
            } else {
                (want[m / 2 - 1] + want[m / 2]) / 2.0
            };
            // Dummies weigh more: long links run straight.
            (med, if verts[v].dummy { 2.0 } else { 1.0 })
        };
        blocks.push(((target - offset[k]) * w, w, 1));
        while blocks.len() > 1 {
            let last = blocks[blocks.len() - 1];
            let prev = blocks[blocks.len() - 2];
            if prev.0 / prev.1 > last.0 / last.1 {
                blocks.pop();
                let p = blocks.len() - 1;
                blocks[p] = (prev.0 + last.0, prev.1 + last.1, prev.2 + last.2);
            } else {
                break;
            }
        }
    }
    let mut k = 0;
    for (sum, w, count) in blocks {
        let z = sum / w;
        for _ in 0..count {
            coord[layer[k]] = z + offset[k];
            k += 1;
        }
    }
}

/// Gives each vertical piece of a channel a track so that pieces whose
/// spans overlap never share one, ordered so that nested links do not
/// cross: downward pieces starting lower take the left tracks, upward ones
/// starting higher. Returns the number of tracks.
fn assign_tracks(
    channel: &mut [(usize, usize)],
    segs: &[Seg],
    port: &impl Fn(usize, f64) -> f64,
) -> usize {
    let ends = |s: usize| {
        let s = segs[s];
        (port(s.a, s.a_off), port(s.b, s.b_off))
    };
    channel.sort_by(|x, y| {
        let (a1, a2) = ends(x.0);
        let (b1, b2) = ends(y.0);
        let (ad, bd) = (a1 < a2, b1 < b2);
        match (ad, bd) {
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            (true, true) => b1
                .partial_cmp(&a1)
                .unwrap_or(Ordering::Equal)
                .then(b2.partial_cmp(&a2).unwrap_or(Ordering::Equal)),
            (false, false) => a1
                .partial_cmp(&b1)
                .unwrap_or(Ordering::Equal)
                .then(a2.partial_cmp(&b2).unwrap_or(Ordering::Equal)),
        }
        .then(x.0.cmp(&y.0))
    });
    let mut placed: Vec<(f64, f64, usize)> = Vec::with_capacity(channel.len());
    let mut count = 0;
    for item in channel.iter_mut() {
        let (y1, y2) = ends(item.0);
        let (lo, hi) = (y1.min(y2), y1.max(y2));
        let t = placed
            .iter()
            .filter(|(l, h, _)| *l <= hi + 2.0 && lo <= *h + 2.0)
            .map(|(_, _, t)| t + 1)
            .max()
            .unwrap_or(0);
        item.1 = t;
        count = count.max(t + 1);
        placed.push((lo, hi, t));
    }
    count
}

/// Drops repeated points and middle points of straight runs.
fn simplify(pts: &mut Vec<(f64, f64)>) {
    pts.dedup_by(|b, a| (a.0 - b.0).abs() < 0.01 && (a.1 - b.1).abs() < 0.01);
    let mut out: Vec<(f64, f64)> = Vec::with_capacity(pts.len());
    for &p in pts.iter() {
        while out.len() >= 2 {
            let (a, b) = (out[out.len() - 2], out[out.len() - 1]);
            let straight = ((a.0 - b.0).abs() < 0.01 && (b.0 - p.0).abs() < 0.01)
                || ((a.1 - b.1).abs() < 0.01 && (b.1 - p.1).abs() < 0.01);
            if straight {
                out.pop();
            } else {
                break;
            }
        }
        out.push(p);
    }
    *pts = out;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::order::inversions;

    #[test]
    fn inversions_count() {
        let mut v = vec![3.0, 1.0, 2.0];
        assert_eq!(inversions(&mut v), 2);
        let mut v = vec![1.0, 1.0, 1.0];
        assert_eq!(inversions(&mut v), 0);
    }

    #[test]
    fn a_cycle_is_broken_once() {
        let l = |from, to| Link {
            from,
            from_y: 0.0,
            to,
            to_y: 0.0,
        };
        let links = [l(0, 1), l(1, 2), l(2, 0)];
        assert_eq!(back_edges(3, &links), [false, false, true]);
    }

    #[test]
    fn a_chain_runs_left_to_right() {
        let sizes = [(100.0, 60.0), (80.0, 40.0), (90.0, 50.0)];
        let l = |from, to| Link {
            from,
            from_y: 10.0,
            to,
            to_y: 10.0,
        };
        let p = layered(&sizes, &[l(0, 1), l(1, 2)]);
        assert!(p.pos[0].0 < p.pos[1].0 && p.pos[1].0 < p.pos[2].0);
        // Straight: every port at the same height.
        assert_eq!(p.routes[0].len(), 2, "{:?}", p.routes);
    }
}

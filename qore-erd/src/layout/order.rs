//! Ordering the vertices within their layers: a depth-first first order,
//! then sweeps that sort each layer by where its links want it
//! (barycenters of port positions), adjacent swaps while they remove
//! crossings, and the crossing count that picks the best order seen.

use std::cmp::Ordering;

use super::layered::{Seg, Vertex, stack};

/// A first order: depth-first along the links from the first layer, so
/// that related vertices start near each other.
pub(super) fn initial_order(
    vrank: &[usize],
    layers_n: usize,
    down: &[Vec<usize>],
    segs: &[Seg],
) -> Vec<Vec<usize>> {
    let vn = vrank.len();
    let mut layers: Vec<Vec<usize>> = vec![Vec::new(); layers_n];
    let mut seen = vec![false; vn];
    let mut roots: Vec<usize> = (0..vn).collect();
    roots.sort_by_key(|&v| (vrank[v], v));
    for root in roots {
        if seen[root] {
            continue;
        }
        let mut stack = vec![root];
        while let Some(v) = stack.pop() {
            if seen[v] {
                continue;
            }
            seen[v] = true;
            layers[vrank[v]].push(v);
            for &s in down[v].iter().rev() {
                if !seen[segs[s].b] {
                    stack.push(segs[s].b);
                }
            }
        }
    }
    layers
}

/// Sorts a layer by where its neighbours in the adjacent layer want each
/// vertex's centre (their port minus this vertex's port offset), then
/// restacks it.
pub(super) fn reorder(
    layer: &mut [usize],
    verts: &[Vertex],
    coord: &mut [f64],
    adj: &[Vec<usize>],
    segs: &[Seg],
    from_above: bool,
) {
    let mut keyed: Vec<(f64, usize, usize)> = layer
        .iter()
        .enumerate()
        .map(|(k, &v)| {
            let mut sum = 0.0;
            let mut cnt = 0usize;
            for &s in &adj[v] {
                let s = segs[s];
                let (other, other_off, own_off) = if from_above {
                    (s.a, s.a_off, s.b_off)
                } else {
                    (s.b, s.b_off, s.a_off)
                };
                sum += coord[other] + other_off - own_off;
                cnt += 1;
            }
            let key = if cnt == 0 {
                coord[v]
            } else {
                sum / cnt as f64
            } + verts[v].h / 2.0;
            (key, k, v)
        })
        .collect();
    keyed.sort_by(|x, y| x.0.partial_cmp(&y.0).unwrap_or(Ordering::Equal).then(x.1.cmp(&y.1)));
    for (slot, (_, _, v)) in layer.iter_mut().zip(keyed) {
        *slot = v;
    }
    stack(layer, verts, coord);
}

/// Swaps neighbours of a layer while that removes crossings with the
/// adjacent layers (the ports of those layers stay where they are).
pub(super) fn transpose(
    layers: &mut [Vec<usize>],
    verts: &[Vertex],
    coord: &mut [f64],
    up: &[Vec<usize>],
    down: &[Vec<usize>],
    segs: &[Seg],
) {
    let sorted = |mut p: Vec<f64>| {
        p.sort_by(|a, b| a.partial_cmp(b).unwrap_or(Ordering::Equal));
        p
    };
    // The ports a vertex's links reach in the layer above and below.
    let far = |v: usize, coord: &[f64]| -> (Vec<f64>, Vec<f64>) {
        (
            sorted(up[v].iter().map(|&s| coord[segs[s].a] + segs[s].a_off).collect()),
            sorted(down[v].iter().map(|&s| coord[segs[s].b] + segs[s].b_off).collect()),
        )
    };
    // Pairs (x from the upper vertex, y from the lower) with x > y cross.
    let cross = |a: &[f64], b: &[f64]| -> usize {
        let mut n = 0;
        let mut j = 0;
        for &x in a {
            while j < b.len() && b[j] < x {
                j += 1;
            }
            n += j;
        }
        n
    };
    for _ in 0..4 {
        let mut improved = false;
        for l in layers.iter_mut() {
            // A layer's swaps only read the adjacent layers' ports, which
            // stay put while it is worked on: read them once, restack once.
            let mut ports: Vec<(Vec<f64>, Vec<f64>)> = l.iter().map(|&v| far(v, coord)).collect();
            let mut changed = false;
            for k in 0..l.len().saturating_sub(1) {
                let (pu, pv) = (&ports[k], &ports[k + 1]);
                let now = cross(&pu.0, &pv.0) + cross(&pu.1, &pv.1);
                let swapped = cross(&pv.0, &pu.0) + cross(&pv.1, &pu.1);
                if swapped < now {
                    l.swap(k, k + 1);
                    ports.swap(k, k + 1);
                    changed = true;
                }
            }
            if changed {
                stack(l, verts, coord);
                improved = true;
            }
        }
        if !improved {
            break;
        }
    }
}

/// Crossings between adjacent layers, counted from the port order of the
/// segments (inversions).
pub(super) fn crossings(layers: &[Vec<usize>], segs: &[Seg], coord: &[f64], up: &[Vec<usize>]) -> usize {
    let mut total = 0;
    for l in layers.iter().skip(1) {
        let mut pairs: Vec<(f64, f64)> = l
            .iter()
            .flat_map(|&v| up[v].iter())
            .map(|&s| {
                let s = segs[s];
                (coord[s.a] + s.a_off, coord[s.b] + s.b_off)
            })
            .collect();
        pairs.sort_by(|x, y| {
            x.0.partial_cmp(&y.0)
                .unwrap_or(Ordering::Equal)
                .then(x.1.partial_cmp(&y.1).unwrap_or(Ordering::Equal))
        });
        let mut lower: Vec<f64> = pairs.into_iter().map(|p| p.1).collect();
        total += inversions(&mut lower);
    }
    total
}

/// Strict inversions of `v` (merge sort; `v` ends sorted).
pub(super) fn inversions(v: &mut [f64]) -> usize {
    let n = v.len();
    if n < 2 {
        return 0;
    }
    let mid = n / 2;
    let mut count = inversions(&mut v[..mid]) + inversions(&mut v[mid..]);
    let mut merged = Vec::with_capacity(n);
    let (mut i, mut j) = (0, mid);
    while i < mid && j < n {
        if v[j] < v[i] {
            count += mid - i;
            merged.push(v[j]);
            j += 1;
        } else {
            merged.push(v[i]);
            i += 1;
        }
    }
    merged.extend_from_slice(&v[i..mid]);
    merged.extend_from_slice(&v[j..n]);
    v.copy_from_slice(&merged);
    count
}


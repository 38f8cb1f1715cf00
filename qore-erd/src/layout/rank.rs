//! Layer assignment by network simplex (Gansner et al., "A technique for
//! drawing directed graphs", 1993): the layers that minimise the total
//! length of the links, each link at least one layer long. Long links
//! cost dummy vertices and crossings, so this is where a readable diagram
//! of a deep schema starts.
//!
//! Cut values come from one observation: for a tree edge whose lower end
//! roots subtree S, (weight leaving S) − (weight entering S) is the sum over
//! S of each vertex's out-weight minus in-weight, so every cut value is a
//! subtree sum, all of them in O(V) after each exchange.

use std::collections::BinaryHeap;
use std::cmp::Reverse;

/// Layers of the vertices of one connected, acyclic graph whose links are
/// `(tail, head)` (head at least one layer after tail), normalised to start
/// at 0. `max_iterations` bounds the simplex; the result is feasible even
/// when it stops early.
pub(crate) fn network_simplex(n: usize, links: &[(usize, usize)], max_iterations: usize) -> Vec<usize> {
    let mut rank = longest_path(n, links);
    if n <= 1 {
        return vec![0; n];
    }
    let mut adj: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, &(a, b)) in links.iter().enumerate() {
        if a != b {
            adj[a].push(i);
            adj[b].push(i);
        }
    }
    let slack = |rank: &[i64], e: usize| rank[links[e].1] - rank[links[e].0] - 1;
    // A feasible spanning tree of tight links.
    let mut in_tree = vec![false; n];
    let mut tree_edge = vec![false; links.len()];
    in_tree[0] = true;
    let mut size = 1;
    let mut members = vec![0usize];
    loop {
        // Grow along tight links.
        let mut stack = members.clone();
        while let Some(v) = stack.pop() {
            for &e in &adj[v] {
                let (a, b) = links[e];
                let w = if a == v { b } else { a };
                if !in_tree[w] && slack(&rank, e) == 0 {
                    in_tree[w] = true;
                    tree_edge[e] = true;
                    size += 1;
                    members.push(w);
                    stack.push(w);
                }
            }
        }
        if size == n {
            break;
        }
        // The link with one end in the tree and the least slack; shift the
        // tree to make it tight.
        let mut best: Option<(i64, usize)> = None;
        for (e, &(a, b)) in links.iter().enumerate() {
            if a != b && in_tree[a] != in_tree[b] {
                let s = slack(&rank, e);
                if best.is_none_or(|(bs, _)| s < bs) {
                    best = Some((s, e));
                }
            }
        }
        let Some((s, e)) = best else { break };
        let delta = if in_tree[links[e].0] { s } else { -s };
        for &v in &members {
            rank[v] += delta;
        }
    }
    let mut t = Tree::build(n, links, &tree_edge, &adj);
    for _ in 0..max_iterations {
        // A tree link with a negative cut value leaves ...
        let Some(leave) = (0..links.len())
            .filter(|&e| tree_edge[e])
            .find(|&e| t.cut_value(links, e) < 0)
        else {
            break;
        };
        let (a, b) = links[leave];
        let c = if t.parent[a] == Some(leave) { a } else { b };
        let inside = |v: usize, t: &Tree| t.low[c] <= t.lim[v] && t.lim[v] <= t.lim[c];
        // ... and the least-slack link across the cut the other way enters.
        let tail_inside = c == a;
        let mut enter: Option<(i64, usize)> = None;
        for (e, &(x, y)) in links.iter().enumerate() {
            if tree_edge[e] || x == y {
                continue;
            }
            let (xi, yi) = (inside(x, &t), inside(y, &t));
            let crosses = if tail_inside { !xi && yi } else { xi && !yi };
            if crosses {
                let s = slack(&rank, e);
                if enter.is_none_or(|(bs, _)| s < bs) {
                    enter = Some((s, e));
                }
            }
        }
        let Some((s, f)) = enter else { break };
        let delta = if inside(links[f].1, &t) { -s } else { s };
        for v in 0..n {
            if inside(v, &t) {
                rank[v] += delta;
            }
        }
        tree_edge[leave] = false;
        tree_edge[f] = true;
        t = Tree::build(n, links, &tree_edge, &adj);
    }
    let min = rank.iter().copied().min().unwrap_or(0);
    rank.iter().map(|&r| usize::try_from(r - min).unwrap_or(0)).collect()
}

/// Longest-path layers: every link at least one layer long.
fn longest_path(n: usize, links: &[(usize, usize)]) -> Vec<i64> {
    let mut succs: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut indeg = vec![0usize; n];
    for &(a, b) in links {
        if a != b {
            succs[a].push(b);
            indeg[b] += 1;
        }
    }
    let mut ready: BinaryHeap<Reverse<usize>> = (0..n).filter(|&v| indeg[v] == 0).map(Reverse).collect();
    let mut rank = vec![0i64; n];
    while let Some(Reverse(v)) = ready.pop() {
        for &w in &succs[v] {
            rank[w] = rank[w].max(rank[v] + 1);
            indeg[w] -= 1;
            if indeg[w] == 0 {
                ready.push(Reverse(w));
            }
        }
    }
    rank
}

/// The spanning tree rooted at vertex 0: parent links, postorder numbers
/// (`lim`) and the lowest number in each subtree (`low`), and subtree sums
/// of the vertices' out-minus-in weight.
struct Tree {
    parent: Vec<Option<usize>>,
    low: Vec<usize>,
    lim: Vec<usize>,
    sum: Vec<i64>,
}

impl Tree {
    fn build(n: usize, links: &[(usize, usize)], tree_edge: &[bool], adj: &[Vec<usize>]) -> Tree {
        let mut t = Tree {
            parent: vec![None; n],
            low: vec![0; n],
            lim: vec![0; n],
            sum: vec![0; n],
        };
        let mut d = vec![0i64; n];
        for &(a, b) in links {
            if a != b {
                d[a] += 1;
                d[b] -= 1;
            }
        }
        let mut seen = vec![false; n];
        let mut next = 1;
        // Iterative postorder from the root.
        let mut stack: Vec<(usize, usize)> = vec![(0, 0)];
        seen[0] = true;
        let mut low_stack: Vec<usize> = vec![next];
        while let Some(&mut (v, ref mut k)) = stack.last_mut() {
            if *k < adj[v].len() {
                let e = adj[v][*k];
                *k += 1;
                if !tree_edge[e] {
                    continue;
                }
                let (a, b) = links[e];
                let w = if a == v { b } else { a };
                if !seen[w] {
                    seen[w] = true;
                    t.parent[w] = Some(e);
                    stack.push((w, 0));
                    low_stack.push(next);
                }
            } else {
                stack.pop();
                t.low[v] = low_stack.pop().unwrap_or(next);
                t.lim[v] = next;
                next += 1;
                t.sum[v] += d[v];
                if let Some(e) = t.parent[v] {
                    let (a, b) = links[e];
                    let p = if a == v { b } else { a };
                    t.sum[p] += t.sum[v];
                }
            }
        }
        t
    }

    /// The cut value of tree link `e`: weight from its tail's side to its
    /// head's side minus the weight back.
    fn cut_value(&self, links: &[(usize, usize)], e: usize) -> i64 {
        let (a, b) = links[e];
        if self.parent[a] == Some(e) {
            // The subtree holds the tail.
            self.sum[a]
        } else {
            -self.sum[b]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn total(rank: &[usize], links: &[(usize, usize)]) -> usize {
        links.iter().map(|&(a, b)| rank[b] - rank[a]).sum()
    }

    #[test]
    fn links_are_feasible_and_short() {
        // A diamond with a long shortcut: longest path stretches the
        // shortcut over three layers; the optimum pulls node 4 down.
        let links = [(0, 1), (1, 2), (2, 3), (0, 3), (4, 3)];
        let r = network_simplex(5, &links, 100);
        for &(a, b) in &links {
            assert!(r[b] > r[a], "{r:?}");
        }
        assert_eq!(r[4] + 1, r[3], "{r:?}");
        assert_eq!(total(&r, &links), 1 + 1 + 1 + 3 + 1);
    }
}

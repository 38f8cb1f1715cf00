//! Geometry of a diagram: table boxes sized by their content, a layered
//! layout per connected group, groups packed into rows, relations routed
//! between the rows of the columns they join.
//!
//! Written here rather than on `rust-sugiyama`: that crate returns vertex
//! positions only (no dummy-vertex bends to route relations between boxes,
//! no ports on columns), so routing around boxes would have to redo its
//! work. Everything is deterministic: the same model gives the same numbers.

mod layered;
mod order;
mod rank;

use serde::Serialize;

use crate::model::{Model, Table};
use crate::select::Columns;
use layered::{Link, layered};

/// Height of a box's title bar.
pub const HEADER: f64 = 26.0;
/// Height of one column row.
pub const ROW: f64 = 18.0;
/// Width of one character of the column rows (12 px monospace).
pub const CHAR: f64 = 7.3;
/// Width of one character of the title (13 px bold monospace).
pub const TITLE_CHAR: f64 = 8.1;
/// Inner horizontal padding of a box.
pub const PAD: f64 = 8.0;
/// Longest type shown in a box before it is cut with `…`.
pub const MAX_TYPE: usize = 22;
/// Longest name shown in a box before it is cut with `…`.
pub const MAX_NAME: usize = 36;
/// Space around and between packed groups.
const MARGIN: f64 = 40.0;

/// Which way the layers run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Referenced tables left of the tables that reference them.
    #[default]
    LeftRight,
    /// Referenced tables on the right.
    RightLeft,
}

impl Direction {
    /// Parses `lr` or `rl`.
    ///
    /// # Error handling
    ///
    /// [`qore_core::Error::InvalidInput`] naming the accepted words.
    pub fn parse(s: &str) -> qore_core::Result<Direction> {
        match s.to_ascii_lowercase().as_str() {
            "lr" => Ok(Direction::LeftRight),
            "rl" => Ok(Direction::RightLeft),
            _ => Err(qore_core::Error::InvalidInput(format!(
                "--direction `{s}`: expected lr or rl"
            ))),
        }
    }
}

/// One table's box.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BoxGeom {
    /// Left.
    pub x: f64,
    /// Top.
    pub y: f64,
    /// Width.
    pub w: f64,
    /// Height.
    pub h: f64,
    /// Indexes (into the table's columns) of the rows shown, top to bottom.
    pub rows: Vec<usize>,
    /// Offset of the type column from the box's left.
    pub type_x: f64,
}

/// One relation's route.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EdgeGeom {
    /// Points from the referencing column's port to the referenced one's.
    pub points: Vec<(f64, f64)>,
}

/// The geometry of a whole diagram, in the model's table and relation order.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Layout {
    /// Width of the drawing.
    pub width: f64,
    /// Height of the drawing.
    pub height: f64,
    /// One box per table.
    pub boxes: Vec<BoxGeom>,
    /// One route per relation.
    pub edges: Vec<EdgeGeom>,
}

/// The short form of a tag inside a box (`FK→t(c)` shows as `FK`).
pub fn short_tag(tag: &str) -> &str {
    if tag.starts_with("VFK→") {
        "VFK"
    } else if tag.starts_with("FK→") {
        "FK"
    } else {
        tag
    }
}

/// Cuts `s` to `max` characters with an ellipsis.
pub fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

/// The box of `t` (at 0, 0) with the rows `columns` asks for.
fn size_box(t: &Table, columns: Columns) -> BoxGeom {
    let rows: Vec<usize> = match columns {
        Columns::All => (0..t.columns.len()).collect(),
        Columns::Keys => (0..t.columns.len()).filter(|&i| t.columns[i].key).collect(),
        Columns::None => Vec::new(),
    };
    let len = |s: &str| s.chars().count();
    let name_w = rows
        .iter()
        .map(|&i| len(&cut(&t.columns[i].name, MAX_NAME)))
        .max()
        .unwrap_or(0);
    let type_w = rows
        .iter()
        .map(|&i| len(&cut(&t.columns[i].source_type, MAX_TYPE)))
        .max()
        .unwrap_or(0);
    let tags_w = rows
        .iter()
        .map(|&i| {
            let tags: Vec<&str> = t.columns[i].tags.iter().map(|t| short_tag(t)).collect();
            len(&tags.join(" "))
        })
        .max()
        .unwrap_or(0);
    let title = len(&cut(&t.label, MAX_NAME + 12)) as f64 * TITLE_CHAR;
    let body = if rows.is_empty() {
        0.0
    } else {
        (name_w + 2 + type_w + if tags_w > 0 { 2 + tags_w } else { 0 }) as f64 * CHAR
    };
    let w = (2.0 * PAD + title.max(body)).max(90.0).ceil();
    let h = HEADER + rows.len() as f64 * ROW + if rows.is_empty() { 0.0 } else { 4.0 };
    BoxGeom {
        x: 0.0,
        y: 0.0,
        w,
        h,
        type_x: PAD + (name_w + 2) as f64 * CHAR,
        rows,
    }
}

/// Where a relation attaches to a box: the row of its first column when
/// shown, else the title bar.
fn port(b: &BoxGeom, t: &Table, column: Option<&String>) -> f64 {
    column
        .and_then(|c| t.columns.iter().position(|x| &x.name == c))
        .and_then(|ci| b.rows.iter().position(|&r| r == ci))
        .map_or(HEADER / 2.0, |row| HEADER + row as f64 * ROW + ROW / 2.0)
}

/// Lays out `model`: boxes sized by their content, one layered layout per
/// connected group, groups packed into rows (largest first), single
/// tables last.
pub fn layout(model: &Model, columns: Columns, direction: Direction) -> Layout {
    let n = model.tables.len();
    let mut boxes: Vec<BoxGeom> = model.tables.iter().map(|t| size_box(t, columns)).collect();
    // Connected groups (union-find over the relations).
    let mut parent: Vec<usize> = (0..n).collect();
    fn root(p: &mut [usize], mut v: usize) -> usize {
        while p[v] != v {
            p[v] = p[p[v]];
            v = p[v];
        }
        v
    }
    for r in &model.relations {
        let (a, b) = (root(&mut parent, r.from), root(&mut parent, r.to));
        if a != b {
            parent[a.max(b)] = a.min(b);
        }
    }
    let mut groups: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
    for v in 0..n {
        let r = root(&mut parent, v);
        groups.entry(r).or_default().push(v);
    }
    let mut edges = vec![EdgeGeom { points: Vec::new() }; model.relations.len()];
    // (width, height, members, placed) per group.
    let mut placed_groups: Vec<(f64, f64, Vec<usize>, layered::Placed, Vec<usize>)> = Vec::new();
    for members in groups.into_values() {
        let mut local = vec![usize::MAX; n];
        for (k, &v) in members.iter().enumerate() {
            local[v] = k;
        }
        let rels: Vec<usize> = (0..model.relations.len())
            .filter(|&i| local[model.relations[i].from] != usize::MAX)
            .collect();
        let links: Vec<Link> = rels
            .iter()
            .map(|&i| {
                let r = &model.relations[i];
                Link {
                    from: local[r.to],
                    from_y: port(&boxes[r.to], &model.tables[r.to], r.to_columns.first()),
                    to: local[r.from],
                    to_y: port(&boxes[r.from], &model.tables[r.from], r.from_columns.first()),
                }
            })
            .collect();
        let sizes: Vec<(f64, f64)> = members.iter().map(|&v| (boxes[v].w, boxes[v].h)).collect();
        let p = layered(&sizes, &links);
        placed_groups.push((p.width, p.height, members, p, rels));
    }
    // Largest groups first; ties by their first table, so the order is stable.
    placed_groups.sort_by(|a, b| {
        (b.2.len(), b.1 as i64)
            .cmp(&(a.2.len(), a.1 as i64))
            .then(a.2[0].cmp(&b.2[0]))
    });
    let area: f64 = placed_groups
        .iter()
        .map(|g| (g.0 + MARGIN) * (g.1 + MARGIN))
        .sum();
    let widest = placed_groups.iter().map(|g| g.0).fold(0.0, f64::max);
    let row_limit = widest.max((area * 1.6).sqrt());
    let (mut x, mut y, mut row_h) = (MARGIN, MARGIN, 0.0f64);
    let mut width = 0.0f64;
    for (gw, gh, members, p, rels) in placed_groups {
        if x > MARGIN && x + gw > row_limit + MARGIN {
            x = MARGIN;
            y += row_h + MARGIN;
            row_h = 0.0;
        }
        let mirror = |px: f64| match direction {
            Direction::LeftRight => px,
            Direction::RightLeft => gw - px,
        };
        for (k, &v) in members.iter().enumerate() {
            let (bx, by) = p.pos[k];
            let bx = match direction {
                Direction::LeftRight => bx,
                Direction::RightLeft => gw - bx - boxes[v].w,
            };
            boxes[v].x = x + bx;
            boxes[v].y = y + by;
        }
        for (k, &ri) in rels.iter().enumerate() {
            // The layered routes run referenced → referencing; relations
            // are drawn from the referencing column.
            let mut pts: Vec<(f64, f64)> = p.routes[k]
                .iter()
                .map(|&(px, py)| (x + mirror(px), y + py))
                .collect();
            pts.reverse();
            edges[ri].points = pts;
        }
        x += gw + MARGIN;
        row_h = row_h.max(gh);
        width = width.max(x);
    }
    Layout {
        width: width.max(MARGIN * 2.0).ceil(),
        height: (y + row_h + MARGIN).ceil(),
        boxes,
        edges,
    }
}

impl Layout {
    /// Pairs of boxes that overlap (should be none).
    pub fn overlaps(&self) -> usize {
        let mut idx: Vec<usize> = (0..self.boxes.len()).collect();
        idx.sort_by(|&a, &b| self.boxes[a].x.total_cmp(&self.boxes[b].x));
        let mut count = 0;
        for (k, &a) in idx.iter().enumerate() {
            let ba = &self.boxes[a];
            for &b in &idx[k + 1..] {
                let bb = &self.boxes[b];
                if bb.x >= ba.x + ba.w {
                    break;
                }
                if bb.y < ba.y + ba.h && ba.y < bb.y + bb.h {
                    count += 1;
                }
            }
        }
        count
    }

    /// Points where two relation routes cross (segments meeting at a shared
    /// end, such as two relations into one column, are not crossings).
    /// Segments are bucketed in a grid, so this stays near-linear on large
    /// diagrams.
    pub fn crossings(&self) -> usize {
        const CELL: f64 = 200.0;
        type Seg = ((f64, f64), (f64, f64), usize);
        let mut segs: Vec<Seg> = Vec::new();
        for (i, e) in self.edges.iter().enumerate() {
            for w in e.points.windows(2) {
                segs.push((w[0], w[1], i));
            }
        }
        let cell = |v: f64| (v / CELL).floor() as i64;
        let mut grid: std::collections::HashMap<(i64, i64), Vec<usize>> = Default::default();
        for (k, s) in segs.iter().enumerate() {
            for cx in cell(s.0.0.min(s.1.0))..=cell(s.0.0.max(s.1.0)) {
                for cy in cell(s.0.1.min(s.1.1))..=cell(s.0.1.max(s.1.1)) {
                    grid.entry((cx, cy)).or_default().push(k);
                }
            }
        }
        let mut seen = std::collections::HashSet::new();
        for list in grid.values() {
            for (i, &a) in list.iter().enumerate() {
                for &b in &list[i + 1..] {
                    let (sa, sb) = (&segs[a], &segs[b]);
                    if sa.2 != sb.2 && proper_cross(sa.0, sa.1, sb.0, sb.1) {
                        seen.insert((a.min(b), a.max(b)));
                    }
                }
            }
        }
        seen.len()
    }
}

/// Whether two segments cross at a point inside both.
fn proper_cross(p1: (f64, f64), p2: (f64, f64), q1: (f64, f64), q2: (f64, f64)) -> bool {
    let d = |a: (f64, f64), b: (f64, f64), c: (f64, f64)| {
        (b.0 - a.0) * (c.1 - a.1) - (b.1 - a.1) * (c.0 - a.0)
    };
    let (d1, d2) = (d(q1, q2, p1), d(q1, q2, p2));
    let (d3, d4) = (d(p1, p2, q1), d(p1, p2, q2));
    const E: f64 = 1e-6;
    ((d1 > E && d2 < -E) || (d1 < -E && d2 > E)) && ((d3 > E && d4 < -E) || (d3 < -E && d4 > E))
}

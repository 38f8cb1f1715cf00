//! The layout on random schemas: no overlapping boxes, routes that start
//! and end on the rows of the columns they join, run orthogonally and never
//! through a box, and the same bytes on every run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use qore_core::{FkAction, TableKind, TableRef};
use qore_erd::layout::{HEADER, ROW, layout};
use qore_erd::model::{Column, Model, Relation, Table};
use qore_erd::{Columns, Direction};

fn table(i: usize, cols: usize) -> Table {
    Table {
        table: TableRef::qualified("s", format!("t{i}")),
        label: format!("t{i}_{}", "x".repeat(i % 7)),
        kind: TableKind::Table,
        columns: (0..cols)
            .map(|c| Column {
                name: format!("c{c}{}", "y".repeat((i + c) % 9)),
                source_type: ["integer", "text", "numeric(12,2)", "timestamp with time zone"][c % 4].into(),
                tags: if c == 0 { vec!["PK".into()] } else { Vec::new() },
                key: c == 0,
                nullable: c != 0,
                default: None,
                generated: None,
                comment: None,
            })
            .collect(),
        indexes: Vec::new(),
        constraints: Vec::new(),
        rows: None,
        comment: None,
        sample: None,
        open_query: None,
    }
}

/// A random schema: table sizes, then relations as (from, from column, to)
/// picks (self references and cycles included).
fn model(sizes: &[usize], rels: &[(usize, usize, usize)]) -> Model {
    let tables: Vec<Table> = sizes.iter().enumerate().map(|(i, &c)| table(i, c)).collect();
    let n = tables.len();
    let relations = rels
        .iter()
        .map(|&(f, fc, t)| {
            let (f, t) = (f % n, t % n);
            let fc = fc % tables[f].columns.len();
            Relation {
                name: None,
                from: f,
                from_columns: vec![tables[f].columns[fc].name.clone()],
                to: t,
                to_columns: vec![tables[t].columns[0].name.clone()],
                is_virtual: fc % 3 == 0,
                optional: true,
                one_to_one: false,
                on_delete: FkAction::NoAction,
            }
        })
        .collect();
    Model { tables, relations }
}

fn port_y(m: &Model, l: &qore_erd::Layout, t: usize, col: &str) -> f64 {
    let ci = m.tables[t].columns.iter().position(|c| c.name == col).unwrap();
    let b = &l.boxes[t];
    match b.rows.iter().position(|&r| r == ci) {
        Some(row) => b.y + HEADER + row as f64 * ROW + ROW / 2.0,
        None => b.y + HEADER / 2.0,
    }
}

fn brute_crossings(l: &qore_erd::Layout) -> usize {
    let segs: Vec<((f64, f64), (f64, f64), usize)> = l
        .edges
        .iter()
        .enumerate()
        .flat_map(|(i, e)| e.points.windows(2).map(move |w| (w[0], w[1], i)))
        .collect();
    let d = |a: (f64, f64), b: (f64, f64), c: (f64, f64)| (b.0 - a.0) * (c.1 - a.1) - (b.1 - a.1) * (c.0 - a.0);
    let strict = |x: f64, y: f64| (x > 1e-6 && y < -1e-6) || (x < -1e-6 && y > 1e-6);
    let mut n = 0;
    for (k, a) in segs.iter().enumerate() {
        for b in &segs[k + 1..] {
            if a.2 != b.2 && strict(d(b.0, b.1, a.0), d(b.0, b.1, a.1)) && strict(d(a.0, a.1, b.0), d(a.0, a.1, b.1)) {
                n += 1;
            }
        }
    }
    n
}

fn check(m: &Model, columns: Columns, direction: Direction) -> Result<(), TestCaseError> {
    let l = layout(m, columns, direction);
    prop_assert_eq!(l.overlaps(), 0, "overlapping boxes");
    prop_assert_eq!(&l, &layout(m, columns, direction), "not deterministic");
    for (r, e) in m.relations.iter().zip(&l.edges) {
        let p = &e.points;
        prop_assert!(p.len() >= 2, "route {:?}", p);
        let (fb, tb) = (&l.boxes[r.from], &l.boxes[r.to]);
        let on_side = |x: f64, b: &qore_erd::layout::BoxGeom| (x - b.x).abs() < 0.01 || (x - b.x - b.w).abs() < 0.01;
        prop_assert!(on_side(p[0].0, fb), "start {:?} not on {:?}", p[0], fb);
        prop_assert!((p[0].1 - port_y(m, &l, r.from, &r.from_columns[0])).abs() < 0.01, "start row");
        let z = p[p.len() - 1];
        prop_assert!(on_side(z.0, tb), "end {:?} not on {:?}", z, tb);
        prop_assert!((z.1 - port_y(m, &l, r.to, &r.to_columns[0])).abs() < 0.01, "end row");
        for w in p.windows(2) {
            let (a, b) = (w[0], w[1]);
            prop_assert!((a.0 - b.0).abs() < 0.01 || (a.1 - b.1).abs() < 0.01, "diagonal {:?}", w);
            prop_assert!(a.0 >= 0.0 && a.1 >= 0.0 && a.0 <= l.width && a.1 <= l.height, "outside {:?}", a);
            // Never through a box: the segment may touch a border (where it
            // attaches), not cross the inside.
            for (k, bx) in l.boxes.iter().enumerate() {
                let (x0, x1) = (a.0.min(b.0), a.0.max(b.0));
                let (y0, y1) = (a.1.min(b.1), a.1.max(b.1));
                let inside = x1 > bx.x + 0.5 && x0 < bx.x + bx.w - 0.5 && y1 > bx.y + 0.5 && y0 < bx.y + bx.h - 0.5;
                prop_assert!(!inside, "segment {:?} crosses box {} {:?}", w, k, bx);
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]
    #[test]
    fn random_schemas_lay_out_cleanly(
        sizes in prop::collection::vec(1usize..9, 1..36),
        rels in prop::collection::vec((0usize..64, 0usize..9, 0usize..64), 0..60),
        cols in 0usize..3,
        rl in any::<bool>(),
    ) {
        let m = model(&sizes, &rels);
        let columns = [Columns::All, Columns::Keys, Columns::None][cols];
        check(&m, columns, if rl { Direction::RightLeft } else { Direction::LeftRight })?;
        // The bucketed crossing count equals the count over every pair.
        let l = layout(&m, columns, Direction::LeftRight);
        prop_assert_eq!(l.crossings(), brute_crossings(&l));
    }
}

#[test]
fn a_star_and_a_chain_have_no_crossings() {
    // Ten children of one parent, and a chain of five: drawable flat.
    let mut rels: Vec<(usize, usize, usize)> = (1..11).map(|c| (c, 1, 0)).collect();
    rels.extend((11..15).map(|c| (c + 1, 2, c)));
    let m = model(&[3; 16], &rels);
    let l = layout(&m, Columns::All, Direction::LeftRight);
    assert_eq!(l.crossings(), 0);
    assert_eq!(l.overlaps(), 0);
    // Referenced tables sit left of the tables that reference them.
    for r in &m.relations {
        assert!(l.boxes[r.to].x < l.boxes[r.from].x, "{r:?}");
    }
}

#[test]
fn one_thousand_tables_lay_out_without_overlap() {
    // The bench's shape: 1,000 tables, 1,500 relations in clusters.
    let mut seed = 7u64;
    let mut next = || {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (seed >> 33) as usize
    };
    let sizes: Vec<usize> = (0..1000).map(|_| 3 + next() % 8).collect();
    let rels: Vec<(usize, usize, usize)> = (0..1500)
        .map(|i| {
            let from = i % 1000;
            let to = (from / 50) * 50 + next() % 50;
            (from, 1 + next() % 2, if to == from { (to + 1) % 1000 } else { to })
        })
        .collect();
    let m = model(&sizes, &rels);
    let l = layout(&m, Columns::All, Direction::LeftRight);
    assert_eq!(l.overlaps(), 0);
    assert_eq!(l.edges.len(), 1500);
}

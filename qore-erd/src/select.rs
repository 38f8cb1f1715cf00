//! Which tables and columns a diagram shows.

use std::collections::VecDeque;

use qore_core::{Error, Result};
use serde::Serialize;

use crate::model::Model;

/// Which columns the table boxes list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Columns {
    /// Every column.
    #[default]
    All,
    /// Key columns only: primary, unique, foreign, and those a relation
    /// points at.
    Keys,
    /// None: name boxes; relations attach to the box.
    None,
}

impl Columns {
    /// Parses `all`, `keys` or `none`.
    ///
    /// # Error handling
    ///
    /// [`Error::InvalidInput`] naming the accepted words.
    pub fn parse(s: &str) -> Result<Columns> {
        match s {
            "all" => Ok(Columns::All),
            "keys" => Ok(Columns::Keys),
            "none" => Ok(Columns::None),
            _ => Err(Error::InvalidInput(format!(
                "--columns `{s}`: expected all, keys or none"
            ))),
        }
    }
}

/// A subset of the schema's tables.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subset {
    /// Glob patterns (`*`, `?`; comma-separated), matched case-insensitively
    /// against a table's name and qualified name.
    pub tables: Option<String>,
    /// A table whose neighbourhood is shown ...
    pub around: Option<String>,
    /// ... up to this many relations away (in either direction).
    pub depth: usize,
}

pub use qore_core::glob::glob_match;

/// The non-empty items of a comma-separated list (`a, b,,c` → a, b, c).
pub(crate) fn comma_list(s: &str) -> Vec<&str> {
    s.split(',').map(str::trim).filter(|p| !p.is_empty()).collect()
}

/// Whether one of the glob `patterns` matches `table`'s name or qualified name.
pub(crate) fn matches_any(patterns: &[&str], table: &qore_core::TableRef) -> bool {
    let q = table.to_string();
    patterns
        .iter()
        .any(|p| glob_match(p, &table.name) || glob_match(p, &q))
}

impl Subset {
    /// Keeps the tables of `model` this subset names, and the relations
    /// between them.
    ///
    /// # Error handling
    ///
    /// [`Error::NotFound`] when `around` names no table of the model, or the
    /// patterns match none.
    pub fn apply(&self, model: Model) -> Result<Model> {
        let n = model.tables.len();
        let mut keep = vec![true; n];
        if let Some(pats) = &self.tables {
            let pats = comma_list(pats);
            for (k, t) in keep.iter_mut().zip(&model.tables) {
                *k = matches_any(&pats, &t.table);
            }
            if !keep.iter().any(|k| *k) {
                return Err(Error::NotFound(format!(
                    "no table matches `{}`",
                    pats.join(",")
                )));
            }
        }
        if let Some(center) = &self.around {
            let start = model
                .find(center)
                .ok_or_else(|| Error::NotFound(format!("table `{center}` (for --around)")))?;
            let mut adj = vec![Vec::new(); n];
            for r in &model.relations {
                adj[r.from].push(r.to);
                adj[r.to].push(r.from);
            }
            let mut dist = vec![usize::MAX; n];
            dist[start] = 0;
            let mut queue = VecDeque::from([start]);
            while let Some(v) = queue.pop_front() {
                if dist[v] == self.depth {
                    continue;
                }
                for &w in &adj[v] {
                    if dist[w] == usize::MAX && keep[w] {
                        dist[w] = dist[v] + 1;
                        queue.push_back(w);
                    }
                }
            }
            for (k, d) in keep.iter_mut().zip(&dist) {
                *k = *k && *d != usize::MAX;
            }
            keep[start] = true;
        }
        let mut new_index = vec![usize::MAX; n];
        let mut tables = Vec::new();
        for (i, t) in model.tables.into_iter().enumerate() {
            if keep[i] {
                new_index[i] = tables.len();
                tables.push(t);
            }
        }
        let relations = model
            .relations
            .into_iter()
            .filter(|r| keep[r.from] && keep[r.to])
            .map(|mut r| {
                r.from = new_index[r.from];
                r.to = new_index[r.to];
                r
            })
            .collect();
        Ok(Model { tables, relations })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn globs() {
        assert!(glob_match("order*", "orders"));
        assert!(glob_match("*_items", "order_items"));
        assert!(glob_match("c?stomers", "Customers"));
        assert!(!glob_match("order", "orders"));
        assert!(glob_match("*", ""));
        assert!(glob_match("a*a*a*b", "aaaaaaaaaaaaab"));
        assert!(!glob_match("a*a*a*b", "aaaaaaaaaaaaaa"));
    }

    proptest! {
        // A literal pattern (no wildcards) matches exactly itself; `*`
        // around any substring matches.
        #[test]
        fn literal_and_infix(s in "[a-z_]{0,12}", a in 0usize..12, b in 0usize..12) {
            prop_assert!(glob_match(&s, &s));
            let (a, b) = (a.min(s.len()), b.min(s.len()));
            let (a, b) = (a.min(b), a.max(b));
            let pat = format!("*{}*", &s[a..b]);
            prop_assert!(glob_match(&pat, &s));
            let longer = format!("{s}x");
            prop_assert!(!glob_match(&s, &longer));
        }
    }
}

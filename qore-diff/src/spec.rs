//! What to compare: two sides, the key, the columns, and how values are
//! made comparable.

use qore_core::{ConnectionRef, TableRef};

/// What one side reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Every row of a table (or MongoDB collection).
    Table(TableRef),
    /// The rows of a query (a MongoDB `find` command).
    Query(String),
}

/// One side of a diff: a connection and what to read from it.
#[derive(Debug, Clone)]
pub struct Side {
    /// The connection; each side has its own, so both read at once.
    pub conn: ConnectionRef,
    /// The table or query.
    pub source: Source,
    /// How to name this side in reports (a profile name or a redacted URL).
    pub label: String,
}

/// How the rows are matched and compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Algorithm {
    /// Bisection when the key is one integer column and both sides are one
    /// engine with a native row hash (PostgreSQL), else the streaming merge.
    #[default]
    Auto,
    /// Both sides read in key order and merged in one pass.
    Stream,
    /// Per-segment checksums computed by the engines, downloading only the
    /// segments that differ.
    Bisect,
}

impl Algorithm {
    /// Parses `auto`, `stream` or `bisect`.
    ///
    /// # Error handling
    ///
    /// [`qore_core::Error::InvalidInput`] naming the accepted words.
    pub fn parse(s: &str) -> qore_core::Result<Algorithm> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(Algorithm::Auto),
            "stream" => Ok(Algorithm::Stream),
            "bisect" | "bisection" => Ok(Algorithm::Bisect),
            other => Err(qore_core::Error::invalid(format!(
                "unknown diff algorithm `{other}`: use auto, stream or bisect"
            ))),
        }
    }

    /// `auto`, `stream`, `bisect`.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Auto => "auto",
            Algorithm::Stream => "stream",
            Algorithm::Bisect => "bisect",
        }
    }
}

/// A column compared on both sides, under its name on each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnPair {
    /// Its name on the left.
    pub left: String,
    /// Its name on the right.
    pub right: String,
}

impl ColumnPair {
    /// Parses `name` (the same on both sides) or `left:right`.
    pub fn parse(s: &str) -> ColumnPair {
        match s.split_once(':') {
            Some((l, r)) => ColumnPair {
                left: l.trim().to_string(),
                right: r.trim().to_string(),
            },
            None => ColumnPair {
                left: s.trim().to_string(),
                right: s.trim().to_string(),
            },
        }
    }
}

/// How far apart two floats may be and still be equal.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Tolerance {
    /// Equal when `|a - b| <= absolute`.
    pub absolute: f64,
    /// Equal when `|a - b| <= relative * max(|a|, |b|)`.
    pub relative: f64,
}

impl Tolerance {
    /// Parses `X` (absolute) or `X%` (relative, in percent).
    ///
    /// # Error handling
    ///
    /// [`qore_core::Error::InvalidInput`] for anything but a non-negative
    /// finite number.
    pub fn parse(s: &str) -> qore_core::Result<Tolerance> {
        let t = s.trim();
        let (num, relative) = match t.strip_suffix('%') {
            Some(n) => (n, true),
            None => (t, false),
        };
        let v: f64 = num.trim().parse().map_err(|_| {
            qore_core::Error::invalid(format!(
                "float tolerance `{s}` is not a number (give e.g. 0.001 or 0.1%)"
            ))
        })?;
        if !v.is_finite() || v < 0.0 {
            return Err(qore_core::Error::invalid(format!(
                "float tolerance `{s}` must be a non-negative number"
            )));
        }
        Ok(if relative {
            Tolerance {
                absolute: 0.0,
                relative: v / 100.0,
            }
        } else {
            Tolerance {
                absolute: v,
                relative: 0.0,
            }
        })
    }
}

/// Everything but the two sides.
#[derive(Debug, Clone, Default)]
pub struct DiffOptions {
    /// The key columns, by their left names (`left:right` pairs map names);
    /// empty: the left table's primary key (else the right's), and without
    /// one the rows are compared as multisets.
    pub key: Vec<ColumnPair>,
    /// The compared columns besides the key; empty: every column both
    /// sides have (matched by name, then case-insensitively).
    pub columns: Vec<ColumnPair>,
    /// A condition (SQL, or a MongoDB filter document) applied to both sides.
    pub filter: Option<String>,
    /// A condition for the right side only, when it differs from `filter`.
    pub right_filter: Option<String>,
    /// Which algorithm.
    pub algorithm: Algorithm,
    /// Floats within this distance are equal.
    pub float_tolerance: Option<Tolerance>,
    /// Text compared after trimming surrounding white space.
    pub trim: bool,
    /// Text compared case-insensitively (Unicode lower case).
    pub case_fold: bool,
    /// Compare as multisets of rows even when there is a key (also the
    /// answer to a key that turns out not to be unique).
    pub multiset: bool,
    /// Timestamps compared at this many fractional digits (0-9) at most;
    /// by default the lower precision the two sides declare.
    pub time_precision: Option<u8>,
    /// Bisection: segments of at most this many rows are downloaded and
    /// merged (default 16,384).
    pub segment_rows: Option<u64>,
}

/// What a user named for the two sides of a diff, as `qore diff` takes it
/// (a GUI's form has the same fields).
#[derive(Debug, Clone, Default)]
pub struct SourceChoice {
    /// The table on both sides (`--table`).
    pub table: Option<String>,
    /// The query on both sides (`--query`).
    pub query: Option<String>,
    /// Another table on the right (`--right-table`).
    pub right_table: Option<String>,
    /// Another query on the right (`--right-query`).
    pub right_query: Option<String>,
    /// The table a snapshot on the left is loaded as (`--left snapshot:NAME`).
    pub left_snapshot: Option<String>,
    /// The same for the right.
    pub right_snapshot: Option<String>,
}

impl SourceChoice {
    /// What each side reads. A snapshot side is its own table, so with a
    /// snapshot neither `--table` nor `--query` is needed; the right side
    /// then reads its own query or table, its own snapshot, or a table of
    /// the snapshot's name.
    ///
    /// # Error handling
    ///
    /// [`qore_core::Error::InvalidInput`] naming what is missing, or for a
    /// table name that does not parse.
    pub fn sources(&self) -> qore_core::Result<(Source, Source)> {
        use qore_core::Error;
        match (&self.table, &self.query) {
            (Some(t), None) => {
                let l = TableRef::parse(t)?;
                let r = self.right_table.as_deref().map(TableRef::parse).transpose()?.unwrap_or_else(|| l.clone());
                Ok((Source::Table(l), Source::Table(r)))
            }
            (None, Some(q)) => Ok((
                Source::Query(q.clone()),
                Source::Query(self.right_query.clone().unwrap_or_else(|| q.clone())),
            )),
            (None, None) => {
                let Some(left) = &self.left_snapshot else {
                    return Err(Error::invalid(if self.right_snapshot.is_some() {
                        "the left side is not a snapshot: give --table or --query for it"
                    } else {
                        "give the table to compare (--table) or the query (--query)"
                    }));
                };
                let right = match (&self.right_query, &self.right_table, &self.right_snapshot) {
                    (Some(q), _, _) => Source::Query(q.clone()),
                    (None, Some(t), _) => Source::Table(TableRef::parse(t)?),
                    (None, None, Some(t)) => Source::Table(TableRef::new(t.clone())),
                    (None, None, None) => Source::Table(TableRef::new(left.clone())),
                };
                Ok((Source::Table(TableRef::new(left.clone())), right))
            }
            (Some(_), Some(_)) => Err(Error::invalid("give --table or --query, not both")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sides_from_what_was_named() {
        let t = |s: &str| Source::Table(TableRef::new(s));
        let choice = |f: &dyn Fn(&mut SourceChoice)| {
            let mut c = SourceChoice::default();
            f(&mut c);
            c.sources()
        };
        assert_eq!(choice(&|c| c.table = Some("a".into())).unwrap(), (t("a"), t("a")));
        assert_eq!(
            choice(&|c| {
                c.table = Some("a".into());
                c.right_table = Some("b".into());
            })
            .unwrap(),
            (t("a"), t("b"))
        );
        assert_eq!(
            choice(&|c| {
                c.query = Some("q".into());
            })
            .unwrap(),
            (Source::Query("q".into()), Source::Query("q".into()))
        );
        assert_eq!(
            choice(&|c| {
                c.left_snapshot = Some("s".into());
                c.right_query = Some("r".into());
            })
            .unwrap(),
            (t("s"), Source::Query("r".into()))
        );
        assert_eq!(choice(&|c| c.left_snapshot = Some("s".into())).unwrap(), (t("s"), t("s")));
        assert_eq!(
            choice(&|c| {
                c.left_snapshot = Some("s".into());
                c.right_snapshot = Some("u".into());
            })
            .unwrap(),
            (t("s"), t("u"))
        );
        let e = choice(&|c| c.right_snapshot = Some("u".into())).unwrap_err().to_string();
        assert!(e.contains("left side is not a snapshot"), "{e}");
        let e = choice(&|_| {}).unwrap_err().to_string();
        assert!(e.contains("--table") && e.contains("--query"), "{e}");
    }
}

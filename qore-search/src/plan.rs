//! One query per table: which columns can hold the needle, and the
//! predicate over all of them, spelled by the engine's dialect.

use arrow::datatypes::DataType;
use qore_core::{ColumnInfo, Dialect, Result, TableDetails, TableRef, TextMatch};

use crate::SearchOptions;

/// How a column is searched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ColumnKind {
    /// Text, by the engine's text match.
    Text,
    /// JSON, as its text.
    Json,
    /// A number: equal to the needle when it parses as one.
    Number,
    /// A UUID: equal to the needle when it parses as one.
    Uuid,
    /// A date or time: its ISO text starts with the needle when the needle
    /// looks like a date.
    Date,
    /// Bytes, as their text (only when asked for).
    Binary,
}

/// The kind of a column, or `None` for what is not searched (lists,
/// structs, booleans, intervals).
pub(crate) fn kind_of(c: &ColumnInfo, dialect: &dyn Dialect) -> Option<ColumnKind> {
    let source = c.source_type.to_ascii_lowercase();
    // A catalog that leaves the Arrow type unknown (DuckDB's) is read by
    // the dialect's reading of the declared type.
    let hinted;
    let arrow_type = if c.arrow_type == DataType::Null {
        hinted = dialect.arrow_type_hint(&c.source_type)?;
        &hinted
    } else {
        &c.arrow_type
    };
    if source.contains("uuid") {
        return Some(ColumnKind::Uuid);
    }
    if source.contains("json") {
        return Some(ColumnKind::Json);
    }
    Some(match arrow_type {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => ColumnKind::Text,
        DataType::Dictionary(_, v) if matches!(**v, DataType::Utf8 | DataType::LargeUtf8) => ColumnKind::Text,
        t if t.is_numeric() => ColumnKind::Number,
        DataType::Date32 | DataType::Date64 | DataType::Timestamp(_, _) => ColumnKind::Date,
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView | DataType::FixedSizeBinary(_) => {
            ColumnKind::Binary
        }
        _ => return None,
    })
}

/// What the needle can be read as.
#[derive(Debug, Clone)]
pub(crate) struct Needle {
    pub(crate) text: String,
    /// The needle as a number literal, when it is one.
    pub(crate) number: Option<String>,
    /// The needle as a lower-case hyphenated UUID, when it is one.
    pub(crate) uuid: Option<String>,
    /// Whether the needle starts like an ISO date (`2024-`, `2024-05-17`).
    pub(crate) date: bool,
}

impl Needle {
    pub(crate) fn new(text: &str) -> Needle {
        let t = text.trim();
        let number = (!t.is_empty()
            && t.len() <= 40
            && t.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'))
            && t.parse::<f64>().is_ok_and(f64::is_finite))
        .then(|| t.trim_start_matches('+').to_string());
        Needle {
            text: text.to_string(),
            number,
            uuid: parse_uuid(t),
            date: looks_like_date(t),
        }
    }
}

fn parse_uuid(t: &str) -> Option<String> {
    let hex: String = t.chars().filter(|c| *c != '-').collect();
    let dashes_ok = t.len() == 32 || (t.len() == 36 && [8, 13, 18, 23].iter().all(|&i| t.as_bytes()[i] == b'-'));
    (hex.len() == 32 && dashes_ok && hex.bytes().all(|b| b.is_ascii_hexdigit())).then(|| {
        let h = hex.to_ascii_lowercase();
        format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
    })
}

fn looks_like_date(t: &str) -> bool {
    let b = t.as_bytes();
    b.len() >= 5 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-'
        && b[5..].iter().all(|c| c.is_ascii_digit() || matches!(c, b'-' | b':' | b' ' | b'T' | b'.'))
}

/// A column searched, with the condition that it matches.
#[derive(Debug, Clone)]
pub(crate) struct Searched {
    pub(crate) name: String,
    pub(crate) predicate: String,
    /// The column's text, for the hit's value.
    pub(crate) text: String,
    /// The expression matched as text the way the options say (text,
    /// JSON and binary columns), for [`Dialect::text_match_any`].
    pub(crate) as_text: Option<String>,
    /// Where the statement returns the value without saying whether it
    /// matched: the match, decided in Rust.
    pub(crate) attribution: Option<crate::attribute::Attribution>,
}

/// The query of one table.
#[derive(Debug, Clone)]
pub(crate) struct TablePlan {
    pub(crate) table: TableRef,
    pub(crate) columns: Vec<Searched>,
    /// Names of the key columns (or the engine's row identity).
    pub(crate) key_names: Vec<String>,
    pub(crate) sql: String,
    /// The statement with a `CASE` per column, for when a row of `sql`
    /// has no column the attributions accept; `None` when `sql` is it.
    pub(crate) precise: Option<String>,
    /// Rows the catalog says the table has, to search small tables first.
    pub(crate) rows: u64,
    /// The statement's columns, every one as text, and its `FROM ...
    /// WHERE ... LIMIT ...`: a branch of a `UNION ALL` that searches
    /// several tables in one statement (see `run::group`).
    pub(crate) branch: (Vec<String>, String),
}

/// The plan of one table, or `None` when none of its columns can hold the
/// needle.
pub(crate) fn plan_table(
    d: &TableDetails,
    needle: &Needle,
    options: &SearchOptions,
    dialect: &dyn Dialect,
) -> Result<Option<TablePlan>> {
    let lit = dialect.quote_string(&needle.text)?;
    // The caseless part of the needle, checked case-sensitively (a byte
    // search) before any fold; a needle that is all caseless needs no fold.
    let folds = !options.case_sensitive && options.mode != TextMatch::Regex;
    let anchor = if folds { crate::anchor::anchor(&needle.text) } else { crate::anchor::Anchor::None };
    let case_sensitive = options.case_sensitive || anchor == crate::anchor::Anchor::Whole;
    // Where the engine's text match is reproduced in Rust, its statement
    // names each text column once (see `attribute`).
    let attribution = crate::attribute::Attribution::for_dialect(dialect, &needle.text, options.mode, case_sensitive);
    let indexed: Vec<&str> = d
        .indexes
        .iter()
        .filter_map(|i| match i.parts.first() {
            Some(qore_core::IndexPart::Column(c)) => Some(c.as_str()),
            _ => None,
        })
        .chain(d.primary_key().into_iter().take(1))
        .collect();
    let mut columns = Vec::new();
    for c in &d.columns {
        if options.indexed_only && !indexed.contains(&c.name.as_str()) {
            continue;
        }
        let Some(kind) = kind_of(c, dialect) else { continue };
        let col = dialect.quote_identifier(&c.name)?;
        let text = dialect.cast_text(&col);
        let as_text = match kind {
            ColumnKind::Text => Some(col.clone()),
            ColumnKind::Json => Some(text.clone()),
            ColumnKind::Binary if options.binary => Some(text.clone()),
            _ => None,
        };
        let predicate = match kind {
            ColumnKind::Text | ColumnKind::Json | ColumnKind::Binary => {
                as_text.as_deref().and_then(|e| dialect.text_match(e, &lit, options.mode, case_sensitive))
            }
            ColumnKind::Number if options.mode != TextMatch::Regex => needle.number.as_ref().map(|n| format!("{col} = {n}")),
            ColumnKind::Uuid if options.mode != TextMatch::Regex => {
                needle.uuid.as_ref().map(|u| Ok::<_, qore_core::Error>(format!("{text} = {}", dialect.quote_string(u)?))).transpose()?
            }
            ColumnKind::Date if needle.date && options.mode != TextMatch::Regex => {
                dialect.text_match(&text, &lit, TextMatch::Prefix, true)
            }
            ColumnKind::Number | ColumnKind::Uuid | ColumnKind::Date => None,
        };
        if let Some(predicate) = predicate {
            columns.push(Searched {
                name: c.name.clone(),
                predicate,
                attribution: as_text.as_ref().and(attribution.clone()),
                text,
                as_text,
            });
        }
    }
    if columns.is_empty() {
        return Ok(None);
    }
    let pk = d.primary_key();
    let (key_names, key_exprs): (Vec<String>, Vec<String>) = if !pk.is_empty() {
        let mut names = Vec::new();
        let mut exprs = Vec::new();
        for k in pk {
            names.push(k.to_string());
            exprs.push(dialect.cast_text(&dialect.quote_identifier(k)?));
        }
        (names, exprs)
    } else if let (Some(name), Some(expr), true) = (
        dialect.row_identity(),
        dialect.row_identity_expr(),
        // Views have no row identity of their own.
        matches!(d.info.kind, qore_core::TableKind::Table | qore_core::TableKind::PartitionedTable | qore_core::TableKind::MaterializedView),
    ) {
        (vec![name.to_string()], vec![dialect.cast_text(&expr)])
    } else {
        (Vec::new(), Vec::new())
    };
    let mut select: Vec<String> = key_exprs.clone();
    let mut branch: Vec<String> = key_exprs.clone();
    let mut precise: Vec<String> = key_exprs;
    for (i, c) in columns.iter().enumerate() {
        let case = format!("CASE WHEN {} THEN {} END AS {}", c.predicate, c.text, dialect.quote_identifier(&format!("qore_v{i}"))?);
        match (&c.attribution, &c.as_text) {
            (Some(_), Some(t)) => {
                select.push(t.clone());
                branch.push(c.text.clone());
            }
            _ => {
                select.push(case.clone());
                branch.push(case.clone());
            }
        }
        precise.push(case);
    }
    // The OR of every column's match, the text ones in one condition where
    // the engine has a cheaper form for that, behind the anchor's check.
    let texts: Vec<&str> = columns.iter().filter_map(|c| c.as_text.as_deref()).collect();
    let any = dialect.text_match_any(&texts, &lit, options.mode, case_sensitive);
    let fused = any.is_some();
    let text_filter = match any {
        Some(a) => Some(a),
        None => (!texts.is_empty()).then(|| {
            columns.iter().filter(|c| c.as_text.is_some()).map(|c| format!("({})", c.predicate)).collect::<Vec<_>>().join(" OR ")
        }),
    };
    // The anchor's check costs its own tokens to parse and plan: worth it
    // where matching calls a registered function per row (SQLite), or
    // where the scan outweighs the statement (a big or uncounted table).
    let big = d.info.rows.is_none_or(|r| matches!(r, qore_core::RowCount::Exact(n) | qore_core::RowCount::Estimate(n) if n >= 50_000));
    let text_filter = match (&anchor, text_filter) {
        (crate::anchor::Anchor::Run(run), Some(f)) if fused || big => {
            let run = dialect.quote_string(run)?;
            let cheap = dialect.text_match_any(&texts, &run, TextMatch::Contains, true).unwrap_or_else(|| {
                texts
                    .iter()
                    .filter_map(|e| dialect.text_match(e, &run, TextMatch::Contains, true))
                    .map(|p| format!("({p})"))
                    .collect::<Vec<_>>()
                    .join(" OR ")
            });
            Some(if cheap.is_empty() { f } else { format!("({cheap}) AND ({f})") })
        }
        (_, f) => f,
    };
    let filter = columns
        .iter()
        .filter(|c| c.as_text.is_none())
        .map(|c| format!("({})", c.predicate))
        .chain(text_filter.map(|f| format!("({f})")))
        .collect::<Vec<_>>()
        .join(" OR ");
    let from = dialect.quote_table(&d.info.table)?;
    let limit = dialect.limit_clause(Some(options.per_table as u64), None);
    let from_where = format!("FROM {from} WHERE {filter} {limit}").trim_end().to_string();
    let sql = format!("SELECT {} {from_where}", select.join(", "));
    let precise = (select != precise).then(|| format!("SELECT {} FROM {from} WHERE {filter} {limit}", precise.join(", ")).trim_end().to_string());
    let rows = match d.info.rows {
        Some(qore_core::RowCount::Exact(n) | qore_core::RowCount::Estimate(n)) => n,
        None => u64::MAX,
    };
    Ok(Some(TablePlan {
        table: d.info.table.clone(),
        columns,
        key_names,
        sql,
        precise,
        rows,
        branch: (branch, from_where),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn needles_are_read_as_what_they_can_be() {
        let n = Needle::new("42");
        assert_eq!(n.number.as_deref(), Some("42"));
        assert!(!n.date && n.uuid.is_none());
        assert_eq!(Needle::new("-1.5e3").number.as_deref(), Some("-1.5e3"));
        assert!(Needle::new("1e999").number.is_none());
        assert!(Needle::new("42; DROP").number.is_none());
        assert!(Needle::new("NaN").number.is_none());
        assert_eq!(
            Needle::new("6F9619FF-8B86-D011-B42D-00C04FC964FF").uuid.as_deref(),
            Some("6f9619ff-8b86-d011-b42d-00c04fc964ff")
        );
        assert!(Needle::new("6F9619FF8B86D011B42D00C04FC964FF").uuid.is_some());
        assert!(Needle::new("6F9619FF-8B86-D011-B42D-00C04FC964F").uuid.is_none());
        assert!(Needle::new("2024-05-17").date);
        assert!(Needle::new("2024-05-17 10:00").date);
        assert!(!Needle::new("2024").date);
        assert!(!Needle::new("2024-05-17'").date);
    }

    proptest! {
        /// Whatever the needle, a number literal it becomes is digits and
        /// signs only: nothing else can reach the SQL unquoted.
        #[test]
        fn unquoted_needles_are_only_numbers_or_uuids(s in ".{0,50}") {
            let n = Needle::new(&s);
            if let Some(num) = &n.number {
                prop_assert!(num.bytes().all(|b| b.is_ascii_digit() || b"-+.eE".contains(&b)));
                prop_assert!(num.parse::<f64>().is_ok());
            }
            if let Some(u) = &n.uuid {
                prop_assert!(u.len() == 36 && u.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-'));
            }
        }
    }
}

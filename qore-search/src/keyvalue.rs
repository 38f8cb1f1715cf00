//! Searching a key-value store (Redis): key names by `SCAN MATCH` (a glob
//! the needle is escaped into, with both cases of each letter when the
//! search ignores case; regex mode scans every name), then the values of
//! strings, hashes, lists and sets over a bounded set of keys, compared in
//! Rust. Every hit names its key; a value hit also the hash field, list
//! index or `member`.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use arrow::array::{Array, RecordBatch, StringArray};
use arrow::datatypes::DataType;
use futures::StreamExt;
use qore_core::{BrowseOptions, ConnectionRef, Error, RecordBatchStreamAdapter, Result, TableRef, TextMatch, Value};

use crate::run::{HitBuilder, cap, hit_schema, snippet};
use crate::{Progress, Search, SearchOptions};

/// The `SCAN MATCH` glob of `needle` by `mode`; `None` for regex mode
/// (every name is read and matched in Rust).
pub fn key_glob(needle: &str, mode: TextMatch, case_sensitive: bool) -> Option<String> {
    let mut body = String::new();
    for c in needle.chars() {
        let (lo, up): (String, String) = (c.to_lowercase().collect(), c.to_uppercase().collect());
        let one_char_cases = lo.chars().count() == 1 && up.chars().count() == 1 && lo != up;
        if !case_sensitive && one_char_cases {
            body.push('[');
            body.push_str(&lo);
            body.push_str(&up);
            body.push(']');
        } else if "*?[]\\^-".contains(c) {
            body.push('\\');
            body.push(c);
        } else {
            body.push(c);
        }
    }
    match mode {
        TextMatch::Contains => Some(format!("*{body}*")),
        TextMatch::Prefix => Some(format!("{body}*")),
        TextMatch::Exact => Some(body),
        TextMatch::Regex => None,
    }
}

/// Compares text the way the SQL engines do: by Unicode lower case unless
/// case-sensitive; a regex (Rust's dialect) in regex mode.
pub(crate) struct Matcher {
    mode: TextMatch,
    needle: String,
    case_sensitive: bool,
    regex: Option<regex::Regex>,
}

impl Matcher {
    pub(crate) fn new(needle: &str, mode: TextMatch, case_sensitive: bool) -> Result<Matcher> {
        let regex = match mode {
            TextMatch::Regex => Some(
                regex::RegexBuilder::new(needle)
                    .case_insensitive(!case_sensitive)
                    .size_limit(1 << 20)
                    .build()
                    .map_err(|e| Error::invalid(format!("the needle is not a regular expression: {e}")))?,
            ),
            _ => None,
        };
        let needle = if case_sensitive { needle.to_string() } else { lower(needle) };
        Ok(Matcher { mode, needle, case_sensitive, regex })
    }

    pub(crate) fn matches(&self, text: &str) -> bool {
        if let Some(r) = &self.regex {
            return r.is_match(text);
        }
        let folded;
        let t = if self.case_sensitive {
            text
        } else {
            folded = lower(text);
            &folded
        };
        match self.mode {
            TextMatch::Contains => t.contains(&self.needle),
            TextMatch::Exact => t == self.needle,
            TextMatch::Prefix => t.starts_with(&self.needle),
            TextMatch::Regex => false,
        }
    }
}

fn lower(s: &str) -> String {
    s.chars().flat_map(char::to_lowercase).collect()
}

/// Keys whose values are read at most, and items read per value.
const VALUE_KEYS: usize = 10_000;
const ITEMS: usize = 1_000;

fn strings(b: &RecordBatch, name: &str) -> Result<StringArray> {
    let col = b.column_by_name(name).ok_or_else(|| Error::Internal(format!("no `{name}` column")))?;
    let a = arrow::compute::cast(col, &DataType::Utf8).map_err(|e| Error::data(format!("search result: {e}")))?;
    a.as_any().downcast_ref::<StringArray>().cloned().ok_or_else(|| Error::Internal("cast to text".into()))
}

/// The key-value search on `conn`.
pub(crate) async fn search(conn: ConnectionRef, needle: &str, options: &SearchOptions) -> Result<Search> {
    if conn.key_value().is_none() {
        return Err(Error::NotSupported(format!("{} has no keys to search", conn.engine())));
    }
    let matcher = Arc::new(Matcher::new(needle, options.mode, options.case_sensitive)?);
    let progress = Arc::new(Progress::default());
    let total = conn.query("DBSIZE", &[]).await;
    if let Ok(mut s) = total
        && let Some(Ok(b)) = s.next().await
        && let Ok(n) = strings(&b, b.schema().field(0).name().as_str())
        && n.len() == 1
    {
        progress.tables_total.store(n.value(0).parse().unwrap_or(0), Ordering::Relaxed);
    }
    let opts = options.clone();
    let needle = needle.to_string();
    let p = progress.clone();
    let stream = Box::pin(async_stream(conn, matcher, opts, needle, p));
    Ok(Search { stream: Box::pin(RecordBatchStreamAdapter::new(hit_schema(), stream)), progress })
}

enum Phase {
    Start,
    Names(qore_core::SendableRecordBatchStream),
    Values(qore_core::SendableRecordBatchStream, usize),
    Done,
}

fn async_stream(
    conn: ConnectionRef,
    matcher: Arc<Matcher>,
    options: SearchOptions,
    needle: String,
    progress: Arc<Progress>,
) -> impl futures::Stream<Item = Result<RecordBatch>> + Send {
    futures::stream::unfold(Phase::Start, move |phase| {
        let conn = conn.clone();
        let matcher = matcher.clone();
        let options = options.clone();
        let needle = needle.clone();
        let progress = progress.clone();
        async move {
            let kv = conn.key_value()?;
            let mut phase = match phase {
                Phase::Start => {
                    let browse = BrowseOptions {
                        pattern: key_glob(&needle, options.mode, options.case_sensitive),
                        key_type: None,
                        count: 1000,
                    };
                    match kv.browse(browse).await {
                        Ok(s) => Phase::Names(s),
                        Err(e) => return Some((Err(e), Phase::Done)),
                    }
                }
                p => p,
            };
            loop {
                if progress.hits() >= options.limit {
                    progress.capped.store(true, Ordering::Relaxed);
                    return None;
                }
                match phase {
                    Phase::Done | Phase::Start => return None,
                    Phase::Names(mut s) => match s.next().await {
                        Some(Ok(b)) => {
                            let mut hits = HitBuilder::default();
                            let keys = match strings(&b, "key") {
                                Ok(k) => k,
                                Err(e) => return Some((Err(e), Phase::Done)),
                            };
                            for i in 0..keys.len() {
                                if !keys.is_null(i) && matcher.matches(keys.value(i)) {
                                    push(&mut hits, keys.value(i), "(key name)", snippet(keys.value(i), &needle, options.case_sensitive));
                                }
                            }
                            phase = Phase::Names(s);
                            if let Some(out) = emit(hits, &progress, &options) {
                                return Some((out, phase));
                            }
                        }
                        Some(Err(e)) => return Some((Err(e), Phase::Done)),
                        None => {
                            let browse = BrowseOptions { pattern: None, key_type: None, count: 1000 };
                            phase = match kv.browse(browse).await {
                                Ok(s) => Phase::Values(s, 0),
                                Err(e) => return Some((Err(e), Phase::Done)),
                            };
                        }
                    },
                    Phase::Values(mut s, seen) => {
                        if seen >= VALUE_KEYS {
                            progress.skip(
                                &TableRef::new("(values)"),
                                format!("values were searched in the first {VALUE_KEYS} keys only"),
                            );
                            return None;
                        }
                        let b = s.next().await?;
                        let b = match b {
                            Ok(b) => b,
                            Err(e) => return Some((Err(e), Phase::Done)),
                        };
                        let (keys, types) = match (strings(&b, "key"), strings(&b, "type")) {
                            (Ok(k), Ok(t)) => (k, t),
                            (Err(e), _) | (_, Err(e)) => return Some((Err(e), Phase::Done)),
                        };
                        let mut hits = HitBuilder::default();
                        let mut seen = seen;
                        for i in 0..keys.len() {
                            if seen >= VALUE_KEYS || hits.n >= options.limit {
                                break;
                            }
                            seen += 1;
                            progress.tables_done.fetch_add(1, Ordering::Relaxed);
                            let key = keys.value(i);
                            if let Err(e) = value_hits(&conn, key, types.value(i), &matcher, &needle, &options, &mut hits).await {
                                progress.skip(&TableRef::new(key), e.to_string());
                            }
                        }
                        phase = Phase::Values(s, seen);
                        if let Some(out) = emit(hits, &progress, &options) {
                            return Some((out, phase));
                        }
                    }
                }
            }
        }
    })
}

/// A hit on `key`: the key's name is its table and, as JSON, its key.
fn push(hits: &mut HitBuilder, key: &str, column: &str, value: String) {
    let json = serde_json::json!({ "key": key }).to_string();
    hits.push(None, key, column, Some(&json), value);
}

/// The hits as a batch, cut to the total cap; `None` when there are none.
fn emit(hits: HitBuilder, progress: &Progress, options: &SearchOptions) -> Option<Result<RecordBatch>> {
    if hits.n == 0 {
        return None;
    }
    match hits.finish() {
        Ok(b) => cap(b, progress, options.limit).map(Ok),
        Err(e) => Some(Err(e)),
    }
}

/// Reads one key's value (at most [`ITEMS`] items) and adds its matches,
/// at most the per-table cap per key.
async fn value_hits(
    conn: &ConnectionRef,
    key: &str,
    kind: &str,
    matcher: &Matcher,
    needle: &str,
    options: &SearchOptions,
    hits: &mut HitBuilder,
) -> Result<()> {
    let k = Value::Bytes(key.as_bytes().to_vec());
    let (command, params): (&str, Vec<Value>) = match kind {
        "string" => ("GET", vec![k]),
        "hash" => ("HGETALL", vec![k]),
        "list" => ("LRANGE", vec![k, Value::Int(0), Value::Int(ITEMS as i64 - 1)]),
        "set" => ("SRANDMEMBER", vec![k, Value::Int(ITEMS as i64)]),
        _ => return Ok(()),
    };
    let mut s = conn.query(command, &params).await?;
    let mut per_key = 0;
    while let Some(b) = s.next().await {
        let b = b?;
        let values = match kind {
            "set" => strings(&b, b.schema().field(0).name())?,
            "string" => strings(&b, b.schema().field(0).name())?,
            _ => strings(&b, "value")?,
        };
        let labels: Option<StringArray> = match kind {
            "hash" => Some(strings(&b, "field")?),
            "list" => Some(strings(&b, "index")?),
            _ => None,
        };
        for i in 0..values.len() {
            if values.is_null(i) || per_key >= options.per_table || !matcher.matches(values.value(i)) {
                continue;
            }
            let column = match (kind, &labels) {
                ("hash", Some(l)) => format!("field {}", l.value(i)),
                ("list", Some(l)) => format!("index {}", l.value(i)),
                ("set", _) => "member".to_string(),
                _ => "value".to_string(),
            };
            push(hits, key, &column, snippet(values.value(i), needle, options.case_sensitive));
            per_key += 1;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn globs_by_mode_and_case() {
        assert_eq!(key_glob("a*", TextMatch::Contains, true).as_deref(), Some("*a\\**"));
        assert_eq!(key_glob("ab", TextMatch::Prefix, false).as_deref(), Some("[aA][bB]*"));
        assert_eq!(key_glob("é1", TextMatch::Exact, false).as_deref(), Some("[éÉ]1"));
        assert_eq!(key_glob("x", TextMatch::Regex, false), None);
    }

    /// A glob matcher of Redis's rules (`*`, `?`, `[..]`, `\` escapes),
    /// enough to check the escaping.
    fn glob(p: &[char], s: &[char]) -> bool {
        match p.first() {
            None => s.is_empty(),
            Some('*') => (0..=s.len()).any(|i| glob(&p[1..], &s[i..])),
            Some('\\') if p.len() > 1 => s.first() == Some(&p[1]) && glob(&p[2..], &s[1..]),
            Some('[') => {
                let Some(end) = p.iter().position(|c| *c == ']') else { return false };
                !s.is_empty() && p[1..end].contains(&s[0]) && glob(&p[end + 1..], &s[1..])
            }
            Some(c) => s.first() == Some(c) && glob(&p[1..], &s[1..]),
        }
    }

    proptest! {
        #[test]
        fn globs_find_what_the_matcher_finds(needle in "[a-cA-C*?\\[\\]\\\\é]{1,4}", hay in "[a-cA-C*?\\[\\]\\\\éÉx]{0,8}", cs in any::<bool>()) {
            for mode in [TextMatch::Contains, TextMatch::Prefix, TextMatch::Exact] {
                let g: Vec<char> = key_glob(&needle, mode, cs).unwrap().chars().collect();
                let h: Vec<char> = hay.chars().collect();
                let m = Matcher::new(&needle, mode, cs).unwrap();
                prop_assert_eq!(glob(&g, &h), m.matches(&hay), "{:?} {:?} {:?}", needle, hay, mode);
            }
        }
    }
}

//! Properties of the classifier: it never panics, and its verdict does not
//! move with spelling (case, spaces, comments, a trailing `;`) or with the
//! names and numbers in a statement.

use proptest::prelude::*;
use qore_core::Engine;
use qore_safety::{Verdict, classify};

fn engine() -> impl Strategy<Value = Engine> {
    prop_oneof![
        Just(Engine::Postgres),
        Just(Engine::MySql),
        Just(Engine::Sqlite),
        Just(Engine::DuckDb),
    ]
}

fn ident() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_]{0,10}".prop_filter("not a keyword", |s| {
        !matches!(
            s.as_str(),
            "select"
                | "from"
                | "where"
                | "delete"
                | "update"
                | "drop"
                | "table"
                | "set"
                | "and"
                | "or"
                | "not"
                | "in"
                | "is"
                | "as"
                | "on"
                | "to"
                | "by"
                | "if"
                | "do"
                | "end"
                | "all"
                | "any"
                | "asc"
                | "desc"
                | "into"
                | "null"
                | "true"
                | "false"
                | "like"
                | "limit"
                | "order"
                | "group"
                | "join"
                | "using"
                | "with"
                | "case"
                | "when"
                | "then"
                | "else"
                | "only"
                | "key"
                | "view"
                | "index"
                | "left"
                | "right"
                | "full"
                | "inner"
                | "outer"
                | "cross"
                | "natural"
                | "union"
                | "except"
                | "intersect"
        )
    })
}

/// Spaces, newlines or a comment between tokens.
fn gap() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(" ".to_string()),
        Just("\n  ".to_string()),
        Just(" /* note */ ".to_string()),
        Just(" -- note\n".to_string()),
    ]
}

fn mixed_case(s: &str, mask: u64) -> String {
    s.chars()
        .enumerate()
        .map(|(i, c)| {
            if mask >> (i % 64) & 1 == 1 {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn never_panics(
        engine in prop_oneof![engine(), Just(Engine::MongoDb), Just(Engine::Redis)],
        text in "\\PC{0,200}",
    ) {
        let _ = classify(engine, &text);
    }

    #[test]
    fn mongo_filters_that_match_everything_are_caught(
        coll in "[a-z]{1,8}",
        form in 0usize..5,
        other in "[a-z]{1,6}",
        n in 0i64..100,
    ) {
        let text = match form {
            0 => format!("db.{coll}.deleteMany({{}})"),
            1 => format!("db.{coll}.deleteMany({{$or: [{{{other}: {n}}}, {{}}]}})"),
            2 => format!("db.{coll}.updateMany({{}}, {{$set: {{{other}: {n}}}}})"),
            3 => format!("db.{coll}.remove({{}})"),
            _ => format!("{{\"delete\": \"{coll}\", \"deletes\": [{{\"q\": {{}}, \"limit\": 0}}]}}"),
        };
        let c = classify(Engine::MongoDb, &text);
        prop_assert!(c.verdict >= Verdict::Destructive, "{text}: {c:?}");
        let keyed = format!("db.{coll}.deleteMany({{{other}: {n}}})");
        prop_assert_eq!(classify(Engine::MongoDb, &keyed).verdict, Verdict::Safe, "{}", keyed);
    }

    #[test]
    fn never_panics_on_sql_like_noise(
        engine in engine(),
        words in proptest::collection::vec(prop_oneof![
            Just("DELETE"), Just("FROM"), Just("WHERE"), Just("("), Just(")"), Just("'"),
            Just("$$"), Just("/*!"), Just("*/"), Just(";"), Just("1=1"), Just("WITH"),
            Just("AS"), Just("x"), Just("EXPLAIN"), Just("ANALYZE"), Just("--"), Just("\n"),
        ], 0..30),
    ) {
        let _ = classify(engine, &words.join(" "));
    }

    #[test]
    fn unrestricted_deletes_and_updates_are_caught_however_spelled(
        engine in engine(),
        table in ident(),
        column in ident(),
        n in 0i64..1000,
        g1 in gap(), g2 in gap(), g3 in gap(),
        mask in any::<u64>(),
        form in 0usize..6,
        semi in any::<bool>(),
    ) {
        let stmt = match form {
            0 => format!("delete{g1}from{g2}{table}"),
            1 => format!("delete{g1}from{g2}{table}{g3}where 1 = 1"),
            2 => format!("update{g1}{table}{g2}set {column} = {n}"),
            3 => format!("update {table} set {column} = {n}{g3}where {column} = {column}"),
            4 => format!("delete from {table}{g1}where {n} = {n}"),
            _ => format!("delete from {table} where {column} > {n} or{g2}true"),
        };
        let mut text = mixed_case(&stmt, mask);
        if semi {
            text.push(';');
        }
        let c = classify(engine, &text);
        prop_assert!(c.verdict >= Verdict::Destructive, "{text}: {c:?}");
    }

    #[test]
    fn keyed_deletes_and_updates_stay_safe(
        engine in engine(),
        table in ident(),
        column in ident(),
        n in 0i64..1000,
        text_value in "[a-zA-Z ]{0,20}",
        g1 in gap(),
        mask in any::<u64>(),
        update in any::<bool>(),
    ) {
        let stmt = if update {
            format!("update {table} set {column} = '{text_value}'{g1}where {column} = {n}")
        } else {
            format!("delete from {table}{g1}where {column} = {n}")
        };
        // Case changes stay out of the string literal.
        let text = if update { stmt } else { mixed_case(&stmt, mask) };
        let c = classify(engine, &text);
        prop_assert_eq!(c.verdict, Verdict::Safe, "{}: {:?}", text, c.findings);
    }
}

/// A WHERE clause from the corpus' families: restricting, or always true.
fn predicate() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("id = 7".to_string()),
        Just("1 = 1".to_string()),
        Just("true".to_string()),
        Just("id = id".to_string()),
        Just("customer = 'ann' OR 1 = 1".to_string()),
        Just("created < '2020-01-01'".to_string()),
        Just("3 IN (1, 2, 3)".to_string()),
        Just("id IS NOT NULL AND qty > 0".to_string()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    /// A long statement is classified from a reduced copy (long strings,
    /// long lists and extra VALUES rows left out): the verdict and the
    /// rules found are those of the same statement written short.
    #[test]
    fn long_statements_are_judged_as_their_short_form(
        engine in engine(),
        n in 30usize..200,
        pred in predicate(),
        shape in 0usize..4,
        long in "[a-z ]{40,120}",
    ) {
        let (long_form, short_form) = match shape {
            0 => {
                let sets: Vec<String> = (0..n).map(|i| format!("c{i} = 'v{i}'")).collect();
                (
                    format!("UPDATE orders SET {} WHERE {pred}", sets.join(", ")),
                    format!("UPDATE orders SET c0 = 'v0' WHERE {pred}"),
                )
            }
            1 => {
                let ids: Vec<String> = (0..n).map(|i| i.to_string()).collect();
                (
                    format!("DELETE FROM orders WHERE ({pred}) AND id IN ({})", ids.join(", ")),
                    format!("DELETE FROM orders WHERE ({pred}) AND id IN (0)"),
                )
            }
            2 => {
                let rows: Vec<String> = (0..n).map(|i| format!("({i}, '{long}')")).collect();
                (
                    format!("INSERT INTO log (id, msg) VALUES {}; DELETE FROM log WHERE {pred}", rows.join(", ")),
                    format!("INSERT INTO log (id, msg) VALUES (0, 'x'); DELETE FROM log WHERE {pred}"),
                )
            }
            _ => (
                format!("UPDATE orders SET note = '{long}{long}{long}{long}{long}' WHERE {pred}"),
                format!("UPDATE orders SET note = 'x' WHERE {pred}"),
            ),
        };
        let a = classify(engine, &long_form);
        let b = classify(engine, &short_form);
        let rules = |c: &qore_safety::Classification| {
            c.findings.iter().map(|f| f.rule.name).collect::<Vec<_>>()
        };
        prop_assert_eq!(a.verdict, b.verdict, "{} vs {}", long_form, short_form);
        prop_assert_eq!(rules(&a), rules(&b));
        prop_assert_eq!(a.kind, b.kind);
    }
}

//! The rules of the safety net, as data: a name a user can grep, switch off
//! or override, how bad a match is, and what it means.

use serde::Serialize;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; the statement is not destructive for it.
    Note,
    /// Changes or removes data or structure beyond what the statement's
    /// author probably meant, or cannot be undone.
    Destructive,
    /// Removes a whole database, schema or key space.
    Catastrophic,
}

/// One rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Rule {
    /// Stable name (`delete-without-where`).
    pub name: &'static str,
    /// How bad a match is.
    pub severity: Severity,
    /// What it catches.
    pub description: &'static str,
}

const fn rule(name: &'static str, severity: Severity, description: &'static str) -> Rule {
    Rule {
        name,
        severity,
        description,
    }
}

use Severity::{Catastrophic, Destructive, Note};

/// Every rule, SQL first, then MongoDB, then Redis.
pub static RULES: &[Rule] = &[
    rule(
        "delete-without-where",
        Destructive,
        "DELETE with no WHERE: every row of the table goes",
    ),
    rule(
        "delete-where-always-true",
        Destructive,
        "DELETE whose WHERE is always true (1=1, true, x = x, LIKE '%')",
    ),
    rule(
        "update-without-where",
        Destructive,
        "UPDATE with no WHERE: every row of the table changes",
    ),
    rule(
        "update-where-always-true",
        Destructive,
        "UPDATE whose WHERE is always true",
    ),
    rule(
        "update-from-without-join",
        Destructive,
        "UPDATE ... FROM whose WHERE never ties the updated table to the others: every row may change",
    ),
    rule(
        "delete-using-without-join",
        Destructive,
        "DELETE ... USING, or MySQL's multi-table DELETE, whose WHERE and joins never tie the deleted table to the others: every row may go",
    ),
    rule(
        "dml-in-cte",
        Destructive,
        "INSERT, UPDATE or DELETE inside a WITH clause: a statement that reads like a query writes",
    ),
    rule(
        "truncate",
        Destructive,
        "TRUNCATE removes every row at once, without row triggers",
    ),
    rule(
        "drop",
        Destructive,
        "DROP of a table, view, index, function or other object",
    ),
    rule(
        "drop-database",
        Catastrophic,
        "DROP DATABASE or DROP SCHEMA: everything in it goes",
    ),
    rule(
        "alter-drop",
        Destructive,
        "ALTER ... DROP of a column, constraint, key, index or partition",
    ),
    rule(
        "alter-rename",
        Destructive,
        "ALTER ... RENAME: every query using the old name breaks",
    ),
    rule(
        "create-or-replace-table",
        Destructive,
        "CREATE OR REPLACE TABLE drops the existing table and its rows",
    ),
    rule(
        "replace-into-select",
        Destructive,
        "REPLACE INTO ... SELECT deletes every row whose key the query returns",
    ),
    rule(
        "explain-analyze-executes",
        Destructive,
        "EXPLAIN ANALYZE runs the statement it explains",
    ),
    rule(
        "mysql-executable-comment",
        Destructive,
        "a /*! ... */ comment: MySQL and MariaDB run its content, which is not analysed",
    ),
    rule(
        "unparsed-write-keyword",
        Destructive,
        "a statement that could not be parsed and holds a keyword that writes (DELETE, UPDATE, DROP, ...)",
    ),
    rule(
        "unparsed",
        Note,
        "a statement that could not be parsed: checked by its keywords only",
    ),
    rule(
        "mongo-delete-all",
        Destructive,
        "deleteMany/remove/delete with an empty or always-true filter",
    ),
    rule(
        "mongo-update-all",
        Destructive,
        "updateMany/update with multi and an empty or always-true filter",
    ),
    rule("mongo-drop", Destructive, "drop of a collection or index"),
    rule("mongo-drop-database", Catastrophic, "dropDatabase"),
    rule(
        "mongo-rename-drop-target",
        Destructive,
        "renameCollection with dropTarget: the target collection is dropped",
    ),
    rule(
        "mongo-aggregate-out",
        Destructive,
        "aggregate with $out: the target collection is replaced by the pipeline's result",
    ),
    rule(
        "mongo-unparsed",
        Destructive,
        "a MongoDB command that could not be parsed: treated as destructive",
    ),
    rule(
        "redis-flushall",
        Catastrophic,
        "FLUSHALL: every key of every database",
    ),
    rule(
        "redis-flushdb",
        Catastrophic,
        "FLUSHDB: every key of the database",
    ),
    rule(
        "redis-delete-many",
        Destructive,
        "DEL or UNLINK of 10 or more keys at once",
    ),
    rule(
        "redis-script-flush",
        Destructive,
        "SCRIPT FLUSH or FUNCTION FLUSH: the server's scripts or functions go",
    ),
    rule(
        "redis-swapdb",
        Destructive,
        "SWAPDB exchanges two whole databases",
    ),
    rule("redis-shutdown", Catastrophic, "SHUTDOWN stops the server"),
    rule(
        "redis-config-set",
        Destructive,
        "CONFIG SET of a parameter that moves or stops persistence, evicts keys, or opens the server",
    ),
    rule(
        "redis-script",
        Note,
        "EVAL, EVALSHA or FCALL: what the script does is not analysed",
    ),
    rule(
        "redis-unparsed",
        Destructive,
        "a Redis line that could not be tokenised: treated as destructive",
    ),
];

/// The rule named `name`.
pub fn rule_named(name: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.name == name)
}

/// A rule by name, for the analysers (a missing name is a bug in this crate,
/// caught by the test that resolves every name they use).
pub(crate) fn by_name(name: &'static str) -> &'static Rule {
    static FALLBACK: Rule = rule(
        "unknown-rule",
        Severity::Destructive,
        "a rule this version does not describe",
    );
    rule_named(name).unwrap_or(&FALLBACK)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every rule name the analysers use is in the table (a typo would
    /// fall back to an unknown destructive rule).
    #[test]
    fn every_name_used_is_described() {
        for src in [
            include_str!("sql.rs"),
            include_str!("mongo.rs"),
            include_str!("redis.rs"),
        ] {
            let mut rest = src;
            while let Some(at) = rest.find("Finding::new(") {
                rest = &rest[at + "Finding::new(".len()..];
                let lit = rest.trim_start();
                if let Some(body) = lit.strip_prefix('"') {
                    let name = &body[..body.find('"').unwrap()];
                    assert!(rule_named(name).is_some(), "rule `{name}` is not in RULES");
                }
            }
        }
    }

    #[test]
    fn names_are_unique_and_kebab_case() {
        for (i, r) in RULES.iter().enumerate() {
            assert!(
                r.name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{}",
                r.name
            );
            assert!(
                RULES[i + 1..].iter().all(|o| o.name != r.name),
                "{}",
                r.name
            );
        }
    }
}

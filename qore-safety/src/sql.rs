//! SQL statements, read by sqlparser in the engine's dialect.

use std::ops::ControlFlow;

use qore_core::Engine;
use qore_core::sql::{split_statements, tokenize};
use sqlparser::ast::{
    AlterTableOperation, Expr, FromTable, ObjectType, SetExpr, Statement, TableFactor, Value,
    visit_expressions, visit_relations, visit_statements,
};
use sqlparser::dialect::{Dialect, DuckDbDialect, MySqlDialect, PostgreSqlDialect, SQLiteDialect};
use sqlparser::parser::Parser;

use crate::classify::{Classification, Finding, Kind, StatementReport};
use crate::truth::always_true;

fn dialect(engine: Engine) -> Box<dyn Dialect> {
    match engine {
        Engine::MySql => Box::new(MySqlDialect {}),
        Engine::Sqlite => Box::new(SQLiteDialect {}),
        Engine::DuckDb => Box::new(DuckDbDialect {}),
        _ => Box::new(PostgreSqlDialect {}),
    }
}

/// Classifies every statement of `text`.
pub(crate) fn classify(engine: Engine, text: &str) -> Classification {
    let dialect = dialect(engine);
    let mut reports: Vec<StatementReport> = split_statements(text)
        .into_iter()
        .map(|part| statement(engine, &*dialect, part))
        .collect();
    // The splitter drops comments: a text that is only an executable
    // comment has no statement left to carry the finding.
    let flagged = |r: &StatementReport| {
        r.findings
            .iter()
            .any(|f| f.rule.name == "mysql-executable-comment")
    };
    if engine == Engine::MySql && has_executable_comment(text) && !reports.iter().any(flagged) {
        reports.push(StatementReport {
            text: text.to_string(),
            kind: Kind::Unknown,
            objects: Vec::new(),
            findings: vec![Finding::new(
                "mysql-executable-comment",
                "a /*! ... */ comment runs on MySQL and MariaDB",
            )],
            parsed: false,
        });
    }
    Classification::of(reports)
}

/// One statement (as split by the lexer, which knows strings and comments).
fn statement(engine: Engine, dialect: &dyn Dialect, text: &str) -> StatementReport {
    let mut findings = Vec::new();
    if engine == Engine::MySql && has_executable_comment(text) {
        findings.push(Finding::new(
            "mysql-executable-comment",
            "a /*! ... */ comment runs on MySQL and MariaDB",
        ));
    }
    if findings.is_empty()
        && let Some(report) = plain_read(text)
    {
        return report;
    }
    match Parser::parse_sql(dialect, text) {
        Ok(parsed) if !parsed.is_empty() => {
            let mut kind = Kind::Read;
            let mut objects = Vec::new();
            for s in &parsed {
                kind = kind.max(kind_of(s));
                analyse(s, &mut findings);
                let _ = visit_relations(s, |name| {
                    let n = name.to_string();
                    if !objects.contains(&n) {
                        objects.push(n);
                    }
                    ControlFlow::<()>::Continue(())
                });
                if let Statement::Drop { names, .. } = s {
                    for n in names {
                        let n = n.to_string();
                        if !objects.contains(&n) {
                            objects.push(n);
                        }
                    }
                }
            }
            if kind == Kind::Read && findings.iter().any(|f| f.rule.name == "dml-in-cte") {
                kind = Kind::Write;
            }
            StatementReport {
                text: text.to_string(),
                kind,
                objects,
                findings,
                parsed: true,
            }
        }
        Ok(_) => StatementReport {
            text: text.to_string(),
            kind: Kind::Read,
            objects: Vec::new(),
            findings,
            parsed: true,
        },
        Err(e) => lexical(text, e.to_string(), findings),
    }
}

/// `/*!` (MySQL) or `/*M!` (MariaDB) outside strings and other comments,
/// scanned as MySQL reads them (backslash escapes, `#` comments).
fn has_executable_comment(text: &str) -> bool {
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            q @ (b'\'' | b'"' | b'`') => {
                i += 1;
                while i < b.len() {
                    if b[i] == b'\\' && q != b'`' {
                        i += 2;
                        continue;
                    }
                    if b[i] == q {
                        // A doubled quote stays inside.
                        if b.get(i + 1) == Some(&q) {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
                i += 1;
            }
            b'#' => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let rest = &b[i + 2..];
                if rest.starts_with(b"!") || rest.starts_with(b"M!") {
                    return true;
                }
                i += 2;
                while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                    i += 1;
                }
                i += 2;
            }
            _ => i += 1,
        }
    }
    false
}

/// Words that start a read.
const READ_STARTS: [&str; 6] = ["SELECT", "WITH", "VALUES", "TABLE", "SHOW", "EXPLAIN"];

/// A statement that starts like a read and holds no keyword that writes
/// (nor `INTO`, `CALL`, `COPY` or `DO`) cannot write: it is judged from its
/// tokens alone, without the parser (ten times the cost on long SELECTs).
/// Its objects are the names after FROM and JOIN.
fn plain_read(text: &str) -> Option<StatementReport> {
    let tokens = tokenize(text);
    if !tokens
        .first()
        .is_some_and(|t| READ_STARTS.iter().any(|k| t.is_keyword(k)))
    {
        return None;
    }
    const OTHERS: [&str; 6] = ["INTO", "CALL", "COPY", "DO", "SET", "LOCK"];
    if tokens.iter().any(|t| {
        WRITE_KEYWORDS.iter().any(|k| t.is_keyword(k)) || OTHERS.iter().any(|k| t.is_keyword(k))
    }) {
        return None;
    }
    let mut objects: Vec<String> = Vec::new();
    for (i, t) in tokens.iter().enumerate() {
        if !(t.is_keyword("FROM") || t.is_keyword("JOIN")) {
            continue;
        }
        let mut name = String::new();
        let mut j = i + 1;
        while let Some(part) = tokens.get(j).and_then(|x| x.ident()) {
            if !name.is_empty() {
                name.push('.');
            }
            name.push_str(part);
            if tokens.get(j + 1).map(|x| x.text.as_str()) != Some(".") {
                break;
            }
            j += 2;
        }
        if !name.is_empty() && !objects.contains(&name) {
            objects.push(name);
        }
    }
    Some(StatementReport {
        text: text.to_string(),
        kind: Kind::Read,
        objects,
        findings: Vec::new(),
        parsed: true,
    })
}

/// Keywords that write, for a statement the parser could not read.
const WRITE_KEYWORDS: [&str; 12] = [
    "DELETE", "UPDATE", "INSERT", "REPLACE", "MERGE", "DROP", "TRUNCATE", "ALTER", "CREATE",
    "RENAME", "GRANT", "REVOKE",
];

/// The conservative check of a statement the parser could not read.
fn lexical(text: &str, error: String, mut findings: Vec<Finding>) -> StatementReport {
    let tokens = tokenize(text);
    let found: Vec<&str> = WRITE_KEYWORDS
        .iter()
        .copied()
        .filter(|k| tokens.iter().any(|t| t.is_keyword(k)))
        .collect();
    let kind = if found.is_empty() {
        findings.push(Finding::new(
            "unparsed",
            format!("not parsed ({error}); no keyword that writes"),
        ));
        Kind::Unknown
    } else {
        findings.push(Finding::new(
            "unparsed-write-keyword",
            format!(
                "not parsed ({error}), and it holds {}: treated as destructive",
                found.join(", ")
            ),
        ));
        if found
            .iter()
            .any(|k| matches!(*k, "DROP" | "TRUNCATE" | "ALTER" | "CREATE" | "RENAME"))
        {
            Kind::Ddl
        } else {
            Kind::Write
        }
    };
    StatementReport {
        text: text.to_string(),
        kind,
        objects: Vec::new(),
        findings,
        parsed: false,
    }
}

/// What a parsed statement does.
fn kind_of(s: &Statement) -> Kind {
    match s {
        Statement::Query(_) => Kind::Read,
        Statement::Explain {
            analyze, statement, ..
        } if *analyze => kind_of(statement).max(Kind::Read),
        Statement::Explain { .. }
        | Statement::ExplainTable { .. }
        | Statement::ShowTables { .. }
        | Statement::ShowColumns { .. }
        | Statement::ShowVariable { .. }
        | Statement::ShowVariables { .. }
        | Statement::ShowCreate { .. }
        | Statement::ShowFunctions { .. }
        | Statement::ShowStatus { .. }
        | Statement::ShowDatabases { .. }
        | Statement::ShowSchemas { .. }
        | Statement::ShowViews { .. }
        | Statement::ShowCollation { .. } => Kind::Read,
        Statement::Insert(_)
        | Statement::Update(_)
        | Statement::Delete(_)
        | Statement::Merge(_)
        | Statement::Copy { .. } => Kind::Write,
        Statement::CreateTable(_)
        | Statement::CreateView { .. }
        | Statement::CreateIndex(_)
        | Statement::CreateSchema { .. }
        | Statement::CreateDatabase { .. }
        | Statement::CreateFunction(_)
        | Statement::CreateTrigger(_)
        | Statement::CreateProcedure { .. }
        | Statement::CreateSequence { .. }
        | Statement::CreateType { .. }
        | Statement::CreateExtension(_)
        | Statement::AlterTable(_)
        | Statement::AlterIndex { .. }
        | Statement::AlterView { .. }
        | Statement::Drop { .. }
        | Statement::DropFunction(_)
        | Statement::DropTrigger(_)
        | Statement::DropProcedure { .. }
        | Statement::DropExtension(_)
        | Statement::Truncate(_)
        | Statement::Comment { .. }
        | Statement::RenameTable(_) => Kind::Ddl,
        Statement::StartTransaction { .. }
        | Statement::Commit { .. }
        | Statement::Rollback { .. }
        | Statement::Savepoint { .. }
        | Statement::ReleaseSavepoint { .. } => Kind::TransactionControl,
        _ => Kind::Admin,
    }
}

/// Applies every SQL rule to `s` and the statements nested in it.
fn analyse(s: &Statement, out: &mut Vec<Finding>) {
    if let Statement::Explain {
        analyze,
        statement,
        options,
        ..
    } = s
    {
        let analyze = *analyze
            || options.iter().flatten().any(|o| {
                o.name.value.eq_ignore_ascii_case("analyze")
                    && !matches!(&o.arg, Some(Expr::Value(v)) if matches!(v.value, Value::Boolean(false)))
            });
        if analyze {
            let mut inner = Vec::new();
            analyse(statement, &mut inner);
            if inner
                .iter()
                .any(|f| f.rule.severity >= crate::rules::Severity::Destructive)
            {
                out.push(Finding::new(
                    "explain-analyze-executes",
                    "EXPLAIN ANALYZE runs the destructive statement it explains",
                ));
                out.extend(inner);
            }
        }
        // A plain EXPLAIN only plans.
        return;
    }
    let top: *const Statement = s;
    let _ = visit_statements(s, |n| {
        let nested = !std::ptr::eq(n, top);
        rules_of(n, nested, out);
        ControlFlow::<()>::Continue(())
    });
}

/// The rules of one statement node; `nested` for a statement inside
/// another (a CTE's DELETE).
fn rules_of(s: &Statement, nested: bool, out: &mut Vec<Finding>) {
    match s {
        Statement::Delete(d) => {
            if nested {
                out.push(Finding::new("dml-in-cte", "a DELETE inside a WITH clause"));
            }
            let target = delete_target(d);
            match &d.selection {
                None => out.push(Finding::new(
                    "delete-without-where",
                    format!("DELETE FROM {target} has no WHERE"),
                )),
                Some(e) if always_true(e) => out.push(Finding::new(
                    "delete-where-always-true",
                    format!("DELETE FROM {target} WHERE {e}: always true"),
                )),
                Some(_) => {}
            }
        }
        Statement::Update(u) => {
            if nested {
                out.push(Finding::new("dml-in-cte", "an UPDATE inside a WITH clause"));
            }
            let target = u.table.relation.to_string();
            match &u.selection {
                None => out.push(Finding::new(
                    "update-without-where",
                    format!("UPDATE {target} has no WHERE"),
                )),
                Some(e) if always_true(e) => out.push(Finding::new(
                    "update-where-always-true",
                    format!("UPDATE {target} WHERE {e}: always true"),
                )),
                Some(e) => {
                    if u.from.is_some() && !mentions_table(e, &u.table.relation) {
                        out.push(Finding::new(
                            "update-from-without-join",
                            format!("UPDATE {target} ... FROM: the WHERE never names {target}"),
                        ));
                    }
                }
            }
        }
        Statement::Insert(i) => {
            if nested {
                out.push(Finding::new("dml-in-cte", "an INSERT inside a WITH clause"));
            }
            if i.replace_into
                && i.source
                    .as_ref()
                    .is_some_and(|q| !matches!(*q.body, SetExpr::Values(_)))
            {
                out.push(Finding::new(
                    "replace-into-select",
                    format!("REPLACE INTO {} ... SELECT", i.table),
                ));
            }
        }
        Statement::Truncate(t) => {
            let names: Vec<String> = t.table_names.iter().map(|n| n.name.to_string()).collect();
            out.push(Finding::new(
                "truncate",
                format!("TRUNCATE {}", names.join(", ")),
            ));
        }
        Statement::Drop {
            object_type, names, ..
        } => {
            let names: Vec<String> = names.iter().map(ToString::to_string).collect();
            let (rule, what) = match object_type {
                ObjectType::Database => ("drop-database", "DATABASE"),
                ObjectType::Schema => ("drop-database", "SCHEMA"),
                _ => ("drop", ""),
            };
            let what = if what.is_empty() {
                object_type.to_string()
            } else {
                what.to_string()
            };
            out.push(Finding::new(
                rule,
                format!("DROP {what} {}", names.join(", ")),
            ));
        }
        Statement::DropFunction(_)
        | Statement::DropTrigger(_)
        | Statement::DropProcedure { .. }
        | Statement::DropExtension(_) => {
            out.push(Finding::new("drop", s.to_string()));
        }
        Statement::AlterTable(a) => {
            for op in &a.operations {
                if let Some(rule) = alter_rule(op) {
                    out.push(Finding::new(rule, format!("ALTER TABLE {} {op}", a.name)));
                }
            }
        }
        Statement::RenameTable(_) => out.push(Finding::new("alter-rename", s.to_string())),
        Statement::CreateTable(c) if c.or_replace => out.push(Finding::new(
            "create-or-replace-table",
            format!("CREATE OR REPLACE TABLE {}", c.name),
        )),
        _ => {}
    }
}

fn delete_target(d: &sqlparser::ast::Delete) -> String {
    if !d.tables.is_empty() {
        return d
            .tables
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ");
    }
    let from = match &d.from {
        FromTable::WithFromKeyword(t) | FromTable::WithoutKeyword(t) => t,
    };
    from.iter()
        .map(|t| t.relation.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn alter_rule(op: &AlterTableOperation) -> Option<&'static str> {
    use AlterTableOperation as A;
    match op {
        A::DropConstraint { .. }
        | A::DropColumn { .. }
        | A::DropPrimaryKey { .. }
        | A::DropForeignKey { .. }
        | A::DropIndex { .. }
        | A::DropPartitions { .. }
        | A::DropProjection { .. }
        | A::DropClusteringKey => Some("alter-drop"),
        A::RenameColumn { .. }
        | A::RenameTable { .. }
        | A::RenameConstraint { .. }
        | A::RenamePartitions { .. } => Some("alter-rename"),
        _ => None,
    }
}

/// Whether `e` names the updated table (by its alias or name) anywhere.
fn mentions_table(e: &Expr, table: &TableFactor) -> bool {
    let names: Vec<String> = match table {
        TableFactor::Table { name, alias, .. } => {
            let mut v = vec![
                name.0
                    .last()
                    .map(|p| p.to_string().to_ascii_lowercase())
                    .unwrap_or_default(),
            ];
            if let Some(a) = alias {
                v.push(a.name.value.to_ascii_lowercase());
            }
            v
        }
        _ => return true,
    };
    let mut found = false;
    let _ = visit_expressions(e, |x| {
        if let Expr::CompoundIdentifier(parts) = x
            && parts.len() >= 2
            && names.contains(&parts[parts.len() - 2].value.to_ascii_lowercase())
        {
            found = true;
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    });
    found
}

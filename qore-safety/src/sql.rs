//! SQL statements, read by sqlparser in the engine's dialect.

use std::ops::ControlFlow;

mod lexical;
mod reduce;
mod routine;
mod rules;

use qore_core::Engine;
use qore_core::sql::{Flavor, lex, lex_into, split_statements_in};
use sqlparser::ast::{Statement, visit_relations};
use sqlparser::dialect::{Dialect, DuckDbDialect, MySqlDialect, PostgreSqlDialect, SQLiteDialect};
use sqlparser::parser::Parser;

use crate::classify::{Classification, Finding, Kind, StatementReport};
use lexical::{has_executable_comment, lexical, mysql_comma_joins, plain_read};
use rules::analyse;

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
    // Without a `;` there is one statement: no need to lex it twice.
    let parts = if text.contains(';') {
        split_statements_in(text, Flavor::of(engine))
    } else {
        vec![text.trim()]
    };
    let mut reports: Vec<StatementReport> = parts
        .into_iter()
        .filter_map(|part| statement(engine, &*dialect, part))
        .collect();
    // The splitter drops comments: a text that is only an executable
    // comment has no statement left to carry the finding.
    let flagged = |r: &StatementReport| {
        r.findings
            .iter()
            .any(|f| f.rule.name == "mysql-executable-comment")
    };
    if engine == Engine::MySql
        && !reports.iter().any(flagged)
        && text.contains("/*")
        && has_executable_comment(text, &lex(text, Flavor::MySql))
    {
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

/// One statement (as split by the lexer, which knows strings and comments);
/// `None` for only comments.
fn statement(engine: Engine, dialect: &dyn Dialect, text: &str) -> Option<StatementReport> {
    let mut findings = Vec::new();
    let flavor = Flavor::of(engine);
    // One buffer of tokens per thread: a long statement's thousands of
    // tokens are not allocated and freed on every call.
    SPANS.with(|buf| {
        let mut tokens = buf.take();
        lex_into(text, flavor, &mut tokens);
        if engine == Engine::MySql && has_executable_comment(text, &tokens) {
            findings.push(Finding::new(
                "mysql-executable-comment",
                "a /*! ... */ comment runs on MySQL and MariaDB",
            ));
        }
        let report = parsed_statement(engine, dialect, text, &tokens, findings);
        buf.replace(tokens);
        report
    })
}

thread_local! {
    static SPANS: std::cell::Cell<Vec<qore_core::sql::Span>> = const { std::cell::Cell::new(Vec::new()) };
}

fn parsed_statement(
    engine: Engine,
    dialect: &dyn Dialect,
    text: &str,
    tokens: &[qore_core::sql::Span],
    mut findings: Vec<Finding>,
) -> Option<StatementReport> {
    if tokens.is_empty() {
        return None;
    }
    if engine == Engine::Postgres
        && tokens[0].is_keyword(text, "DO")
        && let Some(report) = routine::do_block(text, tokens)
    {
        return Some(report);
    }
    if engine == Engine::MySql
        && findings.is_empty()
        && let Some(report) = lexical::maintenance(text, tokens)
    {
        return Some(report);
    }
    if findings.is_empty()
        && let Some(report) = plain_read(text, tokens)
    {
        return Some(report);
    }
    // A long statement is parsed without the parts no rule reads; if that
    // fails, as it is.
    let reduced = reduce::reduce(text, tokens);
    let parsed = match reduced.as_deref().map(|r| Parser::parse_sql(dialect, r)) {
        Some(Ok(p)) => Ok(p),
        _ => Parser::parse_sql(dialect, text),
    };
    let parsed = match parsed {
        Err(e) if engine == Engine::MySql => match mysql_comma_joins(text, tokens) {
            // sqlparser reads `UPDATE a, b SET` only as `a CROSS JOIN b`,
            // which is what MySQL runs.
            Some(rewritten) => Parser::parse_sql(dialect, &rewritten).map_err(|_| e),
            None => Err(e),
        },
        other => other,
    };
    Some(match parsed {
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
        Err(e) => lexical(text, tokens, e.to_string(), findings),
    })
}

/// What a parsed statement does.
fn kind_of(s: &Statement) -> Kind {
    match s {
        // `WITH ... DELETE`: the body is the statement.
        Statement::Query(_) => rules::dml_body(s).map_or(Kind::Read, kind_of),
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

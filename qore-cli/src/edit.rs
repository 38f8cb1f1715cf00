//! `qore edit`, `qore sandbox`, `qore peek`, `qore relation`: each parses,
//! calls one function of qore-sandbox (or the relations model), prints.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use futures::StreamExt;
use qore_core::relations::{Cardinality, Relations, VirtualRelation};
use qore_core::{ConnectionRef, TableRef};
use qore_sandbox::ops::{self, EditAction, EditRequest};
use qore_sandbox::{ApplyReport, Direction, Sandbox};

use crate::connections::{self, SafetyFlags};
use crate::format::{Writer, write_text_rows};
use crate::opts::Format;
use crate::opts_edit::{EditArgs, PeekArgs, RelationAction, SandboxAction};

const DEFAULT_SANDBOX: &str = "default";

fn sandbox_of(db: Option<&str>, name: Option<&str>, target: Option<String>) -> Result<Sandbox> {
    let t = connections::target_of(db)?;
    let name = name.unwrap_or(DEFAULT_SANDBOX);
    let path = Sandbox::path_of(&t.scope(), name)?;
    Ok(Sandbox::open(&path, name, &target.unwrap_or_else(|| t.spec.to_string()))?)
}

fn relations_path(db: Option<&str>) -> Result<std::path::PathBuf> {
    Ok(Relations::default_path(&connections::target_of(db)?.scope())?)
}

/// Prints each conflict three-way and fails: nothing was written.
fn conflicts(report: &ApplyReport, out: &mut dyn Write) -> Result<ExitCode> {
    let mut rows = Vec::new();
    for c in &report.conflicts {
        let cols: Vec<&String> = c
            .yours
            .iter()
            .map(|(k, _)| k)
            .chain(c.original.iter().map(|(k, _)| k))
            .collect();
        let mut seen = Vec::new();
        for col in cols {
            if seen.contains(&col) {
                continue;
            }
            seen.push(col);
            let get = |cells: &[(String, qore_core::Value)]| {
                cells
                    .iter()
                    .find(|(k, _)| k == col)
                    .map(|(_, v)| v.to_string())
                    .unwrap_or_default()
            };
            let now = match &c.current {
                Some(cells) => get(cells),
                None => "(row gone or moved)".into(),
            };
            rows.push(vec![
                format!("#{}", c.change),
                c.table.to_string(),
                c.kind.label().to_string(),
                col.clone(),
                get(&c.original),
                get(&c.yours),
                now,
            ]);
        }
    }
    write_text_rows(
        Format::Table,
        out,
        &["change", "table", "kind", "column", "original", "yours", "now"],
        rows,
    )?;
    bail!(
        "{} row(s) changed since they were read: nothing was written (the changes are kept; re-read the rows and edit again, or discard them)",
        report.conflicts.len()
    )
}

pub(crate) async fn edit(
    args: EditArgs,
    flags: SafetyFlags,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<ExitCode> {
    let action = match (args.insert, args.delete) {
        (true, _) => EditAction::Insert,
        (_, true) => EditAction::Delete,
        _ => EditAction::Update,
    };
    if action == EditAction::Update && args.set.is_empty() && args.null.is_empty() {
        bail!("nothing to edit: give --set COLUMN=VALUE (or --null COLUMN), --insert or --delete");
    }
    if action != EditAction::Insert && args.key.is_empty() {
        bail!("say which row: --key COLUMN=VALUE");
    }
    let request = EditRequest {
        table: TableRef::parse(&args.table)?,
        action,
        key: args.key,
        set: args
            .set
            .into_iter()
            .map(|(c, v)| (c, Some(v)))
            .chain(args.null.into_iter().map(|c| (c, None)))
            .collect(),
    };
    let (conn, target) = connections::open(args.db.db.as_deref(), flags).await?;
    let mut sandbox = match &args.sandbox {
        Some(name) => Some(sandbox_of(
            args.db.db.as_deref(),
            Some(name),
            Some(target.spec.to_string()),
        )?),
        None => None,
    };
    let r = ops::edit(conn.as_ref(), &request, sandbox.as_mut()).await;
    let sql = conn.dialect().is_some();
    let r = crate::commands::goodbye(&conn, r.map_err(anyhow::Error::from)).await?;
    // SQL statements end with `;`; MongoDB commands are one JSON each.
    writeln!(out, "{}{}", r.statement, if sql { ";" } else { "" })?;
    let dup = if r.duplicates > 1 {
        format!("; one of {} identical rows", r.duplicates)
    } else {
        String::new()
    };
    if let (Some(id), Some(s)) = (r.recorded, &sandbox) {
        writeln!(
            err,
            "qore: change #{id} recorded in sandbox `{}` (rows of {} addressed by {}{dup}); nothing was written",
            s.name(),
            r.change.table,
            r.identity
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    let report = r.report.unwrap_or_default();
    if !report.committed() {
        return conflicts(&report, out);
    }
    writeln!(
        err,
        "qore: 1 row {} (addressed by {}{dup})",
        match action {
            EditAction::Update => "updated",
            EditAction::Insert => "inserted",
            EditAction::Delete => "deleted",
        },
        r.identity
    )?;
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn sandbox(
    action: SandboxAction,
    flags: SafetyFlags,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<ExitCode> {
    match action {
        SandboxAction::Ls { db, format } => {
            let scope = connections::target_of(db.db.as_deref())?.scope();
            let rows = Sandbox::list(&scope)?
                .into_iter()
                .map(|s| {
                    vec![
                        s.name,
                        s.pending.to_string(),
                        s.applied_at.unwrap_or_default(),
                        s.target,
                    ]
                })
                .collect();
            write_text_rows(format, out, &["name", "pending", "applied", "target"], rows)?;
        }
        SandboxAction::Show { db, name, format } => {
            let s = sandbox_of(db.db.as_deref(), name.as_deref(), None)?;
            let cells = |c: &[(String, qore_core::Value)]| {
                c.iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let rows = s
                .changes()
                .iter()
                .map(|c| {
                    let key = if c.key.is_empty() {
                        String::new()
                    } else {
                        c.key
                            .iter()
                            .map(|v| v.to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    };
                    vec![
                        c.id.to_string(),
                        c.kind.label().to_string(),
                        c.table.to_string(),
                        key,
                        cells(&c.after),
                        cells(&c.before),
                    ]
                })
                .collect();
            write_text_rows(
                format,
                out,
                &["change", "kind", "table", "row", "set", "original"],
                rows,
            )?;
            if let Some(a) = s.applied() {
                writeln!(
                    err,
                    "qore: last applied {} ({} change(s)); its undo: qore sandbox script --undo {}",
                    a.at,
                    a.changes.len(),
                    s.name()
                )?;
            }
        }
        SandboxAction::Script { db, name, undo } => {
            let (conn, target) = connections::open(db.db.as_deref(), flags).await?;
            let s = sandbox_of(db.db.as_deref(), name.as_deref(), Some(target.spec.to_string()))?;
            let r = ops::script(conn.as_ref(), &s, undo).await;
            let script = crate::commands::goodbye(&conn, r.map_err(anyhow::Error::from)).await?;
            out.write_all(script.as_bytes())?;
        }
        SandboxAction::Apply { db, name, undo } => {
            let (conn, target) = connections::open(db.db.as_deref(), flags).await?;
            let mut s =
                sandbox_of(db.db.as_deref(), name.as_deref(), Some(target.spec.to_string()))?;
            let r = apply(&conn, &mut s, undo, flags, &target.spec.to_string()).await;
            let report = crate::commands::goodbye(&conn, r).await?;
            let Some(report) = report else {
                bail!("not applied: no confirmation");
            };
            if !report.committed() {
                return conflicts(&report, out);
            }
            writeln!(
                err,
                "qore: applied sandbox `{}`{}: {} statement(s), {} row(s){}",
                s.name(),
                if undo { " (undo)" } else { "" },
                report.statements,
                report.rows,
                if undo {
                    String::new()
                } else {
                    format!("; its undo: qore sandbox script --undo {}", s.name())
                }
            )?;
        }
        SandboxAction::Discard { db, name, change } => {
            let mut s = sandbox_of(db.db.as_deref(), name.as_deref(), None)?;
            match change {
                Some(id) => {
                    let c = s.discard(id)?;
                    writeln!(
                        err,
                        "qore: discarded change #{id} ({} of {}); {} left",
                        c.kind.label(),
                        c.table,
                        s.changes().len()
                    )?;
                }
                None => {
                    let n = s.discard_all()?;
                    writeln!(err, "qore: discarded sandbox `{}` ({n} change(s))", s.name())?;
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Applies (after a confirmation on staging and prod); `None` when the
/// user said no.
async fn apply(
    conn: &ConnectionRef,
    s: &mut Sandbox,
    undo: bool,
    flags: SafetyFlags,
    target: &str,
) -> Result<Option<ApplyReport>> {
    if let Some(message) = ops::confirmation(conn.as_ref(), s, undo, target).await?
        && !connections::ask(flags.yes, &message, "apply?")
    {
        return Ok(None);
    }
    Ok(Some(ops::apply(conn.as_ref(), s, undo).await?))
}

pub(crate) async fn peek(
    args: PeekArgs,
    flags: SafetyFlags,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<ExitCode> {
    let table = TableRef::parse(&args.table)?;
    let (conn, _) = connections::open(args.db.db.as_deref(), flags).await?;
    let relations = Relations::load(&relations_path(args.db.db.as_deref())?)?;
    let direction = if args.referencing {
        Direction::Referencing
    } else {
        Direction::Referenced
    };
    let r = async {
        let peeks = ops::peek_rows(
            conn.as_ref(),
            &relations,
            &table,
            &args.key,
            args.column.as_deref(),
            direction,
            args.limit,
        )
        .await?;
        for mut p in peeks {
            let r = &p.relation;
            writeln!(
                err,
                "qore: {}({}) → {}({}){}",
                r.from,
                r.from_columns.join(", "),
                r.to,
                r.to_columns.join(", "),
                if r.is_virtual { " [virtual]" } else { "" }
            )?;
            let mut w = Writer::new(args.format, out, p.rows.schema(), 0);
            // Counted here: only the table writer counts its rows.
            let mut total = 0;
            while let Some(b) = p.rows.next().await {
                let b = b?;
                total += b.num_rows();
                w.write(&b)?;
            }
            w.finish()?;
            let with: Vec<String> = p
                .related
                .params
                .iter()
                .enumerate()
                .map(|(i, v)| format!("{} = {v}", conn.dialect().map(|d| d.placeholder(i + 1)).unwrap_or_default()))
                .collect();
            writeln!(
                err,
                "qore: {total} row(s); open related: {} (with {})",
                p.related.sql,
                with.join(", ")
            )?;
        }
        Ok::<_, anyhow::Error>(())
    }
    .await;
    crate::commands::goodbye(&conn, r).await?;
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn relation(
    action: RelationAction,
    flags: SafetyFlags,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<ExitCode> {
    match action {
        RelationAction::Add {
            db,
            name,
            from,
            to,
            cardinality,
            force,
        } => {
            let (from, from_columns) = ops::parse_endpoint(&from)?;
            let (to, to_columns) = ops::parse_endpoint(&to)?;
            let relation = VirtualRelation {
                name: name.clone(),
                from,
                from_columns,
                to,
                to_columns,
                cardinality: cardinality.as_deref().map(Cardinality::parse).transpose()?,
            };
            let path = relations_path(db.db.as_deref())?;
            let (conn, _) = connections::open(db.db.as_deref(), flags).await?;
            let r = ops::add_relation(conn.as_ref(), &path, relation, force).await;
            crate::commands::goodbye(&conn, r.map_err(anyhow::Error::from))
                .await
                .with_context(|| format!("relation `{name}` not added"))?;
            writeln!(err, "qore: added relation `{name}` ({})", path.display())?;
        }
        RelationAction::Ls { db, format } => {
            let rels = Relations::load(&relations_path(db.db.as_deref())?)?;
            let rows = rels
                .all()
                .iter()
                .map(|r| {
                    vec![
                        r.name.clone(),
                        format!("{}({})", r.from, r.from_columns.join(", ")),
                        format!("{}({})", r.to, r.to_columns.join(", ")),
                        r.cardinality.map(|c| c.as_str().to_string()).unwrap_or_default(),
                    ]
                })
                .collect();
            write_text_rows(format, out, &["name", "from", "to", "cardinality"], rows)?;
        }
        RelationAction::Rm { db, name } => {
            let path = relations_path(db.db.as_deref())?;
            let mut rels = Relations::load(&path)?;
            rels.remove(&name)?;
            rels.save(&path)?;
            writeln!(err, "qore: removed relation `{name}`")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

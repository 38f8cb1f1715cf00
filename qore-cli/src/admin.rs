//! `qore admin`, `qore routine`, `qore trigger`, `qore event`: the
//! administration facet (`qore_core::admin`) on the command line. Plans
//! run through the safety net's session, so a DROP confirms on staging and
//! prod like any statement.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use qore_core::admin::{self, Admin, ObjectClass, ObjectRef, OpRequest, Plan};
use qore_core::{ConnectionRef, TableRef};

use crate::connections::{self, SafetyFlags};
use crate::opts::{DbArg, Format};

/// `qore admin` actions.
#[derive(Debug, clap::Subcommand)]
pub enum AdminAction {
    /// List the maintenance operations of this engine for TABLE (or the
    /// database), each with its options, and why it cannot run here if it
    /// cannot (storage engine, table kind, privilege, version).
    Ops {
        #[command(flatten)]
        db: DbArg,
        /// The table (`name` or `namespace.name`).
        table: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Run maintenance operation OP on TABLE (or the database).
    Run {
        #[command(flatten)]
        db: DbArg,
        /// The operation (see `qore admin ops`).
        op: String,
        /// The table (`name` or `namespace.name`).
        table: Option<String>,
        /// An option of the operation, `NAME` or `NAME=VALUE`; repeatable.
        #[arg(long = "option", short = 'o')]
        options: Vec<String>,
        /// Print the statements that would run, and run nothing.
        #[arg(long)]
        dry_run: bool,
        /// Output format of the result.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Size and health figures of TABLE or the database: dead rows and
    /// bloat (PostgreSQL), data and free bytes (MariaDB), pages (SQLite),
    /// database size (DuckDB).
    Figures {
        #[command(flatten)]
        db: DbArg,
        /// The table.
        table: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

/// The actions on routines, triggers and events.
#[derive(Debug, clap::Subcommand)]
pub enum ObjectAction {
    /// List them (the current namespace unless `--namespace`).
    Ls {
        #[command(flatten)]
        db: DbArg,
        /// Schema or database.
        #[arg(long)]
        namespace: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Print the full definition, as the server gives it.
    Show {
        #[command(flatten)]
        db: DbArg,
        /// `name`, `namespace.name`, `name(argtypes)` for an overload.
        name: String,
        /// The table of a trigger, where trigger names are per table.
        #[arg(long)]
        table: Option<String>,
    },
    /// Create one from a definition (a CREATE statement).
    Create {
        #[command(flatten)]
        db: DbArg,
        /// The file holding the definition (`-` or none: stdin).
        #[arg(long, short = 'f')]
        file: Option<std::path::PathBuf>,
        /// Print the statements that would run, and run nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Replace one with a new definition, never losing it: if the new one
    /// fails, the old one is left as it was.
    Edit {
        #[command(flatten)]
        db: DbArg,
        /// The object.
        name: String,
        /// The new definition (`-`: stdin); without it, $EDITOR opens on
        /// the current one.
        #[arg(long, short = 'f')]
        file: Option<std::path::PathBuf>,
        /// The table of a trigger.
        #[arg(long)]
        table: Option<String>,
        /// Print the statements that would run, and run nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Drop one.
    Drop {
        #[command(flatten)]
        db: DbArg,
        /// The object.
        name: String,
        /// The table of a trigger.
        #[arg(long)]
        table: Option<String>,
        /// Print the statement that would run, and run nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Call a routine with ARGS (text, typed by its parameters; `\N` is
    /// NULL) and print its result and OUT parameters.
    Call {
        #[command(flatten)]
        db: DbArg,
        /// The routine.
        name: String,
        /// Its IN and INOUT arguments, in order.
        args: Vec<String>,
        /// Print the statements that would run, and run nothing.
        #[arg(long)]
        dry_run: bool,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Let a trigger fire (or an event run) again. PostgreSQL: `ALL` or
    /// `USER` with `--table` for every trigger of the table.
    Enable {
        #[command(flatten)]
        db: DbArg,
        /// The object.
        name: String,
        /// The table of a trigger.
        #[arg(long)]
        table: Option<String>,
        /// Print the statement that would run, and run nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Stop a trigger from firing (or an event from running).
    Disable {
        #[command(flatten)]
        db: DbArg,
        /// The object.
        name: String,
        /// The table of a trigger.
        #[arg(long)]
        table: Option<String>,
        /// Print the statement that would run, and run nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Events only: show the event scheduler's state, or turn it on or off.
    Scheduler {
        #[command(flatten)]
        db: DbArg,
        /// `on` or `off`; none: show the state.
        state: Option<String>,
    },
}

fn facet(conn: &ConnectionRef) -> Result<&dyn Admin> {
    conn.admin()
        .ok_or_else(|| anyhow::anyhow!("{} has no administration facet", conn.engine().name()))
}

fn table_arg(t: &Option<String>) -> Result<Option<TableRef>> {
    t.as_deref().map(TableRef::parse).transpose().map_err(Into::into)
}

async fn print_batches(
    ran: admin::Ran,
    format: Format,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<ExitCode> {
    let stream = futures::stream::iter(ran.batches.into_iter().map(Ok));
    let stream: qore_core::SendableRecordBatchStream =
        Box::pin(qore_core::RecordBatchStreamAdapter::new(ran.schema, stream));
    crate::commands::write_rows(stream, format, 0, qore_shell::Expanded::Off, false, false, out, err).await
}

/// Prints the plan with `--dry-run`, else runs it and prints what it returned.
async fn perform(
    conn: &ConnectionRef,
    plan: Plan,
    dry_run: bool,
    format: Option<Format>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<ExitCode> {
    if dry_run {
        for s in &plan.statements {
            writeln!(out, "{s};")?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let ran = admin::run(conn.as_ref(), &plan).await?;
    match format {
        Some(f) => print_batches(ran, f, out, err).await,
        None => {
            for (s, took) in &ran.timings {
                let short: String = s.lines().next().unwrap_or("").chars().take(100).collect();
                writeln!(err, "qore: ran `{short}` in {:.1?}", took)?;
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

pub(crate) async fn run_admin(action: AdminAction, flags: SafetyFlags, out: &mut dyn Write, err: &mut dyn Write) -> Result<ExitCode> {
    match action {
        AdminAction::Ops { db, table, format } => {
            let (conn, _) = connections::open(db.db.as_deref(), flags).await?;
            let ops = facet(&conn)?.operations(table_arg(&table)?.as_ref()).await?;
            let batch = admin::operations_batch(&ops)?;
            print_batches(admin::Ran { schema: batch.schema(), batches: vec![batch], timings: vec![] }, format, out, err).await
        }
        AdminAction::Run { db, op, table, options, dry_run, format } => {
            let (conn, target) = connections::open(db.db.as_deref(), flags).await?;
            let request = OpRequest {
                op,
                table: table_arg(&table)?,
                options: options
                    .iter()
                    .map(|o| match o.split_once('=') {
                        Some((k, v)) => (k.trim().to_ascii_lowercase(), Some(v.trim().to_string())),
                        None => (o.trim().to_ascii_lowercase(), None),
                    })
                    .collect(),
            };
            let plan = facet(&conn)?.plan_operation(&request).await?;
            if dry_run || plan.progress.is_none() || !std::io::stderr().is_terminal() {
                return perform(&conn, plan, dry_run, Some(format), out, err).await;
            }
            // The engine reports progress: read it on a second session.
            let watcher = async { target.open().await?.session().await }
                .await
                .with_context(|| format!("cannot open a second session of {} for the progress", target.spec))?;
            let bar = indicatif::ProgressBar::new(0);
            bar.set_style(
                indicatif::ProgressStyle::with_template("{spinner} {msg} {bar:30} {pos}/{len} [{elapsed_precise}]")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
            let shown = bar.clone();
            let mut on_progress = move |p: &admin::Progress| {
                if let Some(t) = p.total {
                    shown.set_length(t);
                }
                if let Some(d) = p.done {
                    shown.set_position(d);
                }
                shown.set_message(p.phase.clone().unwrap_or_default());
            };
            let ran = admin::run_watched(
                conn.as_ref(),
                watcher.as_ref(),
                &plan,
                std::time::Duration::from_millis(500),
                &mut on_progress,
            )
            .await;
            bar.finish_and_clear();
            print_batches(ran?, format, out, err).await
        }
        AdminAction::Figures { db, table, format } => {
            let (conn, _) = connections::open(db.db.as_deref(), flags).await?;
            let stream = facet(&conn)?.figures(table_arg(&table)?.as_ref()).await?;
            crate::commands::write_rows(stream, format, 0, qore_shell::Expanded::Off, false, false, out, err).await
        }
    }
}

fn read_definition(file: Option<&std::path::Path>) -> Result<String> {
    let text = match file {
        Some(p) if p != std::path::Path::new("-") => {
            std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?
        }
        _ => std::io::read_to_string(std::io::stdin()).context("cannot read the definition from stdin")?,
    };
    if text.trim().is_empty() {
        bail!("the definition is empty");
    }
    Ok(text)
}

/// `$VISUAL`/`$EDITOR` (else `vi`) on `current`; `None` when left unchanged.
fn edit_in_editor(current: &str, class: ObjectClass) -> Result<Option<String>> {
    let editor = std::env::var("VISUAL").or_else(|_| std::env::var("EDITOR")).unwrap_or_else(|_| "vi".into());
    let dir = tempfile::tempdir().context("cannot make a temporary directory for the editor")?;
    let path = dir.path().join(format!("{}.sql", class.name()));
    std::fs::write(&path, current).with_context(|| format!("cannot write {}", path.display()))?;
    let mut parts = shell_words(&editor);
    if parts.is_empty() {
        bail!("$EDITOR is empty");
    }
    let program = parts.remove(0);
    let status = std::process::Command::new(&program)
        .args(parts)
        .arg(&path)
        .status()
        .with_context(|| format!("cannot start the editor `{program}`"))?;
    if !status.success() {
        bail!("the editor `{program}` failed ({status}); nothing was changed");
    }
    let edited = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok((edited.trim() != current.trim()).then_some(edited))
}

fn shell_words(s: &str) -> Vec<String> {
    s.split_whitespace().map(String::from).collect()
}

fn object_arg(name: &str, table: Option<String>) -> Result<ObjectRef> {
    let mut o = ObjectRef::parse(name)?;
    o.table = table;
    Ok(o)
}

pub(crate) async fn run_objects(
    class: ObjectClass,
    action: ObjectAction,
    flags: SafetyFlags,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<ExitCode> {
    match action {
        ObjectAction::Ls { db, namespace, format } => {
            let (conn, _) = connections::open(db.db.as_deref(), flags).await?;
            let objects = facet(&conn)?.objects(class, namespace.as_deref()).await?;
            let batch = admin::objects_batch(&objects)?;
            print_batches(admin::Ran { schema: batch.schema(), batches: vec![batch], timings: vec![] }, format, out, err).await
        }
        ObjectAction::Show { db, name, table } => {
            let (conn, _) = connections::open(db.db.as_deref(), flags).await?;
            let d = facet(&conn)?.definition(class, &object_arg(&name, table)?).await?;
            writeln!(out, "{}", d.sql.trim_end())?;
            Ok(ExitCode::SUCCESS)
        }
        ObjectAction::Create { db, file, dry_run } => {
            let sql = read_definition(file.as_deref())?;
            let (conn, _) = connections::open(db.db.as_deref(), flags).await?;
            let plan = facet(&conn)?.plan_create(class, &sql).await?;
            perform(&conn, plan, dry_run, None, out, err).await
        }
        ObjectAction::Edit { db, name, file, table, dry_run } => {
            let (conn, _) = connections::open(db.db.as_deref(), flags).await?;
            let object = object_arg(&name, table)?;
            let sql = match file {
                Some(f) => read_definition(Some(&f))?,
                None => {
                    let current = facet(&conn)?.definition(class, &object).await?.sql;
                    match edit_in_editor(&current, class)? {
                        Some(s) => s,
                        None => {
                            writeln!(err, "qore: {} {} unchanged", class.name(), object.display())?;
                            return Ok(ExitCode::SUCCESS);
                        }
                    }
                }
            };
            let plan = facet(&conn)?.plan_replace(class, &object, &sql).await?;
            perform(&conn, plan, dry_run, None, out, err).await
        }
        ObjectAction::Drop { db, name, table, dry_run } => {
            let (conn, _) = connections::open(db.db.as_deref(), flags).await?;
            let plan = facet(&conn)?.plan_drop(class, &object_arg(&name, table)?).await?;
            perform(&conn, plan, dry_run, None, out, err).await
        }
        ObjectAction::Call { db, name, args, dry_run, format } => {
            if class != ObjectClass::Routine {
                bail!("only routines are called");
            }
            let (conn, _) = connections::open(db.db.as_deref(), flags).await?;
            let args: Vec<Option<String>> = args.into_iter().map(|a| (a != "\\N").then_some(a)).collect();
            let plan = facet(&conn)?.plan_call(&ObjectRef::parse(&name)?, &args).await?;
            perform(&conn, plan, dry_run, Some(format), out, err).await
        }
        ObjectAction::Enable { db, name, table, dry_run } => {
            let (conn, _) = connections::open(db.db.as_deref(), flags).await?;
            let plan = facet(&conn)?.plan_enable(class, &object_arg(&name, table)?, true).await?;
            perform(&conn, plan, dry_run, None, out, err).await
        }
        ObjectAction::Disable { db, name, table, dry_run } => {
            let (conn, _) = connections::open(db.db.as_deref(), flags).await?;
            let plan = facet(&conn)?.plan_enable(class, &object_arg(&name, table)?, false).await?;
            perform(&conn, plan, dry_run, None, out, err).await
        }
        ObjectAction::Scheduler { db, state } => {
            if class != ObjectClass::Event {
                bail!("the scheduler belongs to events: `qore event scheduler`");
            }
            let (conn, _) = connections::open(db.db.as_deref(), flags).await?;
            let a = facet(&conn)?;
            match state.as_deref().map(str::to_ascii_lowercase).as_deref() {
                None => {
                    let s = a.scheduler().await?;
                    writeln!(out, "{}", if s.running { "on" } else { "off" })?;
                    if let Some(why) = s.locked {
                        writeln!(err, "qore: {why}")?;
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Some(on @ ("on" | "off")) => {
                    let plan = a.plan_scheduler(on == "on").await?;
                    perform(&conn, plan, false, None, out, err).await
                }
                Some(other) => bail!("the scheduler is turned `on` or `off`, not `{other}`"),
            }
        }
    }
}

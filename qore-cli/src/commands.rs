//! One function per subcommand.

use std::io::{Read, Write};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use arrow::array::{BooleanArray, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use comfy_table::Cell;
use futures::StreamExt;
use qore_core::sql::{Flavor, split_statements_in};
use qore_core::{
    ColumnIndicators, ConnectionRef, ConstraintKind, Engine, RowCount, TableDetails, TableRef,
    WithSchema, annotate_schema,
};

use crate::connections;
use crate::format::{Writer, new_table};
use crate::opts::{Command, ConnAction, Format};
use qore_drivers::profiles::{self, Profile, Profiles};

pub(crate) async fn dispatch(
    cmd: Command,
    flags: connections::SafetyFlags,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<ExitCode> {
    match cmd {
        Command::Query {
            db,
            sql,
            file,
            format,
            max_rows,
            profile,
            expanded,
        } => {
            let sql = read_sql(sql, file)?;
            let raw = open(db.db.as_deref(), flags).await?;
            let profiler = Arc::new(qore_core::intercept::Profiler::new());
            let conn: ConnectionRef = if profile {
                let chain = qore_core::intercept::Chain::new().with(profiler.clone());
                Arc::new(qore_core::intercept::Intercepted::new(raw, chain))
            } else {
                raw
            };
            let expanded = if expanded { qore_shell::Expanded::On } else { qore_shell::Expanded::Off };
            let r = query(&conn, &sql, format, max_rows, expanded, out, err).await;
            // Printed whatever the outcome: a failed statement has figures too.
            for p in profiler.take() {
                writeln!(err, "qore: profile: {p}")?;
            }
            goodbye(&conn, r).await
        }
        Command::Shell { db } => crate::shell::run(db.db, flags, out, err).await,
        Command::Snapshot { action } => crate::snapshot::run(action, flags, out, err).await,
        Command::Ls {
            db,
            namespace,
            key_type,
            format,
            max_rows,
        } => {
            let conn = open(db.db.as_deref(), flags).await?;
            if let Some(kv) = conn.key_value() {
                let options = qore_core::BrowseOptions {
                    pattern: namespace,
                    key_type,
                    ..Default::default()
                };
                let r = match kv.browse(options).await {
                    Ok(keys) => write_stream(keys, format, max_rows, out, err).await,
                    Err(e) => Err(e.into()),
                };
                return goodbye(&conn, r).await;
            }
            if key_type.is_some() {
                bail!("--type filters Redis keys; {} has tables", conn.engine());
            }
            let r = ls(&conn, namespace.as_deref(), format, out).await;
            goodbye(&conn, r).await
        }
        Command::Export(args) if args.background => {
            let o = crate::opts_jobs::JobOptions {
                store: crate::opts_jobs::StoreArg {
                    store: std::env::var("QORE_JOB_STORE").ok().filter(|s| !s.is_empty()),
                },
                run: false,
                chunk_rows: None,
                max_attempts: 5,
                lease: 30.0,
            };
            crate::jobs::submit_export(&args, &o, out, err).await
        }
        Command::Job { action } => crate::jobs::run(action, out, err).await,
        Command::Worker(args) => crate::jobs::run_worker(args, err).await,
        Command::Export(args) => {
            let (conn, target) = connections::open(args.db.db.as_deref(), flags).await?;
            // The spec's Display never shows the password.
            let r = crate::export::run(conn.clone(), target.spec.to_string(), args, err).await;
            goodbye(&conn, r).await
        }
        Command::Describe { db, table, format } => {
            let (conn, target) = connections::open(db.db.as_deref(), flags).await?;
            let virtuals = qore_core::relations::Relations::load(
                &qore_core::relations::Relations::default_path(&target.scope())?,
            )?;
            let r = describe(&conn, &table, &virtuals, format, out).await;
            goodbye(&conn, r).await
        }
        Command::Conn { action } => conn(action, out, err).await,
        Command::Audit {
            tail,
            since,
            format,
        } => {
            let Some(path) = connections::audit_path()? else {
                bail!("the audit log is off (QORE_AUDIT_LOG=off)");
            };
            let batch = qore_safety::read_audit(&path, tail, since.as_deref())?;
            let schema = batch.schema();
            let stream: qore_core::SendableRecordBatchStream =
                Box::pin(qore_core::RecordBatchStreamAdapter::new(
                    schema,
                    futures::stream::iter([Ok(batch)]),
                ));
            write_stream(stream, format, 0, out, err).await
        }
        Command::Check {
            db,
            engine,
            sql,
            file,
        } => {
            let text = read_sql(sql, file)?;
            if text.trim().is_empty() {
                bail!("no statement given to check");
            }
            let engine = match engine {
                Some(e) => e.into(),
                None => connections::engine_of(db.db.as_deref())?,
            };
            let classification = qore_safety::classify(engine, &text);
            writeln!(out, "{}", classification.to_json())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Edit(args) => crate::edit::edit(args, flags, out, err).await,
        Command::Sandbox { action } => crate::edit::sandbox(action, flags, out, err).await,
        Command::Peek(args) => crate::edit::peek(args, flags, out, err).await,
        Command::Diff(args) => crate::diff::run(*args, flags, out, err).await,
        Command::Erd(args) => crate::erd::run(*args, flags, out, err).await,
        Command::Share(args) => crate::share::run(*args, flags, out, err).await,
        Command::Search(args) => crate::search::run(*args, out, err).await,
        Command::Admin { action } => crate::admin::run_admin(action, flags, out, err).await,
        Command::Routine { action } => {
            crate::admin::run_objects(qore_core::admin::ObjectClass::Routine, action, flags, out, err).await
        }
        Command::Trigger { action } => {
            crate::admin::run_objects(qore_core::admin::ObjectClass::Trigger, action, flags, out, err).await
        }
        Command::Event { action } => {
            crate::admin::run_objects(qore_core::admin::ObjectClass::Event, action, flags, out, err).await
        }
        Command::Relation { action } => crate::edit::relation(action, flags, out, err).await,
        Command::Demo {
            path,
            duckdb,
            force,
        } => demo(path, duckdb, force, out).await,
        Command::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(shell, &mut crate::Opts::command(), "qore", out);
            Ok(ExitCode::SUCCESS)
        }
        Command::Man { dir } => {
            use clap::CommandFactory;
            match dir {
                Some(dir) => {
                    clap_mangen::generate_to(crate::Opts::command(), &dir)
                        .with_context(|| format!("cannot write the manual pages into {}", dir.display()))?;
                    writeln!(err, "qore: manual pages written to {}", dir.display())?;
                }
                None => clap_mangen::Man::new(crate::Opts::command()).render(out)?,
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Says goodbye to a server (MySQL's COM_QUIT, MongoDB's client shutdown)
/// before the process exits, whatever the command's outcome; embedded
/// engines are left alone (their close checkpoints, which a read-only
/// query does not need). At most two seconds: the exit must not hang.
pub(crate) async fn goodbye<T>(conn: &ConnectionRef, r: Result<T>) -> Result<T> {
    if !conn.engine().is_embedded() {
        let _ = tokio::time::timeout(std::time::Duration::from_secs(2), conn.close()).await;
    }
    r
}

async fn open(db: Option<&str>, flags: connections::SafetyFlags) -> Result<ConnectionRef> {
    Ok(connections::open(db, flags).await?.0)
}

fn read_sql(sql: Option<String>, file: Option<std::path::PathBuf>) -> Result<String> {
    if let Some(s) = sql {
        return Ok(s);
    }
    if let Some(f) = file {
        return std::fs::read_to_string(&f)
            .with_context(|| format!("cannot read SQL file {}", f.display()));
    }
    if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        bail!("no SQL given: pass it as an argument, with -f FILE, or on stdin");
    }
    let mut s = String::new();
    std::io::stdin()
        .read_to_string(&mut s)
        .context("cannot read SQL from stdin")?;
    Ok(s)
}

async fn query(
    conn: &ConnectionRef,
    sql: &str,
    format: Format,
    max_rows: usize,
    expanded: qore_shell::Expanded,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<ExitCode> {
    let statements = split_statements_in(sql, Flavor::of(conn.engine()));
    let Some((last, before)) = statements.split_last() else {
        bail!("no SQL statement given");
    };
    for (i, stmt) in before.iter().enumerate() {
        // Run earlier statements to completion, discarding any rows.
        let mut s = conn
            .query(stmt, &[])
            .await
            .with_context(|| format!("statement {} failed", i + 1))?;
        while let Some(b) = s.next().await {
            b.with_context(|| format!("statement {} failed", i + 1))?;
        }
    }
    // Only the table format shows the indicators: the others skip the
    // catalog queries (a few on a server, ~20 ms on MySQL).
    let kind = qore_safety::classify(conn.engine(), last).kind;
    match qore_shell::run_statement(conn, last, kind, format == Format::Table).await? {
        qore_shell::Outcome::Rows(stream) => write_stream_as(stream, format, max_rows, expanded, out, err).await,
        // Written as psql does (`UPDATE 9`).
        qore_shell::Outcome::Written { verb: "", rows } => {
            writeln!(err, "qore: rows affected: {rows}")?;
            Ok(ExitCode::SUCCESS)
        }
        qore_shell::Outcome::Written { verb, rows } => {
            writeln!(err, "qore: {verb} {rows}")?;
            Ok(ExitCode::SUCCESS)
        }
        _ => {
            writeln!(err, "qore: OK")?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Writes a stream in `format`; the table format reports how many rows it showed.
async fn write_stream(
    stream: qore_core::SendableRecordBatchStream,
    format: Format,
    max_rows: usize,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<ExitCode> {
    write_stream_as(stream, format, max_rows, qore_shell::Expanded::Off, out, err).await
}

/// [`write_stream`], expanded (one block per record) as `expanded` says.
pub(crate) async fn write_stream_as(
    stream: qore_core::SendableRecordBatchStream,
    format: Format,
    max_rows: usize,
    expanded: qore_shell::Expanded,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<ExitCode> {
    // On a terminal, the table is rendered first and goes through the
    // pager when it is taller than the screen.
    let page = format == Format::Table && std::io::IsTerminal::is_terminal(&std::io::stdout());
    write_rows(stream, format, max_rows, expanded, page, true, out, err).await
}

/// [`write_stream_as`], through the pager when `page` and the table is
/// taller than the screen; `types` puts column types under table headers.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn write_rows(
    mut stream: qore_core::SendableRecordBatchStream,
    format: Format,
    max_rows: usize,
    expanded: qore_shell::Expanded,
    page: bool,
    types: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<ExitCode> {
    // `select o.id, c.id`: the same unique names as `qore export` gives.
    let schema = qore_export::text::unique_field_names(&stream.schema());
    if !Arc::ptr_eq(&schema, &stream.schema()) {
        stream = Box::pin(WithSchema::new(schema, stream)?);
    }
    let mut rendered = Vec::new();
    let target: &mut dyn Write = if page { &mut rendered } else { &mut *out };
    let mut writer = Writer::with_types(format, target, stream.schema(), max_rows, types).expanded(expanded);
    while let Some(batch) = stream.next().await {
        writer.write(&batch?)?;
    }
    let crate::format::Shown { rows: shown, total, hidden } = writer.finish()?;
    if page {
        crate::pager::show(&rendered, out)?;
    }
    // The notes below follow the rows on a terminal showing both.
    out.flush()?;
    if !hidden.is_empty() {
        writeln!(
            err,
            "qore: {} column{} not shown, the terminal is too narrow: {} (--expanded or \\x shows every column)",
            hidden.len(),
            if hidden.len() == 1 { "" } else { "s" },
            hidden.join(", ")
        )?;
    }
    if format == Format::Table {
        if shown < total {
            writeln!(
                err,
                "qore: showing {shown} of {total} rows (--max-rows 0 shows all; --format csv streams any size)"
            )?;
        } else {
            writeln!(
                err,
                "qore: {total} row{}",
                if total == 1 { "" } else { "s" }
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn catalog_of(conn: &ConnectionRef) -> Result<&dyn qore_core::Catalog> {
    conn.catalog()
        .with_context(|| format!("{} has no catalog to list", conn.engine()))
}

async fn ls(
    conn: &ConnectionRef,
    namespace: Option<&str>,
    format: Format,
    out: &mut dyn Write,
) -> Result<ExitCode> {
    use qore_shell::listing::{Filter, Namespaces};
    let which = match namespace {
        Some(n) => Namespaces::One(n.to_string()),
        None => Namespaces::All,
    };
    let mut batch = qore_shell::listing::relations(catalog_of(conn)?, &which, &Filter::default())
        .await
        .map_err(|e| match e {
            qore_core::Error::NotFound(what) => anyhow::anyhow!("no {what} in {}", conn.engine()),
            e => e.into(),
        })?;
    // The table view leaves out a comment column nobody filled; the other
    // formats keep every column, so scripts can read them by position.
    let comment = batch.num_columns() - 1;
    if format == Format::Table && batch.column(comment).null_count() == batch.num_rows() {
        batch = batch.project(&(0..comment).collect::<Vec<_>>())?;
    }
    let mut w = Writer::with_types(format, out, batch.schema(), 0, false);
    w.write(&batch)?;
    w.finish()?;
    Ok(ExitCode::SUCCESS)
}

/// The indicator tags of every column, computed the way query headers get them.
fn column_tags(details: &TableDetails) -> Vec<Vec<String>> {
    let fields: Vec<Field> = details
        .columns
        .iter()
        .map(|c| Field::new(&c.name, DataType::Null, true))
        .collect();
    let annotated = annotate_schema(&Schema::new(fields), details);
    annotated
        .fields()
        .iter()
        .map(|f| ColumnIndicators::from_field(f).tags())
        .collect()
}

async fn describe(
    conn: &ConnectionRef,
    table: &str,
    virtuals: &qore_core::relations::Relations,
    format: Format,
    out: &mut dyn Write,
) -> Result<ExitCode> {
    let catalog = catalog_of(conn)?;
    let t = TableRef::parse(table)?;
    let mut d = catalog.table(&t).await?;
    // User-defined relations show beside the real foreign keys, marked.
    virtuals.merge_into(&mut d);
    print_details(&d, format, out)
}

/// Prints one table's structure in `format` (`qore describe`, `\d NAME`).
pub(crate) fn print_details(d: &TableDetails, format: Format, out: &mut dyn Write) -> Result<ExitCode> {
    match format {
        Format::Json | Format::Ndjson => {
            serde_json::to_writer_pretty(&mut *out, d)?;
            writeln!(out)?;
            return Ok(ExitCode::SUCCESS);
        }
        Format::Csv | Format::Tsv => {
            let tags = column_tags(d);
            let schema = Arc::new(Schema::new(vec![
                Field::new("column", DataType::Utf8, false),
                Field::new("type", DataType::Utf8, false),
                Field::new("nullable", DataType::Boolean, false),
                Field::new("default", DataType::Utf8, true),
                Field::new("indicators", DataType::Utf8, false),
            ]));
            let batch = RecordBatch::try_new(
                schema.clone(),
                vec![
                    Arc::new(StringArray::from_iter_values(
                        d.columns.iter().map(|c| c.name.clone()),
                    )),
                    Arc::new(StringArray::from_iter_values(
                        d.columns.iter().map(|c| c.source_type.clone()),
                    )),
                    Arc::new(BooleanArray::from(
                        d.columns.iter().map(|c| c.nullable).collect::<Vec<_>>(),
                    )),
                    Arc::new(StringArray::from(
                        d.columns
                            .iter()
                            .map(|c| c.default.clone())
                            .collect::<Vec<_>>(),
                    )),
                    Arc::new(StringArray::from_iter_values(
                        tags.iter().map(|t| t.join(" ")),
                    )),
                ],
            )?;
            let mut w = Writer::with_types(format, out, schema, 0, false);
            w.write(&batch)?;
            w.finish()?;
            return Ok(ExitCode::SUCCESS);
        }
        Format::Table => {}
    }
    let rows = match d.info.rows {
        Some(RowCount::Exact(n)) => format!(", {n} rows"),
        Some(RowCount::Estimate(n)) => format!(", ~{n} rows"),
        None => String::new(),
    };
    writeln!(out, "{} {}{rows}", d.info.kind.label(), d.info.table)?;
    if let Some(c) = &d.info.comment {
        writeln!(out, "-- {c}")?;
    }
    let mut cols = new_table();
    cols.set_header(["#", "column", "type", "null", "default", "indicators"]);
    let all_tags = column_tags(d);
    for (c, tags) in d.columns.iter().zip(all_tags.iter()) {
        let default = match (&c.generated, &c.default) {
            (Some(g), _) => format!("GENERATED AS ({g})"),
            (None, Some(x)) => x.clone(),
            (None, None) => String::new(),
        };
        cols.add_row([
            Cell::new(c.ordinal),
            Cell::new(&c.name),
            Cell::new(&c.source_type),
            Cell::new(if c.nullable { "yes" } else { "NOT NULL" }),
            Cell::new(default),
            Cell::new(tags.join(" ")),
        ]);
    }
    writeln!(out, "{cols}")?;
    let legend = qore_core::metadata::legend_of(all_tags.iter().flatten().map(String::as_str));
    if !legend.is_empty() {
        let parts: Vec<String> = legend.iter().map(|(t, m)| format!("{} {m}", t.trim_end_matches('→'))).collect();
        writeln!(out, "{}", parts.join(" · "))?;
    }
    if !d.indexes.is_empty() {
        let mut t = new_table();
        t.set_header(["index", "key", "unique", "method", "where"]);
        for i in &d.indexes {
            let key = i
                .parts
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            let unique = if i.primary {
                "primary"
            } else if i.unique {
                "unique"
            } else {
                ""
            };
            t.add_row([
                &i.name,
                &key,
                unique,
                i.method.as_deref().unwrap_or(""),
                i.predicate.as_deref().unwrap_or(""),
            ]);
        }
        writeln!(out, "Indexes\n{t}")?;
    }
    if !d.constraints.is_empty() {
        let mut t = new_table();
        t.set_header(["constraint", "kind", "definition"]);
        for c in &d.constraints {
            let (kind, def) = match &c.kind {
                ConstraintKind::PrimaryKey { columns } => {
                    ("PRIMARY KEY", format!("({})", columns.join(", ")))
                }
                ConstraintKind::Unique { columns } => {
                    ("UNIQUE", format!("({})", columns.join(", ")))
                }
                ConstraintKind::Check { expression, .. } => ("CHECK", format!("({expression})")),
                // A user-defined relation: nothing enforces it, so no actions.
                ConstraintKind::ForeignKey(fk) if fk.is_virtual => (
                    "VIRTUAL FK",
                    format!(
                        "({}) → {}({}), not enforced",
                        fk.columns.join(", "),
                        fk.target,
                        fk.target_columns.join(", ")
                    ),
                ),
                ConstraintKind::ForeignKey(fk) => (
                    "FOREIGN KEY",
                    format!(
                        "({}) → {}({}) ON DELETE {} ON UPDATE {}{}",
                        fk.columns.join(", "),
                        fk.target,
                        fk.target_columns.join(", "),
                        fk.on_delete.as_sql(),
                        fk.on_update.as_sql(),
                        if fk.deferrable { " DEFERRABLE" } else { "" }
                    ),
                ),
            };
            t.add_row([c.name.as_deref().unwrap_or(""), kind, &def]);
        }
        writeln!(out, "Constraints\n{t}")?;
    }
    if !d.triggers.is_empty() {
        writeln!(out, "Triggers: {}", d.triggers.join(", "))?;
    }
    if let Some(v) = &d.view_definition {
        writeln!(out, "Definition:\n{v}")?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `qore conn test`: the library's probe, one row per fact.
async fn conn_test(
    name: &str,
    pings: usize,
    format: Format,
    out: &mut dyn Write,
) -> Result<ExitCode> {
    let target = crate::connections::resolve(Some(name))?;
    let p = qore_drivers::probe::probe(&target.spec, pings.max(1))
        .await
        .with_context(|| format!("testing {}", target.spec))?;
    let ms = |d: std::time::Duration| format!("{:.2} ms", d.as_secs_f64() * 1000.0);
    let mut rows = vec![
        vec!["engine".to_string(), p.engine.name().to_string()],
        vec!["target".to_string(), p.target.clone()],
    ];
    if let Some(t) = &p.tunnel {
        rows.push(vec!["tunnel".into(), t.hops.join(" -> ")]);
        rows.push(vec!["tunnel local end".into(), t.local.to_string()]);
        rows.push(vec!["tunnel opened in".into(), ms(t.opened)]);
    }
    rows.push(vec!["connected in".into(), ms(p.connect)]);
    if let (Some(med), Some(min), Some(max)) = (
        p.median_ping(),
        p.pings.iter().min().copied(),
        p.pings.iter().max().copied(),
    ) {
        rows.push(vec![
            "ping".into(),
            format!(
                "{} median of {} (min {}, max {})",
                ms(med),
                p.pings.len(),
                ms(min),
                ms(max)
            ),
        ]);
    }
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    rows.push(vec!["tls".into(), opt(&p.info.tls)]);
    rows.push(vec!["server version".into(), opt(&p.info.server_version)]);
    rows.push(vec!["session id".into(), opt(&p.info.session_id)]);
    crate::format::write_text_rows(format, out, &["check", "result"], rows)?;
    Ok(ExitCode::SUCCESS)
}

async fn conn(action: ConnAction, out: &mut dyn Write, err: &mut dyn Write) -> Result<ExitCode> {
    if let ConnAction::Test {
        name,
        pings,
        format,
    } = &action
    {
        return conn_test(name, *pings, *format, out).await;
    }
    let mut store = Profiles::load()?;
    match action {
        ConnAction::Add {
            name,
            url,
            env,
            read_only,
            force,
        } => {
            let (mut profile, dropped) = Profile::new(&crate::connections::with_ssh(&url), env)?;
            profile.read_only = read_only;
            store.add(&name, profile, force)?;
            if dropped {
                writeln!(
                    err,
                    "qore: the password was not saved; set {} or answer the prompt when connecting",
                    profiles::password_var(&name)
                )?;
            }
            writeln!(err, "qore: saved `{name}`")?;
        }
        ConnAction::Ls { format } => {
            let rows = store
                .all()
                .map(|(n, s)| vec![n.clone(), s.url.clone(), s.env.to_string()])
                .collect();
            crate::format::write_text_rows(format, out, &["name", "url", "env"], rows)?;
        }
        ConnAction::Rm { name } => {
            store.remove(&name)?;
            writeln!(err, "qore: removed `{name}`")?;
        }
        ConnAction::Test { .. } => {}
    }
    Ok(ExitCode::SUCCESS)
}

async fn demo(
    path: Option<std::path::PathBuf>,
    duckdb: bool,
    force: bool,
    out: &mut dyn Write,
) -> Result<ExitCode> {
    let engine = if duckdb {
        Engine::DuckDb
    } else {
        Engine::Sqlite
    };
    let path = path.unwrap_or_else(|| {
        if duckdb {
            "qore-demo.duckdb"
        } else {
            "qore-demo.db"
        }
        .into()
    });
    let summary = qore_drivers::demo::write_demo(&path, engine, force).await?;
    let total: u64 = summary.tables.iter().map(|(_, n)| n).sum();
    let mut t = new_table();
    t.set_header(["table", "rows"]);
    for (name, n) in &summary.tables {
        t.add_row([Cell::new(name), Cell::new(n)]);
    }
    writeln!(out, "{t}")?;
    writeln!(
        out,
        "wrote {} ({engine}): {} tables, {total} rows",
        summary.path.display(),
        summary.tables.len()
    )?;
    Ok(ExitCode::SUCCESS)
}

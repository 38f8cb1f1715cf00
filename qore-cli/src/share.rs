//! `qore share`: a result as an encrypted, self-contained HTML page, and
//! optionally uploaded (`qore_export::share` does the work).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, bail};
use qore_core::TableRef;
use qore_core::read::Source;
use qore_core::snapshot::SnapshotStore;
use qore_export::share::{self, ShareOptions, UploadTarget};

use crate::connections::{self, SafetyFlags};
use crate::export::human_bytes;
use crate::opts::DbArg;

/// `qore share` arguments.
#[derive(Debug, clap::Args)]
pub struct ShareArgs {
    #[command(flatten)]
    pub db: DbArg,
    /// The statement whose result to share.
    pub sql: Option<String>,
    /// Share a whole table instead (with its structure indicators).
    #[arg(long, conflicts_with = "sql")]
    pub table: Option<String>,
    /// Share a saved snapshot instead (no connection is made).
    #[arg(long, conflicts_with_all = ["sql", "table"])]
    pub snapshot: Option<String>,
    /// The page to write (.html).
    #[arg(short = 'o', long)]
    pub output: PathBuf,
    /// Also require a passphrase (asked twice on the terminal, or taken
    /// from $QORE_SHARE_PASSPHRASE); PBKDF2-SHA256 with 600,000 iterations.
    #[arg(long)]
    pub passphrase: bool,
    /// How long the page opens: 7d, 12h, 1w2d, 90m ... (the page refuses
    /// afterwards; an HTTP target gets it as Max-Days).
    #[arg(long)]
    pub expires: Option<String>,
    /// Upload the page: sftp://[user@]host[:port]/dir[?identity=KEY&known_hosts=FILE]
    /// (with --public-url) or http(s)://[user:pass@]host/path/ (HTTP PUT, WebDAV).
    #[arg(long)]
    pub upload: Option<String>,
    /// The URL at which an sftp:// upload's directory is served.
    #[arg(long, requires = "upload")]
    pub public_url: Option<String>,
    /// The page's title (default "qore share").
    #[arg(long)]
    pub title: Option<String>,
}

fn passphrase() -> Result<String> {
    if let Ok(p) = std::env::var("QORE_SHARE_PASSPHRASE") {
        if p.is_empty() {
            bail!("QORE_SHARE_PASSPHRASE is empty");
        }
        return Ok(p);
    }
    let first = rpassword::prompt_password("qore: passphrase for the share: ")
        .map_err(|e| anyhow::anyhow!("cannot ask for the passphrase ({e}): set QORE_SHARE_PASSPHRASE"))?;
    if first.is_empty() {
        bail!("the passphrase is empty");
    }
    let again = rpassword::prompt_password("qore: the same passphrase again: ")?;
    if again != first {
        bail!("the two passphrases differ; nothing was written");
    }
    Ok(first)
}

pub(crate) async fn run(args: ShareArgs, flags: SafetyFlags, out: &mut dyn Write, err: &mut dyn Write) -> Result<ExitCode> {
    // Everything the user typed is checked before a statement runs.
    let target = args
        .upload
        .as_deref()
        .map(|t| UploadTarget::parse(t, args.public_url.as_deref()))
        .transpose()?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let mut options = ShareOptions {
        expires_at: args.expires.as_deref().map(share::parse_expiry).transpose()?.map(|s| now + s),
        created_at: Some(now),
        ..ShareOptions::default()
    };
    if args.passphrase {
        options.passphrase = Some(passphrase()?);
    }
    options.html.title = args.title.clone();
    let published = if let Some(name) = &args.snapshot {
        if args.db.db.is_some() {
            bail!("--snapshot reads a saved snapshot: --db is not used with it");
        }
        let (info, stream) = SnapshotStore::default_store()?.open(name)?;
        options.html.query = Some(info.origin.query.clone());
        options.html.source = Some(format!("snapshot {} of {}", info.name, info.origin.source));
        options.html.exported_at = Some(info.created_at.clone());
        share::publish(stream, &args.output, &options, target.as_ref(), |_| {}).await?
    } else {
        let source = match (args.sql, args.table) {
            (Some(s), _) => Source::Statement(s),
            (None, Some(t)) => Source::Table(TableRef::parse(&t)?),
            (None, None) => bail!("give the SQL whose result to share, --table NAME or --snapshot NAME"),
        };
        let (conn, target_spec) = connections::open(args.db.db.as_deref(), flags).await?;
        if let Source::Statement(sql) = &source {
            use qore_safety::Kind;
            // A share is read-only: a write would run for a page of nothing.
            let kind = qore_safety::classify(conn.engine(), sql).kind;
            if matches!(kind, Kind::Write | Kind::Ddl) {
                let r: Result<()> = Err(anyhow::anyhow!(
                    "qore share only reads, and this statement changes {}: run it with qore query, then share a SELECT",
                    if kind == Kind::Ddl { "structure" } else { "rows" }
                ));
                crate::commands::goodbye(&conn, r).await?;
            }
        }
        options.html.source = Some(
            target_spec
                .profile
                .as_ref()
                .map(|(n, _)| n.clone())
                .unwrap_or_else(|| target_spec.spec.to_string()),
        );
        options.html.exported_at = Some(qore_core::calendar::rfc3339_utc(now));
        let r = async {
            let opened = qore_core::read::open(&*conn, &source, true).await?;
            options.html.query = Some(opened.statement.clone());
            share::publish(opened.stream, &args.output, &options, target.as_ref(), |_| {}).await
        }
        .await;
        crate::commands::goodbye(&conn, r.map_err(anyhow::Error::from)).await?
    };
    writeln!(out, "{}", published.link())?;
    let s = &published.shared.summary;
    writeln!(
        err,
        "qore: shared {} rows ({}) in {}{}{}; the key is only in the link",
        s.rows,
        human_bytes(s.bytes),
        published.file.display(),
        if args.passphrase { ", with a passphrase" } else { "" },
        options
            .expires_at
            .map(|t| format!(", expires {}", qore_core::calendar::rfc3339_utc(t)))
            .unwrap_or_default(),
    )?;
    match &published.upload {
        Some(Err(e)) => {
            writeln!(err, "qore: error: {e}")?;
            writeln!(err, "qore: the page is kept at {}; the link above opens it there", published.file.display())?;
            Ok(ExitCode::FAILURE)
        }
        Some(Ok(u)) => {
            writeln!(err, "qore: uploaded as {}", u.url)?;
            Ok(ExitCode::SUCCESS)
        }
        None => Ok(ExitCode::SUCCESS),
    }
}

//! `qore shell`: a line editor, a prompt and drawing around qore-shell's
//! session (input, backslash commands, completion and transactions live
//! there, for a GUI's editor too).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use qore_core::{ConnectionRef, Environment};
use qore_drivers::profiles::{Profiles, Target};
use qore_shell::highlight::Class;
use qore_shell::{Outcome, OutputFormat, Shell, Step, Syntax, TxState};
use reedline::{
    ColumnarMenu, Emacs, FileBackedHistory, KeyCode, KeyModifiers, MenuBuilder, Prompt, PromptEditMode,
    PromptHistorySearch, Reedline, ReedlineEvent, ReedlineMenu, Signal, StyledText, ValidationResult,
};

use crate::connections::{self, SafetyFlags};
use crate::opts::Format;

/// Rows a result shows in the table format before saying how many more.
const MAX_ROWS: usize = 1000;
/// How long a Tab waits for the catalog before completing from what it has.
const COMPLETION_WAIT: Duration = Duration::from_secs(2);

/// Runs the shell until `\q`, Ctrl-D or the end of input.
pub(crate) async fn run(db: Option<String>, flags: SafetyFlags, out: &mut dyn Write, err: &mut dyn Write) -> Result<ExitCode> {
    let (conn, target) = connections::open(db.as_deref(), flags).await?;
    let names = Profiles::load()
        .map(|p| p.all().map(|(n, _)| n.clone()).collect())
        .unwrap_or_default();
    let mut shell = Shell::new(conn, label(&target), names);
    let mut history = history_path(&target);
    let mut editor = line_editor(&shell, history.as_ref())?;
    writeln!(
        err,
        "qore {} on {} ({}). \\? for help, \\q or Ctrl-D to quit.",
        env!("CARGO_PKG_VERSION"),
        shell.label(),
        shell.connection().engine()
    )?;
    let mut queue: Vec<Step> = Vec::new();
    let result = loop {
        let step = if queue.is_empty() {
            out.flush()?;
            let prompt = ShellPrompt::of(&shell);
            match editor.read_line(&prompt) {
                Ok(Signal::Success(text)) => {
                    let (steps, _) = shell.feed(&text);
                    queue = steps;
                    queue.reverse();
                    continue;
                }
                Ok(Signal::CtrlC) => {
                    shell.clear_input();
                    continue;
                }
                Ok(Signal::CtrlD) => break Ok(()),
                Ok(_) => continue,
                Err(e) => break Err(anyhow::Error::from(e).context("cannot read the terminal")),
            }
        } else {
            queue.pop().unwrap_or(Step::Meta("\\?".into()))
        };
        match run_step(&mut shell, &step, out, err).await {
            Flow::Next => {}
            Flow::Stop => queue.clear(),
            Flow::Quit => break Ok(()),
            Flow::Run(mut steps) => {
                steps.reverse();
                queue.extend(steps);
            }
            Flow::Edit(text) => match edit(&text) {
                Ok(edited) => {
                    let (steps, _) = shell.feed(&edited);
                    queue = steps;
                    queue.reverse();
                }
                Err(e) => writeln!(err, "qore: {}", crate::error_message(&e))?,
            },
            Flow::Connect(to) => match connections::open(Some(&to), flags).await {
                Ok((conn, target)) => {
                    crate::commands::goodbye(shell.connection(), Ok(())).await?;
                    shell.reconnect(conn, label(&target));
                    history = history_path(&target);
                    editor = line_editor(&shell, history.as_ref())?;
                    writeln!(err, "qore: connected to {} ({})", shell.label(), shell.connection().engine())?;
                }
                Err(e) => writeln!(err, "qore: {}", crate::error_message(&e))?,
            },
        }
    };
    if shell.transaction() != TxState::Idle {
        writeln!(err, "qore: the open transaction was rolled back")?;
    }
    let conn = shell.connection().clone();
    drop(shell);
    crate::commands::goodbye(&conn, result.map(|_| ExitCode::SUCCESS)).await
}

/// What the loop does after a step.
enum Flow {
    Next,
    /// An error: pending steps of the same input are dropped.
    Stop,
    Quit,
    Run(Vec<Step>),
    Edit(String),
    Connect(String),
}

/// Runs one step and draws its outcome; Ctrl-C stops it (the statement is
/// cancelled on the server when its future is dropped) and the shell goes on.
async fn run_step(shell: &mut Shell, step: &Step, out: &mut dyn Write, err: &mut dyn Write) -> Flow {
    let started = Instant::now();
    let timing = matches!(step, Step::Statement(_));
    let result = {
        let work = async {
            let outcome = shell.run(step).await?;
            draw(outcome, shell.settings(), out, err).await
        };
        tokio::select! {
            r = work => r,
            _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("cancelled (Ctrl-C): the statement was stopped")),
        }
    };
    let _ = out.flush();
    if timing && shell.settings().timing {
        let _ = writeln!(err, "Time: {:.3} ms", started.elapsed().as_secs_f64() * 1000.0);
    }
    match result {
        Ok(flow) => flow,
        Err(e) => {
            let _ = writeln!(err, "qore: {}", crate::error_message(&e));
            if shell.transaction() == TxState::Failed {
                let _ = writeln!(err, "qore: the transaction failed: ROLLBACK to go on");
            }
            Flow::Stop
        }
    }
}

fn cli_format(f: OutputFormat) -> Format {
    match f {
        OutputFormat::Table => Format::Table,
        OutputFormat::Csv => Format::Csv,
        OutputFormat::Tsv => Format::Tsv,
        OutputFormat::Json => Format::Json,
        OutputFormat::Ndjson => Format::Ndjson,
    }
}

async fn draw(outcome: Outcome, settings: &qore_shell::Settings, out: &mut dyn Write, err: &mut dyn Write) -> Result<Flow> {
    let format = cli_format(settings.format);
    // `\o FILE`: results are appended there; messages stay on the screen.
    let mut file = match (&settings.output, &outcome) {
        (Some(p), Outcome::Rows(_) | Outcome::Listing(_) | Outcome::Table(_)) => Some(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .with_context(|| format!("cannot write results to {}", p.display()))?,
        ),
        _ => None,
    };
    let to_file = file.is_some();
    let page = !to_file && format == Format::Table && std::io::IsTerminal::is_terminal(&std::io::stdout());
    let target: &mut dyn Write = match &mut file {
        Some(f) => f,
        None => out,
    };
    match outcome {
        Outcome::Rows(stream) => {
            let max = if to_file { 0 } else { MAX_ROWS };
            crate::commands::write_rows(stream, format, max, settings.expanded, page, true, target, err).await?;
        }
        Outcome::Listing(mut batch) => {
            // A comment column nobody filled is left off the screen.
            let last = batch.num_columns().saturating_sub(1);
            if format == Format::Table
                && batch.num_columns() > 1
                && batch.schema().field(last).name() == "comment"
                && batch.column(last).null_count() == batch.num_rows()
            {
                batch = batch.project(&(0..last).collect::<Vec<_>>())?;
            }
            let schema = batch.schema();
            let stream: qore_core::SendableRecordBatchStream = Box::pin(qore_core::RecordBatchStreamAdapter::new(
                schema,
                futures::stream::iter([Ok(batch)]),
            ));
            crate::commands::write_rows(stream, format, 0, settings.expanded, page, false, target, err).await?;
        }
        Outcome::Table(details) => {
            crate::commands::print_details(&details, format, target)?;
        }
        Outcome::Written { verb, rows } => match verb {
            "" => writeln!(target, "rows affected: {rows}")?,
            v => writeln!(target, "{v} {rows}")?,
        },
        Outcome::Done => writeln!(target, "OK")?,
        Outcome::Message(m) => write!(err, "{m}{}", if m.ends_with('\n') || m.is_empty() { "" } else { "\n" })?,
        Outcome::Exported(s) => writeln!(err, "qore: exported {} rows ({} bytes)", s.rows, s.bytes)?,
        Outcome::Connect(to) => return Ok(Flow::Connect(to)),
        Outcome::Edit(text) => return Ok(Flow::Edit(text)),
        Outcome::Run(steps) => return Ok(Flow::Run(steps)),
        Outcome::Quit => return Ok(Flow::Quit),
    }
    Ok(Flow::Next)
}

/// Opens `text` in `$VISUAL` / `$EDITOR` (else vi) and returns what was saved.
fn edit(text: &str) -> Result<String> {
    let editor = std::env::var("VISUAL")
        .or_else(|_| std::env::var("EDITOR"))
        .unwrap_or_else(|_| "vi".to_string());
    let file = tempfile::Builder::new().prefix("qore-").suffix(".sql").tempfile()?;
    std::fs::write(file.path(), text)?;
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("sh")
        .arg(file.path())
        .status()
        .with_context(|| format!("cannot run the editor `{editor}`"))?;
    if !status.success() {
        anyhow::bail!("the editor `{editor}` failed ({status}); nothing was run");
    }
    Ok(std::fs::read_to_string(file.path())?)
}

/// The prompt's name: the database or file, after the saved connection's
/// name when there is one (`shop:orders_db`).
fn label(target: &Target) -> String {
    let url = target.spec.to_string();
    let path = url.split(['?', '#']).next().unwrap_or(&url);
    let last = path.rsplit(['/', ':']).next().unwrap_or("");
    let db = if last.is_empty() { target.spec.engine.to_string() } else { last.to_string() };
    match &target.profile {
        Some((name, _)) if *name != db => format!("{name}:{db}"),
        _ => db,
    }
}

/// The history file of this connection (none when no data directory).
fn history_path(target: &Target) -> Option<PathBuf> {
    qore_core::files::data_dir("the shell history")
        .ok()
        .map(|d| d.join("history").join(format!("{}.history", target.scope())))
}

fn line_editor(shell: &Shell, history: Option<&PathBuf>) -> Result<Reedline> {
    let mut keys = reedline::default_emacs_keybindings();
    keys.add_binding(
        KeyModifiers::NONE,
        KeyCode::Tab,
        ReedlineEvent::UntilFound(vec![ReedlineEvent::Menu("completion_menu".into()), ReedlineEvent::MenuNext]),
    );
    let menu = ColumnarMenu::default().with_name("completion_menu");
    let mut ed = Reedline::create()
        // One candidate is put in at once; several share their prefix.
        .with_quick_completions(true)
        .with_partial_completions(true)
        .with_edit_mode(Box::new(Emacs::new(keys)))
        .with_completer(Box::new(Complete(shell.completer())))
        .with_menu(ReedlineMenu::EngineCompleter(Box::new(menu)))
        .with_highlighter(Box::new(Highlight(shell.syntax())))
        .with_validator(Box::new(Validate(shell.syntax())));
    if let Some(path) = history {
        // A history that cannot be opened (read-only home) is not worth
        // refusing the shell for.
        if let Ok(h) = FileBackedHistory::with_file(10_000, path.clone()) {
            ed = ed.with_history(Box::new(h));
        }
    }
    Ok(ed)
}

/// Enter submits once the input holds whole statements.
struct Validate(Syntax);

impl reedline::Validator for Validate {
    fn validate(&self, line: &str) -> ValidationResult {
        if qore_shell::is_complete(line, self.0) {
            ValidationResult::Complete
        } else {
            ValidationResult::Incomplete
        }
    }
}

struct Complete(qore_shell::Completer);

impl reedline::Completer for Complete {
    fn complete(&mut self, line: &str, pos: usize) -> reedline::CompletionResult {
        let needs = self.0.needs(line, pos);
        if !needs.is_empty() {
            // The catalog is fetched on the first Tab that needs it, then
            // cached; a slow server costs at most this wait.
            let _ = futures::executor::block_on(tokio::time::timeout(COMPLETION_WAIT, self.0.load(&needs)));
        }
        let suggestions: Vec<reedline::Suggestion> = self
            .0
            .complete(line, pos)
            .into_iter()
            .map(|s| reedline::Suggestion {
                value: s.value,
                span: reedline::Span { start: s.start, end: s.end },
                append_whitespace: false,
                ..Default::default()
            })
            .collect();
        reedline::CompletionResult::fresh(suggestions)
    }
}

struct Highlight(Syntax);

impl reedline::Highlighter for Highlight {
    fn highlight(&self, line: &str, _cursor: usize) -> StyledText {
        use nu_ansi_term::{Color, Style};
        let mut styled = StyledText::new();
        let color = crate::color::on();
        for (range, class) in qore_shell::highlight::highlight(line, self.0) {
            let style = if !color {
                Style::new()
            } else {
                match class {
                    Class::Keyword => Style::new().bold().fg(Color::Blue),
                    Class::String => Style::new().fg(Color::Green),
                    Class::Number => Style::new().fg(Color::Magenta),
                    Class::Comment => Style::new().fg(Color::DarkGray),
                    Class::Variable => Style::new().fg(Color::Cyan),
                    Class::Command => Style::new().fg(Color::Yellow),
                    Class::Identifier | Class::Plain => Style::new(),
                }
            };
            styled.push((style, line[range].to_string()));
        }
        styled
    }
}

/// `label[env]*> `: the connection, its environment (prod in red), and
/// `*` inside a transaction, `!` in a failed one.
struct ShellPrompt {
    left: String,
    pending: bool,
}

impl ShellPrompt {
    fn of(shell: &Shell) -> ShellPrompt {
        let conn: &ConnectionRef = shell.connection();
        let color = crate::color::on();
        let env = match conn.environment() {
            Some(Environment::Prod) if color => "\x1b[1;31m[prod]\x1b[0m".to_string(),
            Some(Environment::Staging) if color => "\x1b[33m[staging]\x1b[0m".to_string(),
            Some(e) if e != Environment::Dev => format!("[{}]", e.name()),
            _ => String::new(),
        };
        let tx = match shell.transaction() {
            TxState::Idle => "",
            TxState::Open => "*",
            TxState::Failed => "!",
        };
        ShellPrompt {
            left: format!("{}{env}{tx}", shell.label()),
            pending: shell.pending(),
        }
    }
}

impl Prompt for ShellPrompt {
    fn render_prompt_left(&self) -> std::borrow::Cow<'_, str> {
        std::borrow::Cow::Borrowed(&self.left)
    }

    fn render_prompt_right(&self) -> std::borrow::Cow<'_, str> {
        std::borrow::Cow::Borrowed("")
    }

    fn render_prompt_indicator(&self, _: PromptEditMode) -> std::borrow::Cow<'_, str> {
        // Unfinished SQL waits in the buffer (a backslash command ran in
        // the middle of it).
        std::borrow::Cow::Borrowed(if self.pending { "-> " } else { "> " })
    }

    fn render_prompt_multiline_indicator(&self) -> std::borrow::Cow<'_, str> {
        std::borrow::Cow::Borrowed("-> ")
    }

    fn render_prompt_history_search_indicator(&self, search: PromptHistorySearch) -> std::borrow::Cow<'_, str> {
        std::borrow::Cow::Owned(format!("(search: {}) ", search.term))
    }

    fn get_prompt_color(&self) -> reedline::Color {
        nu_ansi_term::Color::Default
    }

    fn get_indicator_color(&self) -> reedline::Color {
        nu_ansi_term::Color::Default
    }
}

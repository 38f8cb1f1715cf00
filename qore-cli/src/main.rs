//! The `qore` binary: parse the command line, run it, map the outcome to an exit code.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let opts = match qore_cli::Opts::try_parse() {
        Ok(o) => o,
        Err(e) if !e.use_stderr() => {
            // --help and --version: to stdout, success.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            let text = e.render().to_string();
            let text = text.strip_prefix("error: ").unwrap_or(&text);
            let _ = write!(std::io::stderr(), "qore: {}", qore_core::redact_urls(text));
            return ExitCode::from(2);
        }
    };
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout());
    // Not locked for the whole run: the progress bar's thread writes to
    // stderr too, and a lock held here deadlocks it (and then us).
    let mut err = std::io::stderr();
    let result = qore_cli::run(opts, &mut out, &mut err);
    let flushed = out.flush();
    match result.and_then(|code| flushed.map(|_| code).map_err(Into::into)) {
        Ok(code) => code,
        Err(e) if qore_cli::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(err, "qore: {}", qore_cli::error_message(&e));
            ExitCode::from(2)
        }
    }
}

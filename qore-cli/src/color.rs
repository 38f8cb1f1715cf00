//! `--color auto|always|never` and NO_COLOR (https://no-color.org), decided
//! once per run for everything that writes to stdout.

use std::sync::OnceLock;

/// When to colour stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorChoice {
    /// On a terminal, unless NO_COLOR is set (to anything but empty).
    #[default]
    Auto,
    /// Always, pipes included.
    Always,
    /// Never.
    Never,
}

static ON: OnceLock<bool> = OnceLock::new();

/// Records the choice for this run.
pub(crate) fn set(choice: ColorChoice) {
    let on = match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::io::IsTerminal::is_terminal(&std::io::stdout())
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    };
    let _ = ON.set(on);
}

/// Whether stdout is coloured.
pub(crate) fn on() -> bool {
    *ON.get().unwrap_or(&false)
}

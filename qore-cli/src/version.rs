//! `qore --version`: the version, the commit and the engines built in.

use std::sync::OnceLock;

/// `0.1.0 (commit 1a2b3c4d5e6f; engines: sqlite duckdb postgres mysql mongodb redis)`.
pub(crate) fn text() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    TEXT.get_or_init(|| {
        let engines: Vec<&str> = [
            (cfg!(feature = "sqlite"), "sqlite"),
            (cfg!(feature = "duckdb"), "duckdb"),
            (cfg!(feature = "postgres"), "postgres"),
            (cfg!(feature = "mysql"), "mysql"),
            (cfg!(feature = "mongodb"), "mongodb"),
            (cfg!(feature = "redis"), "redis"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect();
        format!(
            "{} (commit {}; engines: {})",
            env!("CARGO_PKG_VERSION"),
            env!("QORE_COMMIT"),
            engines.join(" ")
        )
    })
}

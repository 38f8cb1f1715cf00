//! Options of `qore diff`.

/// Options of `qore diff`: two sides, what to compare, how to show it.
#[derive(Debug, Clone, clap::Args)]
pub struct DiffArgs {
    /// The left side: a URL or a saved connection name.
    #[arg(long)]
    pub left: String,
    /// The right side: a URL or a saved connection name.
    #[arg(long)]
    pub right: String,
    /// The table to compare (on both sides unless --right-table).
    #[arg(long, conflicts_with = "query")]
    pub table: Option<String>,
    /// The right side's table, when its name differs (or when the left side
    /// is a snapshot).
    #[arg(long, conflicts_with = "query")]
    pub right_table: Option<String>,
    /// The query to compare (on both sides unless --right-query).
    #[arg(long)]
    pub query: Option<String>,
    /// The right side's query, when it differs (or when the left side is a
    /// snapshot: `--left snapshot:NAME --right URL --right-query SQL`).
    #[arg(long, conflicts_with = "table")]
    pub right_query: Option<String>,
    /// Key columns, comma-separated (`id` or `id:right_id`); default: the
    /// primary key; without one rows are compared as multisets.
    #[arg(long, value_delimiter = ',')]
    pub key: Vec<String>,
    /// Columns to compare besides the key, comma-separated (`a`, `a:b` when
    /// named differently); default: every column both sides have.
    #[arg(long, value_delimiter = ',')]
    pub columns: Vec<String>,
    /// A condition applied to both sides (SQL, or a JSON filter for MongoDB).
    #[arg(long = "where")]
    pub filter: Option<String>,
    /// The right side's condition, when it differs.
    #[arg(long = "right-where")]
    pub right_filter: Option<String>,
    /// auto (bisection when possible), stream or bisect.
    #[arg(long, default_value = "auto")]
    pub algorithm: String,
    /// Floats this close are equal: `0.001` (absolute) or `0.1%` (relative).
    #[arg(long)]
    pub float_tolerance: Option<String>,
    /// Timestamps compared at this many fractional digits.
    #[arg(long)]
    pub time_precision: Option<u8>,
    /// Text compared without surrounding white space.
    #[arg(long)]
    pub trim: bool,
    /// Text compared case-insensitively.
    #[arg(long)]
    pub ignore_case: bool,
    /// Compare rows as multisets (count each distinct row), ignoring keys.
    #[arg(long)]
    pub multiset: bool,
    /// Bisection: segments of at most this many rows are downloaded.
    #[arg(long)]
    pub segment_rows: Option<u64>,
    /// side-by-side, summary, json, ndjson, csv, parquet, html or sql (the
    /// patch that makes the right table equal to the left).
    #[arg(long, default_value = "side-by-side")]
    pub format: String,
    /// Write here instead of standard output.
    #[arg(short, long)]
    pub output: Option<String>,
    /// Changed rows show their unchanged columns too (side-by-side).
    #[arg(long)]
    pub all_columns: bool,
    /// Show at most this many differences (side-by-side; all are counted).
    #[arg(long)]
    pub limit: Option<u64>,
}

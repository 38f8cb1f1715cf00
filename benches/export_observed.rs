//! One export of a query to CSV, from the raw session or through the whole
//! interceptor chain (safety net, audit log, profiler: the stream is then
//! an `ObservedStream`), for `export_observed.py` to compare the bytes and
//! the peak memory of the two.
//!
//! Usage: `export_observed URL QUERY OUT raw|chain`

use std::sync::Arc;

use qore_core::ConnectionRef;
use qore_core::intercept::{Chain, Intercepted, Profiler};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, query, out, mode] = args.as_slice() else {
        return Err("usage: export_observed URL QUERY OUT raw|chain".into());
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let raw: ConnectionRef = qore_drivers::connect(url).await?;
        let dir = std::env::temp_dir().join(format!("qore-observed-{}", std::process::id()));
        let conn: ConnectionRef = match mode.as_str() {
            "raw" => raw,
            "chain" => {
                let log = qore_safety::AuditLog::open(
                    &dir.join("audit.jsonl"),
                    qore_safety::DEFAULT_MAX_BYTES,
                    5,
                    None,
                    "bench".into(),
                    None,
                )?;
                let chain = Chain::new()
                    .with(Arc::new(qore_safety::SafetyNet::new()))
                    .with(Arc::new(log))
                    .with(Arc::new(Profiler::new()));
                Arc::new(Intercepted::new(raw, chain))
            }
            other => return Err(format!("mode `{other}`: raw or chain").into()),
        };
        let stream = conn.query(query, &[]).await?;
        let file = std::io::BufWriter::with_capacity(1 << 16, std::fs::File::create(out)?);
        let options = qore_export::ExportOptions::new(qore_export::Format::Csv);
        let summary =
            qore_export::export_to_writer(stream, Box::new(file), &options, |_| {}).await?;
        println!("{} rows", summary.rows);
        drop(conn);
        let _ = std::fs::remove_dir_all(&dir);
        Ok::<_, Box<dyn std::error::Error>>(())
    })
}

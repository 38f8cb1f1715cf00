//! Embedding QoreDB the way another Rust tool would: open a connection by URL,
//! read the catalog, and stream a query as Arrow record batches.
//!
//! `cargo run -p qore-examples --bin embed -- [URL]` (default: a demo database
//! written to a temporary directory).

use futures::StreamExt;
use qore_core::{Connection, Engine, Result, TableRef};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> std::process::ExitCode {
    // Without a URL, write a demo database into a scratch directory removed at exit.
    let scratch = std::env::temp_dir().join(format!("qore-embed-{}", std::process::id()));
    let result = run(&scratch).await;
    let _ = std::fs::remove_dir_all(&scratch);
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("embed: {e}");
            std::process::ExitCode::from(2)
        }
    }
}

async fn run(scratch: &std::path::Path) -> Result<()> {
    let url = match std::env::args().nth(1) {
        Some(url) => url,
        None => {
            std::fs::create_dir_all(scratch)
                .map_err(|e| qore_core::Error::io("cannot create a scratch directory", e))?;
            let path = scratch.join("shop.duckdb");
            qore_drivers::demo::write_demo(&path, Engine::DuckDb, true).await?;
            format!("duckdb:{}", path.display())
        }
    };
    let conn = qore_drivers::connect(&url).await?;
    println!("connected to {}", conn.engine());

    // The catalog: every table with its row count and foreign keys.
    if let Some(catalog) = conn.catalog() {
        for t in catalog.tables(None).await? {
            let details = catalog.table(&t.table).await?;
            let fks: Vec<String> = details
                .foreign_keys()
                .map(|f| format!("{:?}→{}", f.columns, f.target.name))
                .collect();
            println!(
                "{:<14} {:<6} rows={:<8?} fks={}",
                t.table.name,
                t.kind.label(),
                t.rows,
                fks.join(" ")
            );
        }
    }

    // A query streamed batch by batch: memory stays at one batch, whatever the row count.
    let table = TableRef::new("order_items");
    let sql = format!(
        "SELECT product_id, sum(quantity * unit_price) AS revenue FROM {} GROUP BY product_id ORDER BY revenue DESC",
        conn.dialect()
            .ok_or_else(|| qore_core::Error::NotSupported("the demo database speaks SQL".into()))?
            .quote_table(&table)?
    );
    let mut stream = conn.query(&sql, &[]).await?;
    println!(
        "schema: {:?}",
        stream
            .schema()
            .fields()
            .iter()
            .map(|f| (f.name().clone(), f.data_type().to_string()))
            .collect::<Vec<_>>()
    );
    let (mut rows, mut batches) = (0usize, 0usize);
    while let Some(batch) = stream.next().await {
        let batch = batch?;
        rows += batch.num_rows();
        batches += 1;
    }
    println!("streamed {rows} rows in {batches} batches");
    Ok(())
}

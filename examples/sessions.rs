//! Two sessions of one database and a transaction: what a data editor, a
//! diff or a job runner does with QoreDB.
//!
//! `cargo run -p qore-examples --bin sessions -- [URL]` (default: an
//! in-memory DuckDB; any SQL URL works, e.g. `postgres://...`).

use qore_core::{Connection, ErrorKind, Result, collect};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> std::process::ExitCode {
    match run(&std::env::args().nth(1).unwrap_or_else(|| "duckdb:".into())).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sessions: {e} ({})", e.kind());
            std::process::ExitCode::from(2)
        }
    }
}

/// The first cell of `sql` as text.
async fn scalar(conn: &dyn Connection, sql: &str) -> Result<String> {
    let batches = collect(conn.query(sql, &[]).await?).await?;
    let batch = batches
        .first()
        .ok_or_else(|| qore_core::Error::data("no rows"))?;
    Ok(arrow::util::display::array_value_to_string(
        batch.column(0),
        0,
    )?)
}

async fn run(url: &str) -> Result<()> {
    // One handle, two independent sessions: they work in parallel.
    let db = qore_drivers::open(url).await?;
    let (writer, reader) = (db.session().await?, db.session().await?);
    writer.execute("DROP TABLE IF EXISTS account", &[]).await?;
    writer
        .execute(
            "CREATE TABLE account (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL)",
            &[],
        )
        .await?;
    writer
        .execute("INSERT INTO account VALUES (1, 100), (2, 0)", &[])
        .await?;

    // A transfer: both updates or neither.
    let tx = writer.begin().await?;
    tx.execute(
        "UPDATE account SET balance = balance - 30 WHERE id = 1",
        &[],
    )
    .await?;
    tx.execute(
        "UPDATE account SET balance = balance + 30 WHERE id = 2",
        &[],
    )
    .await?;
    // The other session does not see it before the commit.
    println!(
        "before commit, the reader sees {}",
        scalar(&*reader, "SELECT balance FROM account WHERE id = 2").await?
    );
    tx.commit().await?;
    println!(
        "after commit, the reader sees {}",
        scalar(&*reader, "SELECT balance FROM account WHERE id = 2").await?
    );

    // A transaction dropped without commit (an early return, a `?`) rolls back.
    {
        let tx = writer.begin().await?;
        tx.execute("UPDATE account SET balance = 0", &[]).await?;
    }
    println!(
        "after a dropped transaction, id 1 has {}",
        scalar(&*writer, "SELECT balance FROM account WHERE id = 1").await?
    );

    // Errors say what kind they are, whatever the engine.
    let e = writer
        .execute("INSERT INTO account VALUES (1, 5)", &[])
        .await
        .err();
    if let Some(e) = e {
        println!(
            "duplicate key: {} (transient: {})",
            e.kind(),
            e.is_transient()
        );
        assert_eq!(e.kind(), ErrorKind::UniqueViolation);
    }
    Ok(())
}

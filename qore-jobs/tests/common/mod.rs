//! Helpers the integration tests share.
#![allow(dead_code, clippy::unwrap_used)]

/// A PostgreSQL database of the test's own (created afresh), as a URL:
/// tests run in parallel processes and must not share tables.
pub(crate) async fn pg_database(name: &str) -> String {
    let url = std::env::var("QORE_TEST_POSTGRES_URL").unwrap_or_else(|_| {
        panic!("QORE_TEST_POSTGRES_URL is not set: run the tests through scripts/servers.sh")
    });
    let db = format!("qore_jobs_{name}");
    let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(&url).await.unwrap();
    // Two round trips: a multi-statement string is one implicit transaction,
    // where DROP/CREATE DATABASE are refused.
    for sql in [format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"), format!("CREATE DATABASE {db}")] {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&mut admin).await.unwrap();
    }
    with_database(&url, &db)
}

pub(crate) fn with_database(url: &str, db: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let authority_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let path_start = base[authority_end..].find('/').map(|i| i + authority_end).unwrap_or(base.len());
    let mut out = format!("{}/{db}", &base[..path_start]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}


/// Names for URLs: a job's parameters hold a name, never a password.
pub(crate) struct Named(pub(crate) std::collections::HashMap<String, String>);

#[async_trait::async_trait]
impl qore_jobs::export::Connector for Named {
    async fn open(&self, db: &str) -> qore_core::Result<qore_core::ConnectionRef> {
        let url = self.0.get(db).cloned().unwrap_or_else(|| db.to_string());
        qore_drivers::connect(&url).await
    }
}

/// The first value of `sql`'s first row, as text.
pub(crate) async fn scalar(c: &qore_core::ConnectionRef, sql: &str) -> String {
    let b = qore_core::collect(c.query(sql, &[]).await.unwrap()).await.unwrap();
    let b = b.iter().find(|b| b.num_rows() > 0).unwrap();
    qore_core::arrow::util::display::ArrayFormatter::try_new(b.column(0).as_ref(), &Default::default())
        .unwrap()
        .value(0)
        .to_string()
}

//! PostgreSQL maintenance: VACUUM, ANALYZE, REINDEX, CLUSTER, REFRESH
//! MATERIALIZED VIEW, gated by table kind and ownership, with their
//! figures from `pg_stat_user_tables` and progress from
//! `pg_stat_progress_*`.

use qore_core::admin::{OpOption, OpRequest, OpScope, Operation, Plan, check_request, fetch_rows, text};
use qore_core::{Connection, Dialect, Error, Result, SendableRecordBatchStream, TableRef, Value};

use super::admin::q;
use super::connection::PostgresConnection;
use super::dialect::PostgresDialect;

/// What the operations of one table depend on.
struct TableFacts {
    quoted: String,
    relkind: String,
    may_maintain: bool,
    populated: bool,
    indexes: Vec<String>,
    clustered: Option<String>,
    unique_index: bool,
}

impl PostgresConnection {
    async fn table_facts(&self, table: &TableRef) -> Result<TableFacts> {
        let quoted = PostgresDialect.quote_table(table)?;
        let rows = fetch_rows(
            self,
            "SELECT c.relkind::text, \
                    pg_has_role(c.relowner, 'USAGE') OR (SELECT rolsuper FROM pg_roles WHERE rolname = current_user), \
                    c.relispopulated, \
                    (SELECT string_agg(ic.relname, ',' ORDER BY ic.relname) FROM pg_index i \
                       JOIN pg_class ic ON ic.oid = i.indexrelid WHERE i.indrelid = c.oid), \
                    (SELECT ic.relname::text FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid \
                      WHERE i.indrelid = c.oid AND i.indisclustered), \
                    EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisunique AND i.indpred IS NULL) \
               FROM pg_class c WHERE c.oid = to_regclass($1::text)",
            &[Value::Text(quoted.clone())],
        )
        .await?;
        let Some(r) = rows.into_iter().next() else {
            return Err(Error::NotFound(format!("no table {quoted}")));
        };
        Ok(TableFacts {
            quoted,
            relkind: text(&r[0]).unwrap_or_default(),
            may_maintain: matches!(r[1], Value::Bool(true)),
            populated: !matches!(r[2], Value::Bool(false)),
            indexes: text(&r[3]).map(|s| s.split(',').map(String::from).collect()).unwrap_or_default(),
            clustered: text(&r[4]),
            unique_index: matches!(r[5], Value::Bool(true)),
        })
    }

    async fn database_owner(&self) -> Result<bool> {
        let rows = fetch_rows(
            self,
            "SELECT pg_has_role(d.datdba, 'USAGE') OR (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) \
               FROM pg_database d WHERE d.datname = current_database()",
            &[],
        )
        .await?;
        Ok(rows.first().is_some_and(|r| matches!(r[0], Value::Bool(true))))
    }

    pub(super) async fn maintenance_operations(&self, table: Option<&TableRef>) -> Result<Vec<Operation>> {
        let facts = match table {
            Some(t) => Some(self.table_facts(t).await?),
            None => None,
        };
        self.operations_for(facts.as_ref()).await
    }

    /// The operations of the table `facts` describe, or of the database.
    async fn operations_for(&self, facts: Option<&TableFacts>) -> Result<Vec<Operation>> {
        let major = self.major();
        let Some(f) = facts else {
            let owner = self.database_owner().await?;
            let not_owner = (!owner).then(|| "only the database's owner or a superuser may reindex it".to_string());
            return Ok(vec![
                Operation::new("vacuum", "VACUUM every table you own in the database", OpScope::Either, vacuum_options(major), None),
                Operation::new("analyze", "ANALYZE every table you own", OpScope::Either, vec![OpOption::flag("skip_locked", "skip tables that cannot be locked at once")], None),
                Operation::new("reindex", "REINDEX DATABASE: rebuild every index", OpScope::Either, vec![OpOption::flag("concurrently", "rebuild without blocking writes (slower)")], not_owner),
            ]);
        };
        let quoted = &f.quoted;
        let no_storage = storage_refusal(&f.relkind, quoted);
        let not_owner = (!f.may_maintain).then(|| format!("only the owner of {quoted} or a superuser may maintain it"));
        let base = no_storage.clone().or(not_owner.clone());
        let reindex = base.clone().or_else(|| f.indexes.is_empty().then(|| format!("{quoted} has no index")));
        let cluster = base.clone().or_else(|| {
            (!matches!(f.relkind.as_str(), "r" | "m" | "p")).then(|| format!("{quoted} cannot be clustered"))
        }).or_else(|| f.indexes.is_empty().then(|| format!("{quoted} has no index to order it by")));
        let refresh = if f.relkind != "m" {
            Some(format!("{quoted} is not a materialized view"))
        } else {
            not_owner.clone()
        };
        let index_choices: Vec<&str> = f.indexes.iter().map(String::as_str).collect();
        Ok(vec![
            Operation::new("vacuum", "VACUUM: reclaim dead rows' space for reuse", OpScope::Either, vacuum_options(major), base.clone()),
            Operation::new("analyze", "ANALYZE: update the planner's statistics", OpScope::Either, vec![OpOption::flag("skip_locked", "skip the table if it cannot be locked at once")], base.clone()),
            Operation::new("reindex", "REINDEX TABLE: rebuild its indexes", OpScope::Either, vec![OpOption::flag("concurrently", "rebuild without blocking writes (slower)")], reindex),
            Operation::new(
                "cluster",
                "CLUSTER: rewrite the table in the order of an index",
                OpScope::Table,
                vec![OpOption::value("index", "the index to order by (default: the one it was clustered on)", &index_choices)],
                cluster,
            ),
            Operation::new("refresh", "REFRESH MATERIALIZED VIEW: run its query again", OpScope::Table, vec![OpOption::flag("concurrently", "keep it readable meanwhile (needs a unique index)")], refresh),
        ])
    }

    pub(super) async fn plan_maintenance(&self, request: &OpRequest) -> Result<Plan> {
        // The table's facts read once, for the listing and the plan.
        let facts = match &request.table {
            Some(t) => Some(self.table_facts(t).await?),
            None => None,
        };
        let ops = self.operations_for(facts.as_ref()).await?;
        let op = check_request(&ops, request, "PostgreSQL")?;
        let target = match &request.table {
            Some(t) => Some(PostgresDialect.quote_table(t)?),
            None => None,
        };
        let on = |sql: String| match &target {
            Some(t) => format!("{sql} {t}"),
            None => sql,
        };
        let sql = match op.name.as_str() {
            "vacuum" => {
                if request.has("full") && request.value("parallel").is_some() {
                    return Err(Error::invalid("VACUUM FULL cannot run in parallel: drop `parallel` or `full`"));
                }
                if request.has("full") && request.has("disable_page_skipping") {
                    return Err(Error::invalid("`disable_page_skipping` cannot be used with `full`"));
                }
                let mut parts = Vec::new();
                for (name, value) in &request.options {
                    match value {
                        None => parts.push(name.to_ascii_uppercase()),
                        Some(v) if name == "parallel" => {
                            let n: u32 = v.parse().map_err(|_| Error::invalid(format!("`parallel` takes a number of workers, not `{v}`")))?;
                            parts.push(format!("PARALLEL {n}"));
                        }
                        Some(v) => parts.push(format!("{} {}", name.to_ascii_uppercase(), v.to_ascii_uppercase())),
                    }
                }
                if parts.is_empty() { on("VACUUM".into()) } else { on(format!("VACUUM ({})", parts.join(", "))) }
            }
            "analyze" => on(if request.has("skip_locked") { "ANALYZE (SKIP_LOCKED)".into() } else { "ANALYZE".into() }),
            "reindex" => {
                let conc = if request.has("concurrently") { " CONCURRENTLY" } else { "" };
                match &target {
                    Some(t) => format!("REINDEX TABLE{conc} {t}"),
                    None => {
                        let rows = fetch_rows(self, "SELECT current_database()::text", &[]).await?;
                        let db = rows.first().and_then(|r| text(&r[0])).unwrap_or_default();
                        format!("REINDEX DATABASE{conc} {}", q(&db))
                    }
                }
            }
            "cluster" => {
                let t = target.clone().unwrap_or_default();
                match request.value("index") {
                    Some(i) => format!("CLUSTER {t} USING {}", q(i)),
                    None => {
                        let f = facts.as_ref().ok_or_else(|| Error::invalid("cluster needs a table"))?;
                        if f.clustered.is_none() {
                            return Err(Error::invalid(format!(
                                "{t} was never clustered: name the index with `index=NAME` (one of {})",
                                f.indexes.join(", ")
                            )));
                        }
                        format!("CLUSTER {t}")
                    }
                }
            }
            "refresh" => {
                let t = target.clone().unwrap_or_default();
                if request.has("concurrently") {
                    let f = facts.as_ref().ok_or_else(|| Error::invalid("refresh needs a table"))?;
                    if !f.unique_index {
                        return Err(Error::invalid(format!("{t} has no unique index over all rows: CONCURRENTLY needs one")));
                    }
                    if !f.populated {
                        return Err(Error::invalid(format!("{t} was never populated: refresh it once without CONCURRENTLY")));
                    }
                    format!("REFRESH MATERIALIZED VIEW CONCURRENTLY {t}")
                } else {
                    format!("REFRESH MATERIALIZED VIEW {t}")
                }
            }
            other => return Err(Error::NotSupported(format!("PostgreSQL operation `{other}` has no plan"))),
        };
        // The statistics views report these commands by the backend that
        // runs them: this session.
        let view = match op.name.as_str() {
            "vacuum" if request.has("full") => Some(("pg_stat_progress_cluster", "heap_blks_scanned", "heap_blks_total")),
            "vacuum" => Some(("pg_stat_progress_vacuum", "heap_blks_scanned", "heap_blks_total")),
            "analyze" => Some(("pg_stat_progress_analyze", "sample_blks_scanned", "sample_blks_total")),
            "reindex" => Some(("pg_stat_progress_create_index", "blocks_done", "blocks_total")),
            "cluster" => Some(("pg_stat_progress_cluster", "heap_blks_scanned", "heap_blks_total")),
            _ => None,
        };
        let plan = Plan::single(sql);
        Ok(match view {
            Some((view, done, total)) => plan.with_progress(format!(
                "SELECT phase::text, {done}::int8, {total}::int8 FROM {view} WHERE pid = {}",
                self.backend_pid()
            )),
            None => plan,
        })
    }

    pub(super) async fn maintenance_figures(&self, table: Option<&TableRef>) -> Result<SendableRecordBatchStream> {
        let quoted = table.map(|t| PostgresDialect.quote_table(t)).transpose()?;
        let sql = "SELECT s.schemaname::text AS schema, s.relname::text AS \"table\", s.n_live_tup AS live_rows, \
                          s.n_dead_tup AS dead_rows, \
                          round(100.0 * s.n_dead_tup / nullif(s.n_live_tup + s.n_dead_tup, 0), 1)::float8 AS dead_pct, \
                          pg_table_size(s.relid) AS table_bytes, pg_indexes_size(s.relid) AS index_bytes, \
                          pg_total_relation_size(s.relid) AS total_bytes, \
                          (pg_table_size(s.relid) * s.n_dead_tup / nullif(s.n_live_tup + s.n_dead_tup, 0))::int8 AS dead_bytes_estimate, \
                          s.last_vacuum, s.last_autovacuum, s.last_analyze, s.last_autoanalyze, \
                          s.vacuum_count, s.autovacuum_count \
                     FROM pg_stat_user_tables s \
                    WHERE CASE WHEN $1::text IS NULL THEN s.schemaname = current_schema() \
                               ELSE s.relid = to_regclass($1::text) END \
                    ORDER BY s.n_dead_tup DESC, 2";
        self.query(sql, &[quoted.map_or(Value::Null, Value::Text)]).await
    }
}

fn vacuum_options(major: u32) -> Vec<OpOption> {
    let mut o = vec![
        OpOption::flag("full", "rewrite the table into a new file, giving space back to the system (takes an exclusive lock)"),
        OpOption::flag("freeze", "freeze every row now"),
        OpOption::flag("analyze", "update the planner's statistics too"),
        OpOption::flag("skip_locked", "skip tables that cannot be locked at once"),
        OpOption::flag("disable_page_skipping", "visit every page, whatever the visibility map says"),
        OpOption::value("index_cleanup", "remove index entries of dead rows", &["auto", "on", "off"]),
        OpOption::value("truncate", "give empty pages at the end back to the system", &["on", "off"]),
        OpOption::value("parallel", "workers for the index phase (a number)", &[]),
    ];
    if major >= 14 {
        o.push(OpOption::value("process_toast", "vacuum the TOAST table too", &["on", "off"]));
    }
    o
}


/// Why a relation of `relkind` has no storage to maintain, if it has none.
fn storage_refusal(relkind: &str, quoted: &str) -> Option<String> {
    match relkind {
        "v" => Some(format!("{quoted} is a view: it has no storage")),
        "f" => Some(format!("{quoted} is a foreign table: its server maintains it")),
        _ => None,
    }
}

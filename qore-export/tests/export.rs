//! The export pipeline on its own: SQL scripts run back through a real
//! SQLite, HTML escaping, atomic files.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use arrow::array::{ArrayRef, BinaryArray, Float64Array, Int64Array, RecordBatch, StringArray};
use proptest::prelude::*;
use qore_core::{
    AnsiDialect, Dialect, Error, PlaceholderStyle, RecordBatchStreamAdapter,
    SendableRecordBatchStream, TableRef,
};
use qore_export::{ExportOptions, Format, export_to_path, export_to_writer};

fn stream_of(
    batches: Vec<qore_core::Result<RecordBatch>>,
    schema: arrow::datatypes::SchemaRef,
) -> SendableRecordBatchStream {
    Box::pin(RecordBatchStreamAdapter::new(
        schema,
        futures::stream::iter(batches),
    ))
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

/// SQLite reads ANSI quoting; the name picks SQLite's column types.
const SQLITE: AnsiDialect = AnsiDialect::new("sqlite", PlaceholderStyle::QuestionNumbered);

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Any text, bytes, integers and floats written as a SQL script come back
    /// unchanged when SQLite runs the script. (Floats are written with the
    /// shortest exact text; SQLite's own text-to-double conversion misrounds
    /// some values near 1e-290, so the range is kept to everyday magnitudes.)
    #[test]
    fn sql_script_round_trips_through_sqlite(
        rows in proptest::collection::vec((any::<i64>(), proptest::option::of("[^\\x00]{0,30}"), proptest::collection::vec(any::<u8>(), 0..20), -1e12f64..1e12), 0..40),
        per_insert in 1usize..7,
        name in "[^\\x00]{1,12}",
    ) {
        let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
        let texts: Vec<Option<String>> = rows.iter().map(|r| r.1.clone()).collect();
        let blobs: Vec<&[u8]> = rows.iter().map(|r| r.2.as_slice()).collect();
        let floats: Vec<f64> = rows.iter().map(|r| r.3).collect();
        let batch = RecordBatch::try_from_iter(vec![
            ("id", Arc::new(Int64Array::from(ids.clone())) as ArrayRef),
            ("t\"ext", Arc::new(StringArray::from(texts.clone())) as ArrayRef),
            ("blob", Arc::new(BinaryArray::from(blobs.clone())) as ArrayRef),
            ("f", Arc::new(Float64Array::from(floats.clone())) as ArrayRef),
        ]).unwrap();
        let mut options = ExportOptions::new(Format::Sql);
        options.sql = qore_export::sql_options(TableRef::new(name.clone()), Arc::new(SQLITE));
        options.sql.create_table = true;
        options.sql.rows_per_insert = per_insert;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.sql");
        let summary = rt().block_on(export_to_path(stream_of(vec![Ok(batch.clone())], batch.schema()), &path, &options, |_| {})).unwrap();
        prop_assert_eq!(summary.rows, rows.len() as u64);
        let script = std::fs::read_to_string(&path).unwrap();
        let db = rusqlite::Connection::open_in_memory().unwrap();
        db.execute_batch(&script).unwrap();
        let q = format!("SELECT id, \"t\"\"ext\", blob, f FROM {} ORDER BY rowid", SQLITE.quote_identifier(&name).unwrap());
        let mut stmt = db.prepare(&q).unwrap();
        let got: Vec<(i64, Option<String>, Vec<u8>, f64)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        prop_assert_eq!(got.len(), rows.len());
        for (i, g) in got.iter().enumerate() {
            prop_assert_eq!(g.0, ids[i]);
            prop_assert_eq!(&g.1, &texts[i]);
            prop_assert_eq!(g.2.as_slice(), blobs[i]);
            prop_assert_eq!(g.3, floats[i]);
        }
    }

    /// Whatever a title or query holds, the page has exactly the markup we
    /// wrote: the only `</script>` are ours.
    #[test]
    fn html_page_cannot_be_broken_out_of(title in "\\PC{0,40}", query in "\\PC{0,60}", cell in "\\PC{0,40}") {
        let batch = RecordBatch::try_from_iter(vec![("c", Arc::new(StringArray::from(vec![cell.clone(), "</script><b>".into()])) as ArrayRef)]).unwrap();
        let mut options = ExportOptions::new(Format::Html);
        options.html.title = Some(format!("{title}</script></title><script>x()</script>"));
        options.html.query = Some(format!("{query}</script>"));
        // The sink needs a 'static writer: collect into shared bytes.
        let shared = Arc::new(std::sync::Mutex::new(Vec::new()));
        struct Shared(Arc<std::sync::Mutex<Vec<u8>>>);
        impl std::io::Write for Shared {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> { self.0.lock().unwrap().extend_from_slice(b); Ok(b.len()) }
            fn flush(&mut self) -> std::io::Result<()> { Ok(()) }
        }
        rt().block_on(export_to_writer(stream_of(vec![Ok(batch.clone())], batch.schema()), Box::new(Shared(shared.clone())), &options, |_| {})).unwrap();
        let page = String::from_utf8(shared.lock().unwrap().clone()).unwrap();
        prop_assert_eq!(page.matches("</script>").count(), 3, "meta, data and code blocks only");
        prop_assert_eq!(page.matches("<script").count(), 3);
        prop_assert_eq!(page.matches("</title>").count(), 1);
    }
}

#[test]
fn a_failed_export_leaves_no_file_and_keeps_the_old_one() {
    let batch = RecordBatch::try_from_iter(vec![(
        "n",
        Arc::new(Int64Array::from(vec![1, 2, 3])) as ArrayRef,
    )])
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    for format in Format::ALL {
        let path = dir.path().join(format!("out.{}", format.name()));
        std::fs::write(&path, b"previous").unwrap();
        let mut options = ExportOptions::new(format);
        options.sql.table = Some(TableRef::new("t"));
        let stream = stream_of(
            vec![Ok(batch.clone()), Err(Error::query("boom", None))],
            batch.schema(),
        );
        let err = rt()
            .block_on(export_to_path(stream, &path, &options, |_| {}))
            .unwrap_err();
        assert!(err.to_string().contains("boom"), "{format:?}: {err}");
        assert_eq!(std::fs::read(&path).unwrap(), b"previous", "{format:?}");
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(!names.iter().any(|n| n.ends_with(".part")), "{names:?}");
    }
    // Unknown names are errors that list the known ones.
    assert!(
        Format::parse("xlsx")
            .unwrap_err()
            .to_string()
            .contains("parquet")
    );
    assert_eq!(
        Format::from_path(std::path::Path::new("a/b.PARQUET")),
        Some(Format::Parquet)
    );
}

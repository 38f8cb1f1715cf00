//! One rule for duplicate column names, for every output format.

use std::collections::HashSet;
use std::sync::Arc;

use arrow::datatypes::{Field, Schema, SchemaRef};

/// The metadata key that keeps a renamed column's original name.
pub const ORIGINAL_NAME: &str = "qore.original_name";

/// `schema` with duplicate column names made unique the same way for every
/// format: the first keeps its name, the next become `name_2`, `name_3`, ...
/// (skipping names already taken), each with its original name in the
/// field metadata under [`ORIGINAL_NAME`]. The same `Arc` when no name
/// repeats.
pub fn unique_field_names(schema: &SchemaRef) -> SchemaRef {
    let mut used: HashSet<&str> = HashSet::new();
    if schema.fields().iter().all(|f| used.insert(f.name())) {
        return Arc::clone(schema);
    }
    let mut taken: HashSet<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    let mut first: HashSet<&str> = HashSet::new();
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| {
            if first.insert(f.name()) {
                return f.as_ref().clone();
            }
            let mut k = 2;
            let name = loop {
                let candidate = format!("{}_{k}", f.name());
                if !taken.contains(&candidate) {
                    break candidate;
                }
                k += 1;
            };
            taken.insert(name.clone());
            let mut md = f.metadata().clone();
            md.insert(ORIGINAL_NAME.to_string(), f.name().clone());
            f.as_ref().clone().with_name(name).with_metadata(md)
        })
        .collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

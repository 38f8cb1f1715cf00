//! Relations between tables: the foreign keys a database enforces, merged
//! with user-defined *virtual* relations that it does not (a legacy schema
//! without constraints, two MongoDB collections, a column that refers to
//! another by convention).
//!
//! Virtual relations live in a plain TOML file per profile
//! (`$XDG_CONFIG_HOME/qore/relations/<profile>.toml`), which a user may edit
//! by hand:
//!
//! ```toml
//! [[relation]]
//! name = "orders_customer"
//! from = "orders"
//! from_columns = ["customer_id"]
//! to = "customers"
//! to_columns = ["id"]
//! cardinality = "many-to-one"
//! ```
//!
//! Peek, `describe`, ER diagrams and joins read [`Relation`]s, which are the
//! same whether a relation is real or virtual.
//!
//! # Example
//!
//! ```
//! use qore_core::relations::{Relations, VirtualRelation};
//! use qore_core::TableRef;
//!
//! let mut rels = Relations::default();
//! rels.add(VirtualRelation::new("orders_customer", TableRef::new("orders"), &["customer_id"],
//!     TableRef::new("customers"), &["id"]), false).unwrap();
//! let text = rels.to_toml().unwrap();
//! assert_eq!(Relations::parse(&text).unwrap(), rels);
//! ```

use std::path::{Path, PathBuf};

use arrow::datatypes::DataType;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::schema::{Constraint, ConstraintKind, FkAction, ForeignKey, TableDetails, TableRef};

/// How many rows on each side a relation links.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Cardinality {
    /// Each row refers to at most one row, and is referred to by at most one.
    OneToOne,
    /// Many rows refer to one (a plain foreign key).
    ManyToOne,
    /// One row refers to many (an array of ids in a document).
    OneToMany,
    /// Many to many.
    ManyToMany,
}

impl Cardinality {
    /// Parses `one-to-one`, `many-to-one`, `one-to-many`, `many-to-many`
    /// (also `1:1`, `n:1`, `1:n`, `n:n`).
    ///
    /// # Error handling
    ///
    /// [`Error::InvalidInput`] naming the accepted spellings.
    pub fn parse(s: &str) -> Result<Cardinality> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "one-to-one" | "1:1" => Cardinality::OneToOne,
            "many-to-one" | "n:1" => Cardinality::ManyToOne,
            "one-to-many" | "1:n" => Cardinality::OneToMany,
            "many-to-many" | "n:n" | "n:m" => Cardinality::ManyToMany,
            other => {
                return Err(Error::invalid(format!(
                    "unknown cardinality `{other}` (one-to-one, many-to-one, one-to-many, many-to-many)"
                )));
            }
        })
    }

    /// The kebab-case spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Cardinality::OneToOne => "one-to-one",
            Cardinality::ManyToOne => "many-to-one",
            Cardinality::OneToMany => "one-to-many",
            Cardinality::ManyToMany => "many-to-many",
        }
    }
}

/// A user-defined relation: `from(from_columns)` refers to
/// `to(to_columns)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VirtualRelation {
    /// Its name, unique in the file.
    pub name: String,
    /// The referencing table or collection.
    #[serde(with = "table_text")]
    pub from: TableRef,
    /// The referencing columns (document fields, dotted for nested ones).
    pub from_columns: Vec<String>,
    /// The referenced table or collection.
    #[serde(with = "table_text")]
    pub to: TableRef,
    /// The referenced columns, one per referencing column.
    pub to_columns: Vec<String>,
    /// How many rows each side links, when the user said so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cardinality: Option<Cardinality>,
}

impl VirtualRelation {
    /// A relation without a cardinality.
    pub fn new(
        name: &str,
        from: TableRef,
        from_columns: &[&str],
        to: TableRef,
        to_columns: &[&str],
    ) -> Self {
        VirtualRelation {
            name: name.to_string(),
            from,
            from_columns: from_columns.iter().map(|c| c.to_string()).collect(),
            to,
            to_columns: to_columns.iter().map(|c| c.to_string()).collect(),
            cardinality: None,
        }
    }

    /// Checks the shape: a name, at least one column, as many on each side,
    /// no empty or repeated column.
    ///
    /// # Error handling
    ///
    /// [`Error::InvalidInput`] naming the relation and what is wrong.
    pub fn check_shape(&self) -> Result<()> {
        let bad = |m: String| Err(Error::invalid(format!("relation `{}`: {m}", self.name)));
        if self.name.trim().is_empty() {
            return Err(Error::invalid("a relation needs a name"));
        }
        if self.from_columns.is_empty() {
            return bad("it names no column".into());
        }
        if self.from_columns.len() != self.to_columns.len() {
            return bad(format!(
                "{} referencing column(s) but {} referenced one(s)",
                self.from_columns.len(),
                self.to_columns.len()
            ));
        }
        for cols in [&self.from_columns, &self.to_columns] {
            for (i, c) in cols.iter().enumerate() {
                if c.is_empty() {
                    return bad("a column name is empty".into());
                }
                if cols[..i].contains(c) {
                    return bad(format!("column `{c}` appears twice"));
                }
            }
        }
        Ok(())
    }

    /// Checks the relation against the structure of both tables: the
    /// columns exist and their types can hold the same values.
    ///
    /// # Error handling
    ///
    /// [`Error::InvalidInput`] naming the missing column or the two types.
    pub fn validate(&self, from: &TableDetails, to: &TableDetails) -> Result<()> {
        self.check_shape()?;
        for (fc, tc) in self.from_columns.iter().zip(&self.to_columns) {
            let a = find_column(from, fc, &self.name)?;
            let b = find_column(to, tc, &self.name)?;
            if let (Some(a), Some(b)) = (a, b)
                && !compatible(&a.0, &b.0)
            {
                return Err(Error::invalid(format!(
                    "relation `{}`: {}.{fc} ({}) cannot refer to {}.{tc} ({}): the types hold different values",
                    self.name, self.from, a.1, self.to, b.1
                )));
            }
        }
        Ok(())
    }

    /// The relation as a foreign key of its `from` table, marked virtual.
    pub fn as_foreign_key(&self) -> ForeignKey {
        ForeignKey {
            columns: self.from_columns.clone(),
            target: self.to.clone(),
            target_columns: self.to_columns.clone(),
            on_delete: FkAction::NoAction,
            on_update: FkAction::NoAction,
            deferrable: false,
            is_virtual: true,
        }
    }
}

/// The Arrow type and the declared type of column `name`, `None` when the
/// catalog only samples (a document field seen in no sample is still
/// accepted: documents need not all have it).
fn find_column(
    t: &TableDetails,
    name: &str,
    relation: &str,
) -> Result<Option<(DataType, String)>> {
    match t.column(name) {
        Some(c) => Ok(Some((c.arrow_type.clone(), c.source_type.clone()))),
        None if t.info.kind == crate::schema::TableKind::Collection => Ok(None),
        None => Err(Error::invalid(format!(
            "relation `{relation}`: {} has no column `{name}` (columns: {})",
            t.info.table,
            t.columns
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// Whether values of type `a` can equal values of type `b`: the same family
/// (integers, decimals and floats are numbers; strings; binaries; dates and
/// timestamps). An unknown type (`Null`: the catalog could not say) matches
/// anything. Text never matches numbers: a relation between them is far
/// more often a slip than a schema that keeps numbers as text.
fn compatible(a: &DataType, b: &DataType) -> bool {
    fn family(t: &DataType) -> u8 {
        use DataType::*;
        match t {
            Null => 0,
            Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64 | Float16
            | Float32 | Float64 | Decimal128(..) | Decimal256(..) => 1,
            Utf8 | LargeUtf8 | Utf8View => 2,
            Binary | LargeBinary | BinaryView | FixedSizeBinary(_) => 3,
            Date32 | Date64 | Timestamp(..) => 4,
            Boolean => 5,
            Time32(_) | Time64(_) => 6,
            _ => 7,
        }
    }
    let (fa, fb) = (family(a), family(b));
    fa == 0 || fb == 0 || fa == fb
}

/// A relation as every consumer sees it, real or virtual.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Relation {
    /// The constraint's or the virtual relation's name.
    pub name: Option<String>,
    /// The referencing table.
    pub from: TableRef,
    /// Its columns.
    pub from_columns: Vec<String>,
    /// The referenced table.
    pub to: TableRef,
    /// Its columns.
    pub to_columns: Vec<String>,
    /// Whether the database does not enforce it (user-defined).
    pub is_virtual: bool,
    /// Cardinality, where known (a real foreign key is many-to-one).
    pub cardinality: Option<Cardinality>,
}

impl Relation {
    /// Whether `column` is one of the referencing columns.
    pub fn uses(&self, column: &str) -> bool {
        self.from_columns.iter().any(|c| c == column)
    }
}

/// Whether two table names denote the same table: the same name, and the
/// same namespace or no namespace on one side (the default one).
pub fn same_table(a: &TableRef, b: &TableRef) -> bool {
    a.name == b.name
        && match (&a.namespace, &b.namespace) {
            (Some(x), Some(y)) => x == y,
            _ => true,
        }
}

/// The user's virtual relations of one profile.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Relations {
    #[serde(default, rename = "relation")]
    relations: Vec<VirtualRelation>,
}

impl Relations {
    /// The file of profile (or target) `scope`:
    /// `$XDG_CONFIG_HOME/qore/relations/<scope>.toml`. A scope that is not a
    /// plain name (a URL) is written with its other characters as `_`.
    ///
    /// # Error handling
    ///
    /// [`Error::InvalidInput`] when no configuration directory is known.
    pub fn default_path(scope: &str) -> Result<PathBuf> {
        Ok(crate::files::config_dir("virtual relations")?
            .join("relations")
            .join(format!("{}.toml", crate::files::safe_file_name(scope))))
    }

    /// Reads a relations file; a missing file holds none.
    ///
    /// # Error handling
    ///
    /// [`Error::Io`] when it cannot be read, [`Error::InvalidInput`] naming
    /// the file and the line when it is not valid.
    pub fn load(path: &Path) -> Result<Relations> {
        match std::fs::read_to_string(path) {
            Ok(text) => Relations::parse(&text)
                .map_err(|e| Error::invalid(format!("{}: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Relations::default()),
            Err(e) => Err(Error::io(format!("cannot read {}", path.display()), e)),
        }
    }

    /// Parses the TOML text of a relations file, checking every relation's
    /// shape and that names are unique.
    ///
    /// # Error handling
    ///
    /// [`Error::InvalidInput`] with the parser's message (line and column).
    pub fn parse(text: &str) -> Result<Relations> {
        let rels: Relations = toml::from_str(text)
            .map_err(|e| Error::invalid(format!("not a relations file: {e}")))?;
        for (i, r) in rels.relations.iter().enumerate() {
            r.check_shape()?;
            if rels.relations[..i].iter().any(|o| o.name == r.name) {
                return Err(Error::invalid(format!(
                    "relation `{}` is defined twice",
                    r.name
                )));
            }
        }
        Ok(rels)
    }

    /// The TOML text.
    ///
    /// # Error handling
    ///
    /// [`Error::Internal`] if serialising fails.
    pub fn to_toml(&self) -> Result<String> {
        toml::to_string_pretty(self)
            .map_err(|e| Error::Internal(format!("relations do not serialize: {e}")))
    }

    /// Writes the file atomically.
    ///
    /// # Error handling
    ///
    /// [`Error::Io`] naming the file.
    pub fn save(&self, path: &Path) -> Result<()> {
        let text = format!(
            "# qore virtual relations: foreign keys the database does not enforce.\n{}",
            self.to_toml()?
        );
        crate::files::write_atomic(path, text.as_bytes())
    }

    /// Every relation, in the order they were added.
    pub fn all(&self) -> &[VirtualRelation] {
        &self.relations
    }

    /// The relation named `name`.
    pub fn get(&self, name: &str) -> Option<&VirtualRelation> {
        self.relations.iter().find(|r| r.name == name)
    }

    /// Adds a relation (its shape checked; validate it against the catalog
    /// first with [`VirtualRelation::validate`]).
    ///
    /// # Error handling
    ///
    /// [`Error::InvalidInput`] for a bad shape, or a name already used
    /// unless `replace`.
    pub fn add(&mut self, relation: VirtualRelation, replace: bool) -> Result<()> {
        relation.check_shape()?;
        match self.relations.iter().position(|r| r.name == relation.name) {
            Some(i) if replace => self.relations[i] = relation,
            Some(_) => {
                return Err(Error::invalid(format!(
                    "a relation named `{}` exists already (replace it explicitly)",
                    relation.name
                )));
            }
            None => self.relations.push(relation),
        }
        Ok(())
    }

    /// Removes the relation named `name`.
    ///
    /// # Error handling
    ///
    /// [`Error::NotFound`] when there is none.
    pub fn remove(&mut self, name: &str) -> Result<VirtualRelation> {
        match self.relations.iter().position(|r| r.name == name) {
            Some(i) => Ok(self.relations.remove(i)),
            None => Err(Error::NotFound(format!(
                "no virtual relation named `{name}`"
            ))),
        }
    }

    /// Adds the virtual relations that start at `details`' table to its
    /// constraints, as foreign keys marked virtual: `describe`, the
    /// structure indicators and peek then see them like real ones.
    pub fn merge_into(&self, details: &mut TableDetails) {
        for r in &self.relations {
            if same_table(&r.from, &details.info.table) {
                details.constraints.push(Constraint {
                    name: Some(r.name.clone()),
                    kind: ConstraintKind::ForeignKey(r.as_foreign_key()),
                });
            }
        }
    }

    /// The relations into table `to` (the reverse direction of a peek).
    pub fn into_table<'a>(&'a self, to: &'a TableRef) -> impl Iterator<Item = Relation> + 'a {
        self.relations
            .iter()
            .filter(move |r| same_table(&r.to, to))
            .map(virtual_relation)
    }
}

fn virtual_relation(r: &VirtualRelation) -> Relation {
    Relation {
        name: Some(r.name.clone()),
        from: r.from.clone(),
        from_columns: r.from_columns.clone(),
        to: r.to.clone(),
        to_columns: r.to_columns.clone(),
        is_virtual: true,
        cardinality: r.cardinality,
    }
}

/// The relations that start at `details`' table: its foreign keys (real and,
/// once [`Relations::merge_into`] ran, virtual).
pub fn outgoing(details: &TableDetails) -> Vec<Relation> {
    details
        .constraints
        .iter()
        .filter_map(|c| match &c.kind {
            ConstraintKind::ForeignKey(fk) => Some(Relation {
                name: c.name.clone(),
                from: details.info.table.clone(),
                from_columns: fk.columns.clone(),
                to: fk.target.clone(),
                to_columns: fk.target_columns.clone(),
                is_virtual: fk.is_virtual,
                cardinality: (!fk.is_virtual).then_some(Cardinality::ManyToOne),
            }),
            _ => None,
        })
        .collect()
}

/// `TableRef` as the text `TableRef::parse` reads back (`ns.name`, parts
/// quoted when they hold dots or quotes).
mod table_text {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::schema::TableRef;

    fn part(p: &str) -> String {
        if p.contains('.') || p.contains('"') || p != p.trim() {
            format!("\"{}\"", p.replace('"', "\"\""))
        } else {
            p.to_string()
        }
    }

    pub(super) fn serialize<S: Serializer>(t: &TableRef, s: S) -> Result<S::Ok, S::Error> {
        let text = match &t.namespace {
            Some(ns) => format!("{}.{}", part(ns), part(&t.name)),
            None => part(&t.name),
        };
        s.serialize_str(&text)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<TableRef, D::Error> {
        let text = String::deserialize(d)?;
        TableRef::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn bad_files_say_what_is_wrong() {
        let e = Relations::parse("[[relation]]\nname = \"a\"\nfrom = \"t\"\nfrom_columns = [\"x\", \"y\"]\nto = \"u\"\nto_columns = [\"id\"]\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("2 referencing column(s) but 1"), "{e}");
        let e = Relations::parse("[[relation]]\nname = 1\n").unwrap_err().to_string();
        assert!(e.contains("not a relations file"), "{e}");
        let twice = "[[relation]]\nname = \"a\"\nfrom = \"t\"\nfrom_columns = [\"x\"]\nto = \"u\"\nto_columns = [\"id\"]\n";
        let e = Relations::parse(&format!("{twice}{twice}")).unwrap_err().to_string();
        assert!(e.contains("defined twice"), "{e}");
        assert_eq!(Cardinality::parse("n:1").unwrap(), Cardinality::ManyToOne);
        assert!(Cardinality::parse("some").is_err());
    }

    #[test]
    fn add_and_remove() {
        let mut r = Relations::default();
        let v = VirtualRelation::new("a", TableRef::new("t"), &["x"], TableRef::new("u"), &["id"]);
        r.add(v.clone(), false).unwrap();
        assert!(r.add(v.clone(), false).is_err());
        r.add(v, true).unwrap();
        assert_eq!(r.all().len(), 1);
        assert!(r.remove("b").is_err());
        r.remove("a").unwrap();
        assert!(r.all().is_empty());
    }

    #[test]
    fn tables_match_with_or_without_namespace() {
        assert!(same_table(&TableRef::new("t"), &TableRef::qualified("public", "t")));
        assert!(!same_table(&TableRef::qualified("a", "t"), &TableRef::qualified("b", "t")));
        assert!(!same_table(&TableRef::new("t"), &TableRef::new("T")));
    }

    proptest! {
        #[test]
        fn files_round_trip(
            name in "[a-z_]{1,12}",
            ns in proptest::option::of("[ -~]{1,10}"),
            table in "[ -~]{1,10}",
            cols in proptest::collection::btree_set("[^\u{0}]{1,8}", 1..4),
        ) {
            let cols: Vec<String> = cols.into_iter().collect();
            let from = match &ns { Some(n) => TableRef::qualified(n.clone(), table.clone()), None => TableRef::new(table.clone()) };
            let rel = VirtualRelation {
                name,
                from,
                from_columns: cols.clone(),
                to: TableRef::new("target"),
                to_columns: cols,
                cardinality: Some(Cardinality::ManyToOne),
            };
            let mut rels = Relations::default();
            rels.add(rel, false).unwrap();
            let back = Relations::parse(&rels.to_toml().unwrap()).unwrap();
            prop_assert_eq!(back, rels);
        }
    }
}

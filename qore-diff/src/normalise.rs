//! Making two engines' values comparable: one rule per column pair, chosen
//! from both sides' Arrow types and declared types, and each batch's
//! column turned into the rule's canonical array once.
//!
//! Every rule that changes what "equal" means is reported as a note, so a
//! user sees why `12.5` and `12.50` or `true` and `1` matched.

use std::cmp::Ordering;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BinaryArray, BooleanArray, Decimal128Array, Float64Array,
    Int64Array, StringArray,
};
use arrow::compute::{CastOptions, cast_with_options};
use arrow::datatypes::{DataType, Field, TimeUnit};
use qore_core::metadata::{JSON, SOURCE_TYPE};
use qore_core::{Error, Result};

use crate::spec::Tolerance;

/// How one column pair is compared.
#[derive(Debug, Clone, PartialEq)]
pub enum Rule {
    /// Integers, decimals and booleans-as-numbers: exact, at one scale.
    Decimal {
        /// Digits after the point both sides are brought to.
        scale: i8,
    },
    /// Floats: `-0 = 0`, `NaN = NaN`, optionally within a tolerance.
    Float {
        /// Compared at single precision (one side is a 32-bit float).
        single: bool,
        /// How far apart two values may be.
        tolerance: Option<Tolerance>,
    },
    /// Timestamps and dates: instants (UTC when a side has a time zone,
    /// wall-clock otherwise) truncated to `digits` fractional digits.
    Instant {
        /// Fractional digits of a second kept (0-9).
        digits: u8,
        /// Whether either side reads nanoseconds.
        nanos: bool,
    },
    /// Times of day, truncated to `digits` fractional digits.
    TimeOfDay {
        /// Fractional digits kept (0-9).
        digits: u8,
        /// Whether either side reads nanoseconds.
        nanos: bool,
    },
    /// Booleans.
    Bool,
    /// Text, byte for byte (after the optional trim and case fold).
    Text {
        /// Surrounding white space ignored.
        trim: bool,
        /// Compared in lower case.
        fold: bool,
    },
    /// JSON documents compared as values (key order, white space and
    /// number spelling do not matter).
    Json,
    /// Bytes.
    Binary,
}

/// The kind of values a column holds, as far as comparing goes.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Class {
    Int,
    Bool,
    Decimal(i8),
    Float { single: bool },
    Instant { nanos: bool, zoned: bool },
    TimeOfDay { nanos: bool },
    Text,
    Json,
    Binary,
    Other,
}

fn class_of(f: &Field) -> Class {
    let json = f.metadata().get(JSON).is_some_and(|v| v == "true");
    match f.data_type() {
        DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64 => Class::Int,
        DataType::Boolean => Class::Bool,
        DataType::Decimal32(_, s)
        | DataType::Decimal64(_, s)
        | DataType::Decimal128(_, s)
        | DataType::Decimal256(_, s) => Class::Decimal(*s),
        DataType::Float16 | DataType::Float32 => Class::Float { single: true },
        DataType::Float64 => Class::Float { single: false },
        DataType::Timestamp(u, tz) => Class::Instant {
            nanos: *u == TimeUnit::Nanosecond,
            zoned: tz.is_some(),
        },
        DataType::Date32 | DataType::Date64 => Class::Instant {
            nanos: false,
            zoned: false,
        },
        DataType::Time32(_) => Class::TimeOfDay { nanos: false },
        DataType::Time64(u) => Class::TimeOfDay {
            nanos: *u == TimeUnit::Nanosecond,
        },
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View if json => Class::Json,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Class::Text,
        DataType::Binary
        | DataType::LargeBinary
        | DataType::BinaryView
        | DataType::FixedSizeBinary(_) => Class::Binary,
        _ => Class::Other,
    }
}

/// Fractional digits of seconds a declared type keeps: `timestamp(3)` 3,
/// MySQL's `datetime` 0, PostgreSQL's `timestamp` 6; `None` when the type
/// does not say.
pub fn declared_digits(source_type: &str) -> Option<u8> {
    let t = source_type.trim().to_ascii_lowercase();
    if let Some(open) = t.find('(') {
        let inner = t[open + 1..].split(')').next().unwrap_or("");
        if let Ok(p) = inner.trim().parse::<u8>() {
            return Some(p.min(9));
        }
    }
    if t.starts_with("date") && !t.starts_with("datetime") {
        return Some(0);
    }
    if t.starts_with("datetime") || t == "time" {
        // MySQL/MariaDB: no fraction unless declared.
        return Some(0);
    }
    None
}

/// What one side's column is, for choosing a rule.
#[derive(Debug, Clone)]
pub struct ColumnFacts {
    /// The field as the side's reads return it.
    pub field: Field,
    /// Fractional digits its type declares (timestamps), if known.
    pub digits: Option<u8>,
}

impl ColumnFacts {
    /// Facts from a field, with the declared type from the catalog when
    /// known (else from the field's `qore.source_type`).
    pub fn new(field: Field, declared: Option<&str>) -> ColumnFacts {
        // A result's own type name may leave the precision out
        // (`DATETIME` for `DATETIME(6)`): trusted only when it spells it.
        let digits = match declared {
            Some(d) => declared_digits(d),
            None => field
                .metadata()
                .get(SOURCE_TYPE)
                .filter(|t| t.contains('('))
                .and_then(|t| declared_digits(t)),
        };
        ColumnFacts { field, digits }
    }

    fn type_name(&self) -> String {
        self.field
            .metadata()
            .get(SOURCE_TYPE)
            .cloned()
            .unwrap_or_else(|| self.field.data_type().to_string())
    }
}

/// Options that shape rules.
#[derive(Debug, Clone, Copy, Default)]
pub struct RuleOptions {
    /// Float tolerance.
    pub tolerance: Option<Tolerance>,
    /// Trim text.
    pub trim: bool,
    /// Fold text case.
    pub fold: bool,
    /// Fractional digits of timestamps, overriding the declared ones.
    pub time_digits: Option<u8>,
    /// The column is (part of) the key: exact text, no tolerance.
    pub key: bool,
}

fn unit_digits(nanos: bool) -> u8 {
    if nanos { 9 } else { 6 }
}

/// The rule for comparing `l` with `r` (named `name` in messages), and a
/// note when it makes values of different spelling equal.
///
/// # Error handling
///
/// [`Error::InvalidInput`] for types that cannot be compared (naming both),
/// and for a JSON or float column used as a key with a tolerance.
pub fn rule_for(
    name: &str,
    l: &ColumnFacts,
    r: &ColumnFacts,
    o: RuleOptions,
) -> Result<(Rule, Option<String>)> {
    use Class::*;
    let (lc, rc) = (class_of(&l.field), class_of(&r.field));
    let types = || format!("{} vs {}", l.type_name(), r.type_name());
    let numeric = |c: Class| matches!(c, Int | Bool | Decimal(_));
    let scale = |c: Class| if let Decimal(s) = c { s } else { 0 };
    let rule = match (lc, rc) {
        (Bool, Bool) => (Rule::Bool, None),
        (a, b) if numeric(a) && numeric(b) => {
            let s = scale(a).max(scale(b));
            let note = if matches!(a, Bool) != matches!(b, Bool) {
                Some(format!("{name}: booleans compared as 0/1 ({})", types()))
            } else if scale(a) != scale(b) {
                Some(format!("{name}: decimals compared at scale {s} ({})", types()))
            } else {
                None
            };
            (Rule::Decimal { scale: s.max(0) }, note)
        }
        (Float { single: a }, Float { single: b }) => {
            let note = (a != b).then(|| {
                format!("{name}: compared at single precision ({})", types())
            });
            (
                Rule::Float {
                    single: a || b,
                    tolerance: o.tolerance,
                },
                note,
            )
        }
        (Float { single }, b) | (b, Float { single }) if numeric(b) => (
            Rule::Float {
                single,
                tolerance: o.tolerance,
            },
            Some(format!("{name}: compared as floats ({})", types())),
        ),
        (
            Instant {
                nanos: ln,
                zoned: lz,
            },
            Instant {
                nanos: rn,
                zoned: rz,
            },
        ) => {
            let nanos = ln || rn;
            let ld = l.digits.unwrap_or(unit_digits(ln));
            let rd = r.digits.unwrap_or(unit_digits(rn));
            let digits = o.time_digits.unwrap_or(ld.min(rd)).min(unit_digits(nanos));
            let mut notes = Vec::new();
            if ld != rd || o.time_digits.is_some() {
                notes.push(format!("timestamps compared at {digits} fractional digit(s)"));
            }
            if lz != rz {
                notes.push("the side without a time zone taken as UTC".to_string());
            }
            let note = (!notes.is_empty()).then(|| format!("{name}: {} ({})", notes.join(", "), types()));
            (Rule::Instant { digits, nanos }, note)
        }
        (Instant { nanos, .. }, Text) | (Text, Instant { nanos, .. }) => {
            let digits = o
                .time_digits
                .unwrap_or(l.digits.or(r.digits).unwrap_or(unit_digits(nanos)))
                .min(unit_digits(nanos));
            (
                Rule::Instant { digits, nanos },
                Some(format!("{name}: text read as timestamps ({})", types())),
            )
        }
        (TimeOfDay { nanos: ln }, TimeOfDay { nanos: rn }) => {
            let nanos = ln || rn;
            let ld = l.digits.unwrap_or(unit_digits(ln));
            let rd = r.digits.unwrap_or(unit_digits(rn));
            let digits = o.time_digits.unwrap_or(ld.min(rd)).min(unit_digits(nanos));
            let note = (ld != rd)
                .then(|| format!("{name}: times compared at {digits} fractional digit(s) ({})", types()));
            (Rule::TimeOfDay { digits, nanos }, note)
        }
        (Json, Json | Text) | (Text, Json) => {
            if o.key {
                return Err(Error::invalid(format!(
                    "key column {name} holds JSON documents; use another key"
                )));
            }
            (Rule::Json, Some(format!("{name}: JSON compared as values ({})", types())))
        }
        (Text, Text) => {
            let (trim, fold) = if o.key { (false, false) } else { (o.trim, o.fold) };
            (Rule::Text { trim, fold }, None)
        }
        (Binary, Binary) => (Rule::Binary, None),
        (Binary, Text) | (Text, Binary) => (
            Rule::Binary,
            Some(format!("{name}: text compared as its UTF-8 bytes ({})", types())),
        ),
        (a, b) if (a == Text || a == Other || b == Text || b == Other)
            && castable_to_text(l.field.data_type())
            && castable_to_text(r.field.data_type()) =>
        {
            let (trim, fold) = if o.key { (false, false) } else { (o.trim, o.fold) };
            let note = (l.field.data_type() != r.field.data_type() || a == Other)
                .then(|| format!("{name}: compared as text ({})", types()));
            (Rule::Text { trim, fold }, note)
        }
        _ => {
            return Err(Error::invalid(format!(
                "column {name} cannot be compared: {} on the left, {} on the right \
                 (leave it out with --columns, or cast it in a query)",
                l.type_name(),
                r.type_name()
            )));
        }
    };
    Ok(rule)
}

fn castable_to_text(dt: &DataType) -> bool {
    arrow::compute::can_cast_types(dt, &DataType::Utf8)
}

/// One batch's column in its rule's canonical form.
#[derive(Debug, Clone)]
pub enum Canon {
    /// Exact numbers at the rule's scale.
    Dec(Decimal128Array),
    /// Floats as doubles.
    F64(Float64Array),
    /// Instants and times as integer counts, already truncated.
    Int(Int64Array),
    /// Booleans.
    Bool(BooleanArray),
    /// Text.
    Text(StringArray),
    /// Parsed JSON (`None` for NULL).
    Json(Arc<Vec<Option<serde_json::Value>>>),
    /// Bytes.
    Bin(BinaryArray),
}

fn strict() -> CastOptions<'static> {
    CastOptions {
        safe: false,
        ..Default::default()
    }
}

fn cast(a: &ArrayRef, to: &DataType, what: &str) -> Result<ArrayRef> {
    cast_with_options(a, to, &strict()).map_err(|e| {
        Error::data(format!("{what}: cannot read {} as {to}: {e}", a.data_type()))
    })
}

fn count_type(nanos: bool) -> DataType {
    DataType::Timestamp(
        if nanos {
            TimeUnit::Nanosecond
        } else {
            TimeUnit::Microsecond
        },
        None,
    )
}

/// `a` in the canonical form of `rule` (`what` names the column in errors).
///
/// # Error handling
///
/// [`Error::Data`] for a value the rule's type cannot hold (a decimal too
/// wide for 38 digits, a timestamp out of the nanosecond range).
pub fn canonical(a: &ArrayRef, rule: &Rule, what: &str) -> Result<Canon> {
    Ok(match rule {
        Rule::Decimal { scale } => {
            let src = if a.data_type() == &DataType::Boolean {
                cast(a, &DataType::Int8, what)?
            } else {
                a.clone()
            };
            let c = cast(&src, &DataType::Decimal128(38, *scale), what)?;
            Canon::Dec(c.as_primitive().clone())
        }
        Rule::Float { single, .. } => {
            let mut c = a.clone();
            if *single {
                c = cast(&c, &DataType::Float32, what)?;
            }
            let c = cast(&c, &DataType::Float64, what)?;
            Canon::F64(c.as_primitive().clone())
        }
        Rule::Instant { digits, nanos } => {
            let ts = match a.data_type() {
                DataType::Timestamp(u, Some(_)) => {
                    // The stored count is UTC already: drop the zone, keep it.
                    let naive = DataType::Timestamp(*u, None);
                    cast(&arrow::array::make_array(a.to_data().into_builder().data_type(naive).build().map_err(|e| Error::data(format!("{what}: {e}")))?), &count_type(*nanos), what)?
                }
                _ => cast(a, &count_type(*nanos), what)?,
            };
            let ints = cast(&ts, &DataType::Int64, what)?;
            Canon::Int(truncate(ints.as_primitive(), unit_digits(*nanos), *digits))
        }
        Rule::TimeOfDay { digits, nanos } => {
            let t = if *nanos {
                DataType::Time64(TimeUnit::Nanosecond)
            } else {
                DataType::Time64(TimeUnit::Microsecond)
            };
            let c = cast(&cast(a, &t, what)?, &DataType::Int64, what)?;
            Canon::Int(truncate(c.as_primitive(), unit_digits(*nanos), *digits))
        }
        Rule::Bool => Canon::Bool(a.as_boolean().clone()),
        Rule::Text { trim, fold } => {
            let c = cast(a, &DataType::Utf8, what)?;
            let s: &StringArray = c.as_string();
            if *trim || *fold {
                Canon::Text(
                    s.iter()
                        .map(|v| {
                            v.map(|v| {
                                let v = if *trim { v.trim() } else { v };
                                if *fold { v.to_lowercase() } else { v.to_string() }
                            })
                        })
                        .collect(),
                )
            } else {
                Canon::Text(s.clone())
            }
        }
        Rule::Json => {
            let c = cast(a, &DataType::Utf8, what)?;
            let s: &StringArray = c.as_string();
            Canon::Json(Arc::new(
                s.iter()
                    .map(|v| {
                        v.map(|t| {
                            serde_json::from_str(t)
                                .unwrap_or_else(|_| serde_json::Value::String(t.to_string()))
                        })
                    })
                    .collect(),
            ))
        }
        Rule::Binary => {
            let c = cast(a, &DataType::Binary, what)?;
            Canon::Bin(c.as_binary::<i32>().clone())
        }
    })
}

/// Counts of 10^-`have` truncated (towards the past) to 10^-`keep`.
fn truncate(a: &Int64Array, have: u8, keep: u8) -> Int64Array {
    if keep >= have {
        return a.clone();
    }
    let step = 10i64.pow(u32::from(have - keep));
    // NULL slots hold any value, and ±infinity sits at the ends of i64:
    // saturate rather than overflow.
    a.unary(|v| v.saturating_sub(v.rem_euclid(step)))
}

fn float_eq(a: f64, b: f64, t: Option<Tolerance>) -> bool {
    if a == b || (a.is_nan() && b.is_nan()) {
        return true;
    }
    match t {
        Some(t) if a.is_finite() && b.is_finite() => {
            let d = (a - b).abs();
            d <= t.absolute || d <= t.relative * a.abs().max(b.abs())
        }
        _ => false,
    }
}

fn json_eq(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value as J;
    match (a, b) {
        (J::Number(x), J::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => match (x.as_u64(), y.as_u64()) {
                (Some(x), Some(y)) => x == y,
                _ => x.as_f64() == y.as_f64(),
            },
        },
        (J::Array(x), J::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b)),
        (J::Object(x), J::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

impl Canon {
    fn is_null(&self, i: usize) -> bool {
        match self {
            Canon::Dec(a) => a.is_null(i),
            Canon::F64(a) => a.is_null(i),
            Canon::Int(a) => a.is_null(i),
            Canon::Bool(a) => a.is_null(i),
            Canon::Text(a) => a.is_null(i),
            Canon::Json(a) => a[i].is_none(),
            Canon::Bin(a) => a.is_null(i),
        }
    }

    /// Whether cell `i` of `self` equals cell `j` of `other` (NULL equals
    /// NULL).
    pub fn eq_at(&self, i: usize, other: &Canon, j: usize, tolerance: Option<Tolerance>) -> bool {
        match (self.is_null(i), other.is_null(j)) {
            (true, true) => return true,
            (true, false) | (false, true) => return false,
            _ => {}
        }
        match (self, other) {
            (Canon::F64(a), Canon::F64(b)) => float_eq(a.value(i), b.value(j), tolerance),
            (Canon::Json(a), Canon::Json(b)) => match (&a[i], &b[j]) {
                (Some(x), Some(y)) => json_eq(x, y),
                _ => false,
            },
            _ => self.cmp_at(i, other, j) == Ordering::Equal,
        }
    }

    /// The order of cell `i` of `self` and cell `j` of `other`: NULL first,
    /// numbers by value, text and bytes by their bytes.
    pub fn cmp_at(&self, i: usize, other: &Canon, j: usize) -> Ordering {
        match (self.is_null(i), other.is_null(j)) {
            (true, true) => return Ordering::Equal,
            (true, false) => return Ordering::Less,
            (false, true) => return Ordering::Greater,
            _ => {}
        }
        match (self, other) {
            (Canon::Dec(a), Canon::Dec(b)) => a.value(i).cmp(&b.value(j)),
            (Canon::F64(a), Canon::F64(b)) => {
                // -0 and 0 are one value; NaN sorts last, as the engines do.
                let z = |v: f64| if v == 0.0 { 0.0 } else { v };
                z(a.value(i)).total_cmp(&z(b.value(j)))
            }
            (Canon::Int(a), Canon::Int(b)) => a.value(i).cmp(&b.value(j)),
            (Canon::Bool(a), Canon::Bool(b)) => a.value(i).cmp(&b.value(j)),
            (Canon::Text(a), Canon::Text(b)) => a.value(i).as_bytes().cmp(b.value(j).as_bytes()),
            (Canon::Bin(a), Canon::Bin(b)) => a.value(i).cmp(b.value(j)),
            (Canon::Json(a), Canon::Json(b)) => {
                let s = |v: &Option<serde_json::Value>| v.as_ref().map(|v| v.to_string()).unwrap_or_default();
                s(&a[i]).cmp(&s(&b[j]))
            }
            // One rule makes both sides the same variant.
            _ => Ordering::Equal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(dt: DataType, declared: Option<&str>) -> ColumnFacts {
        ColumnFacts::new(Field::new("c", dt, true), declared)
    }

    #[test]
    fn declared_digits_of_common_spellings() {
        assert_eq!(declared_digits("timestamp(3) without time zone"), Some(3));
        assert_eq!(declared_digits("DATETIME"), Some(0));
        assert_eq!(declared_digits("datetime(6)"), Some(6));
        assert_eq!(declared_digits("timestamp without time zone"), None);
        assert_eq!(declared_digits("date"), Some(0));
    }

    #[test]
    fn rules_across_types() {
        let o = RuleOptions::default();
        let (r, n) = rule_for("p", &facts(DataType::Decimal128(12, 2), None), &facts(DataType::Decimal128(12, 3), None), o).unwrap();
        assert_eq!(r, Rule::Decimal { scale: 3 });
        assert!(n.unwrap().contains("scale 3"));
        let (r, n) = rule_for("b", &facts(DataType::Boolean, None), &facts(DataType::Int8, None), o).unwrap();
        assert_eq!(r, Rule::Decimal { scale: 0 });
        assert!(n.unwrap().contains("0/1"));
        let (r, _) = rule_for("f", &facts(DataType::Float32, None), &facts(DataType::Float64, None), o).unwrap();
        assert!(matches!(r, Rule::Float { single: true, .. }));
        let (r, n) = rule_for(
            "t",
            &facts(DataType::Timestamp(TimeUnit::Microsecond, None), Some("timestamp(6)")),
            &facts(DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())), Some("datetime")),
            o,
        )
        .unwrap();
        assert_eq!(r, Rule::Instant { digits: 0, nanos: false });
        let n = n.unwrap();
        assert!(n.contains("0 fractional") && n.contains("UTC"), "{n}");
        let e = rule_for("x", &facts(DataType::Boolean, None), &facts(DataType::Date32, None), o).unwrap_err();
        assert!(e.to_string().contains("column x cannot be compared"), "{e}");
    }

    #[test]
    fn floats_equal_across_zero_sign_nan_and_tolerance() {
        let a: ArrayRef = Arc::new(Float64Array::from(vec![Some(-0.0), Some(f64::NAN), Some(1.0), None]));
        let b: ArrayRef = Arc::new(Float64Array::from(vec![Some(0.0), Some(f64::NAN), Some(1.0005), None]));
        let rule = Rule::Float { single: false, tolerance: None };
        let (ca, cb) = (canonical(&a, &rule, "f").unwrap(), canonical(&b, &rule, "f").unwrap());
        assert!(ca.eq_at(0, &cb, 0, None));
        assert!(ca.eq_at(1, &cb, 1, None));
        assert!(!ca.eq_at(2, &cb, 2, None));
        assert!(ca.eq_at(2, &cb, 2, Some(Tolerance { absolute: 0.001, relative: 0.0 })));
        assert!(ca.eq_at(3, &cb, 3, None));
        assert!(!ca.eq_at(0, &cb, 3, None));
    }

    #[test]
    fn instants_truncate_towards_the_past() {
        let a: ArrayRef = Arc::new(arrow::array::TimestampMicrosecondArray::from(vec![Some(-1_500_000), Some(2_999_999), Some(i64::MIN), Some(i64::MAX)]));
        let c = canonical(&a, &Rule::Instant { digits: 0, nanos: false }, "t").unwrap();
        let Canon::Int(v) = c else { panic!("not ints") };
        assert_eq!(v.values().to_vec(), vec![-2_000_000, 2_000_000, i64::MIN, i64::MAX - i64::MAX.rem_euclid(1_000_000)]);
    }

    #[test]
    fn json_values_ignore_key_order_and_number_spelling() {
        let a: ArrayRef = Arc::new(StringArray::from(vec![r#"{"a":1,"b":[1.0,2]}"#]));
        let b: ArrayRef = Arc::new(StringArray::from(vec![r#"{ "b": [1, 2.0], "a": 1.0 }"#]));
        let (ca, cb) = (canonical(&a, &Rule::Json, "j").unwrap(), canonical(&b, &Rule::Json, "j").unwrap());
        assert!(ca.eq_at(0, &cb, 0, None));
    }
}

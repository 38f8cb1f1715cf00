//! QoreDB's sample database: a small shop, the same rows every time.
//!
//! Nine tables with foreign keys (a composite one, `order_items` →
//! `inventory`, and a self-reference, `categories.parent_id`), unique and
//! check constraints, indexes (an expression index everywhere, a partial one
//! where the engine has them), a view and, in SQLite, a trigger. The largest
//! table, `order_items`, has about 100 000 rows.
//!
//! The data comes from a seeded generator, so two runs write identical
//! databases; it is built as Arrow batches and loaded into the engine in one
//! transaction, into a temporary file renamed into place at the end.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

#[cfg(any(feature = "sqlite", feature = "duckdb"))]
use arrow::array::RecordBatch;
#[cfg(any(feature = "sqlite", feature = "duckdb"))]
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
#[cfg(any(feature = "sqlite", feature = "duckdb"))]
use qore_core::Value;
use qore_core::{Engine, Error, Result};

/// Row counts of what [`write_demo`] wrote, table by table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoSummary {
    /// The database file.
    pub path: PathBuf,
    /// (table, rows) in load order.
    pub tables: Vec<(String, u64)>,
}

/// A deterministic generator (SplitMix64): the same seed gives the same shop.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % ((hi - lo + 1) as u64)) as i64
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next() % items.len() as u64) as usize]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

const FIRST: [&str; 24] = [
    "Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Margaret", "Ken", "Dennis", "Frances",
    "John", "Radia", "Linus", "Sophie", "Tim", "Hedy", "Niklaus", "Anita", "Bjarne", "Zoë", "José",
    "Łukasz", "Ingrid", "Mei",
];
const LAST: [&str; 20] = [
    "Lovelace",
    "Hopper",
    "Turing",
    "Dijkstra",
    "Liskov",
    "Knuth",
    "Hamilton",
    "Thompson",
    "Ritchie",
    "Allen",
    "McCarthy",
    "Perlman",
    "Torvalds",
    "Wilson",
    "Berners-Lee",
    "Lamarr",
    "Wirth",
    "Borg",
    "O'Neil",
    "Müller",
];
const COUNTRIES: [&str; 10] = ["NL", "DE", "FR", "GB", "US", "ES", "IT", "PL", "SE", "JP"];
const CITIES: [&str; 10] = [
    "Amsterdam",
    "Berlin",
    "Paris",
    "London",
    "New York",
    "Madrid",
    "Rome",
    "Kraków",
    "Stockholm",
    "Tokyo",
];
const TOP_CATEGORIES: [&str; 8] = [
    "Electronics",
    "Books",
    "Home",
    "Garden",
    "Toys",
    "Sports",
    "Fashion",
    "Food",
];
const SUB_CATEGORIES: [&str; 4] = ["Basics", "Premium", "Outlet", "New"];
const ADJECTIVES: [&str; 12] = [
    "Compact", "Classic", "Smart", "Eco", "Pro", "Mini", "Ultra", "Vintage", "Sturdy", "Light",
    "Deluxe", "Travel",
];
const NOUNS: [&str; 12] = [
    "Lamp", "Kettle", "Backpack", "Speaker", "Notebook", "Chair", "Drone", "Mug", "Jacket",
    "Puzzle", "Grill", "Tent",
];
const STATUSES: [&str; 5] = ["pending", "paid", "shipped", "delivered", "cancelled"];
const REVIEW_TEXT: [&str; 8] = [
    "Great value, would buy again.",
    "Does what it says on the tin.",
    "Arrived late; the box was \"slightly\" crushed.",
    "It's fine. Not 'amazing', but fine.",
    "Quality feels cheap — returned it.",
    "Perfect gift 🎁",
    "Five stars <b>no doubt</b>",
    "Meh. Back\\slash & ampersand test.",
];

/// Rows per table. `order_items` is the big one (about 100 000 rows).
const CUSTOMERS: i64 = 5_000;
const PRODUCTS: i64 = 2_000;
const WAREHOUSES: i64 = 5;
const ORDERS: i64 = 30_000;
const REVIEWS: i64 = 8_000;
/// 2024-01-01T00:00:00Z in microseconds.
const EPOCH_2024: i64 = 1_704_067_200_000_000;
const DAY_US: i64 = 86_400_000_000;

/// One table of the demo: its name and rows.
#[cfg(any(feature = "sqlite", feature = "duckdb"))]
struct DemoTable {
    name: &'static str,
    batch: RecordBatch,
}

#[cfg(any(feature = "sqlite", feature = "duckdb"))]
fn table(name: &'static str, cols: Vec<(&'static str, DataType, Vec<Value>)>) -> Result<DemoTable> {
    let fields: Vec<Field> = cols
        .iter()
        .map(|(n, t, _)| Field::new(*n, t.clone(), true))
        .collect();
    let arrays = cols
        .iter()
        .map(|(_, t, v)| Value::to_array(v, t))
        .collect::<Result<Vec<_>>>()?;
    Ok(DemoTable {
        name,
        batch: RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)?,
    })
}

#[cfg(any(feature = "sqlite", feature = "duckdb"))]
fn ts(us: i64) -> Value {
    Value::Timestamp {
        value: us,
        unit: TimeUnit::Microsecond,
        tz: None,
    }
}

#[cfg(any(feature = "sqlite", feature = "duckdb"))]
fn money(cents: i64) -> Value {
    Value::Decimal {
        value: cents.into(),
        precision: 10,
        scale: 2,
    }
}

#[cfg(any(feature = "sqlite", feature = "duckdb"))]
fn text(s: impl Into<String>) -> Value {
    Value::Text(s.into())
}

/// Generates every table, in an order that satisfies the foreign keys.
#[cfg(any(feature = "sqlite", feature = "duckdb"))]
fn generate() -> Result<Vec<DemoTable>> {
    let mut rng = Rng(0x0051_6F72_6544_4221);
    let i64t = DataType::Int64;
    let txt = DataType::Utf8;
    let tst = DataType::Timestamp(TimeUnit::Microsecond, None);
    let dec = DataType::Decimal128(10, 2);
    let mut out = Vec::new();

    // categories: 8 top-level, 4 children each (self-reference).
    let (mut id, mut parent, mut name) = (vec![], vec![], vec![]);
    for (i, top) in TOP_CATEGORIES.iter().enumerate() {
        id.push(Value::Int(i as i64 + 1));
        parent.push(Value::Null);
        name.push(text(*top));
    }
    for (t, top) in TOP_CATEGORIES.iter().enumerate() {
        for sub in SUB_CATEGORIES {
            id.push(Value::Int(id.len() as i64 + 1));
            parent.push(Value::Int(t as i64 + 1));
            name.push(text(format!("{top} / {sub}")));
        }
    }
    let categories = id.len() as i64;
    out.push(table(
        "categories",
        vec![
            ("id", i64t.clone(), id),
            ("parent_id", i64t.clone(), parent),
            ("name", txt.clone(), name),
        ],
    )?);

    // customers
    let mut c = vec![vec![]; 6];
    let mut created = Vec::new();
    for i in 1..=CUSTOMERS {
        let (f, l) = (*rng.pick(&FIRST), *rng.pick(&LAST));
        let at = EPOCH_2024 + rng.range(0, 300) * DAY_US + rng.range(0, 86_399) * 1_000_000;
        created.push(at);
        c[0].push(Value::Int(i));
        c[1].push(text(format!(
            "{}.{}{i}@example.com",
            f.to_lowercase(),
            l.to_lowercase().replace(['\'', ' '], "")
        )));
        c[2].push(text(format!("{f} {l}")));
        c[3].push(text(*rng.pick(&COUNTRIES)));
        c[4].push(ts(at));
        c[5].push(Value::Bool(rng.chance(10)));
    }
    let [cid, email, cname, country, cat, vip]: [Vec<Value>; 6] =
        c.try_into().map_err(|_| Error::Internal("demo".into()))?;
    out.push(table(
        "customers",
        vec![
            ("id", i64t.clone(), cid),
            ("email", txt.clone(), email),
            ("name", txt.clone(), cname),
            ("country", txt.clone(), country),
            ("created_at", tst.clone(), cat),
            ("vip", DataType::Boolean, vip),
        ],
    )?);

    // addresses: one or two per customer
    let mut a = vec![vec![]; 6];
    let mut first_address = Vec::with_capacity(CUSTOMERS as usize);
    for cust in 1..=CUSTOMERS {
        first_address.push(a[0].len() as i64 + 1);
        let n = if rng.chance(50) { 2 } else { 1 };
        for k in 0..n {
            let next = a[0].len() as i64 + 1;
            a[0].push(Value::Int(next));
            a[1].push(Value::Int(cust));
            a[2].push(text(if k == 0 { "shipping" } else { "billing" }));
            a[3].push(text(format!(
                "{} {}straat",
                rng.range(1, 250),
                rng.pick(&LAST)
            )));
            a[4].push(text(*rng.pick(&CITIES)));
            a[5].push(text(format!("{:05}", rng.range(1000, 99999))));
        }
    }
    let [aid, acust, kind, line1, city, postcode]: [Vec<Value>; 6] =
        a.try_into().map_err(|_| Error::Internal("demo".into()))?;
    out.push(table(
        "addresses",
        vec![
            ("id", i64t.clone(), aid),
            ("customer_id", i64t.clone(), acust),
            ("kind", txt.clone(), kind),
            ("line1", txt.clone(), line1),
            ("city", txt.clone(), city),
            ("postcode", txt.clone(), postcode),
        ],
    )?);

    // warehouses
    let codes = ["AMS", "BER", "PAR", "LON", "NYC"];
    out.push(table(
        "warehouses",
        vec![
            (
                "id",
                i64t.clone(),
                (1..=WAREHOUSES).map(Value::Int).collect(),
            ),
            (
                "code",
                txt.clone(),
                codes.iter().map(|c| text(format!("WH-{c}"))).collect(),
            ),
            (
                "city",
                txt.clone(),
                CITIES[..5].iter().map(|c| text(*c)).collect(),
            ),
        ],
    )?);

    // products
    let mut p = vec![vec![]; 6];
    let mut prices = Vec::with_capacity(PRODUCTS as usize);
    for i in 1..=PRODUCTS {
        let cents = rng.range(199, 49_999);
        prices.push(cents);
        p[0].push(Value::Int(i));
        p[1].push(text(format!("SKU-{i:06}")));
        p[2].push(text(format!(
            "{} {}",
            rng.pick(&ADJECTIVES),
            rng.pick(&NOUNS)
        )));
        p[3].push(Value::Int(
            rng.range(TOP_CATEGORIES.len() as i64 + 1, categories),
        ));
        p[4].push(money(cents));
        p[5].push(if rng.chance(5) {
            Value::Null
        } else {
            Value::Float(rng.range(50, 25_000) as f64 / 1000.0)
        });
    }
    let [pid, sku, pname, pcat, price, weight]: [Vec<Value>; 6] =
        p.try_into().map_err(|_| Error::Internal("demo".into()))?;
    out.push(table(
        "products",
        vec![
            ("id", i64t.clone(), pid),
            ("sku", txt.clone(), sku),
            ("name", txt.clone(), pname),
            ("category_id", i64t.clone(), pcat),
            ("price", dec.clone(), price),
            ("weight_kg", DataType::Float64, weight),
        ],
    )?);

    // inventory: every product in every warehouse (composite primary key)
    let (mut ip, mut iw, mut iq) = (vec![], vec![], vec![]);
    for prod in 1..=PRODUCTS {
        for wh in 1..=WAREHOUSES {
            ip.push(Value::Int(prod));
            iw.push(Value::Int(wh));
            iq.push(Value::Int(rng.range(0, 500)));
        }
    }
    out.push(table(
        "inventory",
        vec![
            ("product_id", i64t.clone(), ip),
            ("warehouse_id", i64t.clone(), iw),
            ("quantity", i64t.clone(), iq),
        ],
    )?);

    // orders and order_items
    let mut o = vec![vec![]; 6];
    let mut it = vec![vec![]; 6];
    for oid in 1..=ORDERS {
        let cust = rng.range(1, CUSTOMERS);
        let at = created[(cust - 1) as usize]
            + rng.range(1, 60) * DAY_US
            + rng.range(0, 86_399) * 1_000_000;
        let lines = rng.range(1, 6);
        let mut total = 0;
        for line in 1..=lines {
            let prod = rng.range(1, PRODUCTS);
            let qty = if rng.chance(80) { 1 } else { rng.range(2, 5) };
            let unit = prices[(prod - 1) as usize];
            total += unit * qty;
            it[0].push(Value::Int(oid));
            it[1].push(Value::Int(line));
            it[2].push(Value::Int(prod));
            it[3].push(Value::Int(rng.range(1, WAREHOUSES)));
            it[4].push(Value::Int(qty));
            it[5].push(money(unit));
        }
        o[0].push(Value::Int(oid));
        o[1].push(Value::Int(cust));
        o[2].push(Value::Int(first_address[(cust - 1) as usize]));
        o[3].push(text(*rng.pick(&STATUSES)));
        o[4].push(ts(at));
        o[5].push(money(total));
    }
    let [oid, ocust, oaddr, status, oat, total]: [Vec<Value>; 6] =
        o.try_into().map_err(|_| Error::Internal("demo".into()))?;
    out.push(table(
        "orders",
        vec![
            ("id", i64t.clone(), oid),
            ("customer_id", i64t.clone(), ocust),
            ("address_id", i64t.clone(), oaddr),
            ("status", txt.clone(), status),
            ("ordered_at", tst.clone(), oat),
            ("total", dec.clone(), total),
        ],
    )?);
    let [ioid, iline, iprod, iwh, iqty, iunit]: [Vec<Value>; 6] =
        it.try_into().map_err(|_| Error::Internal("demo".into()))?;
    out.push(table(
        "order_items",
        vec![
            ("order_id", i64t.clone(), ioid),
            ("line_no", i64t.clone(), iline),
            ("product_id", i64t.clone(), iprod),
            ("warehouse_id", i64t.clone(), iwh),
            ("quantity", i64t.clone(), iqty),
            ("unit_price", dec.clone(), iunit),
        ],
    )?);

    // reviews: unique (product, customer)
    let mut seen = std::collections::HashSet::new();
    let mut r = vec![vec![]; 6];
    while (r[0].len() as i64) < REVIEWS {
        let (prod, cust) = (rng.range(1, PRODUCTS), rng.range(1, CUSTOMERS));
        if !seen.insert((prod, cust)) {
            continue;
        }
        let next = r[0].len() as i64 + 1;
        r[0].push(Value::Int(next));
        r[1].push(Value::Int(prod));
        r[2].push(Value::Int(cust));
        r[3].push(Value::Int(rng.range(1, 5)));
        r[4].push(if rng.chance(15) {
            Value::Null
        } else {
            text(*rng.pick(&REVIEW_TEXT))
        });
        r[5].push(ts(EPOCH_2024 + rng.range(60, 364) * DAY_US));
    }
    let [rid, rprod, rcust, rating, body, rat]: [Vec<Value>; 6] =
        r.try_into().map_err(|_| Error::Internal("demo".into()))?;
    out.push(table(
        "reviews",
        vec![
            ("id", i64t.clone(), rid),
            ("product_id", i64t.clone(), rprod),
            ("customer_id", i64t.clone(), rcust),
            ("rating", i64t.clone(), rating),
            ("body", txt.clone(), body),
            ("created_at", tst, rat),
        ],
    )?);
    Ok(out)
}

/// The SQLite schema. Tables in load order; indexes, view and trigger after the data.
#[cfg(feature = "sqlite")]
const SQLITE_SCHEMA: &str = r#"
CREATE TABLE categories (
  id INTEGER PRIMARY KEY,
  parent_id INTEGER REFERENCES categories(id) ON DELETE SET NULL,
  name TEXT NOT NULL UNIQUE
);
CREATE TABLE customers (
  id INTEGER PRIMARY KEY,
  email TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  country TEXT NOT NULL CHECK (length(country) = 2),
  created_at DATETIME NOT NULL,
  vip BOOLEAN NOT NULL DEFAULT 0
);
CREATE TABLE addresses (
  id INTEGER PRIMARY KEY,
  customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
  kind TEXT NOT NULL CHECK (kind IN ('shipping', 'billing')),
  line1 TEXT NOT NULL,
  city TEXT NOT NULL,
  postcode TEXT
);
CREATE TABLE warehouses (
  id INTEGER PRIMARY KEY,
  code TEXT NOT NULL UNIQUE,
  city TEXT NOT NULL
);
CREATE TABLE products (
  id INTEGER PRIMARY KEY,
  sku TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  category_id INTEGER NOT NULL REFERENCES categories(id),
  price DECIMAL(10,2) NOT NULL CONSTRAINT price_not_negative CHECK (price >= 0),
  weight_kg REAL
);
CREATE TABLE inventory (
  product_id INTEGER NOT NULL REFERENCES products(id) ON DELETE CASCADE,
  warehouse_id INTEGER NOT NULL REFERENCES warehouses(id),
  quantity INTEGER NOT NULL DEFAULT 0 CHECK (quantity >= 0),
  PRIMARY KEY (product_id, warehouse_id)
) WITHOUT ROWID;
CREATE TABLE orders (
  id INTEGER PRIMARY KEY,
  customer_id INTEGER NOT NULL REFERENCES customers(id),
  address_id INTEGER REFERENCES addresses(id) ON DELETE SET NULL,
  status TEXT NOT NULL DEFAULT 'pending'
    CHECK (status IN ('pending', 'paid', 'shipped', 'delivered', 'cancelled')),
  ordered_at DATETIME NOT NULL,
  total DECIMAL(10,2) NOT NULL,
  updated_at DATETIME
);
CREATE TABLE order_items (
  order_id INTEGER NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
  line_no INTEGER NOT NULL,
  product_id INTEGER NOT NULL,
  warehouse_id INTEGER NOT NULL,
  quantity INTEGER NOT NULL CHECK (quantity > 0),
  unit_price DECIMAL(10,2) NOT NULL,
  PRIMARY KEY (order_id, line_no),
  CONSTRAINT order_items_stock FOREIGN KEY (product_id, warehouse_id)
    REFERENCES inventory(product_id, warehouse_id)
);
CREATE TABLE reviews (
  id INTEGER PRIMARY KEY,
  product_id INTEGER NOT NULL REFERENCES products(id) ON DELETE CASCADE,
  customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
  rating INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
  body TEXT,
  created_at DATETIME NOT NULL,
  UNIQUE (product_id, customer_id)
);
"#;

#[cfg(feature = "sqlite")]
const SQLITE_AFTER: &str = r#"
CREATE INDEX customers_email_lower ON customers (lower(email));
CREATE INDEX customers_country ON customers (country);
CREATE INDEX orders_customer ON orders (customer_id, ordered_at DESC);
CREATE INDEX orders_open ON orders (customer_id) WHERE status IN ('pending', 'paid');
CREATE INDEX order_items_product ON order_items (product_id);
CREATE INDEX products_category ON products (category_id);
CREATE VIEW order_totals AS
  SELECT o.id AS order_id, c.name AS customer, count(*) AS items,
         sum(i.quantity * i.unit_price) AS amount
  FROM orders o JOIN customers c ON c.id = o.customer_id JOIN order_items i ON i.order_id = o.id
  GROUP BY o.id, c.name;
CREATE TRIGGER orders_touch AFTER UPDATE OF status ON orders
BEGIN
  UPDATE orders SET updated_at = datetime('now') WHERE id = NEW.id;
END;
ANALYZE;
"#;

/// The DuckDB schema: no ON DELETE actions, partial indexes or triggers there.
#[cfg(feature = "duckdb")]
const DUCKDB_SCHEMA: &str = r#"
CREATE TABLE categories (
  id BIGINT PRIMARY KEY,
  parent_id BIGINT REFERENCES categories(id),
  name VARCHAR NOT NULL UNIQUE
);
CREATE TABLE customers (
  id BIGINT PRIMARY KEY,
  email VARCHAR NOT NULL UNIQUE,
  name VARCHAR NOT NULL,
  country VARCHAR NOT NULL CHECK (length(country) = 2),
  created_at TIMESTAMP NOT NULL,
  vip BOOLEAN NOT NULL DEFAULT false
);
CREATE TABLE addresses (
  id BIGINT PRIMARY KEY,
  customer_id BIGINT NOT NULL REFERENCES customers(id),
  kind VARCHAR NOT NULL CHECK (kind IN ('shipping', 'billing')),
  line1 VARCHAR NOT NULL,
  city VARCHAR NOT NULL,
  postcode VARCHAR
);
CREATE TABLE warehouses (
  id BIGINT PRIMARY KEY,
  code VARCHAR NOT NULL UNIQUE,
  city VARCHAR NOT NULL
);
CREATE TABLE products (
  id BIGINT PRIMARY KEY,
  sku VARCHAR NOT NULL UNIQUE,
  name VARCHAR NOT NULL,
  category_id BIGINT NOT NULL REFERENCES categories(id),
  price DECIMAL(10,2) NOT NULL CONSTRAINT price_not_negative CHECK (price >= 0),
  weight_kg DOUBLE
);
CREATE TABLE inventory (
  product_id BIGINT NOT NULL REFERENCES products(id),
  warehouse_id BIGINT NOT NULL REFERENCES warehouses(id),
  quantity BIGINT NOT NULL DEFAULT 0 CHECK (quantity >= 0),
  PRIMARY KEY (product_id, warehouse_id)
);
CREATE TABLE orders (
  id BIGINT PRIMARY KEY,
  customer_id BIGINT NOT NULL REFERENCES customers(id),
  address_id BIGINT REFERENCES addresses(id),
  status VARCHAR NOT NULL DEFAULT 'pending'
    CHECK (status IN ('pending', 'paid', 'shipped', 'delivered', 'cancelled')),
  ordered_at TIMESTAMP NOT NULL,
  total DECIMAL(10,2) NOT NULL,
  updated_at TIMESTAMP
);
CREATE TABLE order_items (
  order_id BIGINT NOT NULL REFERENCES orders(id),
  line_no BIGINT NOT NULL,
  product_id BIGINT NOT NULL,
  warehouse_id BIGINT NOT NULL,
  quantity BIGINT NOT NULL CHECK (quantity > 0),
  unit_price DECIMAL(10,2) NOT NULL,
  PRIMARY KEY (order_id, line_no),
  FOREIGN KEY (product_id, warehouse_id) REFERENCES inventory(product_id, warehouse_id)
);
CREATE TABLE reviews (
  id BIGINT PRIMARY KEY,
  product_id BIGINT NOT NULL REFERENCES products(id),
  customer_id BIGINT NOT NULL REFERENCES customers(id),
  rating BIGINT NOT NULL CHECK (rating BETWEEN 1 AND 5),
  body VARCHAR,
  created_at TIMESTAMP NOT NULL,
  UNIQUE (product_id, customer_id)
);
"#;

#[cfg(feature = "duckdb")]
const DUCKDB_AFTER: &str = r#"
CREATE INDEX customers_email_lower ON customers (lower(email));
CREATE INDEX customers_country ON customers (country);
CREATE INDEX orders_customer ON orders (customer_id, ordered_at);
CREATE INDEX order_items_product ON order_items (product_id);
CREATE VIEW order_totals AS
  SELECT o.id AS order_id, c.name AS customer, count(*) AS items,
         sum(i.quantity * i.unit_price) AS amount
  FROM orders o JOIN customers c ON c.id = o.customer_id JOIN order_items i ON i.order_id = o.id
  GROUP BY o.id, c.name;
COMMENT ON TABLE orders IS 'One row per checkout';
"#;

/// Writes the demo database to `path` with `engine` (SQLite or DuckDB).
///
/// The file is written under a temporary name and renamed into place when
/// complete, so an interrupted run never leaves a half-written demo.
///
/// # Error handling
///
/// [`Error::InvalidInput`] when `path` exists and `overwrite` is false;
/// [`Error::NotSupported`] for other engines or an engine not built.
pub async fn write_demo(path: &Path, engine: Engine, overwrite: bool) -> Result<DemoSummary> {
    match std::fs::metadata(path) {
        Ok(m) if !m.is_file() => {
            return Err(Error::invalid(format!(
                "`{}` is {}, not a regular file: the demo database must be a file",
                path.display(),
                qore_core::files::kind(&m)
            )));
        }
        Ok(_) if !overwrite => {
            return Err(Error::invalid(format!(
                "`{}` already exists; pick another path or pass --force to replace it",
                path.display()
            )));
        }
        _ => {}
    }
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let file_name = path
        .file_name()
        .ok_or_else(|| Error::invalid(format!("`{}` is not a file path", path.display())))?;
    let tmp = dir.join(format!(
        ".{}.qore-tmp-{}",
        file_name.to_string_lossy(),
        std::process::id()
    ));
    remove_with_companions(&tmp);
    let path_buf = path.to_path_buf();
    let (tx, rx) = tokio::sync::oneshot::channel();
    let cancel = CancelOnDrop(Arc::new(AtomicBool::new(false)));
    let flag = Arc::clone(&cancel.0);
    // Counted until the thread is done: a process that exits on a signal
    // waits for it to remove its temporary files.
    let pending = qore_core::cleanup::guard();
    // Generation and loading are synchronous and CPU-bound: keep them off the async executor.
    std::thread::Builder::new()
        .name("qore-demo".into())
        .spawn(move || {
            let _pending = pending;
            let result = build(&tmp, &path_buf, engine, &flag);
            if result.is_err() {
                remove_with_companions(&tmp);
            }
            let _ = tx.send(result);
        })
        .map_err(|e| Error::io("cannot start the demo writer thread", e))?;
    let result = rx
        .await
        .map_err(|_| Error::Internal("the demo writer thread died".into()))?;
    drop(cancel);
    result
}

/// Tells the writer thread to stop (and clean up) when the caller's future
/// is dropped before the thread is done.
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

/// Removes a database file and the files its engine keeps beside it.
fn remove_with_companions(db: &Path) {
    let _ = std::fs::remove_file(db);
    for suffix in ["-journal", "-wal", "-shm", ".wal"] {
        let mut p = db.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(std::path::PathBuf::from(p));
    }
}

fn build(tmp: &Path, path_buf: &Path, engine: Engine, cancel: &AtomicBool) -> Result<DemoSummary> {
    let tables = match engine {
        #[cfg(feature = "sqlite")]
        Engine::Sqlite => write_sqlite(tmp, cancel)?,
        #[cfg(feature = "duckdb")]
        Engine::DuckDb => write_duckdb(tmp, cancel)?,
        other => {
            let _ = cancel;
            return Err(Error::NotSupported(format!(
                "the demo database is written with SQLite or DuckDB, not {other} (or that engine is not in this build)"
            )));
        }
    };
    if cancel.load(Ordering::Acquire) {
        return Err(Error::Cancelled);
    }
    std::fs::rename(tmp, path_buf).map_err(|e| {
        Error::io(
            format!("cannot move the demo into `{}`", path_buf.display()),
            e,
        )
    })?;
    Ok(DemoSummary {
        path: path_buf.to_path_buf(),
        tables,
    })
}

/// `Err(Cancelled)` once the caller has gone away.
fn check(cancel: &AtomicBool) -> Result<()> {
    if cancel.load(Ordering::Acquire) {
        Err(Error::Cancelled)
    } else {
        Ok(())
    }
}

#[cfg(feature = "sqlite")]
fn write_sqlite(path: &Path, cancel: &AtomicBool) -> Result<Vec<(String, u64)>> {
    let map = |e: rusqlite::Error| Error::query(e.to_string(), None);
    let mut conn = rusqlite::Connection::open(path)
        .map_err(|e| Error::connect(format!("cannot create `{}`", path.display()), e))?;
    conn.pragma_update(None, "journal_mode", "DELETE")
        .map_err(map)?;
    let tx = conn.transaction().map_err(map)?;
    tx.execute_batch(SQLITE_SCHEMA).map_err(map)?;
    let mut counts = Vec::new();
    for t in generate()? {
        check(cancel)?;
        let schema = t.batch.schema();
        let cols: Vec<String> = schema
            .fields()
            .iter()
            .map(|f| format!("\"{}\"", f.name()))
            .collect();
        let marks: Vec<String> = (1..=cols.len()).map(|i| format!("?{i}")).collect();
        let sql = format!(
            "INSERT INTO \"{}\" ({}) VALUES ({})",
            t.name,
            cols.join(", "),
            marks.join(", ")
        );
        let mut stmt = tx.prepare(&sql).map_err(map)?;
        for row in 0..t.batch.num_rows() {
            let values = t
                .batch
                .columns()
                .iter()
                .map(|a| Value::from_array(a.as_ref(), row))
                .collect::<Result<Vec<_>>>()?;
            for (i, v) in values.iter().enumerate() {
                let out = match v {
                    // SQLite keeps timestamps as ISO text with a space, like datetime().
                    Value::Timestamp { .. } => {
                        rusqlite::types::Value::Text(v.to_string().replace('T', " "))
                    }
                    Value::Decimal { .. } => {
                        rusqlite::types::Value::Real(v.to_string().parse().unwrap_or(f64::NAN))
                    }
                    Value::Null => rusqlite::types::Value::Null,
                    Value::Int(x) => rusqlite::types::Value::Integer(*x),
                    Value::Bool(b) => rusqlite::types::Value::Integer(i64::from(*b)),
                    Value::Float(f) => rusqlite::types::Value::Real(*f),
                    other => rusqlite::types::Value::Text(other.to_string()),
                };
                stmt.raw_bind_parameter(i + 1, out).map_err(map)?;
            }
            stmt.raw_execute().map_err(map)?;
            if row % 4096 == 0 {
                check(cancel)?;
            }
        }
        counts.push((t.name.to_string(), t.batch.num_rows() as u64));
    }
    tx.execute_batch(SQLITE_AFTER).map_err(map)?;
    tx.commit().map_err(map)?;
    Ok(counts)
}

#[cfg(feature = "duckdb")]
fn write_duckdb(path: &Path, cancel: &AtomicBool) -> Result<Vec<(String, u64)>> {
    let map = |e: ::duckdb::Error| Error::query(e.to_string(), None);
    let mut conn = ::duckdb::Connection::open(path)
        .map_err(|e| Error::connect(format!("cannot create `{}`", path.display()), e))?;
    let tx = conn.transaction().map_err(map)?;
    tx.execute_batch(DUCKDB_SCHEMA).map_err(map)?;
    let mut counts = Vec::new();
    for t in generate()? {
        check(cancel)?;
        let rows = t.batch.num_rows() as u64;
        // DuckDB checks foreign keys against rows already appended, so a
        // self-referencing table goes in parents first.
        let split = if t.name == "categories" {
            TOP_CATEGORIES.len()
        } else {
            0
        };
        for part in [
            t.batch.slice(0, split),
            t.batch.slice(split, t.batch.num_rows() - split),
        ] {
            if part.num_rows() == 0 {
                continue;
            }
            let schema = part.schema();
            let cols: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
            let mut app = tx.appender_with_columns(t.name, &cols).map_err(map)?;
            app.append_record_batch(part).map_err(map)?;
            app.flush().map_err(map)?;
        }
        counts.push((t.name.to_string(), rows));
    }
    tx.execute_batch(DUCKDB_AFTER).map_err(map)?;
    tx.commit().map_err(map)?;
    conn.execute_batch("CHECKPOINT").map_err(map)?;
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generator_is_deterministic_and_sized() {
        let a = generate().unwrap();
        let b = generate().unwrap();
        assert_eq!(a.len(), 9);
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x.batch, y.batch, "{} differs between runs", x.name);
        }
        let items = a
            .iter()
            .find(|t| t.name == "order_items")
            .unwrap()
            .batch
            .num_rows();
        assert!((90_000..=120_000).contains(&items), "{items}");
    }
}

#!/usr/bin/env bash
# The main job: builds qore, writes the demo shop database (SQLite and
# DuckDB) into ./demo, and shows what qore sees in it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
source scripts/env.sh
cargo build -p qore-cli --locked
mkdir -p demo
run() { printf '\n$ qore %s\n' "$*"; "$QORE" "$@"; }
run demo demo/shop.db --force
run demo --duckdb demo/shop.duckdb --force
run ls --db demo/shop.db
run describe --db demo/shop.db order_items
# Maintenance: what can run on this table, and the exact SQL before it runs.
run admin ops --db demo/shop.db orders
run admin run --db demo/shop.db integrity_check orders --dry-run
run query --db demo/shop.db --max-rows 5 "SELECT * FROM orders WHERE status = 'pending' ORDER BY ordered_at DESC"
run query --db demo/shop.duckdb --format csv "SELECT c.country, count(*) AS orders, sum(o.total) AS revenue FROM orders o JOIN customers c ON c.id = o.customer_id GROUP BY 1 ORDER BY revenue DESC LIMIT 5"
# DuckDB, the embedded default, reads local files directly.
"$QORE" query --db demo/shop.db --format csv "SELECT * FROM products" > demo/products.csv
run query --max-rows 5 "SELECT name, count(*) AS n, avg(price) AS avg_price FROM 'demo/products.csv' GROUP BY name ORDER BY n DESC"
# Exports stream into any format; files appear only when complete.
run export --db demo/shop.db --table order_items -o demo/order_items.parquet
run export --db demo/shop.db --table customers -o demo/customers.html --title "Shop customers"
run export --db demo/shop.db -o demo/reviews.sql --sql-table reviews_copy --create-table "SELECT * FROM reviews WHERE rating >= 4"
run query --format csv "SELECT count(*) AS order_items, round(sum(quantity * unit_price), 2) AS revenue FROM 'demo/order_items.parquet'"
# Edits become exact SQL: recorded in a sandbox, shown as the script that
# apply would run; peek follows a foreign key.
"$QORE" sandbox discard --db demo/shop.db tour 2>/dev/null || true
run edit --db demo/shop.db orders --key id=1 --set status=shipped --sandbox tour
run sandbox script --db demo/shop.db tour
run peek --db demo/shop.db orders --key id=1 customer_id
"$QORE" sandbox discard --db demo/shop.db tour
# Data diff: the same table in SQLite and DuckDB (two engines), then a
# staging copy with two changed rows (exit 1: different).
run diff --left demo/shop.db --right demo/shop.duckdb --table orders --format summary || true
cp demo/shop.db demo/shop_staging.db
"$QORE" query --db demo/shop_staging.db "UPDATE orders SET status = 'cancelled' WHERE id IN (2, 3)" >/dev/null
run diff --left demo/shop.db --right demo/shop_staging.db --table orders || true
# ER diagrams: an interactive page and an SVG of the whole shop, Mermaid
# text of the tables one relation away from orders.
run erd --db demo/shop.db --with-rows 5 --title "Shop schema" -o demo/shop-erd.html
run erd --db demo/shop.db -o demo/shop-erd.svg
run erd --db demo/shop.db --around orders --depth 1 --columns keys --format mermaid
printf '\nOpen demo/customers.html in a browser: it sorts, filters and pages offline.\n'
printf 'Open demo/shop-erd.html: pan, zoom, search, click a table.\n'
printf 'Then try the shell: %s shell --db demo/shop.db  (Tab completes tables and columns, \\? lists commands).\n' "$QORE"

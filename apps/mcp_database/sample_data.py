"""The sample shop database the database server answers questions about.

Customers, products, orders and order lines, generated from a fixed seed and fixed dates so every
build with the same SQLite library is byte-for-byte the same (the file header records the library's
version): an image built twice carries the same file, and tests can assert exact answers. Money is
integer cents (no float rounding in sums); times are ISO 8601 UTC text.

    python -m apps.mcp_database.sample_data PATH
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import sqlite3
import sys
import tempfile
import unicodedata
from datetime import datetime, timedelta
from pathlib import Path
from typing import NamedTuple

__all__ = ["ORDER_STATUSES", "PRODUCT_CATEGORIES", "SEED", "build_sample_database", "main"]

SEED = 20240601
CUSTOMER_COUNT = 500
PRODUCT_COUNT = 120
ORDER_COUNT = 2000
SCHEMA_VERSION = 1

ORDER_STATUSES = ("pending", "paid", "shipped", "delivered", "cancelled", "refunded")
PRODUCT_CATEGORIES = ("electronics", "home", "kitchen", "outdoors", "books", "toys", "apparel", "beauty")
SEGMENTS = ("consumer", "small_business", "enterprise")

# Fixed bounds instead of "now", so the data (and the file) never depend on when it was built.
CUSTOMERS_FROM = datetime(2022, 1, 1)
ORDERS_FROM = datetime(2023, 1, 1)
ORDERS_UNTIL = datetime(2024, 12, 31, 23, 59, 59)

SCHEMA = f"""
CREATE TABLE customers (
    id          INTEGER PRIMARY KEY,
    first_name  TEXT NOT NULL CHECK (length(first_name) BETWEEN 1 AND 50),
    last_name   TEXT NOT NULL CHECK (length(last_name) BETWEEN 1 AND 50),
    email       TEXT NOT NULL UNIQUE CHECK (email LIKE '%_@_%._%'),
    country     TEXT NOT NULL CHECK (length(country) = 2 AND country = upper(country)),
    city        TEXT NOT NULL,
    segment     TEXT NOT NULL DEFAULT 'consumer' CHECK (segment IN {SEGMENTS!r}),
    created_at  TEXT NOT NULL CHECK (created_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T*Z')
);
CREATE TABLE products (
    id                INTEGER PRIMARY KEY,
    sku               TEXT NOT NULL UNIQUE,
    name              TEXT NOT NULL,
    category          TEXT NOT NULL CHECK (category IN {PRODUCT_CATEGORIES!r}),
    unit_price_cents  INTEGER NOT NULL CHECK (unit_price_cents > 0),
    weight_kg         REAL CHECK (weight_kg IS NULL OR weight_kg > 0),
    active            INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at        TEXT NOT NULL
);
CREATE TABLE orders (
    id                INTEGER PRIMARY KEY,
    customer_id       INTEGER NOT NULL REFERENCES customers (id) ON DELETE RESTRICT,
    status            TEXT NOT NULL CHECK (status IN {ORDER_STATUSES!r}),
    ordered_at        TEXT NOT NULL,
    shipped_at        TEXT CHECK (shipped_at IS NULL OR shipped_at >= ordered_at),
    shipping_country  TEXT NOT NULL CHECK (length(shipping_country) = 2),
    total_cents       INTEGER NOT NULL CHECK (total_cents >= 0)
);
CREATE TABLE order_items (
    order_id          INTEGER NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    line_no           INTEGER NOT NULL CHECK (line_no >= 1),
    product_id        INTEGER NOT NULL REFERENCES products (id) ON DELETE RESTRICT,
    quantity          INTEGER NOT NULL CHECK (quantity BETWEEN 1 AND 100),
    unit_price_cents  INTEGER NOT NULL CHECK (unit_price_cents > 0),
    PRIMARY KEY (order_id, line_no)
);
CREATE INDEX idx_customers_country ON customers (country);
CREATE INDEX idx_products_category ON products (category);
CREATE INDEX idx_orders_customer_id ON orders (customer_id);
CREATE INDEX idx_orders_status_ordered_at ON orders (status, ordered_at);
CREATE INDEX idx_orders_ordered_at ON orders (ordered_at);
CREATE INDEX idx_order_items_product_id ON order_items (product_id);
"""

FIRST_NAMES = (
    "Olivia", "Liam", "Emma", "Noah", "Amelia", "Oliver", "Sophia", "Elijah", "Isabella", "Lucas", "Mia", "Mateo",
    "Ava", "Hiroshi", "Yuki", "Aiko", "Priya", "Arjun", "Ananya", "Rohan", "Fatima", "Omar", "Layla", "Youssef",
    "Chloé", "Louis", "Léa", "Hugo", "Hannah", "Lukas", "Lena", "Felix", "Sofía", "Diego", "Lucía", "Javier",
    "Ingrid", "Erik", "Astrid", "Lars", "Chen", "Wei", "Mei", "Jun", "Ana", "João", "Beatriz", "Pedro",
    "Grace", "Jack", "Charlotte", "Thomas", "Zoe", "Daniel", "Nia", "Kwame",
)  # fmt: skip
LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Martinez", "Lopez", "Wilson",
    "Tanaka", "Suzuki", "Sato", "Sharma", "Patel", "Gupta", "Khan", "Haddad", "Mansour", "Dubois", "Moreau",
    "Lefebvre", "Müller", "Schmidt", "Schneider", "Fischer", "Fernández", "González", "Rodríguez", "Johansson",
    "Andersson", "Nilsson", "Wang", "Li", "Zhang", "Liu", "Silva", "Santos", "Oliveira", "Taylor", "Thomas",
    "Roberts", "Walker", "Wright", "Mensah", "Okafor", "O'Brien", "Murphy", "Kelly",
)  # fmt: skip
# country code -> (relative weight, cities); weights make the US the largest market, as in most shops.
COUNTRIES: dict[str, tuple[int, tuple[str, ...]]] = {
    "US": (30, ("New York", "Seattle", "Austin", "Chicago", "Denver", "Boston")),
    "GB": (10, ("London", "Manchester", "Edinburgh", "Bristol")),
    "DE": (10, ("Berlin", "Munich", "Hamburg", "Cologne")),
    "FR": (8, ("Paris", "Lyon", "Marseille", "Toulouse")),
    "CA": (8, ("Toronto", "Vancouver", "Montreal")),
    "AU": (5, ("Sydney", "Melbourne", "Brisbane")),
    "JP": (6, ("Tokyo", "Osaka", "Kyoto")),
    "IN": (6, ("Bengaluru", "Mumbai", "Delhi", "Pune")),
    "BR": (5, ("São Paulo", "Rio de Janeiro", "Belo Horizonte")),
    "ES": (4, ("Madrid", "Barcelona", "Valencia")),
    "SE": (3, ("Stockholm", "Gothenburg")),
    "NL": (3, ("Amsterdam", "Rotterdam", "Utrecht")),
    "NG": (2, ("Lagos", "Abuja")),
}
EMAIL_DOMAINS = ("example.com", "example.org", "example.net", "mail.example")
# category -> (base products, price range in cents, weight range in kg)
CATALOG: dict[str, tuple[tuple[str, ...], tuple[int, int], tuple[float, float]]] = {
    "electronics": (
        ("Wireless Earbuds", "USB-C Hub", "Bluetooth Speaker", "Smart Plug", "Webcam"),
        (1500, 24900),
        (0.05, 1.5),
    ),
    "home": (("Desk Lamp", "Throw Blanket", "Wall Clock", "Storage Basket", "Scented Candle"), (900, 8900), (0.2, 3.0)),
    "kitchen": (
        ("Chef's Knife", "Cast Iron Skillet", "French Press", "Cutting Board", "Spice Grinder"),
        (1200, 12900),
        (0.3, 4.0),
    ),
    "outdoors": (
        ("Trail Backpack", "Camping Lantern", "Water Bottle", "Hammock", "Trekking Poles"),
        (1500, 19900),
        (0.3, 2.5),
    ),
    "books": (
        ("SQL Cookbook", "Data Atlas", "Field Guide to Birds", "Mystery Novel", "Cloud Patterns"),
        (800, 5900),
        (0.2, 1.2),
    ),
    "toys": (("Building Blocks", "Puzzle 1000pc", "Plush Fox", "Kite", "Board Game"), (700, 6900), (0.1, 2.0)),
    "apparel": (
        ("Rain Jacket", "Wool Socks", "Running Cap", "Denim Shirt", "Fleece Hoodie"),
        (1200, 14900),
        (0.05, 1.0),
    ),
    "beauty": (
        ("Face Serum", "Hand Cream", "Lip Balm Set", "Shampoo Bar", "Sunscreen SPF50"),
        (500, 6900),
        (0.05, 0.5),
    ),
}
VARIANTS = ("Classic", "Pro", "Mini", "Plus", "Eco", "Max")


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _moment_between(rng: random.Random, start: datetime, end: datetime) -> datetime:
    return start + timedelta(seconds=rng.randrange(int((end - start).total_seconds())))


class Customer(NamedTuple):
    id: int
    first_name: str
    last_name: str
    email: str
    country: str
    city: str
    segment: str
    created_at: datetime


class Product(NamedTuple):
    id: int
    sku: str
    name: str
    category: str
    unit_price_cents: int
    weight_kg: float | None
    active: int
    created_at: datetime


def _customers(rng: random.Random) -> list[Customer]:
    countries = list(COUNTRIES)
    weights = [COUNTRIES[code][0] for code in countries]
    customers: list[Customer] = []
    for customer_id in range(1, CUSTOMER_COUNT + 1):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        country = rng.choices(countries, weights)[0]
        # Mailbox names are plain ASCII, as most shops still require: "Müller" becomes "muller".
        local = unicodedata.normalize("NFKD", f"{first}.{last}".lower()).encode("ascii", "ignore").decode()
        local = local.replace("'", "")
        # The id suffix keeps emails unique without retry loops that would make the data order-sensitive.
        email = f"{local}{customer_id}@{rng.choice(EMAIL_DOMAINS)}"
        city = rng.choice(COUNTRIES[country][1])
        segment = rng.choices(SEGMENTS, (80, 15, 5))[0]
        created = _moment_between(rng, CUSTOMERS_FROM, ORDERS_UNTIL - timedelta(days=30))
        customers.append(Customer(customer_id, first, last, email, country, city, segment, created))
    return customers


def _products(rng: random.Random) -> list[Product]:
    bases = [(category, base) for category, (names, _, _) in CATALOG.items() for base in names]
    products: list[Product] = []
    for index in range(PRODUCT_COUNT):
        category, base = bases[index % len(bases)]
        variant = VARIANTS[index // len(bases) % len(VARIANTS)]
        _, (low, high), (light, heavy) = CATALOG[category]
        price = rng.randrange(low, high, 100) - 1  # x.99 pricing
        weight = round(rng.uniform(light, heavy), 2) if rng.random() > 0.05 else None
        active = 0 if rng.random() < 0.08 else 1
        created = _moment_between(rng, CUSTOMERS_FROM - timedelta(days=365), ORDERS_FROM)
        sku = f"{category[:3].upper()}-{index + 1:04d}"
        products.append(Product(index + 1, sku, f"{base} {variant}", category, price, weight, active, created))
    return products


def _status(rng: random.Random, ordered: datetime) -> str:
    # Recent orders are still moving through the pipeline; old ones have mostly been delivered.
    age_days = (ORDERS_UNTIL - ordered).days
    if age_days < 7:
        return rng.choices(ORDER_STATUSES, (40, 35, 20, 0, 5, 0))[0]
    if age_days < 30:
        return rng.choices(ORDER_STATUSES, (2, 8, 40, 40, 6, 4))[0]
    return rng.choices(ORDER_STATUSES, (0, 0, 1, 87, 7, 5))[0]


Row = tuple[str | int | float | None, ...]


def _orders(rng: random.Random, customers: list[Customer], products: list[Product]) -> tuple[list[Row], list[Row]]:
    active_products = [product for product in products if product.active]
    # A few loyal customers place many orders, as in real shops (a skewed, not uniform, distribution).
    customer_weights = [rng.paretovariate(2.5) for _ in customers]
    drafts: list[tuple[datetime, Customer]] = []
    for _ in range(ORDER_COUNT):
        customer = rng.choices(customers, customer_weights)[0]
        drafts.append((_moment_between(rng, max(customer.created_at, ORDERS_FROM), ORDERS_UNTIL), customer))
    drafts.sort(key=lambda draft: (draft[0], draft[1].id))  # ids ascend with time, like an autoincrement
    orders: list[Row] = []
    items: list[Row] = []
    for order_id, (ordered, customer) in enumerate(drafts, start=1):
        status = _status(rng, ordered)
        shipped = None
        if status in ("shipped", "delivered", "refunded"):
            shipped = _iso(min(ordered + timedelta(hours=rng.randint(4, 96)), ORDERS_UNTIL))
        country = customer.country if rng.random() > 0.03 else rng.choice(list(COUNTRIES))
        line_count = rng.choices((1, 2, 3, 4, 5, 6), (18, 22, 22, 18, 12, 8))[0]
        total = 0
        for line_no, product in enumerate(rng.sample(active_products, line_count), start=1):
            quantity = rng.choices((1, 2, 3, 4, 5, 10), (60, 20, 9, 5, 4, 2))[0]
            items.append((order_id, line_no, product.id, quantity, product.unit_price_cents))
            total += quantity * product.unit_price_cents
        orders.append((order_id, customer.id, status, _iso(ordered), shipped, country, total))
    return orders, items


def _populate(conn: sqlite3.Connection) -> None:
    rng = random.Random(SEED)
    customers = _customers(rng)
    products = _products(rng)
    orders, items = _orders(rng, customers, products)
    conn.executescript(SCHEMA)
    conn.execute("BEGIN")  # one transaction: autocommit would sync once per row
    conn.executemany(
        "INSERT INTO customers VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [(*customer[:7], _iso(customer.created_at)) for customer in customers],
    )
    conn.executemany(
        "INSERT INTO products VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [(*product[:7], _iso(product.created_at)) for product in products],
    )
    conn.executemany("INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?, ?)", orders)
    conn.executemany("INSERT INTO order_items VALUES (?, ?, ?, ?, ?)", items)
    conn.execute("COMMIT")
    conn.execute("ANALYZE")  # planner statistics for the indexes; deterministic for identical data
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    problems = conn.execute("PRAGMA foreign_key_check").fetchall()
    if problems:
        raise RuntimeError(f"sample data breaks its own foreign keys: {problems[:5]}")


def build_sample_database(path: Path) -> None:
    """Write the sample database to ``path``, replacing any file there only once the new one is complete."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    temp = Path(temp_name)
    try:
        conn = sqlite3.connect(temp, isolation_level=None)
        try:
            # DELETE journal (not WAL) so the finished database is this one file, openable read-only.
            conn.execute("PRAGMA journal_mode = DELETE")
            conn.execute("PRAGMA foreign_keys = ON")
            _populate(conn)
            conn.execute("VACUUM")  # a compact file whose layout depends only on the data
        finally:
            conn.close()
        # mkstemp creates 0600; an image builds this as root and serves it as another user, who must read it.
        temp.chmod(0o644)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()  # close() above rolled back and removed any -journal
        raise


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m apps.mcp_database.sample_data", description="Build the sample SQLite database."
    )
    parser.add_argument("path", type=Path, help="where to write the database file (replaced if present)")
    args = parser.parse_args(argv)
    build_sample_database(args.path)
    conn = sqlite3.connect(f"{args.path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        counts = {
            table: conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
            for table in ("customers", "products", "orders", "order_items")
        }
    finally:
        conn.close()
    summary = ", ".join(f"{count} {table}" for table, count in counts.items())
    sys.stdout.write(f"wrote {args.path}: {summary}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

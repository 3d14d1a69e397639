"""Hostile inputs shared by the unit tests and the over-HTTP reliability suite, so both test one corpus.

``ssrf_locations(host, port)`` aims each trick at a given listener, so a test can run a canary there and
prove nothing reached it. ``SQL_BYPASSES`` pairs each way around a read-only SQL tool with the start of
the refusal the database server must answer. ``doubling_reference`` and ``wide_reference`` are workflow
references whose work explodes: one refused at validation, one stopped only by the run-time bound.
"""

from __future__ import annotations

SSRF_CORPUS = [
    "http://169.254.169.254/latest/meta-data/",
    "169.254.169.254",
    "169.254.169.254/latest",
    "::ffff:169.254.169.254",
    "[fd00:ec2::254]",
    "fd00:ec2::254",
    "https://evil.example",
    "//evil.example",
    "@evil.example",
    "London@evil.example",
    "user:pass@evil.example",
    "evil.example:80",
    "localhost:8080",
    "%2F%2Fevil.example",
    "%40evil.example",
    "London%2F..%2Fadmin",
    "London/../../admin",
    "..",
    ".",
    "~Eiffel Tower",
    "London?format=3",
    "London#frag",
    "a\\b",
    "London\r\nHost: evil.example",
    "Lon\x00don",
    "",
    "   ",
    "x" * 101,
]
"""Locations the weather tool must refuse before it sends anything."""

LOOKALIKES = [
    "2852039166",  # 169.254.169.254 as one decimal number
    "0xa9fea9fe",
    "0251.0376.0251.0376",
    "169.254.169.254.nip.io",
    "metadata.google.internal",
]
"""Addresses spelled as place names (digits, letters and dots are valid in one): they may be looked up, but
only as one path segment on the configured weather host, so they can never steer the request elsewhere."""


def ssrf_locations(host: str, port: int) -> list[str]:
    """The same tricks aimed at ``host:port``, with its decimal, hex, octal and IPv6 spellings for loopback."""
    return [
        f"http://{host}:{port}/",
        f"{host}:{port}",
        f"//{host}:{port}",
        f"London@{host}:{port}",
        f"http://London@{host}:{port}",
        f"[::1]:{port}",
        f"[::ffff:127.0.0.1]:{port}",
        f"http://2130706433:{port}/",
        f"http://0x7f000001:{port}/",
        f"http://0177.0.0.1:{port}/",
        f"http://127.1:{port}/",
        f"http%3A%2F%2F{host}%3A{port}%2F",
        f"London%2F%2F{host}%3A{port}",
        f"\u202e{host}:{port}",
        f"{host}\u3002{port}",  # an ideographic full stop, which IDNA would turn into a dot
    ]


RUNAWAY_CTE = "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT max(n) FROM r"
SQL_BYPASSES: list[tuple[str, str]] = [
    ("ATTACH DATABASE '/tmp/reliability-attach.db' AS other", "Refused: ATTACH"),
    ("ATTACH 'file:/tmp/reliability-attach.db?mode=rwc' AS other", "Refused: ATTACH"),
    ("PRAGMA query_only = OFF", "Refused: PRAGMA query_only"),
    ("PRAGMA writable_schema = 1", "Refused: PRAGMA writable_schema"),
    ("PRAGMA journal_mode = WAL", "Refused: PRAGMA journal_mode"),
    ("PRAGMA main.user_version = 7", "Refused: PRAGMA user_version"),
    ("SELECT load_extension('/tmp/evil.so')", "Refused: function load_extension"),
    ("SELECT 1; DELETE FROM orders", "Only one SQL statement per call is allowed"),
    ("SELECT 1; ATTACH 'x.db' AS x", "Only one SQL statement per call is allowed"),
    ("PRAGMA query_only = 0; DELETE FROM orders", "Refused: PRAGMA query_only"),
    ("DELETE FROM orders", "Refused: DELETE from orders"),
    ("WITH x AS (SELECT 1) INSERT INTO customers (first_name) SELECT 'eve' FROM x", "Refused: INSERT into customers"),
    ("VACUUM INTO '/tmp/reliability-vacuum.db'", "Refused: ATTACH or VACUUM INTO"),
    ("CREATE TEMP TABLE scratch (a)", "Refused: "),
    ("DROP TABLE order_items", "Refused: "),
    ("BEGIN IMMEDIATE", "Refused: transaction control BEGIN"),
    (RUNAWAY_CTE, "The query timed out after"),
    (
        "SELECT replace(hex(zeroblob(45000)), '0', 'a') LIKE '%' || replace(hex(zeroblob(250)), '0', 'a') || 'b'",
        "A LIKE or GLOB pattern is longer than 100 bytes",
    ),
    ("SELECT hex(randomblob(600000))", "A string or blob exceeded the 100,000-byte limit"),
    ("SELECT printf('%.*c', 2000000000, 'x')", "Refused: function printf"),
]
"""(statement, start of the refusal): each must be refused and leave the database file as it was."""


def doubling_reference(levels: int, source: str = "steps.q.result.rows") -> str:
    """A workflow reference that doubles its work per level (``.[@,@][]``): about 200 characters at 23 levels,
    eight million elements per row it reads. Refused at validation above six levels (``bounds.MAX_GROWTH``)."""
    return f"length({source}[]" + ".[@,@][]" * levels + ")"


def wide_reference(source: str = "inputs.rows") -> str:
    """A reference within the static bound (it multiplies what it reads 64 times) that is heavy only because its
    input is wide: 100,000 elements in make it build 6.4 million. Only a run-time bound stops it."""
    eight = "[" + ",".join(["@"] * 8) + "]"
    return f"length({source}[].{eight}[].{eight}[])"


def nested_json(depth: int, leaf: str = "0") -> str:
    """JSON text nesting arrays and objects ``depth`` levels deep, written as text (``json.dumps`` would recurse)."""
    opening, closing = '[{"d":' * (depth // 2) + "[" * (depth % 2), "]" * (depth % 2) + "}]" * (depth // 2)
    return opening + leaf + closing


DEEP_JSON_DEPTHS = [65, 1_000, 5_000, 100_000]
"""Just past the agent core's limit (64), around Python's recursion limit, and far past it."""

HOSTILE_EVENT_IDS = [
    "99999999999999999999999999",  # overflowed SQLite's integer and dropped the connection
    "1000000000000000000",  # one past the largest accepted
    "-1",
    "1e3",
    "0x10",
    "1_000",  # int() takes it
    "١٢",  # so does this (Arabic-Indic digits)
    "12abc",
    "9" * 5000,  # past int()'s 4,300-digit limit
]
"""``Last-Event-ID`` / ``?after=`` values that are not an event number the store can hold: each a 400."""

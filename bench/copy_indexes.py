"""What the transaction table's indexes cost a raw COPY: the ceiling of any ingest ratio.

``bench/ingest.py`` compares the ingest with a raw ``COPY`` into a bare table (no index,
no identity). The rows the ingest writes must also go into the transaction table's
indexes (primary key, the unique (user, account, external id), the date index, the
partial pending and crowd-seller indexes). This script COPYs the same 100,000 rows
(``bench/ingest.py``'s records for the same ``--seed``, with the seller key and category
source the categoriser gives them without user data, so the partial crowd index holds
about the rows it would)
into two fresh tables, alternately, ``--repeat`` times:

- ``bare``: the columns only (``CREATE TABLE … AS SELECT … WITH NO DATA``), as the ingest
  bench's baseline;
- ``indexed``: ``CREATE TABLE … (LIKE transactions_transaction INCLUDING ALL)``: the same
  indexes, identity and defaults as the real table.

The COPY text is built before the clock; the server is checkpointed before each COPY;
the clock covers the COPY and its commit. ``indexed_share`` = median bare seconds over
median indexed seconds: an ingest that did nothing but this COPY would reach that share
of the bare COPY, and no more.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mint_bench \\
        .venv/bin/python bench/copy_indexes.py --json
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import ingest as bench  # bench/ingest.py: the plan, the COPY text, the set-up

TABLE = "bench_copy_indexes"


def copy_text(plan) -> tuple[str, str]:
    """(column list, COPY text) of the plan's rows with categorised seller keys."""
    from categories.engine import categorizer

    user_ids = [1_000_000 + u for u in range(plan.users)]
    account_ids = {a.external_id: str(2_000_000 + i)
                   for i, a in enumerate(a for accounts, _, _ in plan.statements for a in accounts)}
    engine = categorizer()
    records = [r for _, transactions, _ in plan.statements for r in transactions]
    lines = bench.copy_rows_text(plan, user_ids, account_ids).getvalue().splitlines()
    out = []
    category_source = bench._COPY_COLUMNS.index("category_source")
    for record, line in zip(records, lines, strict=True):
        _seller, key, _path, source = engine.classify(record.description,
                                                      1 if record.amount > 0 else -1)
        if record.source_category:  # a category the provider names comes first
            source = "import"
        cells = line.split("\t")
        cells[category_source] = source
        out.append("\t".join((*cells, bench._copy_escape(key))))
    return ", ".join((*bench._COPY_COLUMNS, "seller_key")), "\n".join(out) + "\n"


def copy_once(ddl: str, columns: str, text: str) -> float:
    from django.db import connection, transaction

    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {TABLE}")
        cursor.execute(ddl)
    bench.settle()
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.cursor.copy_expert(f"COPY {TABLE} ({columns}) FROM STDIN", io.StringIO(text))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=20250630)
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as var_dir:
        bench.setup_django(var_dir)
        from django.db import connection

        from transactions.models import Transaction

        real = Transaction._meta.db_table
        plan = bench.build_plan(rows=args.rows, users=50, connections=100, accounts=200,
                                seed=args.seed)
        columns, text = copy_text(plan)
        ddl = {
            "bare": f"CREATE TABLE {TABLE} AS SELECT * FROM {real} WITH NO DATA",
            "indexed": f"CREATE TABLE {TABLE} (LIKE {real} INCLUDING ALL)",
        }
        seconds: dict[str, list[float]] = {"bare": [], "indexed": []}
        try:
            for rep in range(args.repeat):
                for kind in ("bare", "indexed"):
                    seconds[kind].append(copy_once(ddl[kind], columns, text))
                bench.log(f"  repeat {rep + 1}/{args.repeat}: bare {seconds['bare'][-1]:.3f} s, "
                          f"indexed {seconds['indexed'][-1]:.3f} s")
        finally:
            with connection.cursor() as cursor:
                cursor.execute(f"DROP TABLE IF EXISTS {TABLE}")
    rows = plan.rows
    bare, indexed = statistics.median(seconds["bare"]), statistics.median(seconds["indexed"])
    result = {
        "rows": rows, "repeat": args.repeat,
        "bare_rows_per_s": round(rows / bare), "indexed_rows_per_s": round(rows / indexed),
        "indexed_share": round(bare / indexed, 4),
        "bare_s": [round(s, 4) for s in seconds["bare"]],
        "indexed_s": [round(s, 4) for s in seconds["indexed"]],
    }
    print(f"COPY into a bare table      {result['bare_rows_per_s']:>10,} rows/s")
    print(f"COPY into an indexed clone  {result['indexed_rows_per_s']:>10,} rows/s  "
          f"({result['indexed_share']:.1%} of bare: the ceiling of ingest / raw COPY)")
    if args.json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()

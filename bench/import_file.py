"""File import benchmark: a bank CSV of ``--rows`` (50,000) rows through the import
service, end to end, on the database of ``make run`` (embedded SQLite in a fresh folder;
``DATABASE_URL=postgres://…`` for PostgreSQL), as the worker runs a queued import:

1. ``import_create``: the upload read and checked (a malformed file is refused before
   anything is stored), its raw dump stored, the job queued;
2. ``import_execute``: the file read again from the dump, categorised, de-duplicated and
   written with its monthly spending, in one transaction;
3. the same file again (adds 0 rows).

Baseline, in the same run: the same rows (as the import writes them) inserted into a bare
table of the same columns, one prepared INSERT run for each row in one transaction
(SQLite's ``executemany``; PostgreSQL: ``COPY``). ``ratio`` = baseline seconds / import
seconds. Median of ``--repeat`` (3), a new user each time.

    .venv/bin/python bench/import_file.py [--json]                    # embedded SQLite
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mint_bench .venv/bin/python bench/import_file.py
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHOPS = ["POS PURCHASE {n} STARBUCKS #{m} SEATTLE WA", "SQ *BLUE BOTTLE {m} OAKLAND CA",
         "WHOLEFDS MKT {m} PALO ALTO CA", "AMZN Mktp US*{n} Amzn.com/bill WA",
         "SHELL OIL {n} AUSTIN TX", "CHECKCARD {n} LOCAL SHOP {m} CITY ST",
         "TST* CORNER CAFE {m}", "ACH DEBIT COMCAST {n}"]


def setup_django(var_dir: str) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mint.settings")
    os.environ.setdefault("DEBUG", "true")
    os.environ["MINT_VAR_DIR"] = var_dir
    import django

    django.setup()
    import logging

    from django.conf import settings
    from django.core.management import call_command

    settings.DEBUG = False  # no query log growing in memory
    call_command("migrate", verbosity=0)
    from mint.celery import app

    app.conf.task_always_eager = True  # the budget check the import queues, run here
    logging.disable(logging.WARNING)


def csv_file(rows: int, seed: int) -> bytes:
    rng = random.Random(seed)
    lines = ["Date,Description,Amount"]
    for _ in range(rows):
        text = rng.choice(SHOPS).format(n=rng.randint(100000, 999999), m=rng.randint(1, 9999))
        lines.append(f"{rng.randint(1, 12):02d}/{rng.randint(1, 28):02d}/2025,{text},"
                     f"-{rng.randint(100, 99999) / 100:.2f}")
    return ("\n".join(lines) + "\n").encode()


def baseline(user_id: int) -> float:
    """Seconds to insert the rows the import wrote (read back, as stored) into a bare
    table of the same columns."""
    from django.db import connection, transaction

    from transactions.models import Transaction

    columns = ["user_id", "account_id", "external_id", "posted_on", "amount", "currency",
               "description", "memo", "seller", "seller_key", "category_id",
               "category_source", "pending", "dump_id", "created_at", "updated_at"]
    table = Transaction._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_import_bare")
        cursor.execute(f"CREATE TABLE bench_import_bare AS SELECT {', '.join(columns)} "
                       f"FROM {table} WHERE 1 = 0")
        cursor.execute(f"SELECT {', '.join(columns)} FROM {table} WHERE user_id = %s",
                       [user_id])
        rows = cursor.fetchall()
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            text = "".join("\t".join("\\N" if v is None else str(v).replace("\t", " ")
                                     for v in row) + "\n" for row in rows)
            cursor.cursor.copy_expert(f"COPY bench_import_bare ({', '.join(columns)}) FROM STDIN",
                                      io.StringIO(text))
        else:
            marks = ", ".join(["%s"] * len(columns))
            cursor.executemany(f"INSERT INTO bench_import_bare VALUES ({marks})", rows)
    seconds = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_import_bare")
    return seconds


def one(rows: int, seed: int) -> dict:
    from accounts.models import User
    from transactions.models import Transaction
    from transactions.services.imports import import_create, import_execute

    data = csv_file(rows, seed)
    user = User.objects.create_user(email=f"bench-import-{seed}-{time.time_ns()}@example.com",
                                    password=None)
    from django.conf import settings

    settings.IMPORT_INLINE_MAX_ROWS = 0  # queued, as a file this size is
    from transactions import tasks

    tasks.import_file.delay = lambda job_id: None  # the worker's part is run below
    t0 = time.perf_counter()
    job = import_create(user=user, data=data, filename="bank.csv",
                        options={"account_name": "Bench"})
    t1 = time.perf_counter()
    import_execute(job_id=job.pk)
    t2 = time.perf_counter()
    job.refresh_from_db()
    again = import_create(user=user, data=data, filename="bank.csv",
                          options={"account_name": "Bench"})
    import_execute(job_id=again.pk)
    t3 = time.perf_counter()
    again.refresh_from_db()
    stored = Transaction.objects.filter(user=user).count()
    return {"create_s": t1 - t0, "execute_s": t2 - t1, "import_s": t2 - t0,
            "again_s": t3 - t2, "created": job.created, "again_created": again.created,
            "stored": stored, "baseline_s": baseline(user.pk)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="mint-bench-import-") as var_dir:
        setup_django(var_dir)
        from django.db import connection

        runs = []
        for i in range(args.repeat):
            run = one(args.rows, seed=1000 + i)
            runs.append(run)
            print(f"  repeat {i + 1}/{args.repeat}: upload {run['create_s']:.2f} s, worker "
                  f"{run['execute_s']:.2f} s ({args.rows / run['import_s']:,.0f} rows/s in all), "
                  f"again {run['again_s']:.2f} s ({run['again_created']} added); bare insert "
                  f"{run['baseline_s']:.2f} s", file=sys.stderr)
        import_s = statistics.median(r["import_s"] for r in runs)
        result = {
            "database": connection.vendor, "rows": args.rows, "repeat": args.repeat,
            "import_rows_per_s": round(args.rows / import_s),
            "upload_s": round(statistics.median(r["create_s"] for r in runs), 3),
            "worker_s": round(statistics.median(r["execute_s"] for r in runs), 3),
            "again_s": round(statistics.median(r["again_s"] for r in runs), 3),
            "again_created": max(r["again_created"] for r in runs),
            "created": min(r["created"] for r in runs),
            "baseline_rows_per_s": round(
                args.rows / statistics.median(r["baseline_s"] for r in runs)),
            "ratio": round(statistics.median(r["baseline_s"] / r["import_s"] for r in runs), 4),
        }
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{result['database']}: {args.rows:,} rows imported at "
              f"{result['import_rows_per_s']:,} rows/s (upload {result['upload_s']} s, worker "
              f"{result['worker_s']} s); again {result['again_s']} s, "
              f"{result['again_created']} added; bare insert of the same rows "
              f"{result['baseline_rows_per_s']:,} rows/s; ratio {result['ratio']:.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

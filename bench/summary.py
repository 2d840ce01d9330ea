"""Summary benchmark (issue #4): summary and trends latency, queries, and what keeping
monthly spending costs an ingest.

    createdb -h 127.0.0.1 -U postgres mint_bench        # once
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mint_bench \\
        REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python bench/summary.py [--json]

Data (built once and kept between runs; ``--rebuild`` starts over): one user with
``--years`` (10) years at ``--per-month`` (300) transactions a month, among ``--others``
(1,000) other users with 12 months at 30 a month, all written through
``transactions_ingest`` (so monthly spending is kept as in production).

1. **Latency**, server side: ``GET /api/v1/summary/?month=…`` and ``GET /api/v1/trends/?months=12``
   run through the DRF view in-process (authentication forced, no HTTP), ``--samples``
   (200) times each; *cold* invalidates the user's cached summaries before each request
   (the cache is Redis when ``REDIS_URL`` is set, else local memory), *warm* does not.
   Median and 95th percentile, and the SQL queries per request.
2. **Aggregate cost**: ``--ingest-rows`` (50,000) rows for fresh users through
   ``transactions_ingest``, with monthly spending kept (production) and without (the
   bench-only switch ``transactions.services.ingest._KEEP_SPENDING``), alternating,
   median of ``--repeat`` (3); the cost is 1 − with/without. The budget check an ingest
   queues is not run (it belongs to the budgets queue's workers); the cache invalidation
   after the commit is.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PREFIX = "bench-summary"
DESCRIPTIONS = [
    ("POS PURCHASE 1234 STARBUCKS #12345 SEATTLE WA", 5, 8),
    ("WHOLEFDS MKT 10234 PALO ALTO CA", 40, 160),
    ("SHELL OIL 12345 AUSTIN TX", 30, 70),
    ("AMZN Mktp US*2K4L02 Amzn.com/bill WA", 10, 120),
    ("NETFLIX.COM 866-579-7172 CA", 15, 16),
    ("COMCAST CABLE 800-266-2278", 80, 120),
    ("SQ *BLUE BOTTLE COFFEE Oakland CA", 4, 7),
    ("CHIPOTLE 1234 AUSTIN TX", 9, 15),
    ("TARGET T-1234 AUSTIN TX", 15, 90),
    ("CVS/PHARMACY #4412", 5, 40),
    ("UBER *TRIP HELP.UBER.COM CA", 8, 35),
    ("RENT PAYMENT OAK APARTMENTS", 1500, 1500),
]


def setup_django(var_dir: str) -> None:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("bench/summary.py needs DATABASE_URL=postgres://… (a dedicated database, "
                 "e.g. createdb -h 127.0.0.1 -U postgres mint_bench)")
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mint.settings")
    os.environ.setdefault("DEBUG", "true")  # a missing bucket falls back to a folder
    os.environ["MINT_VAR_DIR"] = var_dir
    os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "false")
    import django

    django.setup()
    from django.conf import settings

    settings.DEBUG = False  # no query log growing in memory
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    # Budget checks and cache invalidations run after commit; the bench has no worker.
    from mint.celery import app

    app.conf.task_always_eager = True
    import logging

    logging.disable(logging.WARNING)  # eager tasks log every run; emails go to the console
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def month_add(day: date, n: int) -> date:
    index = day.year * 12 + day.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def records_for(rng: random.Random, months: int, per_month: int, last: date, prefix: str):
    from accounts.providers import TransactionRecord

    out = []
    first = month_add(last, -(months - 1))
    for m in range(months):
        month = month_add(first, m)
        out.append(TransactionRecord(account_external_id="chk", external_id=f"{prefix}p{m}",
                                     posted_on=month, amount=Decimal("5200.00"),
                                     description="ACME CORP PAYROLL"))
        for i in range(per_month - 1):
            desc, low, high = DESCRIPTIONS[rng.randrange(len(DESCRIPTIONS))]
            cents = rng.randint(low * 100, high * 100)
            out.append(TransactionRecord(
                account_external_id="chk", external_id=f"{prefix}{m}-{i}",
                posted_on=month.replace(day=1 + i % 28), amount=Decimal(-cents) / 100,
                description=desc))
    return out


def make_user(email: str):
    from accounts.models import Connection, User

    user = User.objects.create_user(email=email, password=None)
    connection = Connection.objects.create(user=user, provider="sandbox", url="sandbox://demo",
                                           institution="Bench bank", secret="")
    return user, connection


def ingest(user, connection, records, batch: int = 20_000) -> None:
    from tests.factories import ingest_statement

    for start in range(0, len(records), batch):
        ingest_statement(user, connection, records[start:start + batch])


def build(args) -> None:
    from accounts.models import User

    if args.rebuild:
        User.objects.filter(email__startswith=PREFIX).delete()
    if User.objects.filter(email=f"{PREFIX}-target@example.com").exists():
        return
    rng = random.Random(7)
    last = date(2026, 11, 1)
    t = time.perf_counter()
    user, connection = make_user(f"{PREFIX}-target@example.com")
    ingest(user, connection, records_for(rng, args.years * 12, args.per_month, last, "t"))
    for n in range(args.others):
        other, conn = make_user(f"{PREFIX}-other{n}@example.com")
        ingest(other, conn, records_for(rng, 12, 30, last, f"o{n}-"))
    print(f"built the data in {time.perf_counter() - t:.0f} s", file=sys.stderr)


def latency(args) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from rest_framework.test import APIRequestFactory, force_authenticate

    from accounts.models import User
    from budgets.api.views import SummaryView, TrendsView
    from budgets.cache import summary_invalidate

    user = User.objects.get(email=f"{PREFIX}-target@example.com")
    factory = APIRequestFactory()
    views = {"summary": (SummaryView.as_view(), "/api/v1/summary/?month=2026-11"),
             "trends": (TrendsView.as_view(), "/api/v1/trends/?months=12&month=2026-11")}
    out = {}
    for name, (view, url) in views.items():
        for mode in ("cold", "warm"):
            times, queries = [], []
            for _ in range(args.samples):
                if mode == "cold":
                    summary_invalidate(user.id)
                request = factory.get(url)
                force_authenticate(request, user=user)
                with CaptureQueriesContext(connection) as captured:
                    start = time.perf_counter()
                    response = view(request)
                    elapsed = time.perf_counter() - start
                assert response.status_code == 200, response.data
                assert response["X-Cache"] == ("miss" if mode == "cold" else "hit")
                times.append(elapsed * 1000)
                queries.append(len(captured))
            times.sort()
            out[f"{name}_{mode}"] = {
                "median_ms": round(statistics.median(times), 2),
                "p95_ms": round(times[int(len(times) * 0.95) - 1], 2),
                "queries": statistics.median(queries),
            }
    return out


def aggregate_cost(args) -> dict:
    from accounts.models import User
    from budgets import tasks as budget_tasks
    from transactions.services import ingest as ingest_module

    # The budget check the ingest queues runs in a worker of the budgets queue, not in the
    # ingest: queue nothing here (the cache invalidation after commit stays in).
    budget_tasks.check_budgets.delay = lambda *a, **k: None
    rng = random.Random(11)
    runs = {"with": [], "without": []}
    for r in range(args.repeat):
        for mode in (("with", "without") if r % 2 == 0 else ("without", "with")):
            ingest_module._KEEP_SPENDING = mode == "with"
            users = [make_user(f"{PREFIX}-ingest-{mode}-{r}-{n}@example.com") for n in range(10)]
            statements = [records_for(rng, 12, args.ingest_rows // 120, date(2026, 11, 1),
                                      f"i{n}-") for n in range(10)]
            start = time.perf_counter()
            for (user, connection), records in zip(users, statements, strict=True):
                ingest(user, connection, records)
            elapsed = time.perf_counter() - start
            rows = sum(len(s) for s in statements)
            runs[mode].append(rows / elapsed)
            User.objects.filter(email__startswith=f"{PREFIX}-ingest-").delete()
    ingest_module._KEEP_SPENDING = True
    with_ = statistics.median(runs["with"])
    without = statistics.median(runs["without"])
    return {"rows_per_s_with_spending": round(with_), "rows_per_s_without": round(without),
            "cost": round(1 - with_ / without, 4), "rows": args.ingest_rows,
            "repeat": args.repeat}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--years", type=int, default=10)
    ap.add_argument("--per-month", type=int, default=300)
    ap.add_argument("--others", type=int, default=1000)
    ap.add_argument("--samples", type=int, default=200)
    ap.add_argument("--ingest-rows", type=int, default=50_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--rebuild", action="store_true")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as var_dir:
        setup_django(var_dir)
        from django.conf import settings

        build(args)
        report = {
            "cache": settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1],
            "latency": latency(args),
            "aggregate": aggregate_cost(args),
        }
    if args.json:
        print(json.dumps(report))
        return
    print(f"cache: {report['cache']}")
    for name, figures in report["latency"].items():
        print(f"{name:14} median {figures['median_ms']:7.2f} ms   p95 {figures['p95_ms']:7.2f} ms"
              f"   {figures['queries']:.0f} queries")
    a = report["aggregate"]
    print(f"ingest with monthly spending {a['rows_per_s_with_spending']:,} rows/s, without "
          f"{a['rows_per_s_without']:,} rows/s: the aggregate costs {a['cost']:.1%}")


if __name__ == "__main__":
    main()

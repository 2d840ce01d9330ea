"""Ingest throughput benchmark: parsed provider records → Transaction rows in PostgreSQL.

What one run measures (each timed measurement ``--repeat`` times, median reported):

1. **ingest** — ``--rows`` synthetic transactions (messy bank descriptions, pending rows,
   source categories; ``--accounts`` accounts over ``--users`` users and
   ``--connections`` connections; deterministic for a ``--seed``) go through the refresh
   pipeline's write path, one statement per connection, exactly as
   ``transactions.services.refresh.refresh_execute`` does it: the raw payload goes to the
   object store (``raw_dump_store``), then inside ``transaction.atomic()`` the connection
   is locked, ``transactions_ingest`` normalises, categorises, de-duplicates and upserts
   the rows, and the connection's cursor is saved (the RefreshRun bookkeeping is left
   out). The TransactionRecord objects and the raw payloads (JSON, as the sandbox
   provider answers) are built before the clock starts; the dump writes are timed.
2. **raw COPY** — the same rows written with one ``COPY … FROM STDIN`` into a bare table
   with the same columns and no index or constraint: the physical limit. The COPY text is
   built before the clock starts; the clock covers the COPY and the commit.
   ``copy_from_records_rows_per_s`` also counts turning the records into COPY text.
3. **re-ingest** — the same statements again (new raw dumps, as a refresh that fetches an
   overlapping window): must add 0 rows.
   **into existing accounts** — the same rows for other bench users whose accounts were
   created beforehand (outside the clock), so that the ingest takes the path of every
   refresh after the first (stored rows looked up, pending twins, accounts checked)
   instead of a first link's straight COPY (``existing_rows_per_s``, ``existing_ratio``
   against the same raw COPY). The headline ``rows_per_s`` is the first link.
4. **OFX parse** — ``parse_ofx`` on a generated OFX 1.x SGML file of ``--ofx-rows``
   STMTTRN (CRLF, unclosed leaves, entities, a raw ``&``, missing FITIDs, two bank
   accounts and a card).

Every repetition of 1 and 3 uses fresh bench users (so the transaction table holds none
of their rows); they are deleted and every table they touched vacuumed afterwards,
outside the clock (autovacuum may be off, as on the CI machine). Each repetition of 2
uses a new bare table.

Repetitions are paired: repetition *k* runs 1 and 3, then 2, so that each ingest has a
raw COPY measured minutes, not a quarter of an hour, apart; ``ratio`` (and
``existing_ratio``) is the median of the per-repetition ratios (``ratios`` lists them).
Before every timed step the server is checkpointed (outside the clock, when the bench's
role may): no step pays for writing out the pages an earlier one dirtied. A 0.3 s COPY
that lands on the writeback of a 3 s ingest measured a third of its speed otherwise.

Each process starts as a Celery pool process does (``prepare_worker_process``: the seller
dictionary loaded, then ``gc.freeze()``; the records built up front are frozen with it,
since a worker holds one statement's records at a time, not 100,000). Before every timed
ingest and re-ingest the categoriser's per-description caches are emptied: a repetition
must not find the previous one's descriptions already categorised.

The broker and the cache are what the settings give: Redis with ``REDIS_URL`` set (as in
production), else the embedded folder broker and file cache, whose per-statement cost
(the budget check enqueued, the summary version bumped) is higher.

``--workers N`` (default 1) models one Celery worker whose prefork pool has N child
processes (Celery's default concurrency is the CPU count): N processes are forked once,
after Django's connections are closed, and each opens its own database session. In 1
and 3 the processes run the same ``ingest_all``, each taking the next statement (one
connection's refresh, one task) whenever it is free, as the pool's fair scheduling with
prefetch 1 hands out tasks (until 2026-12 each process had a fixed round-robin share,
and the process with more rows set the clock: 5–15 % longer than the other). In 2 each
COPYs a fixed share of the rows, balanced by rows (its COPY text built before the
clock), into the same bare table at the same time, in its own transaction. The clock is the parent's
wall-clock from handing out the work to the last process's answer; forking, Django's
state and connecting happen before any clock starts, as in a worker that is already up,
and so does one small ingest per process (``warm_up``: the imports, the broker
connection and the session caches that a worker's first task pays once in its life).
With N > 1 the headline figures (``rows_per_s``, ``copy_rows_per_s``, ``ratio``,
``reingest_rows_per_s``, ``copy_from_records_rows_per_s``, the per-repetition seconds)
are the N-process ones, and one process is measured in the same run, its repetitions
interleaved with the N-process ones (order alternating), under ``single_process``.
``reingest_new_rows`` covers every re-ingest of the run. ``--profile`` stays in one
process.

Usage (a dedicated database; the bench refuses anything but PostgreSQL)::

    createdb -h 127.0.0.1 -U postgres mint_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mint_bench .venv/bin/python bench/ingest.py --json
    DATABASE_URL=… .venv/bin/python bench/ingest.py --json --workers 2  # one worker, 2 CPUs

The bench users and bare tables are removed in a ``finally`` (also on Ctrl-C or a plain
kill, after the worker processes and their sessions are gone), and any left by a killed
run are removed at the start.

``--profile`` adds, after the measurements, an ingest and a re-ingest with a timer around
each step (dump, ingest steps, commit) and one ingest under cProfile, all on stderr.
``DEBUG`` defaults to true only so that a missing broker or bucket falls back to the
embedded stand-ins; Django's query log is switched off, as in production.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import gc
import io
import json
import os
import pstats
import random
import shutil
import signal
import statistics
import sys
import tempfile
import time
import traceback
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DOMAIN = "mint-bench.invalid"  # every bench user's email ends with it
END_DATE = date(2025, 6, 30)  # fixed, so that a seed gives the same data on any day
HISTORY_DAYS = 400
PENDING_DAYS = 3  # like the sandbox bank: the last days are pending …
PENDING_LINK_DAYS = 33  # … and posted rows of the last month name their pending twin


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- set-up


def setup_django(var_dir: str) -> None:
    url = os.environ.get("DATABASE_URL", "")
    if not url.split(":", 1)[0].lower().startswith(("postgres", "postgis", "pgsql")):
        sys.exit(
            "bench/ingest.py measures the PostgreSQL path: set DATABASE_URL to a PostgreSQL "
            "database, e.g. DATABASE_URL=postgres://postgres@127.0.0.1:5432/mint_bench "
            f"(got {url.split(':', 1)[0] + '://…' if url else 'nothing'})"
        )
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mint.settings")
    os.environ.setdefault("DEBUG", "true")  # missing REDIS_URL / S3_BUCKET fall back
    os.environ["MINT_VAR_DIR"] = var_dir  # folder object store for the raw dumps

    import django
    from django.conf import settings

    django.setup()
    from django.db import OperationalError, connection

    if connection.vendor != "postgresql":
        sys.exit(f"bench/ingest.py needs PostgreSQL; DATABASE_URL gives {connection.vendor}")
    try:
        connection.ensure_connection()
    except OperationalError as exc:
        sys.exit(f"cannot connect to DATABASE_URL ({str(exc).strip()}); create a database for "
                 "the bench first, e.g. createdb -h 127.0.0.1 -U postgres mint_bench")
    # DEBUG only stands in for the missing broker and bucket. Production runs without
    # Django's query log, and so does the bench.
    settings.DEBUG = False


# --------------------------------------------------------------------------- data

SPENDING = [
    # (template, low, high, weight, source category as a provider would name it)
    ("POS PURCHASE {n4} STARBUCKS #{s5} SEATTLE WA", 345, 895, 30, "Coffee Shops"),
    ("SQ *BLUE BOTTLE", 450, 900, 8, "coffee shops"),
    ("SQ *BLUE BOTTLE COFFEE  Oakland   CA", 450, 900, 4, ""),
    ("AMZN Mktp US*{code}", 999, 8900, 18, "Shopping › Books"),
    ("AMZN Mktp US*{code} Amzn.com/bill WA", 999, 8900, 10, ""),
    ("WHOLEFDS MKT #{s5} SAN FRANCISCO CA", 1800, 14000, 12, "Groceries"),
    ("TRADER JOE S #{s3} QPS OAKLAND CA", 2200, 9500, 10, "Groceries"),
    ("SAFEWAY #{s4}   OAKLAND CA ", 1500, 12000, 8, ""),
    ("TST* SHAKE SHACK {s3} NEW YORK NY", 1100, 3200, 5, "Restaurants"),
    ("CHIPOTLE {s4} BERKELEY CA", 950, 2400, 7, "Fast Food"),
    ("MCDONALD'S F{s5} OAKLAND CA", 500, 1500, 5, "Fast Food"),
    ("UBER *TRIP HELP.UBER.COM CA", 800, 4200, 9, "Ride Share"),
    ("LYFT   *RIDE THU {mmdd} LYFT.COM CA", 700, 3500, 4, ""),
    ("SHELL OIL {n11} OAKLAND CA", 2800, 7000, 7, "Gas & Fuel"),
    ("CHEVRON {s7} BERKELEY CA", 3000, 7500, 4, "Auto & Transport › Gas & Fuel"),
    ("TARGET T-{s4} EMERYVILLE CA", 1200, 16000, 6, ""),
    ("COSTCO WHSE #{s4} RICHMOND CA", 6000, 32000, 3, "Groceries"),
    ("CVS/PHARMACY #{s5} OAKLAND CA", 600, 4500, 4, "Pharmacy"),
    ("PAYPAL *EBAY INC 402-935-7733 CA", 1200, 15000, 2, ""),
    ("CHECKCARD {mmdd} AMC ONLINE #{s4} 888-440-4262 KS", 1400, 4800, 2, "Movies & DVDs"),
    ("DEBIT CARD PURCHASE - CAFÉ LUMIÈRE  BOSTON MA", 400, 1800, 2, ""),
    ("PURCHASE AUTHORIZED ON {mm}/{dd} GOOGLE *YouTubePremium g.co/helppay# CA S{n11} "
     "CARD {n4}", 1199, 2299, 2, "Entertainment"),
    ("Zelle payment to Jane Doe Conf# {code}", 1000, 30000, 2, ""),
    ("ATM WITHDRAWAL 000{n4} 1ST ST OAKLAND CA", 2000, 20000, 3, "Cash & ATM"),
    ("APPLE.COM/BILL 866-712-7753 CA", 99, 1499, 3, "Misc Stuff"),  # unknown to the taxonomy
    ("ACH DEBIT PGANDE WEB ONLINE PAYMENT {n6}", 4000, 25000, 2, "Utilities"),
]
INCOME = [
    ("ACH CREDIT ACME CORP PAYROLL PPD ID: {n10}", 150000, 450000, "Paycheck"),
    ("ONLINE TRANSFER FROM CHECKING XXXXXX{n4}", 5000, 100000, ""),
    ("INTEREST PAYMENT", 1, 2500, "Interest Income"),
    ("ONLINE PAYMENT - THANK YOU", 5000, 200000, ""),
    ("AMZN Mktp US*{code} REFUND", 999, 8900, "Returned Purchase"),
]
MEMOS = ["", "", "", "", "Card ending {n4}", "POS PURCHASE CARD {n4}", "REF {code}"]
KINDS = ["checking", "checking", "credit_card", "credit_card", "savings"]
_ALNUM = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"


@dataclass
class Plan:
    """Who owns what, and the statements (one per connection) built up front."""

    users: int
    connections: int
    accounts: int
    # per connection: (account records, transaction records, raw payload)
    statements: list[tuple[list, list, bytes]] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(len(transactions) for _, transactions, _ in self.statements)


def _fill(template: str, rng: random.Random, day: date) -> str:
    def digits(n: int) -> str:
        return "".join(rng.choices("0123456789", k=n))

    values = {"mmdd": day.strftime("%m%d"), "mm": f"{day.month:02d}", "dd": f"{day.day:02d}"}
    for name in ("n4", "n5", "n6", "n10", "n11", "s3", "s4", "s5", "s7"):
        if "{" + name + "}" in template:
            values[name] = digits(int(name[1:]))
    if "{code}" in template:
        values["code"] = "".join(rng.choices(_ALNUM, k=6))
    return template.format(**values)


def _money(cents: int) -> Decimal:
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return Decimal(f"{sign}{cents // 100}.{cents % 100:02d}")


def build_plan(*, rows: int, users: int, connections: int, accounts: int, seed: int) -> Plan:
    """Deterministic synthetic statements, shaped like a provider's parsed answer."""
    from accounts.providers import AccountRecord, TransactionRecord

    rng = random.Random(seed)
    plan = Plan(users=users, connections=connections, accounts=accounts)
    # Account i belongs to connection i % connections; some accounts are far busier.
    account_records = []
    weights = []
    for i in range(accounts):
        kind = KINDS[i % len(KINDS)]
        currency = "EUR" if i % 23 == 7 else "USD"
        mask = f"{rng.randrange(10_000):04d}"
        account_records.append(AccountRecord(
            external_id=f"{'card' if kind == 'credit_card' else kind[:3]}-{i:04d}-{mask}",
            name=f"{kind.replace('_', ' ').title()} …{mask}", kind=kind, mask=mask,
            currency=currency, balance=_money(rng.randint(-500_000, 2_000_000)),
        ))
        weights.append((0.3 if kind == "savings" else 1.0) * rng.lognormvariate(0, 0.6))
    owner = rng.choices(range(accounts), weights=weights, k=rows)
    spend_weights = [s[3] for s in SPENDING]
    per_connection: list[list] = [[] for _ in range(connections)]
    payload_rows: list[list] = [[] for _ in range(connections)]
    for serial, index in enumerate(owner):
        account = account_records[index]
        day = END_DATE - timedelta(days=rng.randrange(HISTORY_DAYS))
        if rng.random() < (0.6 if account.kind == "savings" else 0.08):
            template, low, high, category = rng.choice(INCOME)
            cents = rng.randint(low, high)
        else:
            template, low, high, _, category = rng.choices(SPENDING, weights=spend_weights)[0]
            cents = -rng.randint(low, high)
        description = _fill(template, rng, day)
        if rng.random() < 0.05:
            description = description.lower()
        memo = _fill(rng.choice(MEMOS), rng, day)
        external_id = f"T{day:%Y%m%d}{serial:08d}"
        age = (END_DATE - day).days
        pending, pending_external_id = False, ""
        if cents < 0 and age < PENDING_DAYS:
            external_id, pending = "P" + external_id[1:], True
        elif cents < 0 and age < PENDING_LINK_DAYS:
            pending_external_id = "P" + external_id[1:]
        if not category or rng.random() < 0.5:  # half the provider answers carry none
            category = ""
        record = TransactionRecord(
            account_external_id=account.external_id, external_id=external_id, posted_on=day,
            amount=_money(cents), description=description, currency=account.currency,
            pending=pending, pending_external_id=pending_external_id,
            source_category=category, memo=memo,
        )
        per_connection[index % connections].append(record)
        payload_rows[index % connections].append({
            "id": external_id, "account": account.external_id, "date": day.isoformat(),
            "amount": str(record.amount), "description": description, "memo": memo,
            "status": "pending" if pending else "posted", "category": category,
            **({"pending_transaction_id": pending_external_id} if pending_external_id else {}),
        })
    for c in range(connections):
        account_list = [a for i, a in enumerate(account_records) if i % connections == c]
        # Banks list by date; a provider page is not sorted by account.
        order = sorted(range(len(per_connection[c])),
                       key=lambda k: per_connection[c][k].posted_on)
        transactions = [per_connection[c][k] for k in order]
        payload = json.dumps({
            "bank": "Bench Bank", "as_of": END_DATE.isoformat(),
            "accounts": [
                {"id": a.external_id, "name": a.name, "type": a.kind, "mask": a.mask,
                 "currency": a.currency, "balance": str(a.balance)} for a in account_list
            ],
            "transactions": [payload_rows[c][k] for k in order],
        }, sort_keys=True).encode()
        plan.statements.append((account_list, transactions, payload))
    return plan


# --------------------------------------------------------------------------- database


@dataclass
class Owners:
    users: list
    connections: list  # index c holds statement c


def create_owners(plan: Plan, tag: str) -> Owners:
    """Fresh users and connections for one repetition (accounts come from the ingest)."""
    from django.contrib.auth.hashers import make_password

    from accounts.models import Connection, User

    password = make_password(None)  # unusable
    users = User.objects.bulk_create(
        User(email=f"bench-{tag}-{u}@{BENCH_DOMAIN}", password=password)
        for u in range(plan.users)
    )
    connections = Connection.objects.bulk_create(
        Connection(user=users[c % plan.users], provider=Connection.Provider.SANDBOX,
                   url="sandbox://bench", institution="Bench Bank")
        for c in range(plan.connections)
    )
    return Owners(users=users, connections=connections)


def create_accounts(plan: Plan, owners: Owners) -> None:
    """Every statement's accounts, with no rows yet (outside the clock): the next ingest
    is new rows into existing accounts, a refresh's everyday case, not a first link."""
    from django.db import transaction

    from transactions.services.ingest import accounts_upsert

    for c, (account_list, _, _) in enumerate(plan.statements):
        with transaction.atomic():
            accounts_upsert(user=owners.users[c % plan.users], connection=owners.connections[c],
                            records=account_list)


def delete_bench_users() -> int:
    """Every bench user and what hangs off them; rows first, in bulk (letting Django
    cascade would set ``dump = NULL`` on every row before deleting it)."""
    from django.db import connection

    from accounts.models import Connection, FinancialAccount, User
    from budgets.models import MonthlySpending
    from transactions.models import RawDump, Transaction

    ids = list(User.objects.filter(email__endswith="@" + BENCH_DOMAIN)
               .values_list("id", flat=True))
    if not ids:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {Transaction._meta.db_table} WHERE user_id = ANY(%s)",
                       [ids])
    User.objects.filter(id__in=ids).delete()
    # Every table the deletes touched: a server with autovacuum off (this one) would
    # otherwise carry each run's dead rows into the next run's measurements.
    tables = [Transaction._meta.db_table, *(model._meta.db_table for model in
              (MonthlySpending, RawDump, FinancialAccount, Connection, User))]
    with connection.cursor() as cursor:  # outside any transaction: autocommit
        for table in tables:
            cursor.execute(f"VACUUM ANALYZE {table}")
    return len(ids)


WARM_UP_ROWS = 200


def warm_up(plan: Plan) -> None:
    """Outside every clock, once per process: one small statement ingested for a
    throwaway user (deleted with the other bench users before the first repetition), so
    that each process is in the state of a worker that has run tasks before. Its first
    statement otherwise pays what a worker pays once in its life: importing the broker's
    transport and opening its connection at the first task sent (~0.1 s), compiling
    Django's queries, the database session's catalog caches (a fresh process took
    ~0.5 s more over its first 10 statements, then ran as in the later repetitions)."""
    accounts, transactions, payload = plan.statements[0]
    small = Plan(users=1, connections=1, accounts=len(accounts),
                 statements=[(accounts, transactions[:WARM_UP_ROWS], payload)])
    ingest_all(small, create_owners(small, tag=f"warm{os.getpid()}"))


def count_rows(owners: Owners) -> int:
    from transactions.models import Transaction

    return Transaction.objects.filter(user_id__in=[u.id for u in owners.users]).count()


def forget_descriptions() -> None:
    """Before every measured ingest or re-ingest: no description is cached from an
    earlier repetition (a statement's descriptions are new to a worker, mostly); the
    seller dictionary stays loaded, as in a worker that is up."""
    from categories.engine import categorizer

    categorizer().forget()


_CHECKPOINT = {"allowed": True}


def settle() -> None:
    """Outside every clock: a CHECKPOINT, so that the next timed step starts with no
    dirty pages of an earlier one left to write (a no-op if the role may not)."""
    from django.db import DatabaseError, connection

    if not _CHECKPOINT["allowed"]:
        return
    try:
        with connection.cursor() as cursor:
            cursor.execute("CHECKPOINT")
    except DatabaseError as exc:
        _CHECKPOINT["allowed"] = False
        log(f"  (no CHECKPOINT between steps: {str(exc).strip()})")


def ingest_all(plan: Plan, owners: Owners, phases: dict | None = None,
               indices: Iterable[int] | None = None) -> dict[str, int]:
    """The refresh pipeline's steps 3 and 5–6 for every statement, one per connection
    (or only the statements at ``indices``: one worker process's share).
    ``phases`` (optional) collects seconds spent in the dump, the ingest, the commit."""
    from django.db import transaction
    from django.utils import timezone

    from accounts.models import Connection
    from accounts.providers import Statement
    from transactions.services.dumps import raw_dump_store
    from transactions.services.ingest import transactions_ingest

    if len(owners.connections) != len(plan.statements):
        raise ValueError("one connection per statement")
    totals = {"created": 0, "updated": 0, "unchanged": 0, "replaced_pending": 0}
    for c in range(len(plan.statements)) if indices is None else indices:
        account_list, transactions, payload = plan.statements[c]
        conn = owners.connections[c]
        user = owners.users[c % plan.users]
        t0 = time.perf_counter()
        dump = raw_dump_store(user=user, connection=conn, source_id=uuid.uuid4(),
                              payload=payload, media_type="application/json")
        statement = Statement(accounts=account_list, transactions=transactions,
                              cursor=END_DATE.isoformat(), institution="Bench Bank")
        t1 = time.perf_counter()
        with transaction.atomic():
            locked = Connection.objects.select_for_update().filter(pk=conn.pk).first()
            t2 = time.perf_counter()
            result = transactions_ingest(user=user, connection=locked, statement=statement,
                                         dump=dump, durable=False)  # as a refresh does
            t3 = time.perf_counter()
            locked.cursor = statement.cursor or locked.cursor
            locked.status = Connection.Status.ACTIVE
            locked.last_refreshed_at = timezone.now()
            locked.save(update_fields=["cursor", "status", "last_refreshed_at"])
            t4 = time.perf_counter()
        t5 = time.perf_counter()
        if phases is not None:
            for name, seconds in (("raw dump (object store + RawDump row)", t1 - t0),
                                  ("lock connection + save cursor", t2 - t1 + t4 - t3),
                                  ("transactions_ingest", t3 - t2),
                                  ("commit (and the after-commit hooks)", t5 - t4)):
                phases[name] = phases.get(name, 0.0) + seconds
        for key in totals:
            totals[key] += getattr(result, key)
    return totals


# --------------------------------------------------------------------------- raw COPY

_COPY_COLUMNS = (
    "user_id", "account_id", "external_id", "posted_on", "amount", "currency", "description",
    "memo", "seller", "category_id", "category_source", "pending", "dump_id",
    "created_at", "updated_at",
)


def _copy_escape(text: str) -> str:
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        text = (text.replace("\\", "\\\\").replace("\t", "\\t")
                .replace("\n", "\\n").replace("\r", "\\r"))
    return text


def copy_rows_text(plan: Plan, user_ids: list[int], account_ids: dict,
                   indices: list[int] | None = None) -> io.StringIO:
    """The records as COPY text, with the least work that gives the same table rows
    (only the statements at ``indices``, if given)."""
    buffer = io.StringIO()
    dump_id = str(uuid.uuid4())
    now = "2025-06-30 12:00:00+00"
    write = buffer.write
    for c in range(len(plan.statements)) if indices is None else indices:
        user_id = str(user_ids[c % plan.users])
        for r in plan.statements[c][1]:
            write("\t".join((
                user_id, account_ids[r.account_external_id], _copy_escape(r.external_id),
                r.posted_on.isoformat(), str(r.amount), r.currency,
                _copy_escape(r.description), _copy_escape(r.memo), "", r"\N", "",
                "t" if r.pending else "f", dump_id, now, now,
            )))
            write("\n")
    buffer.seek(0)
    return buffer


BARE_TABLE_PREFIX = "bench_raw_copy_"  # + the parent's pid


def copy_into(table: str, plan: Plan, user_ids: list[int], account_ids: dict,
              indices: list[int] | None = None, buffer: io.StringIO | None = None) -> None:
    """One ``COPY … FROM STDIN`` and its commit (the COPY text is built here unless
    ``buffer`` is given)."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        if buffer is None:
            buffer = copy_rows_text(plan, user_ids, account_ids, indices)
        cursor.cursor.copy_expert(f"COPY {table} ({', '.join(_COPY_COLUMNS)}) FROM STDIN",
                                  buffer)


def raw_copy_once(plan: Plan, pool: WorkerPool | None = None) -> tuple[float, float]:
    """(seconds from records to committed rows, seconds of the COPY and commit alone)
    into a new bare table with the transaction table's columns. With a ``pool``, each of
    its processes COPYs its share of the rows into the table at the same time, in its own
    transaction, and the seconds are wall-clock from the start to the last commit."""
    from django.db import connection

    from transactions.models import Transaction

    table = f"{BARE_TABLE_PREFIX}{os.getpid()}"
    user_ids = [1_000_000 + u for u in range(plan.users)]
    account_ids = {a.external_id: str(2_000_000 + i)
                   for i, a in enumerate(a for accounts, _, _ in plan.statements for a in accounts)}
    columns = ", ".join(_COPY_COLUMNS)
    results = []
    for prebuilt in (False, True):
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {table}")
            cursor.execute(f"CREATE TABLE {table} AS SELECT {columns} "
                           f"FROM {Transaction._meta.db_table} WITH NO DATA")
        try:
            buffer = None
            if prebuilt and pool is not None:
                pool.call("copy_text", user_ids, account_ids)  # each builds its share
            elif prebuilt:
                buffer = copy_rows_text(plan, user_ids, account_ids)
            settle()
            started = time.perf_counter()
            if pool is None:
                copy_into(table, plan, user_ids, account_ids, buffer=buffer)
            else:
                pool.call("copy", table, user_ids, account_ids)
            results.append(time.perf_counter() - started)
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT count(*) FROM {table}")
                copied = cursor.fetchone()[0]
        finally:
            with connection.cursor() as cursor:
                cursor.execute(f"DROP TABLE IF EXISTS {table}")
        if copied != plan.rows:
            raise RuntimeError(f"raw COPY wrote {copied} rows, expected {plan.rows}")
    return results[0], results[1]


def drop_bare_tables() -> int:
    """Every bare COPY table, including any left by a killed run."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT quote_ident(schemaname) || '.' || quote_ident(tablename) "
                       "FROM pg_tables WHERE tablename LIKE %s",
                       [BARE_TABLE_PREFIX.replace("_", r"\_") + "%"])
        tables = [name for (name,) in cursor.fetchall()]
        for name in tables:
            cursor.execute(f"DROP TABLE IF EXISTS {name}")
    return len(tables)


# --------------------------------------------------------------------------- worker pool


def worker_shares(plan: Plan, workers: int) -> list[list[int]]:
    """Statement (= connection) indices per process for the raw COPY, balanced by rows
    (each statement to the process with the fewest rows so far, largest first): the
    baseline's best split."""
    sizes = [len(transactions) for _, transactions, _ in plan.statements]
    shares: list[list[int]] = [[] for _ in range(workers)]
    loads = [0] * workers
    for index in sorted(range(len(sizes)), key=lambda i: (-sizes[i], i)):
        k = loads.index(min(loads))
        shares[k].append(index)
        loads[k] += sizes[index]
    return [sorted(share) for share in shares]


def taken_in_turn(counter, statements: int):
    """Statement indices for one process, each taken from ``counter`` (shared by the
    processes) when the process is free: how a Celery worker's prefork pool hands out
    tasks (prefetch 1, fair scheduling), so that no process idles while the other still
    has a queue of its own."""
    while True:
        with counter.get_lock():
            index = counter.value
            counter.value += 1
        if index >= statements:
            return
        yield index


class WorkerPool:
    """``workers`` forked processes, like the prefork pool of one Celery worker: each opens
    its own database connection, then waits on its pipe for commands. The parent times
    from sending a command to the last answer, so forking, Django's state and connecting
    are outside every clock (as in a worker, whose children start once, long before).
    An ingest hands out the statements one at a time to whichever process is free
    (``taken_in_turn``); a raw COPY gives each process a fixed share balanced by rows."""

    def __init__(self, plan: Plan, workers: int):
        import multiprocessing

        from django.db import connections

        self.workers = workers
        self.children: list = []  # (process, pipe)
        self.backend_pids: list[int] = []
        context = multiprocessing.get_context("fork")
        self.counter = context.Value("i", 0)  # the next statement to hand out
        connections.close_all()  # no child may inherit (and share) the parent's socket
        try:
            for k, share in enumerate(worker_shares(plan, workers)):
                ours, theirs = context.Pipe()
                inherited = [pipe for _, pipe in self.children] + [ours]
                process = context.Process(
                    target=_child_main, name=f"bench-worker-{k}",
                    args=(plan, share, self.counter, theirs, inherited), daemon=True)
                # A Ctrl-C that lands in the fork handlers is printed and dropped: hold it
                # until the fork is done (the child unblocks it itself).
                signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
                try:
                    process.start()
                finally:
                    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
                theirs.close()
                self.children.append((process, ours))
            self.backend_pids = self._answers()  # each child: connected, its backend pid
            if len(set(self.backend_pids)) != workers:
                raise RuntimeError(f"worker processes share a session: {self.backend_pids}")
        except BaseException:
            self.close(abort=True)
            raise

    def _answers(self) -> list:
        answers, failures = [], []
        for process, pipe in self.children:
            try:
                status, value = pipe.recv()
            except EOFError:
                status, value = "error", f"exited with code {process.exitcode}"
            if status != "ok":
                failures.append(f"{process.name}: {value}")
            answers.append(value)
        if failures:
            raise RuntimeError("worker process failed:\n" + "\n".join(failures))
        return answers

    def call(self, command: str, *args) -> list:
        """Run ``command`` in every process at once; their answers, in process order."""
        for _, pipe in self.children:
            pipe.send((command, args))
        return self._answers()

    def ingest(self, owners: Owners) -> tuple[dict[str, int], list[float]]:
        """``ingest_all`` in every process on its share (the owners must have been sent
        with ``call("owners", owners)``); the summed totals and each process's seconds."""
        self.counter.value = 0
        answers = self.call("ingest")
        totals = {key: sum(t[key] for t, _ in answers) for key in answers[0][0]}
        return totals, [seconds for _, seconds in answers]

    def close(self, abort: bool = False) -> None:
        """Stop the processes (at once when ``abort``), then wait until their database
        sessions are gone, so that nothing they began can commit after the clean-up."""
        from django.db import connection

        if not abort:
            for _, pipe in self.children:
                with contextlib.suppress(OSError):
                    pipe.send(("stop", ()))
        for process, pipe in self.children:
            if not abort:
                process.join(10)
            if process.is_alive():
                process.terminate()
                process.join(5)
            if process.is_alive():
                process.kill()
                process.join()
            pipe.close()
        self.children = []
        pids, self.backend_pids = self.backend_pids, []
        deadline = time.monotonic() + 5
        with connection.cursor() as cursor:
            while pids:
                cursor.execute("SELECT pid FROM pg_stat_activity WHERE pid = ANY(%s)", [pids])
                pids = [pid for (pid,) in cursor.fetchall()]
                if pids and time.monotonic() > deadline:
                    cursor.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s) AS pid",
                                   [pids])
                    deadline = time.monotonic() + 5
                time.sleep(0.02 if pids else 0)


def _child_main(plan: Plan, share: list[int], counter, pipe, inherited: list) -> None:
    """A worker process: connect, then answer the parent's commands until "stop" (or
    until the parent is gone)."""
    from django.db import connection, connections

    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the parent's close() may terminate us
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    for other in inherited:  # so that each pipe reports the parent's end as EOF
        other.close()
    state: dict = {}

    def owners(value: Owners) -> None:
        state["owners"] = value

    def ingest() -> tuple[dict[str, int], float]:
        started = time.perf_counter()
        totals = ingest_all(plan, state["owners"],
                            indices=taken_in_turn(counter, len(plan.statements)))
        return totals, time.perf_counter() - started

    def copy_text(user_ids: list[int], account_ids: dict) -> None:
        state["copy_text"] = copy_rows_text(plan, user_ids, account_ids, share)

    def copy(table: str, user_ids: list[int], account_ids: dict) -> None:
        copy_into(table, plan, user_ids, account_ids, share, state.pop("copy_text", None))

    commands = {"owners": owners, "ingest": ingest, "copy_text": copy_text, "copy": copy,
                "forget": forget_descriptions, "warm": partial(warm_up, plan)}
    try:
        connection.ensure_connection()
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pipe.send(("ok", cursor.fetchone()[0]))
        while True:
            try:
                command, args = pipe.recv()
            except EOFError:
                break  # the parent is gone
            if command == "stop":
                break
            try:
                value = commands[command](*args)
            except Exception:
                pipe.send(("error", traceback.format_exc()))
            else:
                pipe.send(("ok", value))
    except KeyboardInterrupt:
        pass  # Ctrl-C reaches the whole process group; the parent cleans up
    finally:
        connections.close_all()


# --------------------------------------------------------------------------- OFX


def build_ofx(rows: int, seed: int) -> bytes:
    """An OFX 1.x SGML download as banks send it: CRLF, leaf elements never closed, an
    entity, a raw ``&``, the odd missing FITID, two bank accounts and a card."""
    rng = random.Random(seed)
    header = (
        "OFXHEADER:100\r\nDATA:OFXSGML\r\nVERSION:102\r\nSECURITY:NONE\r\nENCODING:USASCII\r\n"
        "CHARSET:1252\r\nCOMPRESSION:NONE\r\nOLDFILEUID:NONE\r\nNEWFILEUID:NONE\r\n\r\n"
    )
    out = [header, "<OFX>\r\n<SIGNONMSGSRSV1>\r\n<SONRS>\r\n<STATUS>\r\n<CODE>0\r\n"
           "<SEVERITY>INFO\r\n</STATUS>\r\n<DTSERVER>20250630120000.000[-7:PDT]\r\n"
           "<LANGUAGE>ENG\r\n<FI>\r\n<ORG>Harbor Community Bank\r\n<FID>10898\r\n</FI>\r\n"
           "</SONRS>\r\n</SIGNONMSGSRSV1>\r\n"]
    shares = [(rows * 5) // 10, rows // 10]
    shares.append(rows - sum(shares))
    accounts = [("BANK", "CHECKING", "00004417723"), ("BANK", "SAVINGS", "00004417731"),
                ("CC", "", "4400123412341234")]
    spend_weights = [s[3] for s in SPENDING]
    serial = 0
    for (family, accttype, acctid), count in zip(accounts, shares, strict=True):
        if family == "BANK":
            out.append("<BANKMSGSRSV1>\r\n<STMTTRNRS>\r\n<TRNUID>1001\r\n<STATUS>\r\n<CODE>0\r\n"
                       "<SEVERITY>INFO\r\n</STATUS>\r\n<STMTRS>\r\n<CURDEF>USD\r\n"
                       f"<BANKACCTFROM>\r\n<BANKID>011000138\r\n<ACCTID>{acctid}\r\n"
                       f"<ACCTTYPE>{accttype}\r\n</BANKACCTFROM>\r\n")
        else:
            out.append("<CREDITCARDMSGSRSV1>\r\n<CCSTMTTRNRS>\r\n<TRNUID>1002\r\n<STATUS>\r\n"
                       "<CODE>0\r\n<SEVERITY>INFO\r\n</STATUS>\r\n<CCSTMTRS>\r\n<CURDEF>USD\r\n"
                       f"<CCACCTFROM>\r\n<ACCTID>{acctid}\r\n</CCACCTFROM>\r\n")
        start = END_DATE - timedelta(days=HISTORY_DAYS)
        out.append(f"<BANKTRANLIST>\r\n<DTSTART>{start:%Y%m%d}\r\n<DTEND>{END_DATE:%Y%m%d}\r\n")
        days = sorted(rng.randrange(HISTORY_DAYS) for _ in range(count))
        for offset in days:
            serial += 1
            day = start + timedelta(days=offset)
            roll = rng.random()
            if roll < 0.08:
                template, low, high, _ = rng.choice(INCOME)
                cents, trntype = rng.randint(low, high), "CREDIT"
            else:
                template, low, high, _, _ = rng.choices(SPENDING, weights=spend_weights)[0]
                cents, trntype = -rng.randint(low, high), rng.choice(("DEBIT", "POS", "POS"))
            name = _fill(template, rng, day)
            if roll > 0.995:
                name = "AT&amp;T MOBILITY ONLINE PMT"
            elif roll > 0.99:
                name = "B&Q WAREHOUSE"  # raw ampersand, as some banks write it
            fitid = "" if rng.random() < 0.01 else f"{day:%Y%m%d}{serial:07d}"
            memo = _fill(rng.choice(MEMOS), rng, day)
            parts = [f"<STMTTRN>\r\n<TRNTYPE>{trntype}\r\n",
                     f"<DTPOSTED>{day:%Y%m%d}120000.000[-7:PDT]\r\n",
                     f"<TRNAMT>{_money(cents)}\r\n"]
            if fitid:
                parts.append(f"<FITID>{fitid}\r\n")
            parts.append(f"<NAME>{name[:32]}\r\n")
            if memo:
                parts.append(f"<MEMO>{memo}\r\n")
            parts.append("</STMTTRN>\r\n")
            out.append("".join(parts))
        out.append("</BANKTRANLIST>\r\n<LEDGERBAL>\r\n<BALAMT>3817.52\r\n"
                   f"<DTASOF>{END_DATE:%Y%m%d}\r\n</LEDGERBAL>\r\n")
        if family == "BANK":
            out.append("</STMTRS>\r\n</STMTTRNRS>\r\n</BANKMSGSRSV1>\r\n")
        else:
            out.append("</CCSTMTRS>\r\n</CCSTMTTRNRS>\r\n</CREDITCARDMSGSRSV1>\r\n")
    out.append("</OFX>\r\n")
    return "".join(out).encode("cp1252")


# --------------------------------------------------------------------------- run


def _modes(pool: WorkerPool | None) -> list[tuple[str, WorkerPool | None]]:
    """What each repetition measures: the pool's processes (the headline) and one process
    alongside, or one process alone."""
    if pool is None:
        return [("1 process", None)]
    return [(f"{pool.workers} processes", pool), ("1 process", None)]


def _interleaved(modes: list, rep: int) -> list:
    """Both modes in every repetition, the order alternating, so that drift in the machine
    or the table touches both alike."""
    order = list(enumerate(modes))  # (index into ``modes``, mode)
    return order if rep % 2 == 0 else order[::-1]


def measure_ingest(plan: Plan, repeat: int, pool: WorkerPool | None, reps: range) -> list[dict]:
    """Ingest and re-ingest figures per mode of ``_modes(pool)``, in that order, for the
    repetitions ``reps`` of ``repeat``."""
    modes = _modes(pool)
    runs = [{"ingest_s": [], "reingest_s": [], "reingest_new": [], "existing_s": [],
             "extra": {}} for _ in modes]
    for rep in reps:
        for m, (label, runner) in _interleaved(modes, rep):
            run = runs[m]
            owners = create_owners(plan, tag=f"r{rep}" if runner is None
                                   else f"r{rep}w{runner.workers}")
            if runner is not None:
                runner.call("owners", owners)  # outside the clock
            split = ""
            forget_descriptions() if runner is None else runner.call("forget")
            settle()
            started = time.perf_counter()
            if runner is None:
                first = ingest_all(plan, owners)
            else:
                first, seconds = runner.ingest(owners)
                split = f"; processes {', '.join(f'{s:.2f}' for s in seconds)} s"
            run["ingest_s"].append(time.perf_counter() - started)
            stored = count_rows(owners)
            if first["created"] != plan.rows or stored != plan.rows:
                raise RuntimeError(f"ingest ({label}) created {first['created']} rows and the "
                                   f"table holds {stored}; expected {plan.rows}")
            forget_descriptions() if runner is None else runner.call("forget")
            settle()
            started = time.perf_counter()
            again = ingest_all(plan, owners) if runner is None else runner.ingest(owners)[0]
            run["reingest_s"].append(time.perf_counter() - started)
            run["reingest_new"].append(max(count_rows(owners) - stored, again["created"]))
            run["extra"] = {"reingest_created": again["created"],
                            "reingest_updated": again["updated"],
                            "reingest_unchanged": again["unchanged"]}
            # The same rows into accounts that exist already (other users): the path of
            # every refresh after the first (stored rows looked up, pending twins).
            others = create_owners(plan, tag=f"r{rep}x" if runner is None
                                   else f"r{rep}w{runner.workers}x")
            create_accounts(plan, others)
            if runner is not None:
                runner.call("owners", others)
            forget_descriptions() if runner is None else runner.call("forget")
            settle()
            started = time.perf_counter()
            into = ingest_all(plan, others) if runner is None else runner.ingest(others)[0]
            run["existing_s"].append(time.perf_counter() - started)
            stored = count_rows(others)
            if into["created"] != plan.rows or stored != plan.rows:
                raise RuntimeError(f"ingest into existing accounts ({label}) created "
                                   f"{into['created']} rows and the table holds {stored}; "
                                   f"expected {plan.rows}")
            ingest_s, reingest_s = run["ingest_s"][-1], run["reingest_s"][-1]
            existing_s = run["existing_s"][-1]
            log(f"  repeat {rep + 1}/{repeat}, {label}: ingest {plan.rows / ingest_s:,.0f} "
                f"rows/s ({ingest_s:.2f} s{split}), re-ingest {plan.rows / reingest_s:,.0f} "
                f"rows/s ({reingest_s:.2f} s), re-ingest added {run['reingest_new'][-1]} rows; "
                f"into existing accounts {plan.rows / existing_s:,.0f} rows/s "
                f"({existing_s:.2f} s)")
            delete_bench_users()
    return [{
        "rows_per_s": plan.rows / statistics.median(run["ingest_s"]),
        "reingest_rows_per_s": plan.rows / statistics.median(run["reingest_s"]),
        "existing_rows_per_s": plan.rows / statistics.median(run["existing_s"]),
        "reingest_new_rows": max(run["reingest_new"]),
        "ingest_s": [round(s, 3) for s in run["ingest_s"]],
        "reingest_s": [round(s, 3) for s in run["reingest_s"]],
        "existing_s": [round(s, 3) for s in run["existing_s"]],
        **run["extra"],
    } for run in runs]


def measure_threads(plan: Plan, repeat: int, threads: int) -> dict:
    """One process, ``threads`` threads sharing the statements — one Celery worker with
    ``--pool threads --concurrency N``. psycopg2 releases the GIL while PostgreSQL works,
    so one thread's database time overlaps another's Python time."""
    import threading

    from django.db import connections

    shares = worker_shares(plan, threads)
    ingest_s, reingest_s, reingest_new = [], [], []

    def run(owners: Owners) -> dict[str, int]:
        results: list[dict[str, int]] = []
        failures: list[BaseException] = []

        def work(share: list[int]) -> None:
            try:
                results.append(ingest_all(plan, owners, indices=share))
            except BaseException as exc:  # reported by the main thread
                failures.append(exc)
            finally:
                connections.close_all()  # this thread's own database session

        workers = [threading.Thread(target=work, args=(share,)) for share in shares]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        if failures:
            raise failures[0]
        return {key: sum(r[key] for r in results) for key in results[0]}

    for rep in range(repeat):
        owners = create_owners(plan, tag=f"r{rep}t{threads}")
        forget_descriptions()
        started = time.perf_counter()
        first = run(owners)
        ingest_s.append(time.perf_counter() - started)
        stored = count_rows(owners)
        if first["created"] != plan.rows or stored != plan.rows:
            raise RuntimeError(f"ingest ({threads} threads) created {first['created']} rows; "
                               f"expected {plan.rows}")
        forget_descriptions()
        started = time.perf_counter()
        again = run(owners)
        reingest_s.append(time.perf_counter() - started)
        reingest_new.append(max(count_rows(owners) - stored, again["created"]))
        log(f"  repeat {rep + 1}/{repeat}, 1 process × {threads} threads: ingest "
            f"{plan.rows / ingest_s[-1]:,.0f} rows/s, re-ingest "
            f"{plan.rows / reingest_s[-1]:,.0f} rows/s, added {reingest_new[-1]} rows")
        delete_bench_users()
    return {
        "threads": threads,
        "rows_per_s": plan.rows / statistics.median(ingest_s),
        "reingest_rows_per_s": plan.rows / statistics.median(reingest_s),
        "reingest_new_rows": max(reingest_new),
    }


def measure_copy(plan: Plan, repeat: int, pool: WorkerPool | None, reps: range) -> list[dict]:
    """Raw COPY figures per mode of ``_modes(pool)``, in that order, for the repetitions
    ``reps`` of ``repeat``."""
    modes = _modes(pool)
    full: list[list[float]] = [[] for _ in modes]
    server: list[list[float]] = [[] for _ in modes]
    for rep in reps:
        for m, (label, runner) in _interleaved(modes, rep):
            total_s, copy_s = raw_copy_once(plan, runner)
            full[m].append(total_s)
            server[m].append(copy_s)
            log(f"  repeat {rep + 1}/{repeat}, {label}: raw COPY {plan.rows / copy_s:,.0f} "
                f"rows/s ({copy_s:.2f} s; from the records, COPY text built inside the clock: "
                f"{plan.rows / total_s:,.0f} rows/s)")
    return [{
        "copy_rows_per_s": plan.rows / statistics.median(server[m]),
        "copy_from_records_rows_per_s": plan.rows / statistics.median(full[m]),
        "copy_s": [round(s, 3) for s in server[m]],
    } for m in range(len(modes))]


def measure_paired(plan: Plan, repeat: int,
                   pool: WorkerPool | None = None) -> tuple[list[dict], list[dict]]:
    """Per repetition the ingests (1 and 3), then the raw COPYs (2); the figures of
    ``measure_ingest`` and ``measure_copy`` over all repetitions, plus, per mode, the
    per-repetition ratios to that repetition's COPY and their medians."""
    ingest_reps, copy_reps = [], []
    for rep in range(repeat):
        log(f"repetition {rep + 1}/{repeat}: ingest + re-ingest, then raw COPY into a bare table")
        ingest_reps.append(measure_ingest(plan, repeat, pool, range(rep, rep + 1)))
        copy_reps.append(measure_copy(plan, repeat, pool, range(rep, rep + 1)))
    ingest, copy = [], []
    for m in range(len(ingest_reps[0])):
        runs = [r[m] for r in ingest_reps]
        copies = [c[m] for c in copy_reps]
        ingest_s = [s for r in runs for s in r["ingest_s"]]
        reingest_s = [s for r in runs for s in r["reingest_s"]]
        existing_s = [s for r in runs for s in r["existing_s"]]
        copy_s = [s for c in copies for s in c["copy_s"]]
        from_records = [plan.rows / c["copy_from_records_rows_per_s"] for c in copies]
        ingest.append({
            "rows_per_s": plan.rows / statistics.median(ingest_s),
            "reingest_rows_per_s": plan.rows / statistics.median(reingest_s),
            "existing_rows_per_s": plan.rows / statistics.median(existing_s),
            "reingest_new_rows": max(r["reingest_new_rows"] for r in runs),
            "ingest_s": ingest_s, "reingest_s": reingest_s, "existing_s": existing_s,
            # each repetition's ingest over the COPY of the same repetition
            "ratios": [round(c / i, 4) for i, c in zip(ingest_s, copy_s, strict=True)],
            "existing_ratios": [round(c / e, 4)
                                for e, c in zip(existing_s, copy_s, strict=True)],
            **{k: runs[-1][k] for k in ("reingest_created", "reingest_updated",
                                        "reingest_unchanged")},
        })
        copy.append({
            "copy_rows_per_s": plan.rows / statistics.median(copy_s),
            "copy_from_records_rows_per_s": plan.rows / statistics.median(from_records),
            "copy_s": copy_s,
        })
    return ingest, copy


def measure_ofx(rows: int, seed: int, repeat: int) -> dict:
    from transactions.importers.ofx import parse_ofx

    data = build_ofx(rows, seed)
    times = []
    for rep in range(repeat):
        started = time.perf_counter()
        statement = parse_ofx(data)
        times.append(time.perf_counter() - started)
        if len(statement.transactions) != rows:
            raise RuntimeError(f"parse_ofx read {len(statement.transactions)} of {rows} rows")
        log(f"  repeat {rep + 1}/{repeat}: parse_ofx {rows / times[-1]:,.0f} rows/s "
            f"({times[-1]:.2f} s, {len(data) / 1e6:.1f} MB)")
    return {"ofx_parse_rows_per_s": rows / statistics.median(times), "ofx_rows": rows,
            "ofx_bytes": len(data)}


_INGEST_STEPS = {
    "accounts_upsert": "  accounts_upsert",
    "_latest_per_key": "  _latest_per_key (dedup)",
    "_rows": "  _rows (normalise + categorise)",
    "_replace_pending_twins": "  _replace_pending_twins",
    "_write_postgres": "  _write_postgres (COPY text, COPY, update + insert)",
    "_write_postgres_new": "  _write_postgres_new (COPY text, COPY, insert: new accounts)",
}


def _timed_query(queries: dict, execute, sql, params, many, context):
    started = time.perf_counter()
    try:
        return execute(sql, params, many, context)
    finally:
        entry = queries.setdefault(" ".join(sql.split())[:55], [0, 0.0])
        entry[0] += 1
        entry[1] += time.perf_counter() - started


def profile_ingest(plan: Plan, top: int) -> None:
    """One ingest and one re-ingest with wall-clock timers around each step (cheap, so
    the split is close to the real one), then one ingest under cProfile."""
    from django.db import connection

    from transactions.services import ingest as module

    originals = {name: getattr(module, name) for name in _INGEST_STEPS}

    def timed(name, phases):
        original = originals[name]

        def wrapper(*args, **kwargs):
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                label = _INGEST_STEPS[name]
                phases[label] = phases.get(label, 0.0) + time.perf_counter() - started

        return wrapper

    owners = create_owners(plan, tag="profile")
    for label in ("ingest", "re-ingest"):
        phases: dict[str, float] = {}
        for name in _INGEST_STEPS:
            setattr(module, name, timed(name, phases))
        queries: dict[str, list] = {}
        collections = [0, 0.0, 0.0]  # count, seconds, start of the current one

        def collector(phase, info, collections=collections):
            if phase == "start":
                collections[2] = time.perf_counter()
            else:
                collections[0] += 1
                collections[1] += time.perf_counter() - collections[2]

        forget_descriptions()
        gc.callbacks.append(collector)
        try:
            started = time.perf_counter()
            with connection.execute_wrapper(partial(_timed_query, queries)):
                ingest_all(plan, owners, phases)
            total = time.perf_counter() - started
        finally:
            gc.callbacks.remove(collector)
            for name, original in originals.items():
                setattr(module, name, original)
        log(f"\nwhere the time goes, {label} of {plan.rows:,} rows: {total:.2f} s")
        order = ["raw dump (object store + RawDump row)", "lock connection + save cursor",
                 "transactions_ingest", *_INGEST_STEPS.values(),
                 "commit (and the after-commit hooks)"]
        for name in order:
            seconds = phases.get(name, 0.0)
            log(f"  {name:<62} {seconds:7.2f} s {seconds / total:6.1%}")
        log(f"  garbage collector: {collections[0]:,} collections (inside the steps above)"
            f" {collections[1]:26.2f} s {collections[1] / total:6.1%}")
        log("  SQL through Django (COPY is not), by statement, slowest first:")
        for sql, (count, seconds) in sorted(queries.items(), key=lambda q: -q[1][1])[:12]:
            log(f"  {count:6,} × {sql:<55} {seconds:7.2f} s {seconds / total:6.1%}")
    delete_bench_users()

    owners = create_owners(plan, tag="profile")
    forget_descriptions()
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    ingest_all(plan, owners)
    profiler.disable()
    log(f"\ncProfile of one ingest of {plan.rows:,} rows "
        f"({time.perf_counter() - started:.2f} s under the profiler)")
    for order in ("tottime", "cumulative"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(order).print_stats(top)
        log(out.getvalue())
    delete_bench_users()


@contextlib.contextmanager
def sigint_held_off():
    """A second Ctrl-C during the clean-up would leave bench rows behind: ignore it."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--connections", type=int, default=100,
                        help="one statement per connection (default 100, 2 per user)")
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--ofx-rows", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20250630)
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    parser.add_argument("--profile", action="store_true",
                        help="also profile one extra ingest with cProfile (stderr)")
    parser.add_argument("--profile-top", type=int, default=30)
    parser.add_argument("--workers", type=int, default=1,
                        help="processes sharing the statements, like the prefork pool of one "
                             "Celery worker (default 1; Celery's default is the CPU count); "
                             "with more than 1, one process is measured alongside")
    parser.add_argument("--threads", type=int, default=0,
                        help="also measure one process with N threads sharing the statements "
                             "(Celery's threads pool); its ratio is against the 1-process COPY")
    args = parser.parse_args(argv)
    if not args.users <= args.connections <= args.accounts:
        parser.error("need users ≤ connections ≤ accounts")
    if not 1 <= args.workers <= args.connections:
        parser.error("need 1 ≤ workers ≤ connections")

    # A plain kill (SIGTERM) cleans up too, as Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    load_before = os.getloadavg()[0]
    var_dir = tempfile.mkdtemp(prefix="mint-bench-")
    try:
        setup_django(var_dir)
        from django.core.management import call_command
        from django.db import connection

        from categories.engine import prepare_worker_process

        call_command("migrate", interactive=False, verbosity=0)
        delete_bench_users()  # left over by a killed run
        drop_bare_tables()
        log(f"building {args.rows:,} records ({args.accounts} accounts, "
            f"{args.connections} connections, {args.users} users, seed {args.seed}) …")
        plan = build_plan(rows=args.rows, users=args.users, connections=args.connections,
                          accounts=args.accounts, seed=args.seed)
        # As each Celery pool process does before its first task (mint/celery.py): the
        # dictionary loaded, and what is alive frozen out of the garbage collector's
        # walks, the records built above included (a worker holds one statement's
        # records at a time, not a run's 100,000).
        prepare_worker_process()
        pool = None
        try:
            if args.workers > 1:
                log(f"starting {args.workers} worker processes (outside every clock) …")
                pool = WorkerPool(plan, args.workers)
                pool.call("warm")
            warm_up(plan)  # this process measures the 1-process figures
            delete_bench_users()
            ingest, copy = measure_paired(plan, args.repeat, pool)
            if pool is not None:
                pool.close()
                pool = None
            threaded = None
            if args.threads > 1:
                log(f"ingest + re-ingest, one process × {args.threads} threads:")
                threaded = measure_threads(plan, args.repeat, args.threads)
            log("OFX 1.x SGML parse:")
            ofx = measure_ofx(args.ofx_rows, args.seed, args.repeat)
            if args.profile:
                profile_ingest(plan, args.profile_top)
        finally:
            with sigint_held_off():
                connection.close_if_unusable_or_obsolete()
                if pool is not None:
                    pool.close(abort=True)  # first: its sessions must be gone
                delete_bench_users()
                drop_bare_tables()
        server = connection.pg_version
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)

    def headline(ingest: dict, copy: dict) -> dict:
        return {
            "rows_per_s": round(ingest["rows_per_s"]),
            "copy_rows_per_s": round(copy["copy_rows_per_s"]),
            "ratio": round(statistics.median(ingest["ratios"]), 4),
            "ratios": ingest["ratios"],
            "reingest_rows_per_s": round(ingest["reingest_rows_per_s"]),
            "existing_rows_per_s": round(ingest["existing_rows_per_s"]),
            "existing_ratio": round(statistics.median(ingest["existing_ratios"]), 4),
        }

    # The headline figures are those of ``--workers`` processes; a single process, if
    # measured alongside, goes to ``single_process``.
    head = headline(ingest[0], copy[0])
    single = headline(ingest[-1], copy[-1]) if args.workers > 1 else None
    result = {
        "rows": plan.rows,
        "rows_per_s": head["rows_per_s"],
        "copy_rows_per_s": head["copy_rows_per_s"],
        "ratio": head["ratio"],
        "ratios": head["ratios"],
        # every re-ingest of the run, in either mode, must add nothing
        "reingest_new_rows": max([mode["reingest_new_rows"] for mode in ingest]
                                 + ([threaded["reingest_new_rows"]] if threaded else [])),
        "reingest_rows_per_s": head["reingest_rows_per_s"],
        "existing_rows_per_s": head["existing_rows_per_s"],
        "existing_ratio": head["existing_ratio"],
        "ofx_parse_rows_per_s": round(ofx["ofx_parse_rows_per_s"]),
        "copy_from_records_rows_per_s": round(copy[0]["copy_from_records_rows_per_s"]),
        "workers": args.workers,
        **({"single_process": single} if single else {}),
        **({"threads": {
            "threads": threaded["threads"],
            "rows_per_s": round(threaded["rows_per_s"]),
            "reingest_rows_per_s": round(threaded["reingest_rows_per_s"]),
            "reingest_new_rows": threaded["reingest_new_rows"],
            # against the one-stream COPY of this run: one process either way
            "ratio": round(threaded["rows_per_s"] / copy[-1]["copy_rows_per_s"], 4),
        }} if threaded else {}),
        "repeat": args.repeat,
        "users": args.users,
        "connections": args.connections,
        "accounts": args.accounts,
        "seed": args.seed,
        "ingest_s": ingest[0]["ingest_s"],
        "reingest_s": ingest[0]["reingest_s"],
        "existing_s": ingest[0]["existing_s"],
        "copy_s": copy[0]["copy_s"],
        "reingest_created": ingest[0]["reingest_created"],
        "reingest_updated": ingest[0]["reingest_updated"],
        "reingest_unchanged": ingest[0]["reingest_unchanged"],
        "ofx_rows": ofx["ofx_rows"],
        "ofx_bytes": ofx["ofx_bytes"],
        "postgresql": server,
        "cpus": os.cpu_count(),
        # Other work on the machine skews every number: the 1-minute load average at the
        # start and at the end of the run.
        "loadavg": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }
    procs = f"{args.workers} processes" if args.workers > 1 else "1 process"
    print(f"ingest      {result['rows_per_s']:>10,} rows/s  ({plan.rows:,} rows, {procs}, "
          f"median of {args.repeat})")
    if single:
        print(f"  1 process {single['rows_per_s']:>10,} rows/s  (same run)")
    print(f"raw COPY    {result['copy_rows_per_s']:>10,} rows/s  ({procs}; with the COPY "
          f"text built from the records {result['copy_from_records_rows_per_s']:,} rows/s)")
    print(f"ingest / raw COPY of the same repetition: median {result['ratio']:.1%} "
          f"({', '.join(f'{r:.1%}' for r in result['ratios'])})")
    if single:
        print(f"  1 process {single['copy_rows_per_s']:>10,} rows/s  (ingest = "
              f"{single['ratio']:.1%} of it, median of the repetitions)")
    print(f"re-ingest   {result['reingest_rows_per_s']:>10,} rows/s  ({procs}; "
          f"{result['reingest_new_rows']} new rows)")
    if single:
        print(f"  1 process {single['reingest_rows_per_s']:>10,} rows/s")
    print(f"into existing accounts {result['existing_rows_per_s']:>10,} rows/s  ({procs}; "
          f"{result['existing_ratio']:.1%} of raw COPY, median of the repetitions)")
    if single:
        print(f"  1 process {single['existing_rows_per_s']:>10,} rows/s  "
              f"({single['existing_ratio']:.1%} of its COPY)")
    if threaded:
        t = result["threads"]
        print(f"1 process × {t['threads']} threads {t['rows_per_s']:>8,} rows/s  (ingest = "
              f"{t['ratio']:.1%} of the 1-process COPY; re-ingest {t['reingest_rows_per_s']:,} "
              f"rows/s, {t['reingest_new_rows']} new rows)")
    print(f"OFX parse   {result['ofx_parse_rows_per_s']:>10,} rows/s  "
          f"({args.ofx_rows:,} STMTTRN, {ofx['ofx_bytes'] / 1e6:.1f} MB)")
    bars = [
        ("ingest >= 20,000 rows/s", result["rows_per_s"] >= 20_000),
        ("ingest >= 12% of raw COPY", result["ratio"] >= 0.12),
        ("re-ingest adds 0 rows", result["reingest_new_rows"] == 0),
    ]
    print("bars:       " + "; ".join(f"{name}: {'ok' if ok else 'MISSED'}" for name, ok in bars))
    if args.json:
        print(json.dumps(result))
    return 0 if result["reingest_new_rows"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

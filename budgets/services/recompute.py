"""Rebuilding monthly spending: from the transaction rows, or from the raw dumps.

Both take the user's *exclusive* spending lock, then replace the user's rows of the table
in one transaction. Every incremental writer takes the same lock *shared* just before it
writes its delta (``spending_lock_shared``), and holds it to its commit, so a delta is
either committed before the rebuild reads (and the rebuild includes it) or written after
the rebuild committed (on top of it) — never lost or counted twice. (PostgreSQL advisory
locks; SQLite has one writer at a time anyway.)

``--from-raw`` replays every stored dump of the user, oldest first, as the pipeline did:
the last version of a transaction wins, a posted transaction replaces its pending twin.
Each transaction keeps the category its row has now (a choice made by hand lives only in
the database); one with no row any more (an unlinked account) is left out. The result
shows whether the table, the rows and the dumps agree.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db import connection as db
from django.db import transaction

from accounts.models import Connection, FinancialAccount
from accounts.providers import RawFetch, get_provider
from categories.selectors import uncategorized_id
from transactions.importers import ImportFormatError, parse_file
from transactions.models import ImportJob, RawDump, RefreshRun, Transaction
from transactions.objectstore import get_store
from transactions.services.ingest import PENDING_MATCH_DAYS, _latest_per_key

from ..models import MonthlySpending
from .spending import LOCK_NAMESPACE, month_of, spending_changed, totals_of

ZERO = Decimal("0")


def _lock_exclusive(user_id: int) -> None:
    if db.vendor == "postgresql":
        with db.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_NAMESPACE, user_id])


Totals = dict[tuple[date, int], tuple[Decimal, int]]


def totals_from_rows(user_id: int) -> Totals:
    return totals_of(Transaction.objects.filter(user_id=user_id))


def _replace(user_id: int, totals: Totals) -> tuple[int, int]:
    """Overwrites the user's rows with ``totals``; returns (rows before, rows after)."""
    before = MonthlySpending.objects.filter(user_id=user_id).delete()[0]
    MonthlySpending.objects.bulk_create(
        [MonthlySpending(user_id=user_id, month=month, category_id=category_id, total=total,
                         count=count)
         for (month, category_id), (total, count) in sorted(totals.items())
         if total or count],
        batch_size=1000,
    )
    spending_changed(user_id=user_id, months={month for month, _ in totals})
    return before, len(totals)


def current_totals(user_id: int) -> Totals:
    return {(month, category_id): (total, count)
            for month, category_id, total, count in MonthlySpending.objects.filter(
                user_id=user_id).values_list("month", "category_id", "total", "count")
            if total or count}


@dataclass
class RecomputeResult:
    user_id: int
    differences: dict = field(default_factory=dict)  # key → (table, truth)
    written: bool = False
    skipped_dumps: int = 0
    # Stored files of imports whose rows are still there that today's reader refuses (a
    # reader made stricter since): replayed without them the totals would lose those
    # rows' money, so nothing is written while there are any.
    unreadable_dumps: int = 0


def _diff(old: Totals, new: Totals) -> dict:
    keys = set(old) | set(new)
    zero = (ZERO, 0)
    return {k: (old.get(k, zero), new.get(k, zero)) for k in sorted(keys)
            if old.get(k, zero) != new.get(k, zero)}


def spending_recompute(*, user_id: int, from_raw: bool = False,
                       dry_run: bool = False) -> RecomputeResult:
    """Rebuilds one user's monthly spending (``dry_run``: only report the differences)."""
    with transaction.atomic():
        _lock_exclusive(user_id)
        result = RecomputeResult(user_id=user_id)
        if from_raw:
            truth, result.skipped_dumps, result.unreadable_dumps = totals_from_dumps(user_id)
        else:
            truth = totals_from_rows(user_id)
        result.differences = _diff(current_totals(user_id), truth)
        if result.differences and not dry_run and not result.unreadable_dumps:
            _replace(user_id, truth)
            result.written = True
    return result


# --- replaying the raw dumps ----------------------------------------------------------------

@dataclass
class _Row:
    posted_on: date
    amount: Decimal
    pending: bool


def _as_read(job) -> dict:
    """The options an import's file was read with. A bank CSV imported before the reader
    chose ``negate`` itself (December 2026: an Amex or Apple Card export is negated unless
    told otherwise) was read as given; its job holds the choice since (read_with)."""
    options = dict(job.options or {})
    if job.format == "csv" and options.get("negate") in (None, ""):
        options["negate"] = False
    return options


def _statements(user_id: int):
    """(account resolver, Statement) per stored dump of the user, oldest first."""
    store = get_store()
    jobs = {job.dump_id: job for job in ImportJob.objects.filter(user_id=user_id,
                                                                 dump__isnull=False)}
    # Only dumps whose rows were written: a run that failed after storing its dump, or
    # one still running, wrote none (its dump is stored before its rows, on purpose).
    ingested = set(RefreshRun.objects.filter(user_id=user_id, status=RefreshRun.Status.SUCCEEDED,
                                             dump__isnull=False).values_list("dump_id", flat=True))
    for dump in RawDump.objects.filter(user_id=user_id).order_by("created_at", "key"):
        job = jobs.get(dump.id)
        if job is not None:
            if job.status != ImportJob.Status.SUCCEEDED:
                continue
            # A job succeeded, so its file was read: with the reading it had then (an
            # OFX statement naming no account went to the chosen account).
            try:
                statement = parse_file(store.get(dump.key), filename=job.filename,
                                       format=job.format, options=_as_read(job),
                                       into_account=True)
            except ImportFormatError:
                # Read once, refused now: a reader made stricter since (a quote that never
                # closes used to swallow the rest of the file into one cell). Its rows are
                # still stored: see RecomputeResult.unreadable_dumps.
                yield dump, UNREADABLE, None
                continue
            yield dump, (job.account_id, job.account.connection_id if job.account_id else None,
                         True), statement
        elif dump.connection_id is not None:
            if dump.id not in ingested:
                continue
            connection = Connection.objects.filter(pk=dump.connection_id).first()
            if connection is None:
                continue
            provider = get_provider(connection.provider)
            statement = provider.parse(RawFetch(payload=store.get(dump.key),
                                                media_type=dump.media_type))
            yield dump, (None, connection.pk, False), statement
        else:
            yield dump, None, None


UNREADABLE = "unreadable"


def totals_from_dumps(user_id: int) -> tuple[Totals, int, int]:
    """Replays the dumps (see module doc); returns (totals, dumps that could not be used,
    stored files of imports that today's reader refuses)."""
    accounts = {
        (a.connection_id, a.external_id): a.id
        for a in FinancialAccount.objects.filter(user_id=user_id)
    }
    file_connection = Connection.objects.filter(user_id=user_id,
                                                provider=Connection.Provider.FILE).first()
    state: dict[tuple[int, str], _Row] = {}
    pending: dict[tuple[int, Decimal], list[tuple[int, str]]] = defaultdict(list)
    skipped = unreadable = 0
    for _dump, where, statement in _statements(user_id):
        if where == UNREADABLE:
            unreadable += 1
            continue
        if statement is None:
            skipped += 1
            continue
        forced, connection_id, is_import = where
        if is_import and forced is None and file_connection is not None:
            connection_id = file_connection.pk
        latest = {}
        for record in _latest_per_key(statement.transactions):  # as the ingest reads it
            account_id = forced or accounts.get((connection_id, record.account_external_id))
            if account_id is None:
                continue
            latest[(account_id, record.external_id[:120])] = record
        still_pending = {key for key, r in latest.items() if r.pending}
        for (account_id, external_id), record in latest.items():
            key = (account_id, external_id)
            amount = record.amount.quantize(Decimal("0.01"))
            if not record.pending and key not in state:
                _drop_pending_twin(state, pending, account_id, record, amount, still_pending)
            state[key] = _Row(record.posted_on, amount, record.pending)
            if record.pending:
                pending[(account_id, amount)].append(key)
    categories = {
        (account_id, external_id): category_id
        for account_id, external_id, category_id in Transaction.objects.filter(
            user_id=user_id).values_list("account_id", "external_id", "category_id")
    }
    fallback = uncategorized_id() or 0  # 0: no taxonomy loaded (tests that flush it)
    out: dict[tuple[date, int], list] = defaultdict(lambda: [ZERO, 0])
    for key, row in state.items():
        if key not in categories:
            continue  # no row any more: its account was unlinked
        entry = out[(month_of(row.posted_on), categories[key] or fallback)]
        entry[0] += row.amount
        entry[1] += 1
    return {k: (v[0], v[1]) for k, v in out.items()}, skipped, unreadable


def _drop_pending_twin(state, pending, account_id, record, amount, still_pending) -> None:
    """As ``transactions.services.ingest._replace_pending_twins`` does for one row."""
    if record.pending_external_id:
        twin = (account_id, record.pending_external_id)
        if twin in state and state[twin].pending:
            del state[twin]
        return
    for key in pending.get((account_id, amount), ()):
        row = state.get(key)
        if (row is not None and row.pending and row.amount == amount
                and 0 <= (record.posted_on - row.posted_on).days <= PENDING_MATCH_DAYS
                and key not in still_pending):
            del state[key]
            return

"""Monthly spending per (user, month, category), kept in step with the transaction rows.

Every writer of transaction rows describes what it changed as a :class:`SpendingDelta`
and calls :func:`spending_apply` in the *same* database transaction: a row inserted adds
its amount to its (month, category); a row deleted takes it away; a row whose amount,
date or category changed moves it. After the commit, the user's cached summaries are
invalidated and one budget check is queued, told which months changed (see
:func:`budgets_check_after_commit`).

The PostgreSQL ingest computes its delta inside its own upsert statement and calls
:func:`spending_changed` for the after-commit part (see ``transactions.services.ingest``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from django.db import connection as db
from django.db import transaction

from categories.selectors import uncategorized_id

from ..models import MonthlySpending

ZERO = Decimal("0")
LOCK_NAMESPACE = 7301  # pg_advisory_xact_lock(namespace, user_id), see recompute.py


def spending_lock_shared(user_id: int) -> None:
    """Every incremental writer takes this before it writes a delta and holds it to its
    commit; ``recompute_spending`` takes the same lock exclusively (see recompute.py)."""
    if db.vendor == "postgresql":
        with db.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock_shared(%s, %s)",
                           [LOCK_NAMESPACE, user_id])


def month_of(day: date) -> date:
    return day.replace(day=1)


class SpendingDelta:
    """Changes to monthly spending, summed per (user, month, category) before writing."""

    def __init__(self) -> None:
        self.totals: dict[tuple[int, date, int | None], list] = defaultdict(lambda: [ZERO, 0])

    def add(self, *, user_id: int, posted_on: date, category_id: int | None,
            amount: Decimal) -> None:
        entry = self.totals[(user_id, month_of(posted_on), category_id)]
        entry[0] += amount
        entry[1] += 1

    def add_rows(self, *, user_id: int, rows) -> None:
        """``add`` for many new rows of one user, each ``(posted_on, category_id,
        amount)`` (the month of each day worked out once)."""
        months: dict[date, date] = {}
        totals = self.totals
        for posted_on, category_id, amount in rows:
            month = months.get(posted_on)
            if month is None:
                month = months[posted_on] = posted_on.replace(day=1)
            entry = totals[(user_id, month, category_id)]
            entry[0] += amount
            entry[1] += 1

    def remove(self, *, user_id: int, posted_on: date, category_id: int | None,
               amount: Decimal) -> None:
        entry = self.totals[(user_id, month_of(posted_on), category_id)]
        entry[0] -= amount
        entry[1] -= 1

    def move(self, *, user_id: int, old: tuple[date, int | None, Decimal],
             new: tuple[date, int | None, Decimal]) -> None:
        """A row's (posted_on, category_id, amount) changed from ``old`` to ``new``."""
        if old == new:
            return
        self.remove(user_id=user_id, posted_on=old[0], category_id=old[1], amount=old[2])
        self.add(user_id=user_id, posted_on=new[0], category_id=new[1], amount=new[2])

    def __bool__(self) -> bool:
        return any(total or count for total, count in self.totals.values())


def totals_of(transactions) -> dict[tuple[date, int], tuple[Decimal, int]]:
    """(month, category) → (sum of amounts, rows) of a queryset of one user's
    transactions, in one GROUP BY (rows without a category count as Uncategorized)."""
    from django.db.models import Count, Sum
    from django.db.models.functions import TruncMonth

    fallback = uncategorized_id() or 0  # 0: no taxonomy loaded (tests that flush it)
    out: dict[tuple[date, int], list] = defaultdict(lambda: [ZERO, 0])
    rows = (transactions.annotate(month=TruncMonth("posted_on"))
            .values("month", "category_id").annotate(total=Sum("amount"), n=Count("id")))
    for row in rows:
        month = row["month"]
        month = month.date() if hasattr(month, "date") else month
        entry = out[(month, row["category_id"] or fallback)]
        entry[0] += row["total"]
        entry[1] += row["n"]
    return {key: (total, count) for key, (total, count) in out.items()}


@transaction.atomic
def spending_of_deleted(*, user_id: int, transactions) -> SpendingDelta:
    """Locks the rows about to be deleted (a queryset of one user's transactions) and
    returns the spending they take away, for ``spending_apply`` after the delete."""
    # Locked first: a category changed meanwhile is counted where it is now. In id order,
    # as recategorising batches lock theirs: the two cannot deadlock.
    list(transactions.select_for_update().order_by("id").values_list("id", flat=True))
    delta = SpendingDelta()
    for (month, category_id), (total, count) in totals_of(transactions).items():
        delta.totals[(user_id, month, category_id)] = [-total, -count]
    return delta


def spending_apply(delta: SpendingDelta) -> None:
    """Writes ``delta`` (inside the caller's transaction) and schedules what follows."""
    fallback = uncategorized_id() or 0  # 0: no taxonomy loaded (tests that flush it)
    rows: dict[tuple[int, date, int | None], list] = defaultdict(lambda: [ZERO, 0])
    for (user_id, month, category_id), (total, count) in delta.totals.items():
        if total or count:
            entry = rows[(user_id, month, category_id or fallback)]
            entry[0] += total
            entry[1] += count
    rows = {k: v for k, v in rows.items() if v[0] or v[1]}
    if not rows:
        return
    for user_id in sorted({user_id for user_id, _, _ in rows}):
        spending_lock_shared(user_id)
    if db.vendor == "postgresql":
        table = MonthlySpending._meta.db_table
        # Sorted: every writer locks a user's rows in (month, category) order, as the
        # ingest statement does, so two writers cannot deadlock (ORDER BY ordinality).
        # Each column goes as one array literal that this code writes from ints, dates
        # and Decimals (no quoting needed): a year of a statement's months × categories
        # is ~300 rows, which psycopg2 takes ~2 ms to adapt value by value, ~0.2 ms so.
        ordered = sorted(rows.items())
        columns = [
            "{" + ",".join(str(value) for value in column) + "}"
            for column in zip(*((int(u), m.isoformat(), int(c), Decimal(t), int(n))
                                for (u, m, c), (t, n) in ordered), strict=True)
        ]
        with db.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} AS ms (user_id, month, category_id, total, count) "  # noqa: S608
                "SELECT u, m, c, t, n FROM unnest(%s::bigint[], %s::date[], %s::bigint[], "
                "%s::numeric[], %s::int[]) WITH ORDINALITY AS r(u, m, c, t, n, i) ORDER BY i "
                "ON CONFLICT (user_id, month, category_id) DO UPDATE "
                "SET total = ms.total + EXCLUDED.total, count = ms.count + EXCLUDED.count",
                columns,
            )
    else:
        # SQLite (embedded mode): the same upsert, one prepared statement run for each
        # row (it was an INSERT and an UPDATE per row: unlinking a year of the demo bank,
        # ~300 rows, sent ~600 queries and took ~0.6 s).
        table = MonthlySpending._meta.db_table
        total_field = MonthlySpending._meta.get_field("total")
        with db.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {table} (user_id, month, category_id, total, count) "  # noqa: S608
                "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (user_id, month, category_id) "
                "DO UPDATE SET total = total + excluded.total, count = count + excluded.count",
                [(u, m.isoformat(), c, total_field.get_db_prep_save(t, connection=db), n)
                 for (u, m, c), (t, n) in sorted(rows.items())],
            )
    months: dict[int, set[date]] = defaultdict(set)
    for user_id, month, _ in rows:
        months[user_id].add(month)
    for user_id, user_months in months.items():
        spending_changed(user_id=user_id, months=user_months)


def _waiting(attr: str, value):
    """Our callback whose ``attr`` is ``value``, if one waits for this commit at this
    savepoint or an outer one (so that it runs whenever a new one would); else None."""
    if not db.in_atomic_block:
        return None
    here = set(db.savepoint_ids)
    for sids, pending, _robust in db.run_on_commit:
        if getattr(pending, attr, None) == value and sids <= here:
            return pending
    return None


def after_commit(fn, *args, once: bool = False) -> None:
    """``fn(*args)`` after the commit, *robust*: its error is logged, never raised into a
    write that has committed, and later callbacks still run. (A plain function, not a
    ``partial``: Django logs a robust callback by its ``__qualname__``.)

    ``once``: not again if the same call already waits for this commit at this savepoint
    or an outer one (so that it runs whenever this one would): a refresh that changes
    spending queues one budget check, not one per step that noticed."""
    if once and _waiting("mint_call", (fn, args)) is not None:
        return

    def call():
        fn(*args)

    call.__qualname__ = f"after_commit({getattr(fn, '__qualname__', fn)!s})"
    call.mint_call = (fn, args)
    transaction.on_commit(call, robust=True)


def budgets_check_after_commit(*, user_id: int, months: Iterable[date] = ()) -> None:
    """The user's budget check, queued after the commit: one per user and commit however
    many writes in it asked, with the ``months`` they changed merged (the check looks at
    the month that is current when it runs, and at the one before only if it is among
    them: see ``budgets_check``).

    The months are merged into a check that waits already at this savepoint or an outer
    one (which runs whenever this one would), as ``after_commit(..., once=True)`` does;
    a month merged from a savepoint that rolls back later stays, so at worst a month is
    checked that did not change, the check being idempotent."""
    from ..tasks import check_budgets

    if (pending := _waiting("mint_check_of", user_id)) is not None:
        pending.months.update(months)
        return
    wanted = set(months)

    def call():
        if wanted:
            # ISO dates: the broker speaks JSON.
            check_budgets.delay(user_id, months=sorted(m.isoformat() for m in wanted))
        else:
            check_budgets.delay(user_id)

    call.__qualname__ = "budgets_check_after_commit(check_budgets.delay)"
    call.mint_check_of = user_id
    call.months = wanted
    # robust: a broker outage after the commit must not turn a committed write into an
    # error, nor keep the other callbacks from running.
    transaction.on_commit(call, robust=True)


def spending_changed(*, user_id: int, months: set[date]) -> None:
    """After the commit: stale summaries go, and a budget check of the changed ``months``
    is queued. Call inside the transaction that changed the spending."""
    from ..cache import summary_invalidate

    # robust: a cache or broker outage after the commit must not turn a committed write
    # into an error (a refresh marked failed, a 500), nor skip the other callback. A check
    # lost to a broker outage runs again after the user's next refresh (refresh.py).
    if months:
        budgets_check_after_commit(user_id=user_id, months=months)
    after_commit(summary_invalidate, user_id, once=True)

"""Recategorising stored transactions when a rule or a crowd default changes.

Both walk their rows in fixed-size batches by id (keyset), each batch in its own
database transaction, and return the last id seen (``None`` when done) so that a task
can enqueue the next batch. A row set by hand is never touched: the UPDATE itself
carries ``category_source <> 'manual'``, so a manual choice made while a batch runs
wins.

Measured cost: a batch of 1,000 rows ≈ 60 ms on PostgreSQL (two reads, a handful of
grouped UPDATEs).
"""

from __future__ import annotations

import time
from collections import defaultdict

from django.conf import settings
from django.db import connection as db
from django.db import transaction
from django.utils import timezone

from budgets.services import SpendingDelta, spending_apply
from transactions.models import Transaction

from ..models import Category, Rule
from ..selectors import uncategorized_id
from .categorize import (
    IMPORT,
    RULE,
    Item,
    categorize_items,
    compile_rules,
    in_scope,
    scope_matchers,
)

_FIELDS = ("id", "user_id", "description", "memo", "amount", "account_id", "seller",
           "seller_key", "category_id", "category_source", "file_category_id", "posted_on")


def _file_category(row: dict) -> int | None:
    """The category the row's file named: its category while it is "import", else the
    one kept while a rule files it elsewhere (``Transaction.file_category``). A bare
    Uncategorized is none (no opinion: rows imported so before that rule are filed
    again like any other)."""
    found = row["category_id"] if row["category_source"] == IMPORT else row["file_category_id"]
    return None if found == uncategorized_id() else found


def _recategorize_rows(rows: list[dict], scope: list[dict] | None = None, *,
                       with_rules: bool = True) -> int:
    """Runs the precedence again on stored rows; writes the ones whose answer changed
    (with a ``scope``, only rows one of its rule conditions matches; without
    ``with_rules``, the precedence below the user's rules). Returns how many rows
    changed."""
    if scope is not None:
        matchers = scope_matchers(scope)
        rows = [row for row in rows if in_scope(scope, matchers, row)]
    if not rows:
        return 0
    user_ids = {row["user_id"] for row in rows}
    rules_by_user: dict[int, list] = defaultdict(list)
    for rule in Rule.objects.filter(user_id__in=user_ids) if with_rules else ():
        rules_by_user[rule.user_id].append(rule)
    compiled = {user_id: compile_rules(rules) for user_id, rules in rules_by_user.items()}
    by_user: dict[int, list[dict]] = defaultdict(list)
    for row in rows:
        by_user[row["user_id"]].append(row)
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for user_id, user_rows in by_user.items():
        # The name an imported file gave a row (Mint's Description) stays its name under
        # a rule that renames nothing, as it does when the file is imported.
        items = [Item(r["description"], r["memo"], r["amount"], r["account_id"],
                      source_name=r["seller"] if _file_category(r) is not None else "")
                 for r in user_rows]
        answers = categorize_items(items=items, rules=compiled.get(user_id, []))
        for row, (seller, seller_key, category_id, source) in zip(user_rows, answers,
                                                                   strict=True):
            from_file = _file_category(row)
            if from_file is not None and source != RULE:
                # The file named the category, and perhaps the seller's name (Mint's
                # Description): only a rule (or the user) overrides them, and a rule
                # that no longer does gives them back.
                seller, category_id, source = row["seller"], from_file, IMPORT
            kept = from_file if source == RULE else None
            new = (seller, seller_key, category_id, source, kept)
            old = (row["seller"], row["seller_key"], row["category_id"], row["category_source"],
                   row["file_category_id"])
            if new != old:
                groups[new].append(row)
    gone = _deleted_meanwhile({key[2] for key in groups} | {key[4] for key in groups})
    delta = SpendingDelta()
    changed = 0
    now = timezone.now()
    for (seller, seller_key, category_id, source, kept), group in groups.items():
        if category_id in gone or kept in gone:
            continue  # left as they are, for the next run
        for row in group:
            if category_id != row["category_id"]:
                delta.move(user_id=row["user_id"],
                           old=(row["posted_on"], row["category_id"], row["amount"]),
                           new=(row["posted_on"], category_id, row["amount"]))
        ids = [row["id"] for row in group]
        changed += (
            Transaction.objects.filter(id__in=ids)
            .exclude(category_source=Transaction.CategorySource.MANUAL)
            .update(seller=seller, seller_key=seller_key, category_id=category_id,
                    category_source=source, file_category_id=kept, updated_at=now)
        )
    # The batch's rows are locked (select_for_update), so every row counted in the delta
    # is one the UPDATE changed: monthly spending moves with them, in this transaction.
    spending_apply(delta)
    return changed


def _deleted_meanwhile(category_ids: set) -> set[int]:
    """Of the users' own categories among ``category_ids`` (the shared taxonomy is never
    deleted), those gone; the others locked FOR KEY SHARE until the commit.
    ``category_delete`` locks a category's rows, the category, then its rows again
    before it moves them and deletes it, so a row filed here under one is either moved
    with the others or not filed at all."""
    own = set(Category.objects.filter(pk__in=category_ids - {None}, user__isnull=False)
              .values_list("pk", flat=True))
    if not own:
        return set()
    if db.vendor != "postgresql":  # one writer at a time: nothing can go meanwhile
        return set()
    with db.cursor() as cursor:
        cursor.execute(f"SELECT id FROM {Category._meta.db_table} "  # noqa: S608
                       "WHERE id = ANY(%s) ORDER BY id FOR KEY SHARE", [sorted(own)])
        return own - {pk for (pk,) in cursor.fetchall()}


def transactions_recategorize_user(*, user_id: int, after_id: int = 0,
                                   batch_size: int | None = None,
                                   scope: list[dict] | None = None) -> int | None:
    """One batch of the user's non-manual transactions with id > ``after_id``; with a
    ``scope`` (``rule_scope`` of the rules that changed) only the rows they match are
    categorised again: a rule created, changed or deleted "for the past" moves its own
    rows, and no earlier choice to leave the past as it was is undone."""
    return transactions_recategorize_user_batch(user_id=user_id, after_id=after_id,
                                                batch_size=batch_size, scope=scope)[0]


def transactions_recategorize_user_batch(
    *, user_id: int, after_id: int = 0, batch_size: int | None = None,
    scope: list[dict] | None = None,
) -> tuple[int | None, int]:
    """``transactions_recategorize_user``, and how many rows of the batch changed."""
    size = batch_size or settings.RECATEGORIZE_BATCH_SIZE
    candidates = Transaction.objects.filter(user_id=user_id, id__gt=after_id)
    if scope and all("ids" in conditions for conditions in scope):
        # Rows by id alone (rows_scope): the batch is the next ``size`` of them, not a
        # walk through every row of the user.
        ids = sorted({pk for conditions in scope for pk in conditions["ids"] if pk > after_id})
        with transaction.atomic():
            rows = list(candidates.filter(id__in=ids[:size])
                        .exclude(category_source=Transaction.CategorySource.MANUAL)
                        .select_for_update().order_by("id").values(*_FIELDS))
            changed = _recategorize_rows(rows, scope)
        return (ids[size - 1] if len(ids) > size else None), changed
    with transaction.atomic():
        rows = list(
            candidates.exclude(category_source=Transaction.CategorySource.MANUAL)
            .select_for_update().order_by("id").values(*_FIELDS)[:size]
        )
        changed = _recategorize_rows(rows, scope)
    if len(rows) < size:
        return None, changed
    return rows[-1]["id"], changed


def transactions_recategorize_seller(*, seller_key: str, after_id: int = 0,
                                     batch_size: int | None = None) -> int | None:
    """One batch of every user's transactions of a seller that the crowd may categorise
    (no rule, dictionary, file or person chose theirs); index ``tx_crowd_seller``.

    Only the crowd's change is made: the rows are answered without the users' rules. A
    row a rule matches but did not file is one of a rule made "not for the past" (or
    one the rule's "apply to the past" has not reached yet, and will): the crowd must
    not apply that rule to it."""
    size = batch_size or settings.RECATEGORIZE_BATCH_SIZE
    with transaction.atomic():
        rows = list(
            Transaction.objects.filter(
                seller_key=seller_key, id__gt=after_id,
                category_source__in=["", "crowd", "heuristic"],
            ).exclude(seller_key="")  # the partial index's own condition
            .select_for_update().order_by("seller_key", "id").values(*_FIELDS)[:size]
        )
        _recategorize_rows(rows, with_rules=False)
    if len(rows) < size:
        return None
    return rows[-1]["id"]


def transactions_in_flight() -> list[str]:
    """The other transactions open on this database now (PostgreSQL virtual transaction
    ids: one for every transaction, also one that has written nothing yet), for
    :func:`transactions_still_in_flight`. None on SQLite: one writer at a time."""
    if db.vendor != "postgresql":
        return []
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT l.virtualxid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'virtualxid' AND l.granted AND a.datname = current_database() "
            "AND l.pid <> pg_backend_pid()")
        return [vxid for (vxid,) in cursor.fetchall()]


def transactions_still_in_flight(vxids: list[str], *, wait: float = 0.0) -> list[str]:
    """Those of ``vxids`` still open, after waiting up to ``wait`` seconds for them."""
    if not vxids or db.vendor != "postgresql":
        return []
    deadline = time.monotonic() + wait
    while True:
        with db.cursor() as cursor:
            cursor.execute("SELECT virtualxid FROM pg_locks WHERE locktype = 'virtualxid' "
                           "AND virtualxid = ANY(%s)", [list(vxids)])
            still = [vxid for (vxid,) in cursor.fetchall()]
        if not still or time.monotonic() >= deadline:
            return still
        time.sleep(0.05)

"""Upsert of parsed provider records into Transaction rows (pipeline steps 5–6).

Idempotent: the same records ingested twice add nothing the second time. Cost grows
with the new data, never with the account's history: existing rows are found through
the unique index ``(user, account, external_id)``, pending twins through a partial
index on pending rows only.

On PostgreSQL the rows of a batch are COPYed into a temporary staging table and moved
with one statement: an ``UPDATE`` of the stored rows whose data changed, an ``INSERT`` of
the rows not stored yet (an anti-join on the unique index), and the monthly spending they
move; unchanged rows are not written at all (see ``_write_postgres``). Rows of
accounts this very statement created (a first link, an import that creates its accounts)
skip the lookups for stored rows, which cannot exist: they are COPYed straight into the
table. Other databases (SQLite in embedded mode) take a portable ORM path with the same
semantics.
"""

from __future__ import annotations

import io
import re
import weakref
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import partial
from operator import attrgetter, itemgetter

from django.db import connection as db
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import Connection, FinancialAccount
from accounts.providers import AccountRecord, Statement, TransactionRecord
from budgets.models import MonthlySpending
from budgets.services import SpendingDelta, spending_apply, spending_changed
from budgets.services.spending import LOCK_NAMESPACE
from categories.engine import categorizer
from categories.selectors import uncategorized_id
from categories.services import categorize_records

from ..importers._fields import REUSED_ID_DAYS, is_reused_id, reused_external_id
from ..models import RawDump, Transaction

# 5,000 rows ≈ 1.5 MB of COPY text; one batch takes ~0.15 s on the 2-core CI machine.
BATCH_SIZE = 5000
PENDING_MATCH_DAYS = 7
CENT = Decimal("0.01")
KINDS = {choice for choice, _ in FinancialAccount.Kind.choices}


@dataclass
class IngestResult:
    fetched: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    replaced_pending: int = 0
    expired_pending: int = 0  # pending rows the provider stopped sending (see Statement)
    account_ids: set[int] = field(default_factory=set)
    new_account_ids: set[int] = field(default_factory=set)  # the accounts it created
    months: set[tuple[int, int]] = field(default_factory=set)

    def add(self, other: IngestResult) -> None:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.replaced_pending += other.replaced_pending


def _clean(text: str, limit: int) -> str:
    """One line, single spaces, no NUL (PostgreSQL's text cannot hold one), at most
    ``limit`` characters (no tab or newline is left, which keeps the COPY text simple).
    Most descriptions are clean already: checked first because this runs twice per row."""
    if ("  " in text or "\t" in text or "\n" in text or "\r" in text or "\x00" in text
            or text[:1] == " " or text[-1:] == " "):
        text = " ".join(text.replace("\x00", "").split())
    return text[:limit]


_LONG_NUMBER = re.compile(r"\d[\d -]{4,}\d")


def _shown_name(name: str, external_id: str) -> str:
    """An account's name as shown everywhere. A provider that gives none, or gives the
    account's id as its name, leaves a number that may be a full card or account number:
    only its last 4 digits are shown. A real name ("Cash ISA 2023-24") is kept."""
    if name and name != external_id:
        return name
    numbers = _LONG_NUMBER.findall(external_id)
    if not numbers:
        return external_id
    last4 = re.sub(r"\D", "", numbers[-1])[-4:]
    rest = _LONG_NUMBER.sub("", external_id).strip(" -:…")
    return f"{rest or 'Account'} …{last4}"


def _last4(external_id: str) -> str:
    """The mask of an account the provider gave none: its id's last 4 digits, when the
    id is mostly a number (a card or account number), else nothing."""
    numbers = _LONG_NUMBER.findall(external_id)
    if not numbers or len(re.sub(r"\D", "", external_id)) * 2 < len(external_id):
        return ""
    return re.sub(r"\D", "", numbers[-1])[-4:]


def _take_balance(account: FinancialAccount, record: AccountRecord, now: datetime) -> bool:
    """Gives the account the record's balance unless the account's is of a later moment
    (an older statement imported after a newer one); whether anything changed. The same
    balance at a later day moves its day on, so that a statement from between the two
    cannot put an older balance back; of one moment, the later import wins."""
    if record.balance is None:
        return False
    balance_at = _balance_at(record, now)
    if account.balance_at is not None and balance_at < account.balance_at:
        return False
    if record.balance == account.balance and (record.balance_as_of is None
                                               or balance_at == account.balance_at):
        return False  # nothing new (a refresh that found it unchanged: no write)
    account.balance, account.balance_at = record.balance, balance_at
    return True


def _balance_at(record: AccountRecord, now: datetime) -> datetime:
    """When the record's balance was the account's: its as-of day when the source gives
    one (at noon UTC, so that the day shows as that day in every time zone but the
    farthest; never later than now), else now."""
    if record.balance_as_of is None:
        return now
    return min(datetime.combine(record.balance_as_of, time(12), tzinfo=UTC), now)


def accounts_upsert(
    *, user, connection: Connection, records: list[AccountRecord]
) -> tuple[dict[str, FinancialAccount], set[int]]:
    """Creates or updates the statement's accounts; returns them by external id, and the
    ids of those it created."""
    existing = {a.external_id: a for a in connection.accounts.all()}
    now = timezone.now()
    new: dict[str, FinancialAccount] = {}
    changed: dict[str, FinancialAccount] = {}
    for record in records:
        kind = record.kind if record.kind in KINDS else FinancialAccount.Kind.OTHER
        account = existing.get(record.external_id) or new.get(record.external_id)
        if account is None:
            new[record.external_id] = FinancialAccount(
                user=user, connection=connection, external_id=record.external_id,
                name=_shown_name(_clean(record.name, 200), record.external_id), kind=kind,
                mask=record.mask[-4:] or _last4(record.external_id),
                currency=record.currency or "USD", balance=record.balance,
                balance_at=_balance_at(record, now) if record.balance is not None else None,
            )
        elif _take_balance(account, record, now) and account.pk is not None:
            changed[record.external_id] = account
    if new:
        FinancialAccount.objects.bulk_create(new.values())
        existing.update(new)
    if changed:
        FinancialAccount.objects.bulk_update(changed.values(), ["balance", "balance_at"])
    return existing, {account.id for account in new.values()}


def transactions_ingest(
    *,
    user,
    connection: Connection,
    statement: Statement,
    dump: RawDump,
    account: FinancialAccount | None = None,
    durable: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> IngestResult:
    """Writes a parsed statement. Call inside ``transaction.atomic()`` together with
    whatever else must commit with the rows (the fetch cursor, the run record).

    ``account`` forces every transaction onto one account (a file imported into a
    chosen account); otherwise the statement's account ids pick or create accounts.

    ``durable=False`` lets the commit return before its WAL is flushed (PostgreSQL's
    ``synchronous_commit = off``, ~2 ms less per statement): for a background refresh
    only, whose loss in a database crash loses nothing, since the run is still marked
    running (committed earlier), its lease expires and the requeue sweep runs it again.
    An import the user was told about stays durable.

    ``progress(done, total)``, if given, hears how many of the statement's transactions
    have been written, after every batch (a long import shows it while it runs).
    """
    if not db.in_atomic_block:
        raise RuntimeError("transactions_ingest must run inside transaction.atomic()")
    if not durable:
        commit_without_wal_flush()
    if account is None:
        accounts, empty = accounts_upsert(user=user, connection=connection,
                                          records=statement.accounts)
    else:
        accounts, empty = {}, set()
        # A file of one account imported into a chosen one: its balance is that one's.
        if len(statement.accounts) == 1 and _take_balance(account, statement.accounts[0],
                                                          timezone.now()):
            account.save(update_fields=["balance", "balance_at"])
    records = _latest_per_key(statement.transactions)
    if progress is not None:
        progress(0, len(records))  # one total throughout: the rows that will be written
    result = IngestResult(fetched=len(statement.transactions), new_account_ids=set(empty))
    expiring = account is None and (statement.window_start is not None
                                    or statement.expire_within_rows)
    sent: set[tuple[int, str]] = set()  # (account, external id) as written, if expiring
    # Every row stored before this ingest has an id at most this (ids come from one
    # sequence; the connection is locked, so no other ingest writes its accounts now):
    # the rows this ingest inserts are above it. One probe of the end of the primary key,
    # for a refresh's window or a file only.
    stored_up_to = (Transaction.objects.aggregate(top=models.Max("id"))["top"] or 0
                    if expiring else 0)
    # The posted rows that replaced their pending twin in this ingest: known postings of
    # other charges, never the heir of an expiring pending row's manual choice.
    twins_replaced: set[tuple[int, str]] = set()
    days: dict[int, list[date]] = {}  # account → [first, last] day of a file's rows
    # A file's evidence that a pending row it lacks is resolved (expire_within_rows): it
    # shows pending rows of that account (so it would show this one), or it holds a posted
    # row of the same seller within PENDING_MATCH_DAYS after it (posted under another
    # amount: a tip added). Without either, a posted-only export takes nothing away.
    shows_pending: set[int] = set()
    posted_by_seller: dict[tuple[int, str], list[date]] = defaultdict(list)
    file_posted: set[str] | None = None  # the ids of a file's posted rows, once needed
    for start in range(0, len(records), BATCH_SIZE):
        chunk = records[start : start + BATCH_SIZE]
        file_categories: dict[tuple[int, str], int] = {}
        rows = _rows(user=user, connection=connection, records=chunk,
                     accounts=accounts, forced=account, dump=dump,
                     file_categories=file_categories)
        _plain_ids_of_stored_rows(user_id=user.id, rows=rows)
        account_ids = set(map(_ACCOUNT, rows))
        if not account_ids <= empty:
            _former_ids_of_stored_rows(user_id=user.id, rows=rows)
        if statement.expire_within_rows and not account_ids <= empty:
            # A file: a pending row it holds that has posted since (an older file read
            # after a newer one, or again) is not written back beside its posted row.
            if file_posted is None:
                file_posted = {name for r in records if not r.pending for name in (
                    r.external_id, r.former_external_id,
                    reused_external_id(r.external_id, r.posted_on))}
            kept = _without_pending_posted_since(user_id=user.id, rows=rows,
                                                 file_posted=file_posted)
            result.unchanged += len(rows) - len(kept)
            rows = kept
        if account_ids <= empty and db.vendor == "postgresql":
            # Accounts this ingest created and has not written to yet (a first link): no
            # stored row can be updated, replaced or duplicated, and no other session
            # sees the accounts before the commit. The rows go straight in.
            result.add(_write_postgres_new(rows))
        else:
            _check_accounts(user_id=user.id, account_ids=account_ids)
            result.replaced_pending += _replace_pending_twins(user=user, rows=rows,
                                                              heirs=twins_replaced)
            write = _write_postgres if db.vendor == "postgresql" else _write_portable
            result.add(write(rows))
        if file_categories:
            _keep_file_categories(user_id=user.id, dump_id=dump.id,
                                  file_categories=file_categories)
        if expiring:
            sent.update(map(_KEY_OF_ROW, rows))
        if expiring and statement.expire_within_rows:  # (a refresh's window needs none)
            for row in rows:
                span = days.setdefault(row[A], [row[D], row[D]])
                span[0], span[1] = min(span[0], row[D]), max(span[1], row[D])
                if row[PENDING]:
                    shows_pending.add(row[A])
                else:
                    posted_by_seller[(row[A], row[SKEY] or row[DESC])].append(row[D])
        empty -= account_ids
        if progress is not None:
            progress(start + len(chunk), len(records))
        result.account_ids |= account_ids
        result.months |= {(day.year, day.month) for day in set(map(_DAY, rows))}
    if expiring:
        covered = {accounts[r.external_id].id for r in statement.accounts
                   if r.external_id in accounts} - empty  # (new accounts hold nothing)
        if statement.window_start is not None:
            windows = dict.fromkeys(covered, (statement.window_start, None))
            resolved = None
        else:
            # A charge pending on the last days of one export posts, a tip added, in the
            # next one, which starts from its posting day: the window reaches back
            # PENDING_MATCH_DAYS before a file's first day, where only a posted row of
            # the same seller tells that a pending row is gone (the file's pending rows
            # say nothing of days it does not cover).
            windows = {a: (first - timedelta(days=PENDING_MATCH_DAYS), last)
                       for a, (first, last) in days.items() if a in covered}

            def resolved(row) -> bool:
                if (row["account_id"] in shows_pending
                        and row["posted_on"] >= days[row["account_id"]][0]):
                    return True
                posted = posted_by_seller.get(
                    (row["account_id"], row["seller_key"] or row["description"]), ())
                return any(0 <= (day - row["posted_on"]).days <= PENDING_MATCH_DAYS
                           for day in posted)
        result.expired_pending = _expire_pending(user=user, windows=windows, sent=sent,
                                                 resolved=resolved,
                                                 twins_replaced=twins_replaced,
                                                 stored_up_to=stored_up_to)
    return result


def _expire_pending(*, user, windows: dict[int, tuple[date, date | None]],
                    sent: set[tuple[int, str]], resolved=None,
                    twins_replaced: frozenset | set = frozenset(),
                    stored_up_to: int = 0) -> int:
    """Deletes the stored pending rows of each account of ``windows`` dated from its first
    day on (to its last, if not None) that the statement no longer holds (see
    ``Statement.window_start`` and ``expire_within_rows``) and that ``resolved`` (if
    given) says are gone, taking their spending away. Only pending rows are read (the
    partial index), never the history."""
    if not windows:
        return 0
    pending = list(
        Transaction.objects.filter(user_id=user.id, account_id__in=list(windows), pending=True,
                                   posted_on__gte=min(first for first, _ in windows.values()))
        .select_for_update().values("id", "account_id", "external_id", "posted_on", "amount",
                                    "category_id", "category_source", "seller", "seller_key",
                                    "description")
    )

    def within(row) -> bool:
        first, last = windows[row["account_id"]]
        return first <= row["posted_on"] and (last is None or row["posted_on"] <= last)

    gone = [p for p in pending
            if (p["account_id"], p["external_id"]) not in sent and within(p)
            and (resolved is None or resolved(p))]
    if not gone:
        return 0
    Transaction.objects.filter(user_id=user.id, id__in=[p["id"] for p in gone]).delete()
    delta = SpendingDelta()
    for row in gone:
        delta.remove(user_id=user.id, posted_on=row["posted_on"],
                     category_id=row["category_id"], amount=row["amount"])
    manual = [p for p in gone if p["category_source"] == Transaction.CategorySource.MANUAL]
    if manual:
        _carry_manual_choices(user_id=user.id, gone=manual, sent=sent - twins_replaced,
                              delta=delta, stored_up_to=stored_up_to)
    spending_apply(delta)
    return len(gone)


def _carry_manual_choices(*, user_id: int, gone: list[dict], sent: set[tuple[int, str]],
                          delta: SpendingDelta, stored_up_to: int = 0) -> None:
    """A pending row filed by hand that went because it posted under another amount (a
    tip added) and another id: its category, and a name given by hand, go to its posted
    row — of the same account and seller, inserted by this ingest (id above
    ``stored_up_to``: a row stored before and only sent again in the window's overlap is
    another charge's), sent in this statement, dated within PENDING_MATCH_DAYS after it
    (the evidence that lets a file's expiry take the pending row away), the nearest in
    days, then in amount, not filed by hand itself (``sent`` leaves out the rows that
    replaced their own pending twin). Without such a row the choice goes with the
    pending one. Reads a few days of the accounts' rows (the (user, date) index); runs
    only when a manual pending row went."""
    accounts = {p["account_id"] for p in gone}
    first = min(p["posted_on"] for p in gone)
    last = max(p["posted_on"] for p in gone) + timedelta(days=PENDING_MATCH_DAYS)
    candidates = [
        c for c in Transaction.objects.filter(
            user_id=user_id, account_id__in=list(accounts), pending=False,
            posted_on__gte=first, posted_on__lte=last, id__gt=stored_up_to,
        ).exclude(category_source=Transaction.CategorySource.MANUAL).select_for_update()
        .values("id", "account_id", "external_id", "posted_on", "amount", "category_id",
                "seller_key", "description")
        if (c["account_id"], c["external_id"]) in sent
    ]
    taken: set[int] = set()
    for p in sorted(gone, key=itemgetter("posted_on", "id")):
        seller = p["seller_key"] or p["description"]
        heirs = [c for c in candidates
                 if c["id"] not in taken and c["account_id"] == p["account_id"]
                 and (c["seller_key"] or c["description"]) == seller
                 and 0 <= (c["posted_on"] - p["posted_on"]).days <= PENDING_MATCH_DAYS]
        if not heirs:
            continue
        heir = min(heirs, key=lambda c: ((c["posted_on"] - p["posted_on"]).days,
                                         abs(c["amount"] - p["amount"]), c["id"]))
        taken.add(heir["id"])
        changes = {"category_id": p["category_id"], "updated_at": timezone.now(),
                   "category_source": Transaction.CategorySource.MANUAL}
        if p["seller"] != categorizer().match(p["description"]).seller:
            changes["seller"] = p["seller"]  # a name given by hand
        Transaction.objects.filter(user_id=user_id, id=heir["id"]).update(**changes)
        delta.move(user_id=user_id,
                   old=(heir["posted_on"], heir["category_id"], heir["amount"]),
                   new=(heir["posted_on"], p["category_id"], heir["amount"]))


def commit_without_wal_flush() -> None:
    """The current transaction's commit returns before its WAL reaches the disk
    (PostgreSQL's ``synchronous_commit = off``; a no-op elsewhere). Only for writes whose
    loss in a database crash costs nothing but doing them again."""
    if db.vendor == "postgresql":
        with db.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


_RECORD_KEY = attrgetter("account_external_id", "external_id")


def _latest_per_key(records: list[TransactionRecord]) -> list[TransactionRecord]:
    """A statement may list one id twice (overlapping pages): the last one wins. A pending
    transaction the same statement also lists as posted (``pending_external_id``) is left
    out: the posted one replaces it, as it would a stored pending row."""
    latest: dict[tuple[str, str], TransactionRecord] = dict(
        zip(map(_RECORD_KEY, records), records, strict=True))
    posted_twins = {(r.account_external_id, r.pending_external_id)
                    for r in latest.values() if not r.pending and r.pending_external_id}
    if posted_twins:
        return [r for key, r in latest.items() if not (r.pending and key in posted_twins)]
    return list(latest.values())


# A row is a list in _COLUMNS order plus the pending twin's id and the row's former id:
# lists are cheaper than dicts at 100,000 rows a batch run, and the pending step may still
# change a category.
_COLUMNS = (
    "user_id", "account_id", "external_id", "posted_on", "amount", "currency", "description",
    "memo", "seller", "seller_key", "category_id", "category_source", "pending", "dump_id",
)
(U, A, X, D, AMOUNT, CUR, DESC, MEMO, SELLER, SKEY, CAT, SRC, PENDING, DUMP, TWIN,
 FORMER) = range(16)
_DATA = ("posted_on", "amount", "currency", "description", "memo", "pending")
_ACCOUNT, _DAY, _KEY_OF_ROW = itemgetter(A), itemgetter(D), itemgetter(A, X)


# A record's fields in the order _rows reads them, in one call.
_RECORD_FIELDS = attrgetter("external_id", "posted_on", "amount", "currency", "description",
                            "memo", "pending", "pending_external_id", "former_external_id")


def _rows(*, user, connection, records, accounts, forced, dump,
          file_categories: dict[tuple[int, str], int]) -> list[list]:
    """The rows to write for ``records``; ``file_categories`` gets (account, id) → the
    file's category of each row a rule took from it (``Transaction.file_category``)."""
    if forced is not None:
        landing = [forced] * len(records)
    else:
        landing = []
        for record in records:
            account = accounts.get(record.account_external_id)
            if account is None:
                account = accounts_upsert(
                    user=user, connection=connection,
                    records=[AccountRecord(external_id=record.account_external_id,
                                           name=record.account_external_id)],
                )[0][record.account_external_id]
                accounts[record.account_external_id] = account
            landing.append(account)
    ruled: dict[int, int] = {}
    categorised = categorize_records(user=user, records=records,
                                     account_ids=[account.id for account in landing],
                                     ruled=ruled)
    rows = []
    user_id, dump_id, clean, cent = user.id, dump.id, _clean, CENT
    collisions_possible = forced is not None
    currencies: dict[tuple[str, str], str] = {}  # (record's, account's) → the row's
    for (external_id, posted_on, amount, currency, description, memo, pending, twin,
         former), account, (
        seller, seller_key, category_id, source
    ) in zip(map(_RECORD_FIELDS, records), landing, categorised, strict=True):
        if len(external_id) > 120 or "\x00" in external_id:
            external_id, collisions_possible = external_id.replace("\x00", "")[:120], True
        shown = currencies.get((currency, account.currency))
        if shown is None:
            shown = currencies[(currency, account.currency)] = (
                (currency or account.currency or "USD")[:3].upper())
        rows.append([
            user_id, account.id, external_id, posted_on, amount.quantize(cent), shown,
            clean(description, 500), clean(memo, 500) if memo else "",
            seller, seller_key, category_id, source, pending, dump_id, twin, former,
        ])
    for i, category_id in ruled.items():
        file_categories[(rows[i][A], rows[i][X])] = category_id
    if collisions_possible:
        # Two source accounts forced onto one, or ids cut at 120 characters, can give
        # one key twice: the last row wins, as within a statement.
        rows = list({(row[A], row[X]): row for row in rows}.values())
    return rows


def _keep_file_categories(*, user_id: int, dump_id, file_categories: dict) -> None:
    """Stores the file's category of the rows a rule took from it: the rows this batch
    wrote (its dump; one an id a bank reused left under another name is not), by the
    unique index, a few UPDATEs per category."""
    by_category: dict[tuple[int, int], list[str]] = defaultdict(list)
    for (account_id, external_id), category_id in file_categories.items():
        by_category[(category_id, account_id)].append(external_id)
    for (category_id, account_id), ids in by_category.items():
        for start in range(0, len(ids), 500):
            Transaction.objects.filter(
                user_id=user_id, account_id=account_id, external_id__in=ids[start:start + 500],
                dump_id=dump_id, category_source=Transaction.CategorySource.RULE,
            ).update(file_category_id=category_id)


def _replace_pending_twins(*, user, rows: list[list],
                           heirs: set[tuple[int, str]] | None = None) -> int:
    """A posted transaction replaces its pending twin, so that nothing is counted twice.

    1. The source names the twin (``pending_external_id``): delete that pending row.
    2. Otherwise a pending row of the same account, same amount, dated within
       ``PENDING_MATCH_DAYS`` before, and not re-sent as pending in this batch, is the
       twin. Only pending rows are read (a partial index), never the history.

    A category the user set by hand on the pending row carries over to the posted one,
    with the name they gave it. ``heirs``, if given, receives the (account, external id)
    of every posted row that replaced a twin.
    """
    posted = [r for r in rows if not r[PENDING]]
    if not posted:
        return 0
    account_ids = {r[A] for r in posted}
    # Locked: a category changed by hand on a pending row meanwhile is read as it is now
    # (it carries over, and its spending leaves the right category).
    pending_rows = list(
        Transaction.objects.filter(user_id=user.id, account_id__in=account_ids, pending=True)
        .select_for_update().order_by("posted_on", "id")
        .values("id", "account_id", "external_id", "posted_on", "amount", "category_id",
                "category_source", "seller", "description")
    )
    if not pending_rows:
        return 0
    still_pending = {(r[A], r[X]) for r in rows if r[PENDING]}
    by_key = {(p["account_id"], p["external_id"]): p for p in pending_rows}
    by_amount = defaultdict(list)
    for p in pending_rows:
        by_amount[(p["account_id"], p["amount"])].append(p)
    # Rows already stored as posted were matched (or not) when they first arrived.
    candidates = [r for r in posted if r[TWIN] or (r[A], r[AMOUNT]) in by_amount]
    stored = _existing_keys(user_id=user.id, keys=[
        *((r[A], r[X]) for r in candidates),
        *((r[A], reused_external_id(r[X], r[D])) for r in candidates)])
    doomed: dict[int, dict] = {}
    for row in candidates:
        found = stored.get((row[A], row[X]))
        if found is not None and (
                not _another_transaction(*found, row[D], row[DESC], row[PENDING])
                or (row[A], reused_external_id(row[X], row[D])) in stored):
            continue  # stored already (under its own id, if the bank reused this one)
        twin = None
        if row[TWIN]:
            twin = by_key.get((row[A], row[TWIN]))
        else:
            for candidate in by_amount.get((row[A], row[AMOUNT]), ()):
                age = (row[D] - candidate["posted_on"]).days
                if (
                    candidate["id"] not in doomed
                    and 0 <= age <= PENDING_MATCH_DAYS
                    and (row[A], candidate["external_id"]) not in still_pending
                ):
                    twin = candidate
                    break
        if twin is None or twin["id"] in doomed:
            continue
        doomed[twin["id"]] = twin
        if heirs is not None:
            heirs.add((row[A], row[X]))
        if twin["category_source"] == Transaction.CategorySource.MANUAL:
            # The choice made by hand carries over, with a name given by hand (one that
            # is not what the pending row's own description gives).
            row[CAT] = twin["category_id"]
            row[SRC] = Transaction.CategorySource.MANUAL
            if twin["seller"] != categorizer().match(twin["description"]).seller:
                row[SELLER] = twin["seller"]
    if doomed:
        Transaction.objects.filter(user_id=user.id, id__in=list(doomed)).delete()
        delta = SpendingDelta()
        for twin in doomed.values():
            delta.remove(user_id=user.id, posted_on=twin["posted_on"],
                         category_id=twin["category_id"], amount=twin["amount"])
        spending_apply(delta)
    return len(doomed)


def _without_pending_posted_since(*, user_id: int, rows: list[list],
                                  file_posted: set[str]) -> list[list]:
    """The rows less the pending ones not stored yet whose posted row is stored: a posted
    row of the same account dated within ``PENDING_MATCH_DAYS`` on or after the pending
    row's day, of the same amount or the same seller (a tip added), that the file does
    not hold itself (``file_posted``: its posted rows' ids; a second coffee still pending
    beside a first one posted is no twin of it), each posted row standing for one
    pending row. The evidence with which a newer file takes a stored pending row away
    (``transactions_ingest``), read the other way round: files imported newest first, or
    an older file imported again, end as if imported in order. One query for the batch's
    pending ids, one for the posted rows of their days; none for a batch without pending
    rows."""
    pending = [r for r in rows if r[PENDING]]
    if not pending:
        return rows
    stored = _existing_keys(user_id=user_id, keys=[(r[A], r[X]) for r in pending])
    pending = [r for r in pending if (r[A], r[X]) not in stored]  # updates stay updates
    if not pending:
        return rows
    posted = defaultdict(list)
    for row in (
        Transaction.objects.filter(
            user_id=user_id, account_id__in={r[A] for r in pending}, pending=False,
            posted_on__gte=min(r[D] for r in pending),
            posted_on__lte=max(r[D] for r in pending) + timedelta(days=PENDING_MATCH_DAYS))
        .order_by("posted_on", "id")
        .values_list("id", "account_id", "posted_on", "amount", "seller_key", "description",
                     "external_id")
    ):
        if row[6] not in file_posted:
            posted[row[1]].append(row[:6])
    taken: set[int] = set()
    gone: set[int] = set()
    for r in sorted(pending, key=_DAY):
        for pid, _account, day, amount, seller_key, description in posted.get(r[A], ()):
            if (pid not in taken and 0 <= (day - r[D]).days <= PENDING_MATCH_DAYS
                    and (amount == r[AMOUNT]
                         or (seller_key or description) == (r[SKEY] or r[DESC]))):
                taken.add(pid)
                gone.add(id(r))
                break
    return [r for r in rows if id(r) not in gone] if gone else rows


def _plain_ids_of_stored_rows(*, user_id: int, rows: list[list]) -> None:
    """A file that lists a reused bank id twice names its second row ``id~day`` (OFX's
    ``_dedupe``); which row is second depends on the file's order (newest first, oldest
    first). A row so named that is not stored, while the row stored under the plain id
    is it (same day, same text), takes the plain id: it is that row, imported before
    from a file in the other order. Only ids with a "~" are looked up (one round trip)."""
    renamed = [r for r in rows if "~" in r[X] and r[X].rpartition("~")[2] == r[D].isoformat()]
    if not renamed:
        return
    keys = [(r[A], r[X]) for r in renamed] + [(r[A], r[X].rpartition("~")[0]) for r in renamed]
    stored = _existing_keys(user_id=user_id, keys=keys)
    by_key = {(r[A], r[X]): r for r in rows}
    for row in renamed:
        plain = row[X].rpartition("~")[0]
        found = stored.get((row[A], plain))
        if ((row[A], row[X]) not in stored and found is not None
                and found[0] == row[D] and found[1] == row[DESC]):
            # The row of this file that has the plain id is then the other transaction:
            # it takes its own, as the write would give it (two rows of one id in one
            # batch would both be renamed there).
            other = by_key.get((row[A], plain))
            if other is not None:
                other[X] = reused_external_id(plain, other[D])
                by_key[(other[A], other[X])] = other
                # The name the earlier reader gave the second row of the file (a "#2")
                # is then the other's, if it is stored (see _former_ids_of_stored_rows).
                other[FORMER], row[FORMER] = row[FORMER], ""
            del by_key[(row[A], row[X])]
            row[X] = plain
            by_key[(row[A], plain)] = row


def _former_ids_of_stored_rows(*, user_id: int, rows: list[list]) -> None:
    """A row whose reader names it otherwise than an earlier reader did (its former id)
    takes the former id when a row of its day and text is stored under it and none under
    its own: it is that row, and the file imported again adds nothing. Only rows with a
    former id are looked up, in one round trip."""
    former = [r for r in rows if r[FORMER] and r[FORMER] != r[X]]
    if not former:
        return
    stored = _existing_keys(user_id=user_id, keys=[
        *((r[A], r[X]) for r in former), *((r[A], r[FORMER]) for r in former)])
    taken = set(map(_KEY_OF_ROW, rows))
    for row in former:
        found = stored.get((row[A], row[FORMER]))
        if ((row[A], row[X]) not in stored and found is not None
                and found[:2] == (row[D], row[DESC]) and (row[A], row[FORMER]) not in taken):
            taken.add((row[A], row[FORMER]))
            row[X] = row[FORMER]


def _existing_keys(*, user_id: int, keys: list[tuple[int, str]]
                   ) -> dict[tuple[int, str], tuple[date, str, bool]]:
    """(account, id) → the stored row's (posted_on, description, pending), for the keys
    stored."""
    if not keys:
        return {}
    if db.vendor == "postgresql":
        # One probe of the unique index per key, in one round trip.
        with db.cursor() as cursor:
            cursor.execute(
                "SELECT t.account_id, t.external_id, t.posted_on, t.description, t.pending "  # noqa: S608
                f"FROM {Transaction._meta.db_table} t "
                "JOIN unnest(%s::bigint[], %s::text[]) AS k(account_id, external_id) "
                "ON t.account_id = k.account_id AND t.external_id = k.external_id "
                "WHERE t.user_id = %s",
                [[a for a, _ in keys], [x for _, x in keys], user_id],
            )
            return {(a, x): (day, text, pending) for a, x, day, text, pending in cursor}
    by_account = defaultdict(list)
    for account_id, external_id in keys:
        by_account[account_id].append(external_id)
    found: dict[tuple[int, str], tuple[date, str, bool]] = {}
    for account_id, ids in by_account.items():
        for start in range(0, len(ids), 500):
            found.update(
                ((account_id, x), (day, text, pending))
                for x, day, text, pending in Transaction.objects.filter(
                    user_id=user_id, account_id=account_id,
                    external_id__in=ids[start : start + 500],
                ).values_list("external_id", "posted_on", "description", "pending")
            )
    return found


_STAGE = "mint_ingest_stage"
_STAGE_DIRTY: weakref.WeakSet = weakref.WeakSet()  # … with rows not yet cleared by a commit


_NEEDS_ESCAPE = re.compile(r"[\\\t\n\r]").search


def _escape(text: str) -> str:
    if _NEEDS_ESCAPE(text):
        text = (text.replace("\\", "\\\\").replace("\t", "\\t")
                .replace("\n", "\\n").replace("\r", "\\r"))
    return text


def _copy_lines(rows: list[list]) -> str:
    """COPY text of the rows in ``_COLUMNS`` order. The lines are written as they are,
    then the whole batch is checked at once for anything COPY would read otherwise (a
    backslash other than a NULL's, a tab or line break inside a value: cleaned text has
    none but may hold a backslash; an id from the bank may hold anything). Every line
    holds at least its own separators and NULLs, and a value can only add to them: equal
    totals mean no line holds more. Only when a total is off is each line checked, and
    such a line written again, escaped. The dump id is formatted once per batch, each
    day once, an amount with ``!s`` (``f"{amount}"`` costs ~0.2 µs more)."""
    null, lines = r"\N", []
    tabs = len(_COLUMNS) - 1
    dump_id, dump_text = object(), ""
    days: dict[date, str] = {}  # f"{day}" costs ~0.6 µs; a batch spans a few hundred days
    nulls = 0
    for r in rows:
        if r[DUMP] is not dump_id:
            dump_id = r[DUMP]
            dump_text = null if dump_id is None else str(dump_id)
        day = days.get(r[D])
        if day is None:
            day = days[r[D]] = r[D].isoformat()
        category_id = r[CAT]
        if category_id is None:
            category_id = null
            nulls += 1
        lines.append(
            f"{r[U]}\t{r[A]}\t{r[X]}\t{day}\t{r[AMOUNT]!s}\t{r[CUR]}\t{r[DESC]}\t"
            f"{r[MEMO]}\t{r[SELLER]}\t{r[SKEY]}\t{category_id}\t"
            f"{r[SRC]}\t{'t' if r[PENDING] else 'f'}\t{dump_text}\n"
        )
    text = "".join(lines)
    nulls += sum(1 for r in rows if r[DUMP] is None)
    if (text.count("\\") == nulls and text.count("\t") == tabs * len(rows)
            and text.count("\n") == len(rows) and "\r" not in text):
        return text
    for i, (r, line) in enumerate(zip(rows, lines, strict=True)):
        if (line.count("\\") != (r[DUMP] is None) + (r[CAT] is None) or "\r" in line
                or line.count("\t") != tabs or line.count("\n") != 1):
            lines[i] = _copy_line_escaped(r, null)
    return "".join(lines)


def _copy_line_escaped(r: list, null: str) -> str:
    category_id = r[CAT]
    return (
        f"{r[U]}\t{r[A]}\t{_escape(r[X])}\t{r[D]}\t{r[AMOUNT]}\t{_escape(r[CUR])}\t"
        f"{_escape(r[DESC])}\t{_escape(r[MEMO])}\t{_escape(r[SELLER])}\t{_escape(r[SKEY])}\t"
        f"{null if category_id is None else category_id}\t{r[SRC]}\t"
        f"{'t' if r[PENDING] else 'f'}\t{null if r[DUMP] is None else r[DUMP]}\n"
    )


def _check_accounts(*, user_id: int, account_ids: set[int]) -> None:
    """The table has no database foreign keys (see the model), so every batch proves
    here that each row lands on an existing account of its own user. On PostgreSQL
    ``FOR KEY SHARE`` keeps those accounts from being deleted until the transaction
    ends, as a foreign key's check would."""
    if db.vendor == "postgresql":
        with db.cursor() as cursor:
            cursor.execute(
                f"SELECT id FROM {FinancialAccount._meta.db_table} "  # noqa: S608
                "WHERE user_id = %s AND id = ANY(%s) FOR KEY SHARE",
                [user_id, list(account_ids)],
            )
            found = {pk for (pk,) in cursor.fetchall()}
    else:
        found = set(
            FinancialAccount.objects.filter(user_id=user_id, id__in=account_ids)
            .values_list("id", flat=True)
        )
    if account_ids - found:
        raise ValueError(f"accounts {sorted(account_ids - found)} are not the user's")


def _stage(raw, rows: list[list]) -> None:
    """The batch, COPYed into the session's staging table (``raw``: a psycopg2 cursor)."""
    columns = ", ".join(_COLUMNS)
    pg = raw.connection
    # Same column types as the table, no constraints; emptied at every commit. Asked for
    # every batch (a catalog lookup, ~0.05 ms): a rollback of the transaction that created
    # it takes the table with it, so "created once per session" cannot be remembered
    # safely.
    raw.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS {_STAGE} ON COMMIT DELETE ROWS AS "  # noqa: S608
        f"SELECT {columns} FROM {Transaction._meta.db_table} WITH NO DATA"
    )
    # The commit empties the stage (ON COMMIT DELETE ROWS); only a second batch in the
    # same transaction finds rows to remove. DELETE of ≤ 5,000 rows costs ~0.3 ms where
    # TRUNCATE costs ~1.2 ms; the commit truncates the dead rows away. (After a rollback
    # the flag stays set and one DELETE of an empty table is wasted.)
    if pg in _STAGE_DIRTY:
        raw.execute(f"DELETE FROM {_STAGE}")  # noqa: S608
    else:
        _STAGE_DIRTY.add(pg)
        transaction.on_commit(partial(_STAGE_DIRTY.discard, pg))
    raw.copy_expert(f"COPY {_STAGE} ({columns}) FROM STDIN", io.StringIO(_copy_lines(rows)))


_KEY = "t.user_id = s.user_id AND t.account_id = s.account_id AND t.external_id = s.external_id"


def _write_postgres(rows: list[list]) -> IngestResult:
    """1. COPY the batch into the session's staging table.
    2. In one statement: UPDATE the stored rows whose data changed (a correction,
       pending → posted under the same id; a category set by hand is kept) and INSERT
       the rows not stored yet (an anti-join on the unique index).

    Plain INSERT + anti-join measured ~20 % faster than ``INSERT … ON CONFLICT`` here
    (49k vs 40k rows/s server-side). It is safe because every writer of an account's
    rows holds its connection's row lock (``select_for_update``); the unique constraint
    would still refuse a duplicate if that were ever bypassed.
    """
    if not rows:  # a file's batch of pending rows that have all posted since
        return IngestResult()
    table = Transaction._meta.db_table
    columns = ", ".join(_COLUMNS)
    changed = " OR ".join(f"t.{c} IS DISTINCT FROM s.{c}" for c in _DATA)
    with db.cursor() as cursor:
        raw = cursor.cursor  # psycopg2 cursor, for COPY
        _stage(raw, rows)
        # One statement, one snapshot: the INSERT's anti-join sees the table as it was
        # before the UPDATE, so each staged row is either updated, inserted or unchanged.
        # The same statement keeps monthly spending in step: the changed rows' old values
        # (locked first, so that a concurrent recategorisation cannot slip between the
        # read and the update) leave their (month, category), the new ones join theirs.
        if not _KEEP_SPENDING:  # bench/summary.py only: what the aggregate costs
            return _write_postgres_rows_only(raw, table, columns, changed, rows)
        spending = MonthlySpending._meta.db_table
        # One round trip before the write: the user's shared spending lock (see
        # budgets/services/recompute.py), and the rows about to change, locked and read.
        # Locked in their own statement, the next statement's snapshot holds their latest
        # values (a recategorisation that committed a moment ago included) and nothing can
        # change them before the UPDATE (FOR UPDATE inside that statement would skip the
        # rows its own UPDATE changes). Their old values leave their (month, category).
        lock_changed = (
            "SELECT pg_advisory_xact_lock_shared(%(ns)s, %(user)s); "  # noqa: S608
            f"SELECT t.posted_on, t.amount, t.category_id, s.account_id, s.external_id, "
            f"NOT t.pending AND NOT s.pending AND abs(t.posted_on - s.posted_on) > "
            f"{REUSED_ID_DAYS} AND t.description <> s.description "
            # … or a row the file's reader named by its day, being a repeat there
            # (importers._fields.repeat_external_id), listed alone in this file
            # (of another day or text; of the same day and text, another amount, when
            # the row stored under the day name is this one exactly: two coffees)
            f"OR EXISTS (SELECT 1 FROM {table} AS r WHERE r.user_id = s.user_id "
            f"AND r.account_id = s.account_id AND r.external_id = left(s.external_id, 108) "
            f"|| '~' || to_char(s.posted_on, 'YYYY-MM-DD') AND ("
            f"t.posted_on <> s.posted_on OR t.description <> s.description "
            f"OR t.amount <> s.amount AND r.posted_on = s.posted_on "
            f"AND r.description = s.description AND r.amount = s.amount)) FROM {table} AS t "
            f"JOIN {_STAGE} AS s ON {_KEY} WHERE ({changed}) FOR UPDATE OF t")
        lock_args = {"ns": LOCK_NAMESPACE, "user": rows[0][U]}
        raw.execute(lock_changed, lock_args)
        found = raw.fetchall()
        reused = [(r[3], r[4]) for r in found if r[5]]
        if reused:
            # Another transaction under a reused id: it gets an id of its own (the same
            # one when the file comes again), and the stored row stays as it was. Then
            # locked and read again: a file imported before may hold the new ids already.
            raw.execute(  # as importers._fields.reused_external_id
                f"UPDATE {_STAGE} AS s SET external_id = "  # noqa: S608
                "left(s.external_id, 108) || '~' || to_char(s.posted_on, 'YYYY-MM-DD') "
                "FROM unnest(%s::bigint[], %s::text[]) AS r(account_id, external_id) "
                "WHERE s.account_id = r.account_id AND s.external_id = r.external_id",
                [[a for a, _ in reused], [x for _, x in reused]],
            )
            raw.execute(lock_changed, lock_args)
            found = raw.fetchall()
        old = [r[:3] for r in found if not r[5]]
        raw.execute(
            f"""
            WITH old AS (
                SELECT * FROM unnest(%(old_days)s::date[], %(old_amounts)s::numeric[],
                                     %(old_categories)s::bigint[])
                    AS o(posted_on, amount, category_id)
            ), updated AS (
                UPDATE {table} AS t SET
                    posted_on = s.posted_on, amount = s.amount, currency = s.currency,
                    description = s.description, memo = s.memo, pending = s.pending,
                    dump_id = s.dump_id, updated_at = now(),
                    seller = CASE WHEN t.category_source = 'manual' THEN t.seller ELSE s.seller END,
                    seller_key = CASE WHEN t.category_source = 'manual' THEN t.seller_key
                                      ELSE s.seller_key END,
                    category_id = CASE WHEN t.category_source = 'manual' THEN t.category_id
                                       ELSE COALESCE(s.category_id, t.category_id) END,
                    category_source = CASE WHEN t.category_source = 'manual' THEN t.category_source
                                           WHEN s.category_id IS NULL THEN t.category_source
                                           ELSE s.category_source END
                FROM {_STAGE} AS s
                WHERE {_KEY} AND ({changed})
                RETURNING t.posted_on, t.amount, t.category_id
            ), inserted AS (
                INSERT INTO {table} ({columns}, created_at, updated_at)
                SELECT {columns}, statement_timestamp(), statement_timestamp() FROM {_STAGE} AS s
                WHERE NOT EXISTS (SELECT 1 FROM {table} AS t WHERE {_KEY})
                RETURNING posted_on, amount, category_id
            ), deltas AS (
                SELECT posted_on, -amount AS amount, category_id, -1 AS n FROM old
                UNION ALL SELECT posted_on, amount, category_id, 1 FROM updated
                UNION ALL SELECT posted_on, amount, category_id, 1 FROM inserted
            ), spent AS (
                INSERT INTO {spending} AS ms (user_id, month, category_id, total, count)
                SELECT %(user)s, date_trunc('month', posted_on)::date,
                       COALESCE(category_id, %(uncategorized)s), sum(amount), sum(n)
                FROM deltas GROUP BY 2, 3
                HAVING sum(amount) <> 0 OR sum(n) <> 0
                ORDER BY 2, 3  -- the lock order of every spending writer (no deadlocks)
                ON CONFLICT (user_id, month, category_id) DO UPDATE
                SET total = ms.total + EXCLUDED.total, count = ms.count + EXCLUDED.count
                RETURNING month
            )
            SELECT (SELECT count(*) FROM updated), (SELECT count(*) FROM inserted),
                   (SELECT array_agg(DISTINCT month) FROM spent)
            """,  # noqa: S608 - constant names only; values go through COPY
            {"user": rows[0][U], "uncategorized": uncategorized_id() or 0,
             "old_days": [r[0] for r in old], "old_amounts": [r[1] for r in old],
             "old_categories": [r[2] for r in old]},
        )
        updated, created, months = raw.fetchone()
    if months:
        spending_changed(user_id=rows[0][U], months=set(months))
    return IngestResult(created=created, updated=updated,
                        unchanged=len(rows) - created - updated)


def _write_postgres_new(rows: list[list]) -> IngestResult:
    """Rows of accounts that have none yet: COPYed straight into the table (no stored
    row can be updated, replaced or duplicated, so there is nothing to look up, stage or
    lock first), then monthly spending summed here and upserted in one statement (under
    the user's shared spending lock, as every spending writer). A duplicate key would
    still be refused by the unique constraint, failing the ingest."""
    if not rows:
        return IngestResult()
    table = Transaction._meta.db_table
    with db.cursor() as cursor:  # created_at and updated_at: the database's default
        cursor.cursor.copy_expert(f"COPY {table} ({', '.join(_COLUMNS)}) FROM STDIN",
                                  io.StringIO(_copy_lines(rows)))
    if _KEEP_SPENDING:
        delta = SpendingDelta()
        delta.add_rows(user_id=rows[0][U], rows=map(itemgetter(D, CAT, AMOUNT), rows))
        spending_apply(delta)
    return IngestResult(created=len(rows))


# Off only in bench/summary.py, to measure what keeping monthly spending costs an ingest
# (the table is then wrong for the rows written): never switch it off elsewhere.
_KEEP_SPENDING = True


def _write_postgres_rows_only(raw, table, columns, changed, rows) -> IngestResult:
    """The rows part of the statement above, without monthly spending (for the bench)."""
    raw.execute(
        f"""
        WITH updated AS (
            UPDATE {table} AS t SET
                posted_on = s.posted_on, amount = s.amount, currency = s.currency,
                description = s.description, memo = s.memo, pending = s.pending,
                dump_id = s.dump_id, updated_at = now()
            FROM {_STAGE} AS s WHERE {_KEY} AND ({changed}) RETURNING 1
        ), inserted AS (
            INSERT INTO {table} ({columns}, created_at, updated_at)
            SELECT {columns}, statement_timestamp(), statement_timestamp() FROM {_STAGE} AS s
            WHERE NOT EXISTS (SELECT 1 FROM {table} AS t WHERE {_KEY}) RETURNING 1
        )
        SELECT (SELECT count(*) FROM updated), (SELECT count(*) FROM inserted)
        """  # noqa: S608
    )
    updated, created = raw.fetchone()
    return IngestResult(created=created, updated=updated, unchanged=len(rows) - created - updated)


def _another_transaction(stored_day: date, stored_text: str, stored_pending: bool,
                         day: date, text: str, pending: bool) -> bool:
    """Whether a row sent under a stored row's id is another transaction under an id the
    bank reused, not a correction of the stored one (as ``_write_postgres`` tells in SQL)."""
    return (not stored_pending and not pending
            and is_reused_id(old_day=stored_day, old_text=stored_text, new_day=day,
                             new_text=text))


# What _write_portable reads of a stored row: enough to compare it and to update it.
_STORED = ("id", "user_id", "account_id", "external_id", *_DATA, "dump_id", "seller",
           "seller_key", "category_id", "category_source")


def _write_portable(rows: list[list]) -> IngestResult:
    """The same semantics through the ORM, for SQLite (embedded mode)."""
    result = IngestResult()
    delta = SpendingDelta()
    by_account = defaultdict(list)
    for values in rows:
        row = dict(zip(_COLUMNS, values, strict=False))
        by_account[row["account_id"]].append(row)
    for account_id, account_rows in by_account.items():
        ids = [r["external_id"] for r in account_rows]
        existing = {}
        for start in range(0, len(ids), 500):  # SQLite caps bound parameters
            # Values, not model instances: a file imported again is mostly rows already
            # there, unchanged (building 50,000 instances was ~60 % of such an import);
            # an instance is made only for a row that changes (bulk_update below).
            existing.update(
                (t["external_id"], t)
                for t in Transaction.objects.filter(
                    Q(user_id=account_rows[0]["user_id"]) & Q(account_id=account_id)
                    & Q(external_id__in=ids[start : start + 500])
                ).values(*_STORED)
            )
        dated = _stored_day_names(account_rows, existing)
        new: list[dict] = []
        changed = []
        for row in account_rows:
            stored = existing.get(row["external_id"])
            if stored is not None and (_another_transaction(
                    stored["posted_on"], stored["description"], stored["pending"],
                    row["posted_on"], row["description"], row["pending"])
                    or reused_external_id(row["external_id"], row["posted_on"]) in dated):
                row["external_id"] = reused_external_id(row["external_id"], row["posted_on"])
                stored = Transaction.objects.filter(
                    user_id=row["user_id"], account_id=account_id,
                    external_id=row["external_id"]).values(*_STORED).first()
            fields = {c: row[c] for c in _COLUMNS}
            if stored is None:
                new.append(fields)
                delta.add(user_id=row["user_id"], posted_on=row["posted_on"],
                          category_id=row["category_id"], amount=row["amount"])
                continue
            if all(stored[c] == row[c] for c in _DATA):
                result.unchanged += 1
                continue
            current = Transaction(**stored)
            before = (current.posted_on, current.category_id, current.amount)
            for c in (*_DATA, "dump_id"):
                setattr(current, c, row[c])
            if current.category_source != Transaction.CategorySource.MANUAL:
                current.seller, current.seller_key = row["seller"], row["seller_key"]
            if current.category_source != Transaction.CategorySource.MANUAL and row["category_id"]:
                current.category_id = row["category_id"]
                current.category_source = row["category_source"]
            current.updated_at = timezone.now()
            changed.append(current)
            delta.move(user_id=current.user_id, old=before,
                       new=(current.posted_on, current.category_id, current.amount))
        _insert_portable(new)
        Transaction.objects.bulk_update(
            changed, [*_DATA, "dump_id", "seller", "seller_key", "category_id",
                      "category_source", "updated_at"],
            batch_size=500,
        )
        result.created += len(new)
        result.updated += len(changed)
    spending_apply(delta)
    return result


def _stored_day_names(rows: list[dict], existing: dict[str, dict]) -> set[str]:
    """Of the rows of one account whose id is stored for a row of another day or text,
    the day names (``id~day``) that are stored: such a row is the one stored under it
    (a repeat of the id in the file that stored it; see ``_write_postgres``). Of the same
    day and text with another amount (two coffees), only when the row stored under the
    day name is this one exactly."""
    wanted: dict[str, tuple | None] = {}  # day name → the row it must hold, or None: any
    for r in rows:
        s = existing.get(r["external_id"])
        if s is None:
            continue
        name = reused_external_id(r["external_id"], r["posted_on"])
        if (s["posted_on"], s["description"]) != (r["posted_on"], r["description"]):
            wanted[name] = None
        elif s["amount"] != r["amount"]:
            wanted[name] = (r["posted_on"], r["description"], r["amount"])
    names = list(wanted)
    found: set[str] = set()
    for start in range(0, len(names), 500):  # SQLite caps bound parameters
        for name, *held in Transaction.objects.filter(
                user_id=rows[0]["user_id"], account_id=rows[0]["account_id"],
                external_id__in=names[start:start + 500]).values_list(
                    "external_id", "posted_on", "description", "amount"):
            if wanted[name] is None or wanted[name] == tuple(held):
                found.add(name)
    return found


def _insert_portable(rows: list[dict]) -> None:
    """New rows into SQLite with one prepared INSERT run for each row (executemany).
    ``bulk_create`` spent ~60 % of a 50,000-row import (19 s of 32 s under cProfile)
    building a model instance per row and preparing each of its 16 values through the
    field; here only the values SQLite cannot take as they are (dates, amounts, the
    dump's UUID) go through their field, and both timestamps are the batch's (as
    ``auto_now_add`` stamps each row, on the same clock that ``import_undo`` reads)."""
    if not rows:
        return
    meta = Transaction._meta
    now = timezone.now()
    stamps = [meta.get_field(name).get_db_prep_save(now, connection=db)
              for name in ("created_at", "updated_at")]
    prepare = {
        column: partial(meta.get_field(column).get_db_prep_save, connection=db)
        for column in _COLUMNS
        if isinstance(getattr(meta.get_field(column), "target_field", None)
                      or meta.get_field(column),
                      models.DateField | models.DecimalField | models.UUIDField)
    }
    plain = [c for c in _COLUMNS if c not in prepare]
    order = [*plain, *prepare]
    names = ", ".join(f'"{c}"' for c in (*order, "created_at", "updated_at"))
    marks = ", ".join(["%s"] * (len(order) + 2))
    sql = f'INSERT INTO "{meta.db_table}" ({names}) VALUES ({marks})'  # noqa: S608
    get_plain = itemgetter(*plain)
    params = [
        [*get_plain(row), *(prep(row[c]) for c, prep in prepare.items()), *stamps]
        for row in rows
    ]
    with db.cursor() as cursor:
        cursor.executemany(sql, params)

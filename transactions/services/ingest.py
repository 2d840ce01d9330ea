"""Upsert of parsed provider records into Transaction rows (pipeline steps 5–6).

Idempotent: the same records ingested twice add nothing the second time. Cost grows
with the new data, never with the account's history: existing rows are found through
the unique index ``(user, account, external_id)``, pending twins through a partial
index on pending rows only.

On PostgreSQL the rows of a batch are COPYed into a temporary staging table and moved
with one ``INSERT … SELECT … ON CONFLICT DO UPDATE … WHERE changed RETURNING (xmax=0)``,
which tells inserted from updated rows; unchanged rows are not written at all. Other
databases (SQLite in embedded mode) take a portable ORM path with the same semantics.
"""

from __future__ import annotations

import io
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection as db
from django.db.models import Q
from django.utils import timezone

from accounts.models import Connection, FinancialAccount
from accounts.providers import AccountRecord, Statement, TransactionRecord
from categories.services import categorize_records

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
    account_ids: set[int] = field(default_factory=set)
    months: set[tuple[int, int]] = field(default_factory=set)

    def add(self, other: IngestResult) -> None:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.replaced_pending += other.replaced_pending


def _clean(text: str, limit: int) -> str:
    return " ".join(text.split())[:limit]


def accounts_upsert(
    *, user, connection: Connection, records: list[AccountRecord]
) -> dict[str, FinancialAccount]:
    """Creates or updates the statement's accounts; returns them by external id."""
    existing = {a.external_id: a for a in connection.accounts.all()}
    now = timezone.now()
    for record in records:
        kind = record.kind if record.kind in KINDS else FinancialAccount.Kind.OTHER
        account = existing.get(record.external_id)
        if account is None:
            account = FinancialAccount.objects.create(
                user=user, connection=connection, external_id=record.external_id,
                name=_clean(record.name, 200) or record.external_id, kind=kind,
                mask=record.mask[-4:], currency=record.currency or "USD",
                balance=record.balance, balance_at=now if record.balance is not None else None,
            )
            existing[record.external_id] = account
        elif record.balance is not None:
            account.balance, account.balance_at = record.balance, now
            account.save(update_fields=["balance", "balance_at"])
    return existing


def transactions_ingest(
    *,
    user,
    connection: Connection,
    statement: Statement,
    dump: RawDump,
    account: FinancialAccount | None = None,
) -> IngestResult:
    """Writes a parsed statement. Call inside ``transaction.atomic()`` together with
    whatever else must commit with the rows (the fetch cursor, the run record).

    ``account`` forces every transaction onto one account (a file imported into a
    chosen account); otherwise the statement's account ids pick or create accounts.
    """
    if account is None:
        accounts = accounts_upsert(user=user, connection=connection, records=statement.accounts)
    else:
        accounts = {}
    records = _latest_per_key(statement.transactions)
    result = IngestResult(fetched=len(statement.transactions))
    for start in range(0, len(records), BATCH_SIZE):
        chunk = records[start : start + BATCH_SIZE]
        rows = _rows(user=user, connection=connection, records=chunk,
                     accounts=accounts, forced=account, dump=dump)
        result.replaced_pending += _replace_pending_twins(user=user, rows=rows)
        write = _write_postgres if db.vendor == "postgresql" else _write_portable
        result.add(write(rows))
        for row in rows:
            result.account_ids.add(row["account_id"])
            result.months.add((row["posted_on"].year, row["posted_on"].month))
    return result


def _latest_per_key(records: list[TransactionRecord]) -> list[TransactionRecord]:
    """A statement may list one id twice (overlapping pages): the last one wins."""
    latest: dict[tuple[str, str], TransactionRecord] = {}
    for record in records:
        latest[(record.account_external_id, record.external_id)] = record
    return list(latest.values())


def _rows(*, user, connection, records, accounts, forced, dump) -> list[dict]:
    categorised = categorize_records(user=user, records=records)
    rows = []
    for record, (seller, category_id, source) in zip(records, categorised, strict=True):
        if forced is not None:
            account = forced
        else:
            account = accounts.get(record.account_external_id)
            if account is None:
                account = accounts_upsert(
                    user=user, connection=connection,
                    records=[AccountRecord(external_id=record.account_external_id,
                                           name=record.account_external_id)],
                )[record.account_external_id]
                accounts[record.account_external_id] = account
        rows.append(
            {
                "user_id": user.id,
                "account_id": account.id,
                "external_id": record.external_id[:120],
                "posted_on": record.posted_on,
                "amount": record.amount.quantize(CENT),
                "currency": (record.currency or account.currency or "USD")[:3].upper(),
                "description": _clean(record.description, 500),
                "memo": _clean(record.memo, 500),
                "seller": seller,
                "category_id": category_id,
                "category_source": source,
                "pending": record.pending,
                "pending_external_id": record.pending_external_id,
                "dump_id": dump.id,
            }
        )
    return rows


def _replace_pending_twins(*, user, rows: list[dict]) -> int:
    """A posted transaction replaces its pending twin, so that nothing is counted twice.

    1. The source names the twin (``pending_external_id``): delete that pending row.
    2. Otherwise a pending row of the same account, same amount, dated within
       ``PENDING_MATCH_DAYS`` before, and not re-sent as pending in this batch, is the
       twin. Only pending rows are read (a partial index), never the history.

    A category the user set by hand on the pending row carries over to the posted one.
    """
    posted = [r for r in rows if not r["pending"]]
    if not posted:
        return 0
    account_ids = {r["account_id"] for r in posted}
    pending_rows = list(
        Transaction.objects.filter(user_id=user.id, account_id__in=account_ids, pending=True)
        .values("id", "account_id", "external_id", "posted_on", "amount", "category_id",
                "category_source")
    )
    if not pending_rows:
        return 0
    still_pending = {(r["account_id"], r["external_id"]) for r in rows if r["pending"]}
    by_key = {(p["account_id"], p["external_id"]): p for p in pending_rows}
    by_amount = defaultdict(list)
    for p in pending_rows:
        by_amount[(p["account_id"], p["amount"])].append(p)
    # Rows already stored as posted were matched (or not) when they first arrived.
    candidates = [
        r for r in posted
        if r["pending_external_id"] or (r["account_id"], r["amount"]) in by_amount
    ]
    known = _existing_keys(user_id=user.id, rows=candidates)
    doomed: dict[int, dict] = {}
    for row in candidates:
        if (row["account_id"], row["external_id"]) in known:
            continue
        twin = None
        if row["pending_external_id"]:
            twin = by_key.get((row["account_id"], row["pending_external_id"]))
        else:
            for candidate in by_amount.get((row["account_id"], row["amount"]), ()):
                age = (row["posted_on"] - candidate["posted_on"]).days
                if (
                    candidate["id"] not in doomed
                    and 0 <= age <= PENDING_MATCH_DAYS
                    and (row["account_id"], candidate["external_id"]) not in still_pending
                ):
                    twin = candidate
                    break
        if twin is None or twin["id"] in doomed:
            continue
        doomed[twin["id"]] = twin
        if twin["category_source"] == Transaction.CategorySource.MANUAL:
            row["category_id"] = twin["category_id"]
            row["category_source"] = Transaction.CategorySource.MANUAL
    if doomed:
        Transaction.objects.filter(user_id=user.id, id__in=list(doomed)).delete()
    return len(doomed)


def _existing_keys(*, user_id: int, rows: list[dict]) -> set[tuple[int, str]]:
    by_account = defaultdict(list)
    for row in rows:
        by_account[row["account_id"]].append(row["external_id"])
    found: set[tuple[int, str]] = set()
    for account_id, ids in by_account.items():
        for start in range(0, len(ids), 500):
            found.update(
                (account_id, external_id)
                for external_id in Transaction.objects.filter(
                    user_id=user_id, account_id=account_id,
                    external_id__in=ids[start : start + 500],
                ).values_list("external_id", flat=True)
            )
    return found


_COLUMNS = (
    "user_id", "account_id", "external_id", "posted_on", "amount", "currency", "description",
    "memo", "seller", "category_id", "category_source", "pending", "dump_id",
)
_DATA = ("posted_on", "amount", "currency", "description", "memo", "pending")
_STAGE = "mint_ingest_stage"


def _copy_text(value) -> str:
    if value is None:
        return r"\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    text = str(value)
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        text = (text.replace("\\", "\\\\").replace("\t", "\\t")
                .replace("\n", "\\n").replace("\r", "\\r"))
    return text


def _write_postgres(rows: list[dict]) -> IngestResult:
    table = Transaction._meta.db_table
    buffer = io.StringIO()
    for row in rows:
        buffer.write("\t".join(_copy_text(row[c]) for c in _COLUMNS))
        buffer.write("\n")
    buffer.seek(0)
    data_changed = " OR ".join(f"t.{c} IS DISTINCT FROM EXCLUDED.{c}" for c in _DATA)
    with db.cursor() as cursor:
        raw = cursor.cursor  # psycopg2 cursor, for COPY
        # Same column types as the table, no constraints; emptied at every commit.
        raw.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {_STAGE} ON COMMIT DELETE ROWS AS "  # noqa: S608
            f"SELECT {', '.join(_COLUMNS)} FROM {table} WITH NO DATA"
        )
        raw.execute(f"TRUNCATE {_STAGE}")
        raw.copy_expert(f"COPY {_STAGE} ({', '.join(_COLUMNS)}) FROM STDIN", buffer)
        columns = ", ".join(_COLUMNS)
        raw.execute(
            f"""
            INSERT INTO {table} AS t ({columns}, created_at, updated_at)
            SELECT {columns}, now(), now() FROM {_STAGE}
            ON CONFLICT (user_id, account_id, external_id) DO UPDATE SET
                posted_on = EXCLUDED.posted_on, amount = EXCLUDED.amount,
                currency = EXCLUDED.currency, description = EXCLUDED.description,
                memo = EXCLUDED.memo, pending = EXCLUDED.pending,
                dump_id = EXCLUDED.dump_id, updated_at = now(),
                category_id = CASE WHEN t.category_source = 'manual' THEN t.category_id
                                   ELSE COALESCE(EXCLUDED.category_id, t.category_id) END,
                category_source = CASE WHEN t.category_source = 'manual' THEN t.category_source
                                       WHEN EXCLUDED.category_id IS NULL THEN t.category_source
                                       ELSE EXCLUDED.category_source END
            WHERE {data_changed}
            RETURNING (xmax = 0)
            """  # noqa: S608 - constant names only; values go through COPY
        )
        flags = [inserted for (inserted,) in raw.fetchall()]
    created = sum(flags)
    updated = len(flags) - created
    return IngestResult(created=created, updated=updated, unchanged=len(rows) - len(flags))


def _write_portable(rows: list[dict]) -> IngestResult:
    result = IngestResult()
    by_account = defaultdict(list)
    for row in rows:
        by_account[row["account_id"]].append(row)
    for account_id, account_rows in by_account.items():
        ids = [r["external_id"] for r in account_rows]
        existing = {}
        for start in range(0, len(ids), 500):  # SQLite caps bound parameters
            existing.update(
                (t.external_id, t)
                for t in Transaction.objects.filter(
                    Q(user_id=account_rows[0]["user_id"]) & Q(account_id=account_id)
                    & Q(external_id__in=ids[start : start + 500])
                )
            )
        new, changed = [], []
        for row in account_rows:
            current = existing.get(row["external_id"])
            fields = {c: row[c] for c in _COLUMNS}
            if current is None:
                new.append(Transaction(**fields))
                continue
            if all(getattr(current, c) == row[c] for c in _DATA):
                result.unchanged += 1
                continue
            for c in (*_DATA, "dump_id"):
                setattr(current, c, row[c])
            if current.category_source != Transaction.CategorySource.MANUAL and row["category_id"]:
                current.category_id = row["category_id"]
                current.category_source = row["category_source"]
            current.updated_at = timezone.now()
            changed.append(current)
        Transaction.objects.bulk_create(new, batch_size=500)
        Transaction.objects.bulk_update(
            changed, [*_DATA, "dump_id", "category_id", "category_source", "updated_at"],
            batch_size=500,
        )
        result.created += len(new)
        result.updated += len(changed)
    return result



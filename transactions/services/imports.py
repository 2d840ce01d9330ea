"""File import through the same pipeline as a refresh: raw dump first, then rows.

``import_create`` parses the upload first, so a malformed file is refused (400) before
anything is stored. Small files are then ingested at once (201 with counts); large ones
are queued (202) and ``import_execute`` ingests them from the stored dump.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import replace
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.core.cache import cache
from django.db import InterfaceError, OperationalError, transaction
from django.db import connection as db
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import Connection, FinancialAccount
from accounts.services import file_connection_for
from categories.services import categories_from_file

from ..importers import detect_format, parse_file
from ..importers._fields import NAMED_ACCOUNT_PREFIX, rehome
from ..importers.errors import ImportFormatError
from ..models import ImportJob, Transaction
from ..objectstore import StorageUnavailable, get_store
from .dumps import raw_dump_store
from .ingest import transactions_ingest

logger = logging.getLogger(__name__)

MEDIA_TYPES = {"ofx": "application/x-ofx", "qif": "application/qif", "csv": "text/csv",
               "mint": "text/csv"}


def import_create(
    *,
    user,
    data: bytes,
    filename: str = "",
    format: str | None = None,
    account: FinancialAccount | None = None,
    options: dict | None = None,
) -> ImportJob:
    if len(data) > settings.IMPORT_MAX_BYTES:
        raise ImportFormatError(
            f"the file is {len(data):,} bytes; the limit is {settings.IMPORT_MAX_BYTES:,}"
        )
    if account is not None and account.user_id != user.id:
        raise ImportFormatError("unknown account")
    fmt = format or detect_format(data, filename=filename)
    statement = parse_file(data, filename=filename, format=fmt, options=options,
                           into_account=account is not None)
    if not statement.transactions and (
            account is not None or all(a.balance is None for a in statement.accounts)):
        # (A quiet month's statement still brings its accounts' balances.)
        raise ImportFormatError("the file holds no transactions")
    job_id = uuid.uuid4()
    connection = account.connection if account else file_connection_for(user=user)
    # One transaction: an error while the rows are written leaves no job behind that
    # would show "queued" for ever (the dump's object stays, unreferenced).
    with transaction.atomic():
        dump = raw_dump_store(user=user, connection=connection, source_id=job_id,
                              payload=data,
                              media_type=MEDIA_TYPES.get(fmt, "application/octet-stream"))
        job = ImportJob.objects.create(
            id=job_id, user=user, account=account, into_account=account is not None,
            filename=filename[:255], format=fmt, options={**(options or {}),
                                                          **statement.read_with}, dump=dump,
        )
        if len(statement.transactions) <= settings.IMPORT_INLINE_MAX_ROWS:
            _ingest(job, statement)
        else:
            from ..tasks import import_file

            transaction.on_commit(partial(import_file.delay, str(job.id)))
    return job


# What a retry may cure: the database or the object store briefly unavailable.
TRANSIENT = (OperationalError, InterfaceError, StorageUnavailable)


def import_execute(*, job_id, final_attempt: bool = True) -> ImportJob | None:
    """Ingests a queued import from its stored dump. A job always ends: succeeded, or
    failed with a reason — a malformed file at once; the database or object store still
    unavailable on the ``final_attempt`` (earlier attempts raise, to be retried, and put
    the job back in the queue); any other error at once, logged and raised.

    One worker at a time: the job is claimed (queued → running) in one UPDATE, so a
    second message for it (a redelivery, ``import_requeue_stale``) finds it taken and
    does nothing. A running job whose worker died is taken again once its lease (the task
    time limit and a minute) has passed."""
    job = ImportJob.objects.select_related("user", "account", "dump").filter(pk=job_id).first()
    if job is None or job.status in (ImportJob.Status.SUCCEEDED, ImportJob.Status.FAILED):
        return job
    if (job.into_account and job.account_id is None) or job.dump_id is None:
        _fail(job, "the account this file was to be imported into was unlinked before the "
                   "import ran. Nothing was imported.")
        return job
    if not _claim(job):
        return job
    try:
        data = get_store().get(job.dump.key)
        statement = parse_file(data, filename=job.filename, format=job.format,
                               options=job.options, into_account=job.account_id is not None)
        _ingest(job, statement, queued=True)
    except ImportFormatError as exc:
        _fail(job, str(exc))
    except TRANSIENT:
        if final_attempt:
            _fail(job, "the import could not finish: the database or the file store was "
                       "unavailable for too long. Nothing was imported; upload the file again.")
        else:
            _release(job)
        raise
    except Exception:
        logger.exception("import %s failed", job.pk)
        _fail(job, "the import failed because of an error on our side (it has been logged). "
                   "Nothing was imported.")
        raise
    return job


def _lease() -> timedelta:
    return timedelta(seconds=settings.REFRESH_LEASE_SECONDS)


def _claim(job: ImportJob) -> bool:
    now = timezone.now()
    return ImportJob.objects.filter(pk=job.pk).filter(
        Q(status=ImportJob.Status.QUEUED)
        | Q(status=ImportJob.Status.RUNNING, started_at__lt=now - _lease())
        # (from before leases: taken once it is as old as a lease, as import_requeue_stale)
        | Q(status=ImportJob.Status.RUNNING, started_at__isnull=True,
            created_at__lt=now - _lease())
    ).update(status=ImportJob.Status.RUNNING, started_at=now) == 1


def _release(job: ImportJob) -> None:
    """Back in the queue, for the retry to claim."""
    try:
        ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.RUNNING).update(
            status=ImportJob.Status.QUEUED, started_at=None)
    except (OperationalError, InterfaceError):  # the lease runs out instead
        logger.exception("import %s: could not put it back in the queue", job.pk)


def import_requeue_stale(*, older_than_seconds: int) -> int:
    """Enqueues again the imports whose message may be lost (a broker restarted without
    its queue): queued for longer than ``older_than_seconds``, or running past their
    lease (the worker died). A job with a message still on its way is claimed by one of
    the two only. Returns how many were enqueued."""
    from ..tasks import import_file

    now = timezone.now()
    stale = ImportJob.objects.filter(
        Q(status=ImportJob.Status.QUEUED, created_at__lt=now - timedelta(
            seconds=older_than_seconds))
        | Q(status=ImportJob.Status.RUNNING, started_at__lt=now - _lease())
        | Q(status=ImportJob.Status.RUNNING, started_at__isnull=True,
            created_at__lt=now - _lease())
    )
    ids = [str(pk) for pk in stale.values_list("id", flat=True)[:1000]]
    for job_id in ids:
        import_file.delay(job_id)
    return len(ids)


def _into_earlier_named_accounts(connection: Connection, statement, fmt: str):
    """Before a name given to a file (``account_name``) made an account of its own
    (December 2026), a CSV or QIF imported under a name went to the format's one account
    ("csv", "qif"), which took that name. The same name finds that account again, with
    the ids its rows were given there, instead of making a second account of them."""
    earlier = connection.accounts.filter(external_id=fmt).first()
    if earlier is None:
        return statement
    taken = set(connection.accounts.values_list("external_id", flat=True))
    name = " ".join(earlier.name.split()).casefold()
    moves = {a.external_id: fmt for a in statement.accounts
             if a.external_id.startswith(NAMED_ACCOUNT_PREFIX) and a.external_id not in taken
             and " ".join(a.name.split()).casefold() == name}
    return rehome(statement, moves) if len(moves) == 1 else statement


def _fail(job: ImportJob, error: str) -> None:
    """Marks the job failed, unless another worker has meanwhile finished it (a message
    delivered twice): a success is never turned into a failure."""
    try:
        ImportJob.objects.filter(pk=job.pk).exclude(status=ImportJob.Status.SUCCEEDED).update(
            status=ImportJob.Status.FAILED, error=error, finished_at=timezone.now())
    except (OperationalError, InterfaceError):  # the database is what failed
        logger.exception("import %s: could not record its failure", job.pk)


def _ingest(job: ImportJob, statement, *, queued: bool = False) -> None:
    """``queued``: a worker's import, whose progress the person can follow."""
    with transaction.atomic():
        account = job.account
        connection = account.connection if account else file_connection_for(user=job.user)
        # Every writer of a connection's rows holds its row lock (see _write_postgres).
        connection = Connection.objects.select_for_update().get(pk=connection.pk)
        job.rows_since = _time_under_lock(job)
        if account is None and job.format in ("csv", "qif"):
            statement = _into_earlier_named_accounts(connection, statement, job.format)
        if account is None:
            # Into the accounts the file names, which only files fill: a pending row an
            # earlier file left that this one, covering its day, no longer holds is gone
            # (posted under another amount: a tip). Not into a chosen account, which a
            # bank's refresh may fill with pending rows a posted-only export never holds.
            statement = replace(statement, expire_within_rows=True)
        # Mint's export only: its categories are Mint's taxonomy and the user's own from
        # Mint. A bank's CSV or QIF names its own categories ("Food & Drink", "Auto:Fuel"),
        # which the seller dictionary files better than a new category would.
        new_categories = (categories_from_file(user=job.user, records=statement.transactions)
                          if job.format == "mint" else [])
        progress = partial(_progress_set, job.pk) if queued else None
        result = transactions_ingest(user=job.user, connection=connection, statement=statement,
                                     dump=job.dump, account=account, progress=progress)
        job.created = result.created
        job.updated = result.updated
        job.account_ids = sorted(result.account_ids)
        job.new_account_ids = sorted(result.new_account_ids)
        job.duplicates = result.unchanged
        job.status = ImportJob.Status.SUCCEEDED
        job.finished_at = timezone.now()
        job.notes = [
            f"New category “{category}” for the {count:,} transaction"
            f"{'' if count == 1 else 's'} the file filed under it: the taxonomy has no "
            f"“{category.name}”."
            for category, count in new_categories
        ]
        job.notes += statement.notes
        if job.format == "ofx" and (job.options or {}).get("account_name"):
            job.notes.append("The name given for a new account was not used: an OFX file "
                             "names its own accounts.")
        job.save(update_fields=["created", "updated", "duplicates", "status", "finished_at",
                                "notes", "account_ids", "new_account_ids", "rows_since"])


def _time_under_lock(job: ImportJob):
    """A time after every row another writer of these accounts committed before this one
    got the connection's lock, and no later than the ``created_at`` of any row this
    transaction writes from here on (undo tells the import's rows by it).

    PostgreSQL: ``clock_timestamp()`` now, under the lock; the ingest stamps rows with
    their statement's time (COPY's default, ``statement_timestamp()`` in its INSERTs),
    which is later. (``now()``, the transaction's start, may come before the lock: a
    writer that took the lock first would have rows after it.) SQLite, where Django
    stamps rows on this clock: a write first (SQLite's one writer lock, held until the
    commit), then the time."""
    if db.vendor == "postgresql":
        with db.cursor() as cursor:
            cursor.execute("SELECT clock_timestamp()")
            return cursor.fetchone()[0]
    ImportJob.objects.filter(pk=job.pk).update(status=F("status"))
    return timezone.now()


# Progress of a running import: its rows are written in one transaction, which nobody
# else sees until it commits, so the count goes through the cache (Redis, or a folder in
# embedded mode), which the web process reads. Kept an hour past the last batch.
_PROGRESS_SECONDS = 3600


def _progress_key(job_id) -> str:
    return f"import-progress:{job_id}"


def _progress_set(job_id, done: int, total: int) -> None:
    try:
        cache.set(_progress_key(job_id), (done, total), _PROGRESS_SECONDS)
    except Exception:  # a progress figure is not worth failing an import for
        logger.warning("import %s: progress not saved", job_id, exc_info=True)


def import_progress(job: ImportJob) -> tuple[int, int] | None:
    """(transactions written, transactions to write) of a running import, once its
    worker has read the file; None otherwise."""
    if job.status != ImportJob.Status.RUNNING:
        return None
    try:
        found = cache.get(_progress_key(job.pk))
    except Exception:
        return None
    return tuple(found) if found else None


class ImportNotUndoable(Exception):
    """Why an import cannot be undone, in words for the person who asked."""


def import_undo(*, job: ImportJob) -> ImportJob:
    """Deletes the transactions the import added, with their spending, and the accounts
    it created once they hold nothing. Rows that were there before it (duplicates, and
    rows it updated) stay, as do rows a later import or refresh has changed since (they
    hold that one's values now); a row a later import held unchanged goes (it stayed
    this one's: the undo page counts such imports). Balances the file set and pending
    charges its posted rows replaced or it took away (``expire_within_rows``) are not
    restored: the next refresh brings a bank's back, importing the earlier file again a
    file's.

    Runs under the same connection locks as an ingest, so no refresh or import of those
    accounts writes meanwhile. Raises ``ImportNotUndoable`` with the reason."""
    from budgets.services import spending_apply, spending_of_deleted

    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job.pk)
        if job.undone_at is not None:
            raise ImportNotUndoable("this import has been undone already.")
        if job.status == ImportJob.Status.FAILED:
            raise ImportNotUndoable("this import failed, so it added nothing to undo.")
        if job.status != ImportJob.Status.SUCCEEDED:
            raise ImportNotUndoable("this import has not finished yet; undo it once it has.")
        if job.rows_since is None or job.dump_id is None:
            raise ImportNotUndoable(
                "this import was made before imports could be undone. Remove its account "
                "on the accounts page instead, or change its transactions one by one.")
        touched = FinancialAccount.objects.filter(
            user_id=job.user_id, id__in={*job.account_ids, *job.new_account_ids})
        # Every writer of a connection's rows holds its row lock (see _ingest), in id order:
        # no import or refresh writes into these accounts (or makes rows in an account
        # about to go) until this commits.
        list(Connection.objects.select_for_update().order_by("pk").filter(
            pk__in=touched.values("connection_id")).values_list("pk", flat=True))
        account_ids = list(touched.filter(id__in=job.account_ids).values_list("pk", flat=True))
        rows = Transaction.objects.filter(user_id=job.user_id, account_id__in=account_ids,
                                          dump_id=job.dump_id, created_at__gte=job.rows_since)
        delta = spending_of_deleted(user_id=job.user_id, transactions=rows)
        removed, _ = rows.delete()
        spending_apply(delta)
        still_used = set(Transaction.objects.filter(
            user_id=job.user_id, account_id__in=job.new_account_ids,
        ).values_list("account_id", flat=True).distinct())
        FinancialAccount.objects.filter(
            user_id=job.user_id, id__in=set(job.new_account_ids) - still_used).delete()
        job.undone_at = timezone.now()
        job.removed = removed
        job.save(update_fields=["undone_at", "removed"])
    return job

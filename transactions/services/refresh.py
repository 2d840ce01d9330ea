"""The refresh pipeline: one refresh run of one connection.

``refresh_request`` records a run and enqueues it after commit; the worker's task calls
``refresh_execute``, which is safe to run any number of times for one run id:

1. claim the connection with a conditional UPDATE (a lease: a worker killed mid-run
   loses it when it expires; the same message of the run, delivered again after its
   worker died, re-claims its own lease at once; another copy of the run leaves it to
   the holder);
2. the provider fetches since the saved cursor;
3. the answer goes unchanged to the object store (a RawDump row) — before any row;
4. the provider parses it;
5–6. categorise and upsert the rows, and in the *same* database transaction save the
   cursor, the balances, the run's counts and release the claim;
9. tell the user (once per run: notifications have a dedupe key; a failure once per
   episode, see ``_failing_key``).

Transient failures raise ``RefreshRetry`` for the task to retry with backoff; after the
last retry, or at once for refused credentials, the run fails, the connection shows the
error and the user is told.
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from datetime import datetime, timedelta
from functools import partial

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import IntegrityError, InterfaceError, OperationalError, transaction
from django.db.models import Q
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError

from accounts.crypto import decrypt_credentials
from accounts.models import Connection, User
from accounts.providers import (
    AuthenticationFailed,
    FetchContext,
    ProviderError,
    TransientProviderError,
    get_provider,
)
from notifications.services import notification_create

from ..models import RefreshRun
from ..objectstore import StorageUnavailable
from .dumps import raw_dump_store
from .ingest import transactions_ingest

log = logging.getLogger(__name__)


class RefreshRetry(Exception):
    """A transient failure: the task retries the run later."""


def refresh_request(*, connection: Connection, trigger: str) -> RefreshRun:
    """Records a refresh run and enqueues it after commit. While a run of the connection
    is active, asking again returns that run instead of starting a second one."""
    from ..tasks import refresh_connection

    active = RefreshRun.objects.filter(connection=connection, status__in=RefreshRun.ACTIVE)
    try:
        with transaction.atomic():
            run = RefreshRun.objects.create(
                user_id=connection.user_id, connection=connection, trigger=trigger
            )
    except IntegrityError:  # one_active_run_per_connection
        existing = active.first()
        if existing is not None:
            return existing
        raise
    transaction.on_commit(partial(_enqueue, refresh_connection, str(run.id)))
    return run


def _enqueue(task, run_id: str) -> None:
    """Publishes after commit. If the broker is down the run stays queued in the
    database and ``refresh_requeue_stale`` (beat, every 15 min) publishes it again:
    the request that asked for it still succeeds and nothing is lost."""
    try:
        task.delay(run_id)
    except KombuOperationalError as exc:
        log.warning("broker unavailable, run %s left for the requeue sweep: %s", run_id, exc)


def _claim(connection_id, run_id, token: str) -> bool:
    """Takes the connection's lease for this delivery of the run: when no lease holds, or
    when this very delivery holds it (its message came back after its worker was killed:
    it resumes at once instead of waiting for the lease to run out)."""
    now = timezone.now()
    free = (Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
            | Q(claimed_by=run_id, claim_token=token))
    return (
        Connection.objects.filter(Q(pk=connection_id) & free).update(
            claimed_by=run_id, claim_token=token,
            claimed_until=now + timedelta(seconds=settings.REFRESH_LEASE_SECONDS),
        )
        == 1
    )


def _release(connection_id, run_id) -> None:
    Connection.objects.filter(pk=connection_id, claimed_by=run_id).update(
        claimed_by=None, claimed_until=None, claim_token=""
    )


def refresh_execute(*, run_id, final_attempt: bool = True,
                    delivery: str | None = None) -> RefreshRun | None:
    """Runs the run (the steps above). ``delivery``: the id of the message that asks (the
    task's id, which stays the same when the broker delivers that message again); None
    for a call of its own."""
    run = RefreshRun.objects.select_related("connection", "user").filter(pk=run_id).first()
    if run is None or run.is_finished:
        return run  # unlinked meanwhile, or a redelivered message of a finished run
    connection = run.connection
    token = (delivery or uuid.uuid4().hex)[:64]
    if not _claim(connection.pk, run.pk, token):
        if Connection.objects.filter(pk=connection.pk, claimed_by=run.pk,
                                     claimed_until__gte=timezone.now()).exists():
            # Another copy of this run (the requeue sweep's, beside its retry's message)
            # works on it now: that one finishes it, and if its worker dies, its message
            # comes back and resumes, or the sweep sends the run again once the lease ends.
            log.info("refresh %s: another delivery holds the connection; left to it", run.pk)
            return run
        if final_attempt:
            _fail(run, "another refresh of this connection kept it busy", release=False)
            return RefreshRun.objects.filter(pk=run.pk).first()  # None: unlinked meanwhile
        raise RefreshRetry("another refresh of this connection is running")
    if run.attempts >= settings.REFRESH_MAX_RETRIES + 1:
        # Every attempt a run may have was taken up and none ended (its worker was killed,
        # out of memory on this statement, or past the hard time limit): the message comes
        # back (task_reject_on_worker_lost, the requeue sweep) with its retry count as
        # before, so without this the run would be tried for ever, "running". (Decided
        # by the delivery that holds the claim only: a copy must not fail a run that
        # another delivery is finishing, nor one that another finished before this claim.)
        state = (RefreshRun.objects.filter(pk=run.pk, status__in=RefreshRun.ACTIVE)
                 .values_list("status", "error").first())
        if state is not None:
            status, error = state
            # Put back to retry: the last attempt ended, on a transient error (its worker
            # was killed in an earlier one, so the retry count lags): that error is why.
            why = (error if status == RefreshRun.Status.RETRYING and error
                   else "the refresh stopped before it finished")
            _fail(run, f"{why} (gave up after {run.attempts} attempts)")
        else:
            _release(connection.pk, run.pk)
        return RefreshRun.objects.filter(pk=run.pk).first()  # None: unlinked meanwhile
    started = RefreshRun.objects.filter(pk=run.pk, status__in=RefreshRun.ACTIVE).update(
        status=RefreshRun.Status.RUNNING, attempts=run.attempts + 1,
        started_at=run.started_at or timezone.now(),
    )
    if not started:
        # Another message of this run finished it after this one read it (a redelivered
        # or swept copy): running it again would fetch once more and overwrite its counts
        # with "0 new", or reopen a run while a newer one of the connection is active.
        _release(connection.pk, run.pk)
        return RefreshRun.objects.filter(pk=run.pk).first()
    run.attempts += 1
    timings: dict[str, float] = {}
    try:
        provider = get_provider(connection.provider)
        credentials = decrypt_credentials(connection.secret)
        started = time.perf_counter()
        raw = provider.fetch(
            FetchContext(url=connection.url, login=credentials["login"],
                         password=credentials["password"], since=connection.cursor or None,
                         attempt=run.attempts)
        )
        timings["fetch_s"] = round(time.perf_counter() - started, 4)
        started = time.perf_counter()
        dump = raw_dump_store(user=run.user, connection=connection, source_id=run.id,
                              payload=raw.payload, media_type=raw.media_type)
        timings["dump_s"] = round(time.perf_counter() - started, 4)
        started = time.perf_counter()
        statement = provider.parse(raw)
        timings["parse_s"] = round(time.perf_counter() - started, 4)
        started = time.perf_counter()
        with transaction.atomic():
            locked = Connection.objects.select_for_update().filter(pk=connection.pk).first()
            if locked is None:
                return None  # unlinked while fetching
            result = transactions_ingest(
                user=run.user, connection=locked, statement=statement, dump=dump,
                durable=False,  # a crash before the WAL flush: the run is simply run again
            )
            timings["ingest_s"] = round(time.perf_counter() - started, 4)
            was_failing = locked.status in (Connection.Status.ERROR,
                                            Connection.Status.NEEDS_ATTENTION)
            locked.cursor = statement.cursor or locked.cursor
            locked.institution = locked.institution or statement.institution[:200]
            locked.status = Connection.Status.ACTIVE
            locked.last_error = ""
            locked.last_refreshed_at = timezone.now()
            locked.claimed_by = None
            locked.claimed_until = None
            locked.claim_token = ""
            locked.save(update_fields=["cursor", "institution", "status", "last_error",
                                       "last_refreshed_at", "claimed_by", "claimed_until",
                                       "claim_token"])
            RefreshRun.objects.filter(pk=run.pk).update(
                status=RefreshRun.Status.SUCCEEDED, fetched=result.fetched,
                created=result.created, updated=result.updated, unchanged=result.unchanged,
                replaced_pending=result.replaced_pending, dump=dump, timings=timings,
                error="", finished_at=timezone.now(),
            )
            # Every refresh ends with a budget check (idempotent; queued once: merged into
            # the one the ingest queued if the spending changed), so that a check lost
            # earlier — the broker was down right after a commit — runs at the next
            # refresh at the latest.
            from budgets.services.spending import budgets_check_after_commit

            budgets_check_after_commit(user_id=run.user_id)
    except AuthenticationFailed as exc:
        _fail(run, str(exc), status=Connection.Status.NEEDS_ATTENTION)
    except (TransientProviderError, StorageUnavailable, OperationalError, InterfaceError) as exc:
        # A database that went away is as transient as a bank that timed out.
        told = _told(run, exc)
        if final_attempt:
            _fail(run, f"{told} (gave up after {run.attempts} attempts)")
        else:
            _release(connection.pk, run.pk)
            retried = [*run.retried, {"attempt": run.attempts, "error": told[:500]}][-10:]
            RefreshRun.objects.filter(pk=run.pk).update(
                status=RefreshRun.Status.RETRYING, error=told, retried=retried
            )
            raise RefreshRetry(told) from exc
    except ProviderError as exc:
        _fail(run, str(exc))
    except Exception as exc:
        # Unlinked meanwhile: the dump record could not point at the connection any more
        # (an IntegrityError); anything else is logged with its traceback all the same.
        if _unlinked(connection.pk, run, error=exc):
            return None
        # A bug: fail the run visibly (support sees it in the admin) instead of leaving it
        # "running" for the requeue sweep to repeat forever; the traceback goes to the log.
        if isinstance(exc, SoftTimeLimitExceeded):
            # Not retried: the same statement would take as long again.
            _fail(run, f"the refresh took longer than {settings.CELERY_TASK_SOFT_TIME_LIMIT} "
                       "s and was stopped; support has been told")
        else:
            _fail(run, f"internal error ({type(exc).__name__}); support has been told")
        raise
    else:
        run = RefreshRun.objects.filter(pk=run.pk).select_related("user").first()
        if run is None:
            return None  # unlinked, or the account deleted, the moment it committed
        if not (run.created or run.updated or run.replaced_pending or was_failing
                or run.trigger == RefreshRun.Trigger.LINK):
            return run  # nothing new to tell: no "0 new" every night, for every connection
        notification_create(
            user=run.user, kind="refresh_finished",
            title=f"Refresh finished: {run.created} new",
            body=f"{_name(connection)}: {run.created} new, {run.updated} updated "
                 "transactions.",
            data={"run": str(run.id), "connection": str(connection.pk), "new": run.created},
            dedupe_key=f"refresh_finished:{run.id}",
        )
        return run
    return RefreshRun.objects.filter(pk=run.pk).first()  # None: unlinked meanwhile


def _told(run: RefreshRun, exc: Exception) -> str:
    """What the person (the run's error, the connection's, the notification) is told of
    a transient failure: the bank's trouble as it is; ours without its detail — a
    database's or an object store's error names our hosts and addresses — which goes to
    the log for support."""
    if isinstance(exc, TransientProviderError):
        return str(exc)
    log.warning("refresh %s attempt %s: %s: %s", run.pk, run.attempts, type(exc).__name__, exc)
    part = "file store" if isinstance(exc, StorageUnavailable) else "database"
    return f"a temporary problem on our side (our {part} was unavailable)"


def _unlinked(connection_id, run: RefreshRun, error: Exception | None = None) -> bool:
    """Whether the person unlinked the connection while its refresh ran (its runs went
    with it): then the refresh ends with nothing to tell the person. An error other than
    the one the unlink causes is still logged with its traceback, for support."""
    if Connection.objects.filter(pk=connection_id).exists():
        return False
    if error is None or isinstance(error, IntegrityError):
        log.info("refresh %s ended: connection %s was unlinked meanwhile", run.pk,
                 connection_id)
    else:
        log.error("refresh %s failed after connection %s was unlinked", run.pk, connection_id,
                  exc_info=error)
    return True


def _name(connection: Connection) -> str:
    """The bank's name as a person knows it ("Mint Demo Bank"), else its URL."""
    return connection.institution or connection.url or str(connection)


def _fail(
    run: RefreshRun, message: str, status: str = Connection.Status.ERROR, release: bool = True
) -> None:
    if _unlinked(run.connection_id, run):
        return
    log.warning("refresh %s of connection %s failed: %s", run.pk, run.connection_id, message)
    with transaction.atomic():
        episode = (Connection.objects.select_for_update().filter(pk=run.connection_id)
                   .values_list("last_refreshed_at", "secret").first())
        Connection.objects.filter(pk=run.connection_id).update(
            status=status, last_error=message[:1000]
        )
        if release:
            _release(run.connection_id, run.pk)
        RefreshRun.objects.filter(pk=run.pk).update(
            status=RefreshRun.Status.FAILED, error=message[:2000], finished_at=timezone.now()
        )
    if status == Connection.Status.NEEDS_ATTENTION:
        title = "An account needs attention"
        what = ("the bank refused the login. Link it again with the same login and your "
                "current password" + ("; your history stays." if episode and episode[0]
                                      else "."))
    else:
        title = "An account failed to refresh"
        what = ("we couldn't get your latest transactions. We'll try again tonight; you "
                "can also refresh it now.")
    notification_create(
        user=run.user, kind="refresh_failing", title=title,
        body=f"{_name(run.connection)}: {what} (Detail: {message})",
        data={"run": str(run.pk), "connection": str(run.connection_id)},
        dedupe_key=_failing_key(run.connection_id, status, *(episode or (None, ""))),
    )


def _failing_key(connection_id, status: str, last_refreshed_at, secret: str) -> str:
    """A failing connection is told once per episode, not once per run: until it next
    refreshes well (``last_refreshed_at`` moves) or its password is replaced (the
    encrypted ``secret`` changes; only a digest of it is kept), another failure of the
    same kind (every nightly retry of a bank that is down, each press of "refresh" on a
    login the bank refuses) tells nothing new, in the app or by email. (Re-encrypting the
    secrets with a new key, ``rotate_credentials``, starts a new episode: a connection
    failing then is told once more.)"""
    since = last_refreshed_at.isoformat() if last_refreshed_at else "never"
    credentials = hashlib.sha256(secret.encode()).hexdigest()[:16]
    return f"refresh_failing:{connection_id}:{status}:{since}:{credentials}"


def nightly_refresh_batch(*, after_user_id: int, batch_size: int) -> int | None:
    """Requests a refresh of every linked connection of one batch of users active in the
    last ``NIGHTLY_ACTIVE_DAYS`` days, by ascending id after ``after_user_id``. Returns
    the last user id when there may be more, None when done. Never loads all users."""
    now = timezone.now()
    active_since = now - timedelta(days=settings.NIGHTLY_ACTIVE_DAYS)
    user_ids = list(
        User.objects.filter(id__gt=after_user_id, last_active_at__gte=active_since, is_active=True)
        .order_by("id").values_list("id", flat=True)[:batch_size]
    )
    recently = now - timedelta(hours=12)
    connections = Connection.objects.filter(user_id__in=user_ids).exclude(
        provider=Connection.Provider.FILE
    ).exclude(last_refreshed_at__gte=recently).exclude(
        # The bank refused the login: trying the same password every night would tell
        # nothing new and may lock the person out of their bank. It is tried again when
        # they link it again (a new password) or press "refresh".
        status=Connection.Status.NEEDS_ATTENTION
    )
    for connection in connections.iterator(chunk_size=1000):
        refresh_request(connection=connection, trigger=RefreshRun.Trigger.NIGHTLY)
    return user_ids[-1] if len(user_ids) == batch_size else None


def refresh_requeue_stale(*, older_than_seconds: int, after: list[str] | None = None,
                          limit: int = 1000) -> tuple[int, list[str] | None]:
    """Re-enqueues active runs whose message may be lost (a broker restarted before the
    enqueue, a queue flushed), oldest first, one page of ``limit`` after the run
    ``after`` (``[created_at ISO, id]``, as returned). Returns how many it sent, and the
    last one's place when there may be more (the next page starts after it: a run sent
    stays active until a worker takes it, so the first page cannot simply be asked
    again), else None.

    A run sent is not sent again before ``older_than_seconds`` have passed (a sweep every
    15 minutes would otherwise send every run still waiting in the queue once more).
    Sending twice is harmless all the same: runs are idempotent, and a copy of a run that
    another delivery holds leaves it to that one. A page is one query on the active
    runs' index, one UPDATE and ``limit`` publishes: after a broker lost a night's queue,
    every lost run is sent again in one chain of pages, not 1,000 every 15 minutes."""
    from ..tasks import refresh_connection

    now = timezone.now()
    cutoff = now - timedelta(seconds=older_than_seconds)
    stale = RefreshRun.objects.filter(
        Q(requeued_at__isnull=True) | Q(requeued_at__lt=cutoff),
        status__in=RefreshRun.ACTIVE, created_at__lt=cutoff)
    if after is not None:
        created_at, run_id = datetime.fromisoformat(after[0]), uuid.UUID(after[1])
        stale = stale.filter(Q(created_at__gt=created_at) | Q(created_at=created_at,
                                                              id__gt=run_id))
    stale = stale.filter(
        Q(connection__claimed_until__isnull=True) | Q(connection__claimed_until__lt=timezone.now())
    )
    page = list(stale.order_by("created_at", "id").values_list("id", "created_at")[:limit])
    # Marked before the sends: a sweep that dies halfway leaves a page unsent for one
    # interval at worst, never sends it twice in one.
    RefreshRun.objects.filter(id__in=[run_id for run_id, _ in page]).update(requeued_at=now)
    for run_id, _ in page:
        _enqueue(refresh_connection, str(run_id))
    if len(page) < limit:
        return len(page), None
    return len(page), [page[-1][1].isoformat(), str(page[-1][0])]

"""Thin tasks: take ids, call one service, declare retries."""

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError
from kombu.exceptions import OperationalError as KombuOperationalError

from .objectstore import StorageUnavailable
from .services.dumps import raw_dumps_delete_for, raw_dumps_sweep
from .services.imports import TRANSIENT, import_execute, import_requeue_stale
from .services.refresh import (
    RefreshRetry,
    nightly_refresh_batch,
    refresh_execute,
    refresh_requeue_stale,
)


@shared_task(
    bind=True,
    # Exponential backoff with full jitter, capped below the broker's visibility timeout.
    autoretry_for=(RefreshRetry, OperationalError, InterfaceError),
    retry_backoff=5,
    retry_backoff_max=settings.REFRESH_RETRY_BACKOFF_MAX,
    retry_jitter=True,
    max_retries=settings.REFRESH_MAX_RETRIES,
)
def refresh_connection(self, run_id: str) -> None:
    refresh_execute(run_id=run_id, final_attempt=self.request.retries >= self.max_retries,
                    delivery=self.request.id)


@shared_task(
    # A database or broker that blips mid-fan-out: the batch runs again (it only joins
    # the runs it requested already); without a retry the chain of batches ended there
    # and every user after it waited a whole night.
    autoretry_for=(OperationalError, InterfaceError, KombuOperationalError),
    retry_backoff=5,
    retry_jitter=True,
    max_retries=8,
)
def nightly_refresh(after_user_id: int = 0) -> None:
    # One batch of 500 users ≈ 1,500 connections: ~1 s of INSERTs and enqueues; the next
    # batch is its own task so that no task holds all users.
    last = nightly_refresh_batch(
        after_user_id=after_user_id, batch_size=settings.NIGHTLY_BATCH_SIZE
    )
    if last is not None:
        nightly_refresh.delay(last)


@shared_task
def requeue_stale_imports() -> None:
    # Queued longer than any retry countdown plus a lease: its message was lost (a broker
    # restart); running past its lease: its worker died.
    import_requeue_stale(
        older_than_seconds=settings.REFRESH_LEASE_SECONDS + settings.CELERY_MAX_COUNTDOWN
    )


@shared_task
def requeue_stale_runs(after: list[str] | None = None) -> None:
    # Older than the lease plus the longest retry countdown: such a run has no message
    # left on the broker (lost in a broker restart) or its worker died. A page of runs
    # per task, each queueing the next, as the nightly fan-out.
    _sent, last = refresh_requeue_stale(
        older_than_seconds=settings.REFRESH_LEASE_SECONDS + settings.CELERY_MAX_COUNTDOWN,
        after=after,
    )
    if last is not None:
        requeue_stale_runs.delay(after=last)


@shared_task(
    bind=True,
    autoretry_for=TRANSIENT,
    retry_backoff=5,
    retry_jitter=True,
    max_retries=5,
)
def import_file(self, job_id: str) -> None:
    import_execute(job_id=job_id, final_attempt=self.request.retries >= self.max_retries)


@shared_task(
    autoretry_for=(StorageUnavailable,),
    retry_backoff=5,
    retry_jitter=True,
    max_retries=8,
)
def raw_dumps_delete(user_id: int) -> int:
    # After the user's rows are gone (enqueued on commit): their raw statements go too.
    return raw_dumps_delete_for(user_id=user_id)


@shared_task(autoretry_for=(StorageUnavailable,), retry_backoff=60, max_retries=3)
def raw_dumps_sweep_task(after: str = "") -> int:
    # Nightly: the raw dumps of users deleted since, that their deletion's task missed;
    # one page of 1,000 user folders per task, the next page its own task (as the
    # nightly fan-out), so that no task lists every user's folder.
    swept, last = raw_dumps_sweep(after=after, limit=SWEEP_PAGE)
    if last is not None:
        raw_dumps_sweep_task.delay(after=last)
    return len(swept)


SWEEP_PAGE = 1000

"""Thin tasks: take ids, call one service, declare retries. Routed to the
``notifications`` queue (settings.CELERY_TASK_ROUTES)."""

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError

from .services.delivery import DeliveryRetry, deliveries_requeue_stale, delivery_send


@shared_task(
    # Exponential backoff with full jitter (5 s, 10 s, 20 s, …), each wait capped below
    # the broker's visibility timeout. The number of attempts is counted on the row, not
    # here (``delivery_send`` gives up after WEBHOOK_/EMAIL_MAX_ATTEMPTS, even when the
    # sweep re-enqueued the row); this cap only bounds retries on database errors.
    autoretry_for=(DeliveryRetry, OperationalError, InterfaceError),
    retry_backoff=5,
    retry_backoff_max=settings.CELERY_MAX_COUNTDOWN,
    retry_jitter=True,
    max_retries=max(settings.WEBHOOK_MAX_ATTEMPTS, settings.EMAIL_MAX_ATTEMPTS) + 5,
)
def deliver(delivery_id: int) -> None:
    delivery_send(delivery_id=delivery_id)


@shared_task
def requeue_stale_deliveries() -> None:
    # Untouched for longer than a claim's lease plus the longest retry countdown: the
    # row's message is gone (broker restart, enqueue during a broker outage).
    deliveries_requeue_stale(
        older_than_seconds=settings.CELERY_TASK_TIME_LIMIT + 60 + settings.CELERY_MAX_COUNTDOWN
    )

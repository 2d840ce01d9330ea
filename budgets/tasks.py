"""Thin tasks in the ``budgets`` queue."""

from datetime import date

from celery import shared_task
from django.db import InterfaceError, OperationalError

from .services import budgets_check


@shared_task(autoretry_for=(OperationalError, InterfaceError), retry_backoff=5,
             retry_jitter=True, max_retries=5)
def check_budgets(user_id: int, months: list[str] | None = None) -> None:
    # Idempotent: alerts are unique rows, so a redelivered or repeated check adds none.
    # ``months``: the ISO first days of the months the write changed. Optional: a message
    # queued before it existed (user id only) still checks the current month.
    budgets_check(user_id=user_id,
                  months=[date.fromisoformat(month) for month in months or ()])

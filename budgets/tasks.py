"""Thin tasks in the ``budgets`` queue."""

from celery import shared_task
from django.db import InterfaceError, OperationalError

from .services import budgets_check


@shared_task(autoretry_for=(OperationalError, InterfaceError), retry_backoff=5,
             retry_jitter=True, max_retries=5)
def check_budgets(user_id: int) -> None:
    # Idempotent: alerts are unique rows, so a redelivered or repeated check adds none.
    budgets_check(user_id=user_id)

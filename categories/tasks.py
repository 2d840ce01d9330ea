"""Thin tasks: recategorise stored transactions in batches, one batch per task."""

from celery import shared_task
from django.db import InterfaceError, OperationalError

from .services import transactions_recategorize_seller, transactions_recategorize_user

_RETRY = {"autoretry_for": (OperationalError, InterfaceError), "retry_backoff": 5,
          "retry_jitter": True, "max_retries": 5}


@shared_task(**_RETRY)
def recategorize_user(user_id: int, after_id: int = 0, scope: list | None = None) -> None:
    # A user's rules changed: one batch (RECATEGORIZE_BATCH_SIZE rows ≈ 60 ms), then the
    # next batch as its own task, so that no task runs long and a retry redoes one batch.
    # ``scope``: the conditions of the rules that changed (None, from older messages: all).
    last = transactions_recategorize_user(user_id=user_id, after_id=after_id, scope=scope)
    if last is not None:
        recategorize_user.delay(user_id, last, scope)


@shared_task(**_RETRY)
def recategorize_seller(seller_key: str, after_id: int = 0) -> None:
    # The crowd's default for a seller changed: every user's rows of it, batch by batch.
    last = transactions_recategorize_seller(seller_key=seller_key, after_id=after_id)
    if last is not None:
        recategorize_seller.delay(seller_key, last)

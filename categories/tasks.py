"""Thin tasks: recategorise stored transactions in batches, one batch per task."""

from celery import shared_task
from django.db import InterfaceError, OperationalError

from .services import (
    transactions_recategorize_seller,
    transactions_recategorize_user,
    transactions_still_in_flight,
)

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
def recategorize_seller(seller_key: str, after_id: int = 0, in_flight: list | None = None
                        ) -> None:
    # The crowd's default for a seller changed: every user's rows of it, batch by batch.
    # ``in_flight``: the transactions open when it changed; once they have ended, the
    # seller's rows are gone through again (recategorize_seller_again).
    last = transactions_recategorize_seller(seller_key=seller_key, after_id=after_id)
    if last is not None:
        recategorize_seller.delay(seller_key, last, in_flight)
    elif in_flight:
        recategorize_seller_again.delay(seller_key, in_flight)


_AGAIN_MAX_ATTEMPTS = 20  # 5 s, 10 s, … then every 5 minutes: ~1.3 h in all


@shared_task(**_RETRY)
def recategorize_seller_again(seller_key: str, in_flight: list, attempt: int = 0) -> None:
    # An ingest open when the crowd's default changed looked the crowd up before it, and
    # its rows of the seller commit after the first pass: when every such transaction
    # has ended, one more pass. A refresh's ingest commits within a second (waited for
    # here); a long import, or a session left open, is checked again later, with backoff,
    # and after ~1.3 h the pass runs anyway.
    still = transactions_still_in_flight(in_flight, wait=1.0)
    if still and attempt + 1 < _AGAIN_MAX_ATTEMPTS:
        recategorize_seller_again.apply_async((seller_key, still, attempt + 1),
                                              countdown=min(300, 5 * 2 ** attempt))
    else:
        recategorize_seller.delay(seller_key)

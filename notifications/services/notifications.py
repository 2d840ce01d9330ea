from __future__ import annotations

from functools import partial

from django.db import IntegrityError, transaction
from django.utils import timezone

from ..models import Notification
from .delivery import deliveries_create


def notification_create(
    *, user, kind: str, title: str, body: str = "", data: dict | None = None, dedupe_key: str
) -> Notification | None:
    """Creates the notification once per ``(user, dedupe_key)``; returns None when it
    existed, and then sends nothing again.

    A new notification is the in-app one; with it, in the same transaction, one
    ``Delivery`` row per other enabled channel (email, each active webhook: see
    ``preferences``) is recorded as pending, and one ``deliver`` task per row is
    enqueued after commit. Safe inside the caller's open transaction: the rows commit or
    roll back with it, and nothing is enqueued for a transaction that rolls back. The
    enqueue is ``robust``: a broker that is down does not fail the caller; the pending
    row stays, and the stale-delivery sweep enqueues it later.
    """
    from ..tasks import deliver

    with transaction.atomic():
        try:
            with transaction.atomic():
                notification = Notification.objects.create(
                    user=user, kind=kind, title=title, body=body, data=data or {},
                    dedupe_key=dedupe_key,
                )
        except IntegrityError:
            return None
        deliveries = deliveries_create(notification=notification, user=user)
    for delivery in deliveries:
        transaction.on_commit(partial(deliver.delay, delivery.id), robust=True)
    return notification


def notification_mark_read(*, notification: Notification) -> Notification:
    """Marks one notification read; reading it again keeps the first time."""
    Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(
        read_at=timezone.now()
    )
    notification.refresh_from_db(fields=["read_at"])
    return notification


def notifications_mark_all_read(*, user, up_to_id: int | None = None) -> int:
    """Marks the user's unread notifications read, only those up to ``up_to_id`` when
    given (the newest one the client has shown, so that one arriving meanwhile stays
    unread). Returns how many changed."""
    unread = Notification.objects.filter(user=user, read_at__isnull=True)
    if up_to_id is not None:
        unread = unread.filter(id__lte=up_to_id)
    return unread.update(read_at=timezone.now())

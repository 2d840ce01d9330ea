"""Sending notifications by email and webhook, with a delivery log.

Delivery is **at-least-once**, not exactly-once. Each ``Delivery`` row is recorded
(pending) before anything is sent, in the transaction that creates the notification; the
unique constraints allow one row per (notification, email) and per (notification,
webhook), so a notification created twice (same dedupe key) is never sent twice, and a
redelivered task for a row already ``sent`` does nothing. What remains: a worker that
dies, or a database that goes away, *after* the receiver accepted the request and
*before* the row is marked ``sent`` leaves the row pending, and it is sent again. No
sender can close that window (the receiver's "200" and our commit cannot be atomic),
so receivers dedupe by the notification ``id`` in the body — and an email carries a
stable ``Message-ID`` built from the same id.

``delivery_send`` for one row, any number of times:

1. claim it with a conditional UPDATE (pending, not claimed by a live worker) that also
   counts the attempt; exactly one row must change, else there is nothing to do (the
   row is gone, already sent or failed, or another worker holds it);
2. send, outside any database transaction (a slow receiver holds no locks);
3. mark it ``sent`` (2xx / accepted by the mail server); or, on failure, keep the error
   and raise ``DeliveryRetry`` for the task to retry with backoff; after the last attempt
   (``WEBHOOK_MAX_ATTEMPTS`` / ``EMAIL_MAX_ATTEMPTS``) mark it ``failed``.

A message lost on the way (broker restart, enqueue while the broker was down) leaves a
pending row; ``deliveries_requeue_stale`` (beat, every 15 min) enqueues it again.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from email.utils import parseaddr
from functools import partial

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.netguard import post
from accounts.providers.base import ProviderError

from ..models import Channel, Delivery, Notification, Webhook
from ..selectors import channels_enabled
from .webhooks import webhook_body, webhook_secret, webhook_signature

log = logging.getLogger(__name__)

# Enough of a receiver's error page to tell a 500 from a misconfigured proxy.
ERROR_SNIPPET = 300


class DeliveryRetry(Exception):
    """A delivery attempt failed and attempts remain: the task retries later."""


@dataclass(frozen=True)
class Outcome:
    ok: bool
    error: str = ""
    response_status: int | None = None


def deliveries_create(*, notification: Notification, user) -> list[Delivery]:
    """Records one pending delivery per enabled channel (each active webhook counts
    once). Called by ``notification_create`` in its transaction; returns the rows."""
    channels = channels_enabled(user=user, kind=notification.kind)
    rows = []
    if Channel.EMAIL in channels and user.email:
        rows.append(Delivery(user=user, notification=notification, channel=Channel.EMAIL))
    if Channel.WEBHOOK in channels:
        for webhook_id in Webhook.objects.filter(user=user, active=True).values_list(
            "id", flat=True
        ):
            rows.append(Delivery(user=user, notification=notification,
                                 channel=Channel.WEBHOOK, webhook_id=webhook_id))
    return Delivery.objects.bulk_create(rows) if rows else []


def delivery_send(*, delivery_id: int) -> str | None:
    """Sends one delivery (see the module docstring); returns its new status, or None
    when there was nothing to do."""
    now = timezone.now()
    # The lease outlives the task's hard time limit: when it expires, its worker is dead.
    lease = timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 60)
    claimed = (
        Delivery.objects.filter(pk=delivery_id, status=Delivery.Status.PENDING)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(claimed_until=now + lease, attempts=F("attempts") + 1, last_attempt_at=now)
    )
    if claimed != 1:
        return None
    delivery = Delivery.objects.select_related("notification", "webhook", "user").get(
        pk=delivery_id
    )
    max_attempts = (
        settings.WEBHOOK_MAX_ATTEMPTS
        if delivery.channel == Channel.WEBHOOK else settings.EMAIL_MAX_ATTEMPTS
    )
    if delivery.attempts > max_attempts:
        # The last attempt was interrupted (worker killed) and the sweep brought it back.
        return _mark_failed(delivery, delivery.last_error or "the last attempt was interrupted")

    if not delivery.user.is_active:
        return _mark_failed(delivery, "the user's account is deactivated")
    if delivery.channel == Channel.WEBHOOK:
        if not delivery.webhook.active:
            return _mark_failed(delivery, "the webhook was turned off")
        outcome = _send_webhook(delivery.notification, delivery.webhook)
    else:
        outcome = _send_email(delivery.notification, delivery.user)

    if outcome.ok:
        Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.PENDING).update(
            status=Delivery.Status.SENT, sent_at=timezone.now(), claimed_until=None,
            response_status=outcome.response_status, last_error="",
        )
        return Delivery.Status.SENT
    if delivery.attempts >= max_attempts:
        return _mark_failed(
            delivery, f"{outcome.error} (gave up after {delivery.attempts} attempts)",
            response_status=outcome.response_status,
        )
    Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.PENDING).update(
        claimed_until=None, last_error=outcome.error[:2000],
        response_status=outcome.response_status,
    )
    raise DeliveryRetry(outcome.error)


def deliveries_requeue_stale(*, older_than_seconds: int, batch_size: int = 1000) -> int:
    """Enqueues pending deliveries that no worker holds and nothing has touched for
    ``older_than_seconds`` (longer than a lease plus the longest retry countdown: such a
    row has no message left on the broker). A row whose message was only late is then
    queued twice; the claim lets one of the two send it. Returns how many."""
    from ..tasks import deliver

    now = timezone.now()
    cutoff = now - timedelta(seconds=older_than_seconds)
    # One batch per run keeps a sweep short after a long outage; the next run, 15 min
    # later, takes the next batch (1,000 enqueues ≈ 1 s).
    ids = list(
        Delivery.objects.filter(status=Delivery.Status.PENDING, created_at__lt=cutoff)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .filter(Q(last_attempt_at__isnull=True) | Q(last_attempt_at__lt=cutoff))
        .order_by("created_at").values_list("id", flat=True)[:batch_size]
    )
    for delivery_id in ids:
        deliver.delay(delivery_id)
    return len(ids)


def deliveries_retry(*, ids) -> int:
    """Support: sends failed deliveries again with a fresh set of attempts. Returns
    how many were reset."""
    from ..tasks import deliver

    with transaction.atomic():
        failed = list(
            Delivery.objects.filter(pk__in=list(ids), status=Delivery.Status.FAILED)
            .values_list("id", flat=True)
        )
        Delivery.objects.filter(pk__in=failed, status=Delivery.Status.FAILED).update(
            status=Delivery.Status.PENDING, attempts=0, claimed_until=None
        )
        for delivery_id in failed:
            transaction.on_commit(partial(deliver.delay, delivery_id), robust=True)
    return len(failed)


def _mark_failed(delivery: Delivery, error: str, response_status: int | None = None) -> str:
    log.warning("delivery %s (%s) failed: %s", delivery.pk, delivery.channel, error)
    Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.PENDING).update(
        status=Delivery.Status.FAILED, claimed_until=None, last_error=error[:2000],
        response_status=response_status,
    )
    return Delivery.Status.FAILED


def _send_webhook(notification: Notification, webhook: Webhook) -> Outcome:
    body = webhook_body(notification)
    timestamp = int(time.time())
    try:
        secret = webhook_secret(webhook)
    except ImproperlyConfigured as exc:
        return Outcome(ok=False, error=str(exc))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Mint-Webhooks/1.0",
        "X-Mint-Timestamp": str(timestamp),
        "X-Mint-Signature": webhook_signature(secret=secret, timestamp=timestamp, body=body),
    }
    try:
        # netguard re-checks the address (DNS pinning) and never follows a redirect.
        status, _, answer = post(
            webhook.url, body, headers, timeout=settings.WEBHOOK_TIMEOUT_SECONDS
        )
    except ProviderError as exc:
        return Outcome(ok=False, error=str(exc))
    if 200 <= status < 300:
        return Outcome(ok=True, response_status=status)
    snippet = answer[:ERROR_SNIPPET].decode("utf-8", "replace").strip()
    reason = "a redirect, which is not followed" if 300 <= status < 400 else "not 2xx"
    return Outcome(ok=False, response_status=status,
                   error=f"HTTP {status} ({reason})" + (f": {snippet}" if snippet else ""))


def _send_email(notification: Notification, user) -> Outcome:
    context = {
        "notification": notification,
        "kind_label": Notification.Kind(notification.kind).label,
        "user": user,
    }
    text = render_to_string("notifications/email.txt", context)
    html = render_to_string("notifications/email.html", context)
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "mint.local"
    message = EmailMultiAlternatives(
        # A header cannot hold a line break; titles are one line, but make sure.
        subject=" ".join(notification.title.split()),
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[user.email],
        # Stable across attempts: a mail client may drop a resent copy.
        headers={"Message-ID": f"<notification-{notification.id}@{domain}>"},
    )
    message.attach_alternative(html, "text/html")
    try:
        message.send()
    except OSError as exc:  # smtplib's errors are OSErrors, as are socket errors
        return Outcome(ok=False, error=f"email not sent: {exc}")
    return Outcome(ok=True)

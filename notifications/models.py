from urllib.parse import urlsplit

from django.conf import settings
from django.db import models
from django.db.models import Q


class Notification(models.Model):
    """An in-app notification. ``dedupe_key`` makes each one happen once: the refresh
    that finishes twice (a redelivered task) still tells the user once."""

    class Kind(models.TextChoices):
        BUDGET_APPROACHING = "budget_approaching"
        BUDGET_EXCEEDED = "budget_exceeded"
        REFRESH_FINISHED = "refresh_finished"
        REFRESH_FAILING = "refresh_failing"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    dedupe_key = models.CharField(max_length=200)
    read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "dedupe_key"], name="notification_once")
        ]
        indexes = [
            models.Index(fields=["user", "-id"]),
            # The unread count and "mark all read" touch only unread rows.
            models.Index(fields=["user"], condition=Q(read_at__isnull=True),
                         name="notification_unread"),
        ]

    def __str__(self) -> str:
        return self.title


class Channel(models.TextChoices):
    """Where a notification goes besides the in-app list (which is the row itself)."""

    EMAIL = "email"
    WEBHOOK = "webhook"


class Webhook(models.Model):
    """A URL the user asked us to POST their notifications to.

    ``secret`` is the MultiFernet token (``CREDENTIALS_KEYS``) of the signing secret; the
    plain secret is shown once, in the API's create response, and never again (not in
    the API, the admin or the logs).
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webhooks"
    )
    url = models.CharField(max_length=500)
    secret = models.TextField(editable=False)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["user", "-id"])]

    def __str__(self) -> str:
        return self.url_masked

    @property
    def url_masked(self) -> str:
        """The URL as staff see it: scheme and host only. Chat services' webhook URLs
        carry their credential in the path or the query (anyone holding the URL can post
        to it); their owner sees the whole URL in the API."""
        parts = urlsplit(self.url)
        host = parts.hostname or ""
        if parts.port:
            host = f"{host}:{parts.port}"
        hidden = "/…" if parts.path.strip("/") or parts.query or parts.fragment else ""
        return f"{parts.scheme}://{host}{hidden}" if parts.scheme else "…"


class Delivery(models.Model):
    """One notification sent on one channel (email, or one webhook): the delivery log.

    The row is written before anything is sent, in the transaction that creates the
    notification; the worker then claims it, sends, and marks it ``sent`` or, after the
    last attempt, ``failed``. The unique constraints make "at most one delivery per
    (notification, channel, webhook)" a database fact; they lead with ``user`` like every
    unique constraint on per-user data (the future shard key).
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        SENT = "sent"
        FAILED = "failed"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, related_name="deliveries"
    )
    channel = models.CharField(max_length=16, choices=Channel.choices)
    # Deleting a webhook deletes its log too: the user asked us to forget the URL.
    webhook = models.ForeignKey(
        Webhook, on_delete=models.CASCADE, null=True, blank=True, related_name="deliveries"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    # A claim is a lease: a worker killed mid-send loses it when it expires.
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["user", "notification", "channel"],
                condition=Q(webhook__isnull=True),
                name="delivery_once_per_channel",
            ),
            models.UniqueConstraint(
                fields=["user", "notification", "webhook"],
                condition=Q(webhook__isnull=False),
                name="delivery_once_per_webhook",
            ),
            models.CheckConstraint(
                condition=Q(channel="webhook", webhook__isnull=False)
                | Q(channel="email", webhook__isnull=True),
                name="delivery_webhook_iff_webhook_channel",
            ),
        ]
        indexes = [
            models.Index(fields=["user", "-id"]),
            # The stale-delivery sweep reads pending rows only; sent ones are the bulk.
            models.Index(fields=["created_at"], condition=Q(status="pending"),
                         name="delivery_pending"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} delivery of notification {self.notification_id}"


class Preference(models.Model):
    """A user's choice for one (kind, channel). Only choices that differ from the
    defaults (``notifications.services.preferences.DEFAULTS``) are stored, so a better
    default later reaches everyone who never changed it."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
        related_name="notification_preferences",
    )
    kind = models.CharField(max_length=32, choices=Notification.Kind.choices)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    enabled = models.BooleanField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "kind", "channel"],
                                    name="notification_preference_once")
        ]

    def __str__(self) -> str:
        return f"{self.kind} by {self.channel}: {'on' if self.enabled else 'off'}"

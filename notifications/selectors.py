"""Reads, always scoped to one user."""

from __future__ import annotations

from django.db.models import QuerySet

from .models import Channel, Notification, Preference, Webhook
from .services.preferences import DEFAULTS


def notifications_for(*, user, unread: bool | None = None) -> QuerySet[Notification]:
    """Newest first; ``unread``: True only the unread ones, False only the read ones."""
    rows = Notification.objects.filter(user=user)
    if unread is not None:
        rows = rows.filter(read_at__isnull=unread)
    return rows.order_by("-id")


def unread_count(*, user) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


def webhooks_for(*, user) -> QuerySet[Webhook]:
    return Webhook.objects.filter(user=user).order_by("-id")


def preferences_for(*, user) -> dict[str, dict[str, bool]]:
    """The full matrix ``{kind: {"in_app", "email", "webhook": bool}}``: stored choices
    over the defaults. One query."""
    matrix = {kind: dict(channels) for kind, channels in DEFAULTS.items()}
    for kind, channel, enabled in Preference.objects.filter(user=user).values_list(
        "kind", "channel", "enabled"
    ):
        matrix[kind][channel] = enabled
    return {str(kind): {str(c): v for c, v in row.items()} for kind, row in matrix.items()}


def channels_enabled(*, user, kind: str) -> set[str]:
    """The channels besides in-app that ``kind`` goes to for this user. One query."""
    enabled = {channel for channel in Channel.values if DEFAULTS[kind][channel]}
    for channel, on in Preference.objects.filter(user=user, kind=kind).values_list(
        "channel", "enabled"
    ):
        (enabled.add if on else enabled.discard)(channel)
    return enabled

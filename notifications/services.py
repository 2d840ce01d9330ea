from django.db import IntegrityError, transaction

from .models import Notification


def notification_create(
    *, user, kind: str, title: str, body: str = "", data: dict | None = None, dedupe_key: str
) -> Notification | None:
    """Creates the notification once per ``dedupe_key``; returns None when it existed."""
    try:
        with transaction.atomic():
            return Notification.objects.create(
                user=user, kind=kind, title=title, body=body, data=data or {},
                dedupe_key=dedupe_key,
            )
    except IntegrityError:
        return None

"""Notification services. ``notification_create`` is the one entry point other apps call
(the refresh pipeline, the budget check); the rest serve the API, the admin and the
worker."""

from .delivery import (
    DeliveryRetry,
    deliveries_requeue_stale,
    deliveries_retry,
    delivery_send,
)
from .notifications import (
    notification_create,
    notification_mark_read,
    notifications_mark_all_read,
)
from .preferences import DEFAULTS, preferences_set
from .webhooks import (
    webhook_body,
    webhook_create,
    webhook_delete,
    webhook_secrets_rotate,
    webhook_set_active,
    webhook_signature,
)

__all__ = [
    "DEFAULTS",
    "DeliveryRetry",
    "deliveries_requeue_stale",
    "deliveries_retry",
    "delivery_send",
    "notification_create",
    "notification_mark_read",
    "notifications_mark_all_read",
    "preferences_set",
    "webhook_body",
    "webhook_create",
    "webhook_delete",
    "webhook_secrets_rotate",
    "webhook_set_active",
    "webhook_signature",
]

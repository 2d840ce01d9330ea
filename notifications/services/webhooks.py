"""Webhooks: registration, the signed body, the secret at rest.

How a receiver verifies a delivery (also in the README, "Notifications"):

1. Read the raw request body as bytes, before any JSON parsing.
2. Read ``X-Mint-Timestamp`` (Unix seconds) and reject the request when it is more than
   5 minutes from your clock: a captured request replayed later fails here.
3. Compute ``"sha256=" + hex(HMAC-SHA256(key=secret, msg=timestamp + "." + raw_body))``
   with the secret shown once when the webhook was created, as UTF-8 bytes (the whole
   string, ``whsec_`` prefix included).
4. Compare it with ``X-Mint-Signature`` in constant time (``hmac.compare_digest``);
   reject on a mismatch. The timestamp is inside the signed message, so it cannot be
   changed without breaking the signature.
5. Dedupe by the body's ``id`` (the notification id): delivery is at-least-once, and a
   retry carries the same body with a new timestamp and signature.

In Python::

    def verify(secret: str, headers, raw_body: bytes, tolerance: int = 300) -> bool:
        timestamp = headers["X-Mint-Timestamp"]
        if abs(time.time() - int(timestamp)) > tolerance:
            return False
        mac = hmac.new(secret.encode(), timestamp.encode() + b"." + raw_body, hashlib.sha256)
        return hmac.compare_digest("sha256=" + mac.hexdigest(), headers["X-Mint-Signature"])
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from urllib.parse import urlsplit

from cryptography.fernet import InvalidToken
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.serializers.json import DjangoJSONEncoder

from accounts.crypto import fernet, rotate_token
from accounts.netguard import check_outbound_url
from accounts.providers.base import ProviderError

from ..models import Notification, Webhook

# A person wires up a phone automation, a home server, a chat bot: ten is plenty, and
# each one multiplies every notification's deliveries.
WEBHOOKS_PER_USER_MAX = 10
SECRET_PREFIX = "whsec_"  # noqa: S105 - a label, not a secret


def _target(url: str) -> tuple:
    """Where a URL delivers, however it is written: scheme and host in any case, the
    default port or none, with or without a fragment (never sent) or a final "/" on an
    empty path."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    try:
        port = parts.port or {"http": 80, "https": 443}.get(scheme)
    except ValueError:
        port = None
    return (scheme, (parts.hostname or "").lower().rstrip("."), port, parts.path or "/",
            parts.query)


def webhook_create(*, user, url: str) -> tuple[Webhook, str]:
    """Registers a webhook and returns it with its plain secret, which is never
    available again (only its encrypted form is stored). The URL must be http(s) and
    resolve to public addresses only (unless ``ALLOW_PRIVATE_OUTBOUND``); the check is
    repeated at every delivery, so a host that later resolves to a private address is
    refused then too."""
    url = url.strip()
    try:
        check_outbound_url(url, login_field=False)
    except ProviderError as exc:
        raise ValidationError({"url": [str(exc)]}) from exc
    target = _target(url)
    if any(_target(other) == target
           for other in Webhook.objects.filter(user=user).values_list("url", flat=True)):
        # The receiver would get every notification twice.
        raise ValidationError({"url": ["this URL has a webhook already"]})
    if Webhook.objects.filter(user=user).count() >= WEBHOOKS_PER_USER_MAX:
        raise ValidationError(
            {"url": [f"at most {WEBHOOKS_PER_USER_MAX} webhooks; delete one first"]}
        )
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    webhook = Webhook.objects.create(user=user, url=url, secret=_encrypt(secret))
    return webhook, secret


def webhook_set_active(*, webhook: Webhook, active: bool) -> Webhook:
    Webhook.objects.filter(pk=webhook.pk).update(active=active)
    webhook.active = active
    return webhook


def webhook_delete(*, webhook: Webhook) -> None:
    """Deletes the webhook and its delivery log; pending deliveries to it are dropped
    (their tasks find no row and stop)."""
    webhook.delete()


def webhook_body(notification: Notification) -> bytes:
    """The JSON body every webhook receives for a notification: the same bytes on every
    attempt."""
    payload = {
        "id": notification.id,
        "kind": notification.kind,
        "title": notification.title,
        "body": notification.body,
        "data": notification.data,
        "created_at": notification.created_at.isoformat(),
    }
    return json.dumps(payload, cls=DjangoJSONEncoder, separators=(",", ":")).encode()


def webhook_signature(*, secret: str, timestamp: int, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256(secret, f"{timestamp}.{body}")>``; see the module doc."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def webhook_secret(webhook: Webhook) -> str:
    try:
        return fernet().decrypt(webhook.secret.encode()).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured(
            "a webhook secret cannot be decrypted with CREDENTIALS_KEYS (a key was dropped "
            "before rotation finished?)"
        ) from exc


def webhook_secrets_rotate(*, batch_size: int = 500) -> int:
    """Re-encrypts every webhook secret with the first key of ``CREDENTIALS_KEYS``, in
    batches by id; returns how many. Part of ``manage.py rotate_credentials``."""
    done = 0
    last_id = 0
    while True:
        rows = list(
            Webhook.objects.filter(id__gt=last_id).order_by("id").only("id", "secret")[:batch_size]
        )
        if not rows:
            return done
        for webhook in rows:
            # Conditional: a secret changed meanwhile is left for the next run.
            Webhook.objects.filter(pk=webhook.pk, secret=webhook.secret).update(
                secret=rotate_token(webhook.secret)
            )
        done += len(rows)
        last_id = rows[-1].id


def _encrypt(secret: str) -> str:
    return fernet().encrypt(secret.encode()).decode()

"""Webhooks: registration through /api/v1/webhooks/, signed deliveries to a real HTTP
server on the loopback, retries and the delivery log, refused addresses and redirects,
at most one POST per notification.

The receiver is a threaded ``http.server`` started by the test; ``verify`` below is what
a receiver would write from the README's recipe (it deliberately does not import ours).
Tasks run eagerly; the deliveries are enqueued on commit, so tests that create a
notification run the commit callbacks.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.utils import timezone

from notifications.models import Delivery, Notification, Webhook
from notifications.services import notification_create
from notifications.services.webhooks import webhook_secret
from notifications.tasks import deliver, requeue_stale_deliveries
from tests.conftest import api_client_for

pytestmark = pytest.mark.django_db


# --- a receiver, as a user would write one -------------------------------------------------


def verify(secret: str, headers: dict, raw_body: bytes, *, now: float | None = None,
           tolerance: int = 300) -> bool:
    """The README's recipe: fresh timestamp, HMAC-SHA256 over "<timestamp>.<raw body>",
    constant-time comparison."""
    timestamp = headers.get("X-Mint-Timestamp", "")
    signature = headers.get("X-Mint-Signature", "")
    if not timestamp.isdigit():
        return False
    if abs((time.time() if now is None else now) - int(timestamp)) > tolerance:
        return False
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + raw_body, hashlib.sha256)
    return hmac.compare_digest("sha256=" + mac.hexdigest(), signature)


class Receiver:
    """Records every request; answers each path with a script of statuses (the last one
    repeats). A 3xx points to ``/target``."""

    def __init__(self):
        self.requests: list[dict] = []
        self.script: dict[str, list[int]] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                receiver.requests.append({
                    "method": self.command, "path": self.path,
                    "headers": dict(self.headers.items()), "body": body,
                })
                statuses = receiver.script.get(self.path, [200])
                status = statuses.pop(0) if len(statuses) > 1 else statuses[0]
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", receiver.url("/target"))
                answer = b"ok" if status < 300 else f"status {status}".encode()
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            do_POST = do_GET = _handle

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def to(self, path: str) -> list[dict]:
        return [r for r in self.requests if r["path"] == path]


@pytest.fixture
def receiver():
    server = Receiver()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture
def eager_retries():
    """Celery runs an eager retry only when eager exceptions do not propagate."""
    from mint.celery import app

    app.conf.task_eager_propagates = False
    yield
    app.conf.task_eager_propagates = True


def register(user, url: str) -> tuple[Webhook, str]:
    response = api_client_for(user).post("/api/v1/webhooks/", {"url": url}, format="json")
    assert response.status_code == 201, response.content
    return Webhook.objects.get(pk=response.json()["id"]), response.json()["secret"]


def notify(user, capture, key: str = "budget_exceeded:groceries:2026-05:100",
           kind: str = "budget_exceeded") -> Notification | None:
    with capture(execute=True):
        return notification_create(
            user=user, kind=kind, title="Groceries: over budget",
            body="You spent $105.00 of your $100.00 Groceries budget in May.",
            data={"category": 12, "month": "2026-05", "spent": "105.00", "budget": "100.00"},
            dedupe_key=key,
        )


# --- registration -------------------------------------------------------------------------


def test_the_secret_is_shown_once_at_creation_and_stored_encrypted(alice, api, receiver):
    created = api.post("/api/v1/webhooks/", {"url": receiver.url()}, format="json")

    assert created.status_code == 201
    secret = created.json()["secret"]
    assert secret.startswith("whsec_") and len(secret) > 40
    webhook = Webhook.objects.get(pk=created.json()["id"])
    assert secret not in webhook.secret
    assert webhook_secret(webhook) == secret
    detail = api.get(f"/api/v1/webhooks/{webhook.pk}/").json()
    listing = api.get("/api/v1/webhooks/").json()
    assert "secret" not in detail
    assert listing["results"] == [detail]
    assert detail == {"id": webhook.pk, "url": receiver.url(), "active": True,
                      "created_at": detail["created_at"]}


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8000/hook", "http://localhost/hook", "http://10.1.2.3/hook",
    "http://192.168.0.10/hook", "http://169.254.169.254/latest/meta-data/",
    "http://[::1]/hook", "http://[fe80::1]/hook", "http://0.0.0.0/hook",
    # IPv4 addresses wrapped in IPv6, which Python calls global: mapped, NAT64, 6to4
    "http://[::ffff:10.0.0.1]/hook", "http://[64:ff9b::7f00:1]/hook",
    "http://[64:ff9b:1::a00:1]/hook", "http://[2002:7f00:1::1]/hook",
    "http://[::ffff:0:127.0.0.1]/hook", "http://[::127.0.0.1]/hook",
])
def test_private_loopback_and_link_local_urls_are_refused(alice, api, settings, url):
    settings.ALLOW_PRIVATE_OUTBOUND = False

    response = api.post("/api/v1/webhooks/", {"url": url}, format="json")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert "private or local address" in error["details"]["url"][0]
    assert not Webhook.objects.exists()


@pytest.mark.parametrize("url", ["ftp://example.com/hook", "not a url", ""])
def test_only_http_urls_are_accepted(alice, api, url):
    response = api.post("/api/v1/webhooks/", {"url": url}, format="json")

    assert response.status_code == 400
    assert "url" in response.json()["error"]["details"]


def test_a_url_with_a_login_in_it_is_refused_in_words_that_fit_a_webhook(alice, api):
    response = api.post("/api/v1/webhooks/", {"url": "https://user:pw@example.com/h"},
                        format="json")

    assert response.status_code == 400
    assert response.json()["error"]["details"]["url"] == [
        "the URL must not hold a login or password (user:password@)"]


def test_the_same_url_is_not_registered_twice(alice, bob, api, receiver):
    first = api.post("/api/v1/webhooks/", {"url": receiver.url()}, format="json")
    again = api.post("/api/v1/webhooks/", {"url": f" {receiver.url()} "}, format="json")
    bobs = api_client_for(bob).post("/api/v1/webhooks/", {"url": receiver.url()}, format="json")
    scheme, _, rest = receiver.url().partition("://")
    host, _, path = rest.partition("/")
    for written_otherwise in (f"{scheme.upper()}://{host.upper()}/{path}",
                              f"{receiver.url()}#again"):
        also = api.post("/api/v1/webhooks/", {"url": written_otherwise}, format="json")
        assert also.status_code == 400, written_otherwise

    assert first.status_code == 201 and bobs.status_code == 201
    assert again.status_code == 400
    assert again.json()["error"]["details"]["url"] == ["this URL has a webhook already"]
    assert Webhook.objects.filter(user=alice).count() == 1


def test_bob_can_neither_see_switch_off_nor_delete_alices_webhook(alice, bob, receiver):
    webhook, _ = register(alice, receiver.url())
    as_bob = api_client_for(bob)

    assert as_bob.get("/api/v1/webhooks/").json()["results"] == []
    assert as_bob.get(f"/api/v1/webhooks/{webhook.pk}/").status_code == 404
    assert as_bob.patch(f"/api/v1/webhooks/{webhook.pk}/", {"active": False},
                        format="json").status_code == 404
    assert as_bob.delete(f"/api/v1/webhooks/{webhook.pk}/").status_code == 404
    webhook.refresh_from_db()
    assert webhook.active


def test_anonymous_requests_are_refused(db):
    assert api_client_for(None).get("/api/v1/webhooks/").status_code == 401


def test_the_url_cannot_be_changed_only_switched_off(alice, api, receiver):
    webhook, _ = register(alice, receiver.url())

    moved = api.patch(f"/api/v1/webhooks/{webhook.pk}/",
                      {"active": False, "url": "http://elsewhere.example/"}, format="json")
    webhook.refresh_from_db()
    assert moved.status_code == 400 and "cannot be changed" in moved.json()["error"]["message"]
    assert (webhook.active, webhook.url) == (True, receiver.url())  # nothing half done

    response = api.patch(f"/api/v1/webhooks/{webhook.pk}/", {"active": False}, format="json")

    assert response.status_code == 200
    assert response.json()["active"] is False
    webhook.refresh_from_db()
    assert (webhook.active, webhook.url) == (False, receiver.url())
    assert api.put(f"/api/v1/webhooks/{webhook.pk}/", {}, format="json").status_code == 405


# --- delivery -----------------------------------------------------------------------------


def test_a_notification_reaches_the_webhook_with_the_exact_body_and_signed_headers(
    alice, receiver, django_capture_on_commit_callbacks
):
    webhook, secret = register(alice, receiver.url())

    before = int(time.time())
    notification = notify(alice, django_capture_on_commit_callbacks)

    [request] = receiver.requests
    assert request["method"] == "POST"
    assert request["path"] == "/hook"
    assert json.loads(request["body"]) == {
        "id": notification.id,
        "kind": "budget_exceeded",
        "title": "Groceries: over budget",
        "body": "You spent $105.00 of your $100.00 Groceries budget in May.",
        "data": {"category": 12, "month": "2026-05", "spent": "105.00", "budget": "100.00"},
        "created_at": notification.created_at.isoformat(),
    }
    headers = request["headers"]
    assert headers["Content-Type"] == "application/json"
    assert before <= int(headers["X-Mint-Timestamp"]) <= time.time()
    expected = hmac.new(secret.encode(), f"{headers['X-Mint-Timestamp']}.".encode()
                        + request["body"], hashlib.sha256).hexdigest()
    assert headers["X-Mint-Signature"] == f"sha256={expected}"
    assert verify(secret, headers, request["body"])
    delivery = Delivery.objects.get(notification=notification, channel="webhook")
    assert (delivery.webhook_id, delivery.status, delivery.attempts) == (webhook.pk, "sent", 1)
    assert delivery.response_status == 200
    assert delivery.sent_at is not None and delivery.last_error == ""


def test_a_tampered_body_or_an_old_timestamp_fails_verification(
    alice, receiver, django_capture_on_commit_callbacks
):
    _, secret = register(alice, receiver.url())
    notify(alice, django_capture_on_commit_callbacks)
    [request] = receiver.requests
    headers, body = request["headers"], request["body"]
    sent_at = int(headers["X-Mint-Timestamp"])

    tampered = body.replace(b"105.00", b"5.00")
    assert tampered != body
    assert not verify(secret, headers, tampered)
    # A replay ten minutes later: the same request, signature intact, but stale.
    assert verify(secret, headers, body, now=sent_at + 299)
    assert not verify(secret, headers, body, now=sent_at + 600)
    # Moving the timestamp forward to pass the freshness check breaks the signature.
    assert not verify(secret, {**headers, "X-Mint-Timestamp": str(sent_at + 600)}, body,
                      now=sent_at + 600)
    assert not verify("whsec_someone-elses-secret", headers, body)


def test_a_failing_receiver_gets_the_same_body_again_until_it_answers_2xx(
    alice, receiver, eager_retries, django_capture_on_commit_callbacks
):
    receiver.script["/hook"] = [500, 500, 200]
    _, secret = register(alice, receiver.url())

    notification = notify(alice, django_capture_on_commit_callbacks)

    assert [r["path"] for r in receiver.requests] == ["/hook"] * 3
    assert len({r["body"] for r in receiver.requests}) == 1
    assert all(verify(secret, r["headers"], r["body"]) for r in receiver.requests)
    delivery = Delivery.objects.get(notification=notification, channel="webhook")
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("sent", 3, 200)
    assert delivery.last_error == ""


def test_after_the_last_attempt_the_delivery_is_failed_with_the_error(
    alice, receiver, settings, eager_retries, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    receiver.script["/hook"] = [503]
    register(alice, receiver.url())

    notification = notify(alice, django_capture_on_commit_callbacks)

    assert len(receiver.requests) == 3
    delivery = Delivery.objects.get(notification=notification, channel="webhook")
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("failed", 3, 503)
    assert "HTTP 503" in delivery.last_error
    assert "gave up after 3 attempts" in delivery.last_error
    assert delivery.sent_at is None


def test_an_unreachable_receiver_is_retried_then_failed(
    alice, receiver, settings, eager_retries, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    register(alice, receiver.url())
    receiver.server.shutdown()
    receiver.server.server_close()  # nothing listens on the port any more

    notification = notify(alice, django_capture_on_commit_callbacks)

    delivery = Delivery.objects.get(notification=notification, channel="webhook")
    assert (delivery.status, delivery.attempts) == ("failed", 2)
    assert "could not reach 127.0.0.1" in delivery.last_error
    assert delivery.response_status is None


def test_a_redirect_is_not_followed_and_counts_as_a_failure(
    alice, receiver, settings, eager_retries, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    receiver.script["/moved"] = [302]
    register(alice, receiver.url("/moved"))

    notification = notify(alice, django_capture_on_commit_callbacks)

    assert len(receiver.to("/moved")) == 2
    assert receiver.to("/target") == []
    delivery = Delivery.objects.get(notification=notification, channel="webhook")
    assert (delivery.status, delivery.response_status) == ("failed", 302)
    assert "redirect" in delivery.last_error


def test_a_url_that_became_private_is_refused_at_delivery(
    alice, receiver, settings, eager_retries, django_capture_on_commit_callbacks
):
    """Registered while allowed (say, its DNS answer changed since): every send checks
    the address again."""
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    register(alice, receiver.url())
    settings.ALLOW_PRIVATE_OUTBOUND = False

    notification = notify(alice, django_capture_on_commit_callbacks)

    assert receiver.requests == []
    delivery = Delivery.objects.get(notification=notification, channel="webhook")
    assert delivery.status == "failed"
    assert "private or local address" in delivery.last_error


def test_the_same_dedupe_key_twice_makes_one_notification_one_delivery_per_channel_one_post(
    alice, receiver, django_capture_on_commit_callbacks
):
    from django.core import mail

    register(alice, receiver.url())

    first = notify(alice, django_capture_on_commit_callbacks)
    second = notify(alice, django_capture_on_commit_callbacks)

    assert first is not None and second is None
    assert Notification.objects.filter(user=alice).count() == 1
    assert sorted(Delivery.objects.values_list("channel", "status")) == [
        ("email", "sent"), ("webhook", "sent")]
    assert len(receiver.requests) == 1
    assert len(mail.outbox) == 1


def test_a_redelivered_task_for_a_sent_delivery_posts_nothing(
    alice, receiver, django_capture_on_commit_callbacks
):
    register(alice, receiver.url())
    notification = notify(alice, django_capture_on_commit_callbacks)
    delivery = Delivery.objects.get(notification=notification, channel="webhook")

    deliver.delay(delivery.pk)  # the broker hands the same message out again
    deliver.delay(delivery.pk)

    assert len(receiver.requests) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("sent", 1)


def test_a_delivery_another_worker_holds_is_left_to_it(
    alice, receiver, django_capture_on_commit_callbacks
):
    webhook, _ = register(alice, receiver.url())
    with django_capture_on_commit_callbacks(execute=False):  # created, not yet sent
        notification = notification_create(user=alice, kind="refresh_finished",
                                           title="Refresh finished: 3 new",
                                           dedupe_key="refresh_finished:run-1")
    delivery = Delivery.objects.get(notification=notification, webhook=webhook)
    Delivery.objects.filter(pk=delivery.pk).update(
        claimed_until=timezone.now() + timedelta(minutes=5))

    deliver.delay(delivery.pk)

    assert receiver.requests == []
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("pending", 0)


def test_a_lost_message_is_sent_by_the_stale_delivery_sweep(
    alice, receiver, django_capture_on_commit_callbacks
):
    webhook, _ = register(alice, receiver.url())
    with django_capture_on_commit_callbacks(execute=False):  # the enqueue never happened
        notification = notification_create(user=alice, kind="refresh_finished",
                                           title="Refresh finished: 3 new",
                                           dedupe_key="refresh_finished:run-2")
    delivery = Delivery.objects.get(notification=notification, webhook=webhook)

    requeue_stale_deliveries.delay()  # too recent: its message may still be on the way
    assert receiver.requests == []

    Delivery.objects.filter(pk=delivery.pk).update(
        created_at=timezone.now() - timedelta(hours=1))
    requeue_stale_deliveries.delay()

    assert len(receiver.requests) == 1
    delivery.refresh_from_db()
    assert delivery.status == "sent"


def test_switched_off_and_deleted_webhooks_get_nothing(
    alice, api, receiver, django_capture_on_commit_callbacks
):
    off, _ = register(alice, receiver.url("/off"))
    gone, _ = register(alice, receiver.url("/gone"))
    api.patch(f"/api/v1/webhooks/{off.pk}/", {"active": False}, format="json")
    with django_capture_on_commit_callbacks(execute=False):
        pending = notification_create(user=alice, kind="refresh_finished",
                                      title="Refresh finished: 3 new", dedupe_key="r:1")
    pending_delivery = Delivery.objects.get(notification=pending, webhook=gone)

    assert api.delete(f"/api/v1/webhooks/{gone.pk}/").status_code == 204
    deliver.delay(pending_delivery.pk)  # its row went with the webhook: a quiet no-op
    notify(alice, django_capture_on_commit_callbacks)

    assert receiver.requests == []
    assert not Delivery.objects.filter(channel="webhook").exists()


def test_every_active_webhook_gets_its_own_signed_delivery(
    alice, receiver, django_capture_on_commit_callbacks
):
    _, first_secret = register(alice, receiver.url("/one"))
    _, second_secret = register(alice, receiver.url("/two"))

    notify(alice, django_capture_on_commit_callbacks)

    [one], [two] = receiver.to("/one"), receiver.to("/two")
    assert one["body"] == two["body"]
    assert verify(first_secret, one["headers"], one["body"])
    assert verify(second_secret, two["headers"], two["body"])
    assert not verify(first_secret, two["headers"], two["body"])


def test_rotating_the_keys_keeps_webhook_secrets_working(
    alice, receiver, settings, django_capture_on_commit_callbacks
):
    from cryptography.fernet import Fernet

    webhook, secret = register(alice, receiver.url())
    old_token = webhook.secret
    settings.CREDENTIALS_KEYS = [Fernet.generate_key().decode(), *settings.CREDENTIALS_KEYS]

    call_command("rotate_credentials", stdout=open("/dev/null", "w"))  # noqa: SIM115
    settings.CREDENTIALS_KEYS = settings.CREDENTIALS_KEYS[:1]  # the old key is dropped
    notify(alice, django_capture_on_commit_callbacks)

    webhook.refresh_from_db()
    assert webhook.secret != old_token
    [request] = receiver.requests
    assert verify(secret, request["headers"], request["body"])


# --- support ------------------------------------------------------------------------------


def test_support_sees_webhooks_and_the_delivery_log_but_never_the_secret(
    alice, charlie, client, receiver, settings, eager_retries,
    django_capture_on_commit_callbacks,
):
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    receiver.script["/hook"] = [500]
    webhook, secret = register(alice, receiver.url())
    notification = notify(alice, django_capture_on_commit_callbacks)
    delivery = Delivery.objects.get(notification=notification, channel="webhook")
    charlie.user_permissions.add(*Permission.objects.filter(
        codename__in=["view_webhook", "change_webhook", "view_delivery", "view_notification"]))
    client.force_login(charlie)

    pages = [client.get(url) for url in (
        "/admin/notifications/webhook/?q=alice",
        f"/admin/notifications/webhook/{webhook.pk}/change/",
        "/admin/notifications/delivery/?status=failed",
        f"/admin/notifications/delivery/{delivery.pk}/change/",
        f"/admin/notifications/notification/{notification.pk}/change/",
    )]

    assert [page.status_code for page in pages] == [200] * 5
    html = "".join(page.content.decode() for page in pages)
    assert receiver.url().removesuffix("/hook") + "/…" in html  # scheme and host only
    assert "/hook" not in html
    assert "HTTP 500" in html
    assert secret not in html
    assert webhook.secret not in html
    assert 'name="secret"' not in html


def test_support_can_send_a_failed_delivery_again(
    alice, charlie, client, receiver, settings, eager_retries,
    django_capture_on_commit_callbacks,
):
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    receiver.script["/hook"] = [500, 200]
    register(alice, receiver.url())
    notification = notify(alice, django_capture_on_commit_callbacks)
    delivery = Delivery.objects.get(notification=notification, channel="webhook")
    assert delivery.status == "failed"
    charlie.user_permissions.add(*Permission.objects.filter(codename="view_delivery"))
    client.force_login(charlie)

    def send_again():
        with django_capture_on_commit_callbacks(execute=True):
            client.post("/admin/notifications/delivery/",
                        {"action": "retry_failed", "_selected_action": [str(delivery.pk)]})
        delivery.refresh_from_db()

    send_again()  # looking is not writing: as retrying a refresh, it needs change
    assert delivery.status == "failed"
    charlie.user_permissions.add(*Permission.objects.filter(codename="change_delivery"))
    send_again()
    assert (delivery.status, delivery.attempts) == ("sent", 1)
    assert len(receiver.requests) == 2

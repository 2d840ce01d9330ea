"""Notifications: the in-app list (/api/v1/notifications/), email, preferences per kind
and channel (/api/v1/notification-preferences/), and the delivery log's guarantees.
Webhooks have their own file, tests/test_webhooks.py.

Tasks run eagerly; deliveries are enqueued on commit, so tests that create a
notification run the commit callbacks (``django_capture_on_commit_callbacks``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.db import IntegrityError, transaction
from django.test.utils import CaptureQueriesContext

from notifications.models import Delivery, Notification, Preference, Webhook
from notifications.services import notification_create
from notifications.services.webhooks import webhook_create
from tests.conftest import api_client_for

pytestmark = pytest.mark.django_db

KINDS = ["budget_approaching", "budget_exceeded", "refresh_finished", "refresh_failing"]
DEFAULT_MATRIX = {
    "budget_approaching": {"in_app": True, "email": False, "webhook": True},
    "budget_exceeded": {"in_app": True, "email": True, "webhook": True},
    "refresh_finished": {"in_app": True, "email": False, "webhook": True},
    "refresh_failing": {"in_app": True, "email": True, "webhook": True},
}


def create(user, kind="budget_exceeded", key="k", title="Groceries: over budget", body=""):
    return notification_create(user=user, kind=kind, title=title, body=body, dedupe_key=key)


def rows(user, n: int) -> list[Notification]:
    """Plain notifications, no deliveries, oldest first."""
    start = Notification.objects.filter(user=user).count()
    return [Notification.objects.create(user=user, kind="refresh_finished", title=f"n{i}",
                                        dedupe_key=f"n{i}") for i in range(start, start + n)]


def matrix(**changes) -> dict:
    """The default matrix with ``kind={"email": False}``-style changes."""
    result = {kind: dict(channels) for kind, channels in DEFAULT_MATRIX.items()}
    for kind, cells in changes.items():
        result[kind].update(cells)
    return result


# --- preferences --------------------------------------------------------------------------


def test_preferences_start_from_the_documented_defaults(alice, api):
    response = api.get("/api/v1/notification-preferences/")

    assert response.status_code == 200
    assert response.json() == DEFAULT_MATRIX


def test_putting_the_full_matrix_saves_it_and_stores_only_the_changes(alice, bob, api):
    wanted = matrix(refresh_finished={"email": True}, budget_exceeded={"webhook": False})

    response = api.put("/api/v1/notification-preferences/", wanted, format="json")

    assert response.status_code == 200
    assert response.json() == wanted
    assert api.get("/api/v1/notification-preferences/").json() == wanted
    assert sorted(Preference.objects.filter(user=alice).values_list(
        "kind", "channel", "enabled")) == [("budget_exceeded", "webhook", False),
                                           ("refresh_finished", "email", True)]
    assert api_client_for(bob).get("/api/v1/notification-preferences/").json() == DEFAULT_MATRIX


def test_putting_the_defaults_back_removes_the_stored_choices(alice, api):
    api.put("/api/v1/notification-preferences/", matrix(budget_approaching={"email": True}),
            format="json")

    api.put("/api/v1/notification-preferences/", DEFAULT_MATRIX, format="json")

    assert not Preference.objects.filter(user=alice).exists()


@pytest.mark.parametrize("body, field", [
    (matrix(budget_exceeded={"in_app": False}), "budget_exceeded"),
    ({k: v for k, v in DEFAULT_MATRIX.items() if k != "refresh_failing"}, "refresh_failing"),
    (matrix(refresh_finished={"email": "maybe"}), "refresh_finished"),
])
def test_an_incomplete_or_invalid_matrix_is_refused(alice, api, body, field):
    response = api.put("/api/v1/notification-preferences/", body, format="json")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert field in error["details"]
    assert not Preference.objects.exists()


@pytest.mark.parametrize("kind", KINDS)
def test_email_goes_out_by_default_only_for_what_needs_action(
    alice, kind, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        create(alice, kind=kind)

    emailed = kind in ("budget_exceeded", "refresh_failing")
    assert len(mail.outbox) == int(emailed)
    assert Delivery.objects.filter(channel="email").count() == int(emailed)


def test_preferences_decide_the_channels_of_each_kind(
    alice, api, django_capture_on_commit_callbacks
):
    webhook, _ = webhook_create(user=alice, url="http://127.0.0.1:9/hook")
    api.put("/api/v1/notification-preferences/",
            matrix(budget_exceeded={"email": False, "webhook": False},
                   refresh_finished={"email": True}), format="json")

    with django_capture_on_commit_callbacks(execute=False):
        exceeded = create(alice, kind="budget_exceeded", key="a")
        finished = create(alice, kind="refresh_finished", key="b")
        failing = create(alice, kind="refresh_failing", key="c")

    def channels(notification):
        return sorted(notification.deliveries.values_list("channel", "webhook_id"))

    assert channels(exceeded) == []
    assert channels(finished) == [("email", None), ("webhook", webhook.pk)]
    assert channels(failing) == [("email", None), ("webhook", webhook.pk)]


def test_webhooks_are_on_only_while_the_user_has_an_active_one(
    alice, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        without = create(alice, kind="refresh_finished", key="a")
        webhook, _ = webhook_create(user=alice, url="http://127.0.0.1:9/hook")
        webhook.active = False
        webhook.save()
        switched_off = create(alice, kind="refresh_finished", key="b")

    assert not without.deliveries.exists()
    assert not switched_off.deliveries.exists()
    assert Webhook.objects.filter(user=alice).count() == 1


# --- email --------------------------------------------------------------------------------


def test_the_email_carries_the_title_as_subject_and_the_amounts_in_text_and_html(
    alice, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        notification = create(
            alice, title="Groceries: over budget",
            body="You spent $105.00 of your $100.00 Groceries budget in May <2026>.",
        )

    [email] = mail.outbox
    assert email.subject == "Groceries: over budget"
    assert email.to == ["alice@example.com"]
    assert "Groceries: over budget" in email.body
    assert "You spent $105.00 of your $100.00 Groceries budget in May <2026>." in email.body
    assert 'email is on for "Budget Exceeded"' in email.body
    [(html, media_type)] = email.alternatives
    assert media_type == "text/html"
    assert "<h2" in html and "Groceries: over budget" in html
    assert "$105.00" in html and "May &lt;2026&gt;" in html  # escaped, not injected
    assert email.extra_headers["Message-ID"] == f"<notification-{notification.id}@localhost>"
    delivery = Delivery.objects.get(notification=notification)
    assert (delivery.channel, delivery.status, delivery.attempts) == ("email", "sent", 1)


class FlakyEmailBackend(EmailBackend):
    """The mail server refuses the first ``failures`` messages."""

    failures = 0

    def send_messages(self, messages):
        if FlakyEmailBackend.failures:
            FlakyEmailBackend.failures -= 1
            raise ConnectionRefusedError("mail server down")
        return super().send_messages(messages)


@pytest.fixture
def flaky_mail(settings):
    from mint.celery import app

    settings.EMAIL_BACKEND = "tests.test_notifications.FlakyEmailBackend"
    app.conf.task_eager_propagates = False  # eager retries run only then
    yield FlakyEmailBackend
    app.conf.task_eager_propagates = True
    FlakyEmailBackend.failures = 0


def test_an_email_the_server_refused_is_retried(
    alice, flaky_mail, django_capture_on_commit_callbacks
):
    flaky_mail.failures = 2

    with django_capture_on_commit_callbacks(execute=True):
        notification = create(alice)

    assert len(mail.outbox) == 1
    delivery = Delivery.objects.get(notification=notification)
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("sent", 3, "")


def test_an_email_that_never_goes_out_is_marked_failed(
    alice, flaky_mail, settings, django_capture_on_commit_callbacks
):
    flaky_mail.failures = 99
    settings.EMAIL_MAX_ATTEMPTS = 2

    with django_capture_on_commit_callbacks(execute=True):
        notification = create(alice)

    assert mail.outbox == []
    delivery = Delivery.objects.get(notification=notification)
    assert (delivery.status, delivery.attempts) == ("failed", 2)
    assert "mail server down" in delivery.last_error


# --- exactly one notification, delivered after commit -------------------------------------


def test_the_same_dedupe_key_twice_gives_one_notification_and_one_email(
    alice, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = create(alice, key="budget_exceeded:7:2026-05:100")
        second = create(alice, key="budget_exceeded:7:2026-05:100")

    assert first is not None and second is None
    assert Notification.objects.count() == 1
    assert Delivery.objects.count() == 1
    assert len(mail.outbox) == 1


def test_nothing_is_sent_before_the_callers_transaction_commits(
    alice, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        create(alice)
        assert mail.outbox == []
        assert Delivery.objects.get().status == "pending"  # recorded before sending

    assert len(callbacks) == 1
    assert len(mail.outbox) == 1


def test_a_rolled_back_transaction_sends_nothing(alice, django_capture_on_commit_callbacks):
    with (django_capture_on_commit_callbacks(execute=True) as callbacks,
          pytest.raises(RuntimeError), transaction.atomic()):
        create(alice)
        raise RuntimeError("the budget check failed after the alert")

    assert callbacks == []
    assert not Notification.objects.exists()
    assert mail.outbox == []


def test_the_database_allows_one_delivery_per_notification_and_channel(alice, bob):
    notification = Notification.objects.create(user=alice, kind="budget_exceeded", title="t",
                                               dedupe_key="k")
    Delivery.objects.create(user=alice, notification=notification, channel="email")

    with pytest.raises(IntegrityError), transaction.atomic():
        Delivery.objects.create(user=alice, notification=notification, channel="email")
    with pytest.raises(IntegrityError), transaction.atomic():
        Delivery.objects.create(user=alice, notification=notification, channel="webhook")


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("object_store")
def test_a_refresh_with_refused_credentials_emails_the_user_once(alice):
    from accounts.services import account_connect

    account_connect(user=alice, provider="sandbox", url="sandbox://demo", login="bad",
                    password="s3cret-pw")

    [email] = mail.outbox
    assert email.subject == "An account needs attention"
    assert "refused" in email.body
    assert Delivery.objects.get().status == "sent"


# --- the in-app API -----------------------------------------------------------------------


def test_the_list_shows_only_my_notifications_newest_first(alice, bob, api):
    mine = rows(alice, 3)
    rows(bob, 2)

    response = api.get("/api/v1/notifications/")

    assert response.status_code == 200
    results = response.json()["results"]
    assert [n["id"] for n in results] == [n.id for n in reversed(mine)]
    assert results[0] == {
        "id": mine[2].id, "kind": "refresh_finished", "title": "n2", "body": "", "data": {},
        "read": False, "read_at": None, "created_at": results[0]["created_at"],
    }


def test_the_list_pages_by_cursor_at_a_constant_number_of_queries(alice, api):
    from django.db import connection

    created = rows(alice, 5)

    with CaptureQueriesContext(connection) as first_queries:
        first = api.get("/api/v1/notifications/?page_size=2").json()
    second = api.get(first["next"]).json()
    rows(alice, 20)
    with CaptureQueriesContext(connection) as big_queries:
        api.get("/api/v1/notifications/?page_size=20")

    assert [n["id"] for n in first["results"]] == [created[4].id, created[3].id]
    assert [n["id"] for n in second["results"]] == [created[2].id, created[1].id]
    assert "cursor=" in first["next"] and "offset" not in first["next"]
    assert len(first_queries) == len(big_queries) <= 3  # the user, the page (+ last-active)


def test_unread_count_and_unread_filter(alice, bob, api):
    first, second, third = rows(alice, 3)
    rows(bob, 4)
    api.post(f"/api/v1/notifications/{second.id}/read/")

    assert api.get("/api/v1/notifications/unread-count/").json() == {"unread": 2}
    unread = api.get("/api/v1/notifications/?unread=true").json()["results"]
    read = api.get("/api/v1/notifications/?unread=false").json()["results"]
    every = api.get("/api/v1/notifications/").json()["results"]
    assert [n["id"] for n in unread] == [third.id, first.id]
    assert [n["id"] for n in read] == [second.id]
    assert [n["id"] for n in every] == [third.id, second.id, first.id]


def test_marking_one_read_keeps_the_first_time_it_was_read(alice, api):
    [notification] = rows(alice, 1)

    first = api.post(f"/api/v1/notifications/{notification.id}/read/")
    again = api.post(f"/api/v1/notifications/{notification.id}/read/")

    assert first.status_code == again.status_code == 200
    assert first.json()["read"] is True
    assert first.json()["read_at"] is not None
    assert again.json()["read_at"] == first.json()["read_at"]


def test_bob_can_neither_see_nor_mark_alices_notifications(alice, bob):
    [notification] = rows(alice, 1)
    as_bob = api_client_for(bob)

    assert as_bob.get(f"/api/v1/notifications/{notification.id}/").status_code == 404
    response = as_bob.post(f"/api/v1/notifications/{notification.id}/read/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert as_bob.post("/api/v1/notifications/read-all/").json() == {"marked": 0}
    assert as_bob.get("/api/v1/notifications/unread-count/").json() == {"unread": 0}
    notification.refresh_from_db()
    assert notification.read_at is None


def test_read_all_marks_mine_and_stops_at_the_newest_the_app_showed(alice, bob, api):
    _, second, _ = rows(alice, 3)
    [bobs] = rows(bob, 1)

    shown = api.post("/api/v1/notifications/read-all/", {"up_to_id": second.id}, format="json")
    assert shown.json() == {"marked": 2}
    assert api.get("/api/v1/notifications/unread-count/").json() == {"unread": 1}

    everything = api.post("/api/v1/notifications/read-all/")
    assert everything.json() == {"marked": 1}
    assert api.get("/api/v1/notifications/unread-count/").json() == {"unread": 0}
    bobs.refresh_from_db()
    assert bobs.read_at is None


def test_anonymous_requests_are_refused(db):
    client = api_client_for(None)

    assert client.get("/api/v1/notifications/").status_code == 401
    assert client.get("/api/v1/notifications/unread-count/").status_code == 401
    assert client.get("/api/v1/notification-preferences/").status_code == 401


def test_the_schema_documents_the_notification_endpoints(api):
    schema = api.get("/api/v1/schema/").content.decode()

    for path in ("/api/v1/notifications/", "/api/v1/notifications/unread-count/",
                 "/api/v1/notifications/{id}/read/", "/api/v1/notifications/read-all/",
                 "/api/v1/notification-preferences/", "/api/v1/webhooks/"):
        assert f"{path}:" in schema, path


# --- settings -----------------------------------------------------------------------------


@pytest.mark.parametrize("variable, value", [
    ("WEBHOOK_MAX_ATTEMPTS", "0"), ("EMAIL_MAX_ATTEMPTS", "0"),
    ("WEBHOOK_TIMEOUT_SECONDS", "600"), ("WEBHOOK_MAX_ATTEMPTS", "many"),
])
def test_bad_notification_settings_stop_start_up(variable, value):
    env = {**os.environ, "DEBUG": "true", variable: value,
           "DJANGO_SETTINGS_MODULE": "mint.settings", "MINT_VAR_DIR": "/tmp/mint-settings-test"}

    result = subprocess.run([sys.executable, "-c", "import django; django.setup()"],
                            cwd=Path(__file__).resolve().parent.parent, env=env,
                            capture_output=True, text=True, timeout=60)

    assert result.returncode != 0
    assert variable in result.stderr

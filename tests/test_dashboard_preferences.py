"""The dashboard's notification preferences page: it shows the same matrix as the API,
saves it the same way, and is the page the emails point to."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client

from notifications.models import Preference, Webhook
from notifications.selectors import preferences_for
from notifications.services import notification_create
from notifications.services.preferences import DEFAULTS
from tests.factories import form_csrf_token

pytestmark = pytest.mark.django_db

URL = "/notifications/preferences/"


def checked(page: str, name: str) -> bool:
    import re

    tag = re.search(rf'<input type="checkbox" name="{re.escape(name)}"[^>]*>', page).group(0)
    return " checked" in tag


def test_the_page_shows_the_defaults_and_saves_the_whole_matrix(alice, alice_client):
    page = alice_client.get(URL).content.decode()

    assert form_csrf_token(page, URL)
    assert checked(page, "email:budget_exceeded") and not checked(page, "email:refresh_finished")
    assert checked(page, "webhook:refresh_finished")
    assert "You have no webhooks" in page

    # Email for everything; webhooks for nothing but "over budget".
    response = alice_client.post(URL, {
        "email:budget_approaching": "on", "email:budget_exceeded": "on",
        "email:refresh_finished": "on", "email:refresh_failing": "on",
        "webhook:budget_exceeded": "on",
    })

    assert response.status_code == 302 and response["Location"] == URL
    matrix = preferences_for(user=alice)
    assert all(row["email"] and row["in_app"] for row in matrix.values())
    assert {kind for kind, row in matrix.items() if row["webhook"]} == {"budget_exceeded"}
    after = alice_client.get(URL).content.decode()
    assert "Notification preferences saved." in after
    assert checked(after, "email:refresh_finished") and not checked(after, "webhook:refresh_failing")


def test_an_email_switched_off_on_the_page_is_not_sent(
        alice, alice_client, django_capture_on_commit_callbacks):
    alice_client.post(URL, {"webhook:budget_exceeded": "on"})  # every email off

    with django_capture_on_commit_callbacks(execute=True):
        notification_create(user=alice, kind="budget_exceeded", title="Over budget: Shopping",
                            dedupe_key="over:1")

    assert mail.outbox == []
    assert Preference.objects.filter(user=alice, channel="email", enabled=False).count() == sum(
        1 for row in DEFAULTS.values() if row["email"])


def test_the_email_says_where_to_change_it_and_the_page_counts_webhooks(
        alice, alice_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        notification_create(user=alice, kind="budget_exceeded", title="Over budget: Shopping",
                            dedupe_key="over:2")
    Webhook.objects.create(user=alice, url="https://example.com/a", secret="s")
    Webhook.objects.create(user=alice, url="https://example.com/b", secret="s", active=False)

    page = alice_client.get(URL).content.decode()
    [email] = mail.outbox

    assert "You have 1 active webhook of 2." in page
    assert 'Choose which notifications come by email' in email.body
    assert 'href="/notifications/preferences/"' in alice_client.get("/notifications/").content.decode()


def test_the_page_is_each_users_own(alice, bob, alice_client):
    alice_client.post(URL, {})  # alice: no email, no webhooks
    as_bob = Client()
    as_bob.force_login(bob)

    assert checked(as_bob.get(URL).content.decode(), "email:budget_exceeded")
    assert Client().get(URL).status_code == 302  # to the log-in page

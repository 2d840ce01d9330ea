"""A person deletes their own account (Settings page, or DELETE /api/v1/me/): everything
of theirs goes, nobody else's, and only with their password."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.cache import cache
from django.test import Client

from accounts.models import Connection, FinancialAccount, User
from notifications.models import Notification
from tests.conftest import api_client_for
from tests.factories import ConnectionFactory, FinancialAccountFactory, form_csrf_token
from transactions.models import Transaction

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"  # every factory user's
URL = "/settings/delete/"


@pytest.fixture(autouse=True)
def _no_counted_attempts():
    cache.clear()  # wrong passwords are counted in the cache, per email and address
    yield
    cache.clear()


def give_holdings(user) -> None:
    account = FinancialAccountFactory(connection=ConnectionFactory(user=user), user=user)
    Transaction.objects.create(user=user, account=account, external_id="t1",
                               posted_on="2026-03-01", amount=Decimal("-5.00"),
                               description="COFFEE")
    Notification.objects.create(user=user, kind="refresh_finished", title="t", dedupe_key="k")


def holdings(user_id: int) -> list[str]:
    """What is left of a user's data."""
    return [name for name, rows in (
        ("user", User.objects.filter(pk=user_id)),
        ("connections", Connection.objects.filter(user_id=user_id)),
        ("accounts", FinancialAccount.objects.filter(user_id=user_id)),
        ("transactions", Transaction.objects.filter(user_id=user_id)),
        ("notifications", Notification.objects.filter(user_id=user_id)),
    ) if rows.exists()]


def test_the_settings_page_deletes_everything_of_mine_with_my_password(
        alice, bob, alice_client, django_capture_on_commit_callbacks, monkeypatch):
    from transactions import tasks

    removed = []
    monkeypatch.setattr(tasks.raw_dumps_delete, "delay", removed.append)
    give_holdings(alice)
    give_holdings(bob)

    page = alice_client.get(URL).content.decode()
    assert form_csrf_token(page, URL)
    assert "1 linked bank, 1 account with their 1 transaction" in page

    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(URL, {"password": PASSWORD}, follow=True)

    assert response.redirect_chain[-1][0].startswith("/accounts/login/")
    assert "The account alice@example.com and all of its data were deleted." in (
        response.content.decode())
    assert holdings(alice.pk) == []
    assert removed == [alice.pk]  # the raw statements, after the commit
    assert holdings(bob.pk) == ["user", "connections", "accounts", "transactions",
                                "notifications"]
    assert alice_client.get("/").status_code == 302  # logged out


def test_a_wrong_password_deletes_nothing_and_counts_as_a_wrong_log_in(alice, alice_client):
    give_holdings(alice)

    wrong = alice_client.post(URL, {"password": "guess"})
    for _ in range(10):
        alice_client.post(URL, {"password": "guess"})
    locked = alice_client.post(URL, {"password": PASSWORD})  # right, but too many tries

    assert wrong.status_code == 400 and "That is not your password." in wrong.content.decode()
    assert locked.status_code == 429 and "Too many attempts" in locked.content.decode()
    assert int(locked["Retry-After"]) > 0
    assert holdings(alice.pk) == ["user", "connections", "accounts", "transactions",
                                  "notifications"]
    # The same counters as the log-in page: it refuses the right password too, for now.
    assert Client().post("/accounts/login/", {"username": alice.email,
                                              "password": PASSWORD}).status_code == 429


def test_the_api_deletes_the_account_with_its_password(alice, bob):
    give_holdings(alice)
    api = api_client_for(alice)

    missing = api.delete("/api/v1/me/", {}, format="json")
    wrong = api.delete("/api/v1/me/", {"password": "guess"}, format="json")
    assert missing.status_code == 400 and "password" in missing.json()["error"]["details"]
    assert wrong.status_code == 400
    assert wrong.json()["error"]["details"] == {"password": ["That is not your password."]}
    assert holdings(alice.pk) != []

    deleted = api.delete("/api/v1/me/", {"password": PASSWORD}, format="json")

    assert deleted.status_code == 204
    assert holdings(alice.pk) == []
    assert User.objects.filter(pk=bob.pk).exists()
    assert api.get("/api/v1/me/").status_code == 401  # its token names no user now


def test_the_documented_post_deletes_too_and_its_body_is_in_the_schema(alice, api):
    give_holdings(alice)

    schema = api.get("/api/v1/schema/?format=json").json()
    body = schema["paths"]["/api/v1/me/delete/"]["post"]["requestBody"]
    assert "password" in str(schema["components"]["schemas"]["UserDeleteRequest"])
    assert body["required"] is True

    for _ in range(10):
        api.post("/api/v1/me/delete/", {"password": "guess"}, format="json")
    locked = api.post("/api/v1/me/delete/", {"password": PASSWORD}, format="json")
    assert locked.status_code == 429 and int(locked["Retry-After"]) > 0
    assert holdings(alice.pk) != []

    cache.clear()  # the minute has passed
    assert api.post("/api/v1/me/delete/", {"password": PASSWORD},
                    format="json").status_code == 204
    assert holdings(alice.pk) == []


def test_after_deletion_the_old_refresh_token_says_the_account_is_gone(alice, client):
    tokens = client.post("/api/v1/auth/token/", {"email": alice.email, "password": PASSWORD},
                         content_type="application/json").json()
    refreshed = client.post("/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]},
                            content_type="application/json")
    assert refreshed.status_code == 200 and set(refreshed.json()) == {"access"}  # as documented

    api_client_for(alice).post("/api/v1/me/delete/", {"password": PASSWORD}, format="json")
    gone = client.post("/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]},
                       content_type="application/json")

    assert gone.status_code == 401
    assert gone.json()["error"]["code"] == "user_not_found"

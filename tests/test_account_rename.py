"""A person renames one of their accounts: in the API and on the accounts page; the name
stays through refreshes, and only its owner can change it."""

from __future__ import annotations

from datetime import date

import pytest

from accounts.models import FinancialAccount
from accounts.providers import sandbox
from accounts.services import account_connect
from tests.conftest import api_client_for
from tests.factories import ConnectionFactory, FinancialAccountFactory, form_csrf_token
from transactions.services.refresh import refresh_request

pytestmark = pytest.mark.django_db


@pytest.mark.django_db(transaction=True)
def test_the_api_lists_and_renames_my_accounts_and_a_refresh_keeps_the_name(
        alice, bob, object_store, monkeypatch):
    monkeypatch.setattr(sandbox, "today", lambda: date(2026, 3, 10))
    connection, _ = account_connect(user=alice, provider="sandbox", url="sandbox://demo",
                                    login="demo", password="pw")
    api = api_client_for(alice)
    listed = api.get("/api/v1/financial-accounts/").json()["results"]
    checking = next(a for a in listed if a["kind"] == "checking")
    assert checking["connection"] == str(connection.pk)

    renamed = api.patch(f"/api/v1/financial-accounts/{checking['id']}/",
                        {"name": "  Joint   checking "}, format="json")
    refresh_request(connection=connection, trigger="manual")

    assert renamed.status_code == 200 and renamed.json()["name"] == "Joint checking"
    assert FinancialAccount.objects.get(pk=checking["id"]).name == "Joint checking"
    shown = api.get(f"/api/v1/accounts/{connection.pk}/").json()["accounts"]
    assert "Joint checking" in {a["name"] for a in shown}
    # Bob sees none of it and renames nothing.
    as_bob = api_client_for(bob)
    assert as_bob.get("/api/v1/financial-accounts/").json()["results"] == []
    assert as_bob.patch(f"/api/v1/financial-accounts/{checking['id']}/", {"name": "Mine"},
                        format="json").status_code == 404


@pytest.mark.parametrize(("name", "says"), [
    ("   ", "may not be blank"), ("x" * 201, "no more than 200 characters"), (None, None)])
def test_a_blank_or_too_long_name_is_refused(alice, name, says):
    account = FinancialAccountFactory(connection=ConnectionFactory(user=alice), user=alice,
                                      name="Checking")
    body = {} if name is None else {"name": name}

    response = api_client_for(alice).patch(f"/api/v1/financial-accounts/{account.pk}/", body,
                                           format="json")

    assert response.status_code == 400
    if says:
        assert says in response.json()["error"]["details"]["name"][0]
    assert FinancialAccount.objects.get(pk=account.pk).name == "Checking"


def test_the_accounts_page_renames_an_account(alice, alice_client):
    connection = ConnectionFactory(user=alice)
    account = FinancialAccountFactory(connection=connection, user=alice, name="Everyday Checking")
    url = f"/accounts/{account.pk}/rename/"

    page = alice_client.get("/").content.decode()
    done = alice_client.post(url, {"name": "Our joint checking"}, follow=True).content.decode()
    blank = alice_client.post(url, {"name": " "}, follow=True).content.decode()

    assert form_csrf_token(page, url)
    assert "Renamed to “Our joint checking”." in done
    assert "Our joint checking keeps its name: give the account a name." in blank
    # the form stays open under the account, with why beside it
    assert '<details class="rename-account" open>' in blank
    assert f'id="rename-error-{account.pk}" data-rename-error>give the account a name' in blank
    assert "data-rename-error" not in alice_client.get("/").content.decode()  # once
    assert FinancialAccount.objects.get(pk=account.pk).name == "Our joint checking"
    assert alice_client.get(url)["Location"] == "/"  # a GET of the form's address: the page


def test_nobody_renames_another_persons_account_from_the_page(alice, bob, alice_client):
    account = FinancialAccountFactory(connection=ConnectionFactory(user=bob), user=bob,
                                      name="Bob's")

    response = alice_client.post(f"/accounts/{account.pk}/rename/", {"name": "Alice's"})

    assert response.status_code == 404
    assert FinancialAccount.objects.get(pk=account.pk).name == "Bob's"

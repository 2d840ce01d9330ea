from datetime import date

import pytest

from accounts.models import Connection
from accounts.providers import sandbox
from tests.conftest import api_client_for
from transactions.models import Transaction

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("object_store")]


@pytest.fixture(autouse=True)
def _bank_day(monkeypatch):
    monkeypatch.setattr(sandbox, "today", lambda: date(2026, 5, 20))


def connect(client, **overrides):
    body = {"provider": "sandbox", "account_url": "sandbox://demo", "account_login": "demo",
            "account_password": "pw-never-shown"}
    body.update(overrides)
    return client.post("/api/v1/accounts/", body, format="json")


def test_register_then_token_then_bearer_access():
    client = api_client_for(None)

    registered = client.post("/api/v1/auth/register/",
                             {"email": "New@Example.com", "password": "a-long-passphrase"},
                             format="json")
    token = client.post("/api/v1/auth/token/",
                        {"email": "new@example.com", "password": "a-long-passphrase"},
                        format="json")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token.json()['access']}")
    me = client.get("/api/v1/me/")
    refreshed = client.post("/api/v1/auth/token/refresh/",
                            {"refresh": token.json()["refresh"]}, format="json")

    assert registered.status_code == 201
    assert set(token.json()) == {"access", "refresh"}
    assert me.json()["email"] == "new@example.com"
    assert "access" in refreshed.json()


def test_the_token_takes_the_email_as_registered_whatever_its_case():
    client = api_client_for(None)
    client.post("/api/v1/auth/register/",
                {"email": "Api.User@Example.com", "password": "a-long-passphrase"},
                format="json")

    for typed in ("Api.User@Example.com", "api.user@example.com", "API.USER@EXAMPLE.COM"):
        token = client.post("/api/v1/auth/token/",
                            {"email": typed, "password": "a-long-passphrase"}, format="json")
        assert token.status_code == 200, typed
    wrong = client.post("/api/v1/auth/token/",
                        {"email": "Api.User@Example.com", "password": "not-the-passphrase"},
                        format="json")
    assert wrong.status_code == 401


def test_register_refuses_a_weak_password_with_the_error_shape():
    response = api_client_for(None).post("/api/v1/auth/register/",
                                         {"email": "x@example.com", "password": "12345678"},
                                         format="json")

    assert response.status_code == 400
    assert set(response.json()["error"]) == {"code", "message", "details"}
    assert response.json()["error"]["message"].startswith("password: ")  # names the field
    assert "password" in response.json()["error"]["details"]


def test_anonymous_requests_are_refused():
    response = api_client_for(None).get("/api/v1/accounts/")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_connect_links_the_demo_bank_and_never_returns_the_password(api, alice):
    response = connect(api)

    assert response.status_code == 201
    body = response.json()
    assert "pw-never-shown" not in response.content.decode()
    assert body["status"] == "active"
    assert len(body["accounts"]) == 3
    listed = api.get("/api/v1/accounts/").json()["results"]
    assert [c["id"] for c in listed] == [body["id"]]
    assert "pw-never-shown" not in str(listed)


def test_refresh_answers_202_with_the_run_and_runs_end_in_succeeded(api, alice):
    connection_id = connect(api).json()["id"]

    refresh = api.post(f"/api/v1/accounts/{connection_id}/refresh/")
    runs = api.get(f"/api/v1/accounts/{connection_id}/runs/").json()["results"]

    assert refresh.status_code == 202
    assert refresh.json()["run"] in {r["id"] for r in runs}
    assert {r["status"] for r in runs} == {"succeeded"}
    assert [r["trigger"] for r in runs] == ["manual", "link"]


def test_alice_cannot_read_refresh_or_unlink_bobs_account(alice, bob):
    bob_client, alice_client = api_client_for(bob), api_client_for(alice)
    bobs = connect(bob_client).json()["id"]
    bobs_tx = Transaction.objects.filter(user=bob).first()

    assert alice_client.get(f"/api/v1/accounts/{bobs}/").status_code == 404
    assert alice_client.post(f"/api/v1/accounts/{bobs}/refresh/").status_code == 404
    assert alice_client.get(f"/api/v1/accounts/{bobs}/runs/").status_code == 404
    assert alice_client.delete(f"/api/v1/accounts/{bobs}/").status_code == 404
    assert alice_client.get(f"/api/v1/transactions/{bobs_tx.id}/").status_code == 404
    assert alice_client.get("/api/v1/transactions/").json()["results"] == []
    assert alice_client.get("/api/v1/accounts/").json()["results"] == []
    assert Connection.objects.filter(pk=bobs).exists()


def test_unlink_removes_the_connection_and_its_transactions(api, alice):
    connection_id = connect(api).json()["id"]

    response = api.delete(f"/api/v1/accounts/{connection_id}/")

    assert response.status_code == 204
    assert not Transaction.objects.filter(user=alice).exists()


def test_the_original_design_connect_call_keeps_working(api, alice, bob):
    response = api.post(
        "/api/v1/account",
        {"user_id": "foo", "account_url": "sandbox://bar", "account_login": "baz",
         "account_password": "qux"},
        format="json",
    )

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"user_id", "account_id", "action", "status"}
    assert body["user_id"] == "foo"
    assert body["action"] == "connect" and body["status"] == "success"
    connection = Connection.objects.get(pk=body["account_id"])
    assert connection.user == alice  # the body's user_id is never trusted
    assert connection.provider == "sandbox"
    assert "qux" not in response.content.decode()


def test_linking_the_same_login_again_returns_the_same_connection_and_no_duplicates(api, alice):
    first = connect(api)
    rows = Transaction.objects.filter(user=alice).count()

    again = connect(api)  # a retried call, or the user linking the bank once more
    legacy = api.post("/api/v1/account", {"account_url": "sandbox://demo",
                                          "account_login": "demo",
                                          "account_password": "pw-never-shown"}, format="json")
    shouted = connect(api, account_login="DEMO")  # the same login to the bank
    elsewhere = connect(api, account_url="sandbox://other")  # one demo bank, any URL
    other_login = connect(api, account_login="spouse")

    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert shouted.status_code == 200 and shouted.json()["id"] == first.json()["id"]
    assert elsewhere.status_code == 200 and elsewhere.json()["id"] == first.json()["id"]
    assert legacy.status_code == 200 and legacy.json()["account_id"] == first.json()["id"]
    assert other_login.status_code == 201 and other_login.json()["id"] != first.json()["id"]
    assert Connection.objects.filter(user=alice, url="sandbox://demo").count() == 2
    demo = Connection.objects.get(pk=first.json()["id"])
    assert Transaction.objects.filter(user=alice, account__connection=demo).count() == rows


def test_the_demo_bank_needs_no_password_but_an_ofx_server_does(api, settings):
    settings.ALLOW_PRIVATE_OUTBOUND = True
    demo = api.post("/api/v1/accounts/", {"provider": "sandbox", "account_login": "demo"},
                    format="json")
    ofx = [api.post("/api/v1/accounts/", body, format="json") for body in (
        {"provider": "ofx", "account_url": "http://127.0.0.1:9/ofx", "account_login": "me"},
        {"account_url": "https://127.0.0.1:9/ofx", "account_login": "me",
         "account_password": ""},
    )]

    assert demo.status_code == 201
    for response in ofx:
        assert response.status_code == 400
        assert "account_password" in response.json()["error"]["details"]


def test_relinking_a_refused_login_takes_the_new_password(api, alice):
    from accounts.crypto import decrypt_credentials

    first = connect(api, account_login="bad", account_password="old-password")
    again = connect(api, account_login="bad", account_password="new-password",
                    account_url="SANDBOX://demo/")  # the same URL, written otherwise

    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    secret = Connection.objects.get(pk=first.json()["id"]).secret
    assert decrypt_credentials(secret) == {"login": "bad", "password": "new-password"}


def test_relinking_a_working_login_keeps_its_password(api, alice):
    from accounts.crypto import decrypt_credentials

    first = connect(api, account_password="right-password")
    again = connect(api, account_password="a-typo")

    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    secret = Connection.objects.get(pk=first.json()["id"]).secret
    assert decrypt_credentials(secret)["password"] == "right-password"


def test_the_original_connect_call_infers_ofx_from_an_http_url(api, settings):
    settings.ALLOW_PRIVATE_OUTBOUND = False

    response = api.post(
        "/api/v1/account",
        {"user_id": "foo", "account_url": "http://127.0.0.1:9/ofx", "account_login": "baz",
         "account_password": "qux"},
        format="json",
    )

    assert response.status_code == 400
    assert "private or local address" in response.json()["error"]["message"]


def test_connect_refuses_an_unknown_url_scheme(api):
    response = connect(api, provider="", account_url="ftp://bank.example.com")

    assert response.status_code == 400


def test_transactions_page_by_cursor_and_filter(api, alice):
    connect(api)
    total = Transaction.objects.filter(user=alice).count()

    seen, url, pages = [], "/api/v1/transactions/?page_size=200", 0
    while url:
        page = api.get(url).json()
        seen += [t["id"] for t in page["results"]]
        url, pages = page["next"], pages + 1
    coffee = api.get("/api/v1/transactions/?q=starbucks&page_size=500").json()["results"]
    march = api.get(
        "/api/v1/transactions/?date_from=2026-03-01&date_to=2026-03-31&page_size=500"
    ).json()["results"]

    assert len(seen) == len(set(seen)) == total
    assert pages == -(-total // 200)
    assert coffee and all("STARBUCKS" in t["description"] for t in coffee)
    assert march and all(t["posted_on"].startswith("2026-03") for t in march)
    assert isinstance(coffee[0]["amount"], str)


def test_transaction_list_runs_a_fixed_number_of_queries(api, alice, django_assert_max_num_queries):
    connect(api)

    with django_assert_max_num_queries(6):
        response = api.get("/api/v1/transactions/?page_size=100")

    assert len(response.json()["results"]) == 100


def test_healthz_reports_database_broker_and_object_store(client):
    response = client.get("/healthz")

    body = response.json()
    assert set(body["checks"]) == {"database", "broker", "object_store", "cache"}
    assert response.status_code == 200, body


def test_healthz_reports_a_cache_outage_without_failing(client, monkeypatch):
    """The site runs without its cache (slower summaries, log-in not limited): reported,
    not a 503 that would take the web process out of a load balancer."""
    from django.core.cache import caches

    def down(*args, **kwargs):
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6379")

    monkeypatch.setattr(type(caches["default"]), "get", down)
    response = client.get("/healthz")

    body = response.json()
    assert response.status_code == 200 and body["ok"] is True
    assert body["checks"]["cache"] == {"ok": False,
                                       "detail": "ConnectionError: Error 111 connecting to "
                                                 "127.0.0.1:6379"}


def test_transaction_pages_are_keyset_not_offset(api, alice):
    from django.db import connection as db
    from django.test.utils import CaptureQueriesContext

    connect(api)
    first = api.get("/api/v1/transactions/?page_size=50").json()

    with CaptureQueriesContext(db) as queries:
        second = api.get(first["next"]).json()

    sql = " ".join(q["sql"] for q in queries.captured_queries).upper()
    assert "OFFSET" not in sql
    last, nxt = first["results"][-1], second["results"][0]
    assert (last["posted_on"], last["id"]) > (nxt["posted_on"], nxt["id"])
    if db.vendor == "postgresql":
        # A page far back starts its index scan at the cursor's day instead of reading
        # (and filtering) every newer row: the day is an index condition.
        page = next(q["sql"] for q in queries.captured_queries
                    if "ORDER BY" in q["sql"] and "posted_on" in q["sql"])
        with db.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_bitmapscan = off")
            cursor.execute("EXPLAIN " + page)
            plan = "\n".join(row[0] for row in cursor.fetchall())
        condition = next(line for line in plan.splitlines() if "Index Cond" in line)
        assert "tx_user_date" in plan and "posted_on" in condition, plan


def test_a_forged_cursor_is_a_400_not_a_500(api):
    response = api.get("/api/v1/transactions/?cursor=bm9wZQ==")

    assert response.status_code == 400
    assert list(response.json()["error"]["details"]) == ["cursor"]


def test_password_guessing_on_the_token_endpoint_is_throttled(alice):
    from django.core.cache import cache

    cache.clear()
    client = api_client_for(None)
    answers = [
        client.post("/api/v1/auth/token/", {"email": "alice@example.com", "password": "guess"},
                    format="json").status_code
        for _ in range(12)
    ]
    cache.clear()

    assert answers[0] == 401
    assert answers[-1] == 429


def test_a_new_x_forwarded_for_on_every_try_does_not_escape_the_limit(alice):
    from django.core.cache import cache

    cache.clear()
    client = api_client_for(None)
    answers = [
        client.post("/api/v1/auth/token/", {"email": "alice@example.com", "password": "guess"},
                    format="json", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}").status_code
        for n in range(12)
    ]
    cache.clear()

    assert answers[-1] == 429


@pytest.mark.parametrize("url", ["sandbox://urluser:URLPASSWORD@demo",
                                 "sandbox://URLPASSWORD@demo/x", "SANDBOX://a:b@demo?x=1"])
def test_a_login_written_into_the_demo_banks_url_is_refused_not_stored(api, alice, url):
    """A URL is shown to support staff and searched by; a password goes in its field."""
    response = api.post("/api/v1/accounts/", {
        "provider": "sandbox", "account_url": url, "account_login": "x",
        "account_password": "y"}, format="json")

    assert response.status_code == 400
    assert "login field, not in the URL" in response.json()["error"]["message"]
    assert not Connection.objects.filter(user=alice).exists()


def test_an_at_sign_after_the_demo_banks_host_is_no_login(api, alice):
    response = api.post("/api/v1/accounts/", {
        "provider": "sandbox", "account_url": "sandbox://demo/branch?owner=a@b.example",
        "account_login": "x", "account_password": "y"}, format="json")

    assert response.status_code == 201


def test_the_run_a_refresh_answers_can_be_polled_on_its_own_by_its_owner_only(api, alice, bob):
    connection_id = connect(api).json()["id"]
    other_id = connect(api, account_login="second").json()["id"]
    run_id = api.post(f"/api/v1/accounts/{connection_id}/refresh/").json()["run"]

    polled = api.get(f"/api/v1/accounts/{connection_id}/runs/{run_id}/")
    by_bob = api_client_for(bob).get(f"/api/v1/accounts/{connection_id}/runs/{run_id}/")
    elsewhere = api.get(f"/api/v1/accounts/{other_id}/runs/{run_id}/")
    unknown = api.get(f"/api/v1/accounts/{connection_id}/runs/{'0' * 8}-0000-0000-0000-{'0' * 12}/")

    assert polled.status_code == 200
    assert (polled.json()["id"], polled.json()["status"]) == (run_id, "succeeded")
    assert by_bob.status_code == elsewhere.status_code == unknown.status_code == 404

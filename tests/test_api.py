"""The API as a whole: its OpenAPI schema, the docs page and the answers every endpoint
shares."""

import os
import re
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.test import Client, override_settings

from notifications.models import Notification
from tests.factories import ConnectionFactory, FinancialAccountFactory, UserFactory
from tests.test_settings import PROD
from transactions.models import Transaction

ROOT = Path(__file__).resolve().parent.parent


# --- schema and docs ----------------------------------------------------------------------


def test_openapi_schema_builds(api):
    response = api.get("/api/v1/schema/")

    assert response.status_code == 200
    assert b"/api/v1/accounts/" in response.content


def test_the_schema_builds_without_a_single_warning_and_validates(db, tmp_path):
    # A warning is a part of the API the generator could not type (an untyped path
    # parameter, a field turned into "string", an authenticator it does not know); each is
    # printed above the failure.
    call_command("spectacular", "--validate", "--fail-on-warn",
                 "--file", str(tmp_path / "schema.yml"))

    assert (tmp_path / "schema.yml").read_text().startswith("openapi:")


def test_the_schema_offers_bearer_jwt_so_swagger_can_send_a_token(api):
    schema = api.get("/api/v1/schema/?format=json").json()

    assert schema["components"]["securitySchemes"]["jwtAuth"] == {
        "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
    }
    assert {"jwtAuth": []} in schema["paths"]["/api/v1/transactions/"]["get"]["security"]


def test_path_parameters_and_category_fields_are_typed_as_integers(api):
    schema = api.get("/api/v1/schema/?format=json").json()

    def path_id(path, method):
        params = schema["paths"][path][method]["parameters"]
        return next(p["schema"] for p in params if p["in"] == "path" and p["name"] == "id")

    components = schema["components"]["schemas"]
    assert path_id("/api/v1/budgets/{id}/", "put")["type"] == "integer"
    assert path_id("/api/v1/transactions/{id}/", "get")["type"] == "integer"
    assert path_id("/api/v1/rules/{id}/", "get")["type"] == "integer"
    assert path_id("/api/v1/imports/{id}/", "get")["format"] == "uuid"
    category = components["PatchedTransactionCategorizeRequest"]["properties"]["category"]
    assert category["type"] == "integer"


def test_the_schema_says_a_rules_amounts_are_signed(api):
    # "purchases of 10 to 50" sent as 10 and 50 would match money in only
    schema = api.get("/api/v1/schema/?format=json").json()

    rule = schema["components"]["schemas"]["Rule"]["properties"]
    assert "money out is negative" in rule["amount_min"]["description"]
    assert "amount_min -50.00, amount_max -10.00" in rule["amount_min"]["description"]
    assert "inclusive" in rule["amount_max"]["description"]


def _docs_urls(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]+)"', html)


def test_the_docs_page_loads_swagger_ui_from_this_server_not_a_cdn(client):
    response = client.get("/api/v1/docs/")

    html = response.content.decode()
    urls = _docs_urls(html)
    static_url = "/" + settings.STATIC_URL.lstrip("/")
    assert response.status_code == 200
    assert any(url.endswith("swagger-ui-bundle.js") for url in urls), urls
    for url in urls:
        parts = urlsplit(url)
        assert not parts.scheme and not parts.netloc, f"{url} is on another host"
        assert url.startswith(static_url), url
    assert not re.search(r"https?://", html), "the page names another host"


@override_settings(WHITENOISE_USE_FINDERS=True, WHITENOISE_AUTOREFRESH=True)
def test_every_asset_the_docs_page_names_is_served_in_development(db):
    # As with DEBUG=true: WhiteNoise serves straight from the finders (no collectstatic).
    client = Client()  # a new handler, so WhiteNoise reads the settings above
    urls = _docs_urls(client.get("/api/v1/docs/").content.decode())
    static_url = "/" + settings.STATIC_URL.lstrip("/")

    for url in urls:
        assert finders.find(url.removeprefix(static_url)), url
        response = client.get(url)
        assert response.status_code == 200, url
        assert b"".join(response.streaming_content), url


def test_the_docker_build_collects_the_docs_assets_and_production_serves_them(tmp_path):
    # The Dockerfile's collectstatic (DEBUG=true, STATIC_MANIFEST=true), then a production
    # process (DEBUG off: hashed names from the manifest, served by WhiteNoise).
    dockerfile = (ROOT / "Dockerfile").read_text()
    build = re.search(r"^RUN (.*manage\.py collectstatic.*)$", dockerfile, re.M).group(1)
    build_env = dict(re.findall(r"(\w+)=(\S+)", build.split("python")[0]))
    base = {k: v for k, v in os.environ.items()
            if k not in PROD and not k.startswith(("STATIC_", "WHITENOISE"))}
    base.update(DJANGO_SETTINGS_MODULE="mint.settings", STATIC_ROOT=str(tmp_path),
                MINT_VAR_DIR=str(tmp_path / "var"))

    collected = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput"], cwd=ROOT,
        env={**base, **build_env}, capture_output=True, text=True, timeout=120,
    )
    probe = (
        "import django, re; django.setup(); from django.test import Client; c = Client(); "
        "page = c.get('/api/v1/docs/'); print(page.status_code); "
        "[print(u, c.get(u).status_code) for u in re.findall(r'(?:src|href)=\"([^\"]+)\"', "
        "page.content.decode())]"
    )
    served = subprocess.run([sys.executable, "-c", probe], cwd=ROOT,
                            env={**base, **PROD, "ALLOWED_HOSTS": "testserver"},
                            capture_output=True, text=True, timeout=120)

    assert collected.returncode == 0, collected.stderr
    assert (tmp_path / "staticfiles.json").exists()
    assert served.returncode == 0, served.stderr
    lines = served.stdout.split("\n")
    assert lines[0] == "200", served.stdout
    assets = [line.split() for line in lines[1:] if line]
    assert any("swagger-ui-bundle." in url for url, _ in assets), assets
    assert all(status == "200" for _, status in assets), assets
    # hashed names: a new release never meets a stale cached bundle
    assert all(re.search(r"\.[0-9a-f]{12}\.\w+$", url) for url, _ in assets), assets



# --- unknown paths ------------------------------------------------------------------------

ERROR_404 = {"error": {"code": "not_found", "message": "Not found.", "details": {}}}


@pytest.mark.parametrize("path", [
    "/api/v1/accounts/nope/",        # not a connection id: no route matches it
    "/api/v1/accounts/nope/refresh/",
    "/api/v1/imports/12/",
    "/api/v1/no-such-thing/",
    "/api/v1/no/such/thing",
    "/api/v1/accounts/a%0Ab/",       # a line break in the path (found by the schema fuzz test)
])
@override_settings(DEBUG=True)  # not even the debug page
def test_an_unknown_api_path_is_a_404_in_the_error_shape(api, path):
    response = api.get(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == ERROR_404


def test_a_post_to_an_unknown_path_is_a_404_not_a_csrf_refusal(alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)

    response = client.post("/api/v1/no-such-thing/", {"a": 1})

    assert response.status_code == 404
    assert response.json() == ERROR_404


def test_an_unknown_path_is_a_404_for_anonymous_callers_too(db):
    response = Client().get("/api/v1/accounts/nope/")

    assert response.status_code == 404
    assert response.json() == ERROR_404


def test_a_missing_trailing_slash_still_redirects_a_get_and_names_the_path_otherwise(api):
    get = api.get("/api/v1/accounts?page_size=5")
    post = api.post("/api/v1/accounts", {}, format="json")

    assert get.status_code == 301
    assert get["Location"] == "/api/v1/accounts/?page_size=5"
    assert post.status_code == 404
    assert "/api/v1/accounts/" in post.json()["error"]["message"]


def test_known_endpoints_and_pages_outside_the_api_are_unchanged(api):
    assert api.get("/api/v1/me/").status_code == 200
    assert api.get("/api/v1/").status_code == 200  # the router's index
    outside = api.get("/no-such-page/")
    assert outside.status_code == 404
    assert not outside["Content-Type"].startswith("application/json")


# --- filters and page sizes ---------------------------------------------------------------


@pytest.fixture
def two_transactions(alice):
    """Alice's: one pending, one posted, on one account."""
    account = FinancialAccountFactory(connection=ConnectionFactory(user=alice))

    def tx(external_id, pending):
        return Transaction.objects.create(
            user=alice, account=account, external_id=external_id, posted_on=date(2026, 5, 3),
            amount=Decimal("-4.50"), description="COFFEE", pending=pending,
        )

    return {"pending": tx("p", True), "posted": tx("s", False), "account": account}


@pytest.mark.parametrize("query", ["lumière", "LUMIÈRE", "Lumière", "café lum", "été"])
def test_the_text_filter_ignores_case_beyond_ascii(api, alice, query):
    """On SQLite (embedded mode) LIKE folds ASCII letters only; PostgreSQL folds all."""
    account = FinancialAccountFactory(connection=ConnectionFactory(user=alice))
    found = Transaction.objects.create(
        user=alice, account=account, external_id="c", posted_on=date(2026, 5, 3),
        amount=Decimal("-4.50"), description="CAFÉ LUMIÈRE BOSTON MA", seller="CAFÉ LUMIÈRE",
        memo="ÉTÉ",
    )
    Transaction.objects.create(
        user=alice, account=account, external_id="d", posted_on=date(2026, 5, 3),
        amount=Decimal("-4.50"), description="COFFEE", seller="Coffee")

    results = api.get("/api/v1/transactions/", {"q": query}).json()["results"]

    assert [t["id"] for t in results] == [found.id]


@pytest.mark.parametrize("text, expected", [
    ("true", ["pending"]), ("TRUE", ["pending"]), ("1", ["pending"]), ("yes", ["pending"]),
    ("false", ["posted"]), ("0", ["posted"]), ("no", ["posted"]),
    ("", ["pending", "posted"]),  # empty: no filter
])
def test_the_pending_filter_reads_true_and_false(api, two_transactions, text, expected):
    response = api.get(f"/api/v1/transactions/?pending={text}")

    assert response.status_code == 200
    ids = {t["id"] for t in response.json()["results"]}
    assert ids == {two_transactions[name].id for name in expected}


@pytest.mark.parametrize("query, field", [
    ("pending=maybe", "pending"),
    ("pending=2", "pending"),
    ("date_from=yesterday", "date_from"),
    # not read as January 11 (US order) when 1 November was meant: YYYY-MM-DD only
    ("date_from=01/11/2026", "date_from"),
    ("date_to=2026-11-1x", "date_to"),
    ("account=1.5", "account"),
    ("account=abc", "account"),
    # read as account 1 before, as ids in request bodies no longer are
    ("account=1.0", "account"),
    ("account=%201%20", "account"),
    ("account=%D9%A1", "account"),  # Arabic-Indic 1
    ("account=0", "account"),
    # past a bigint: SQLite could not compare it (a 500, found by the schema fuzz test)
    ("account=-39265220270631709730406400", "account"),
    ("account=9223372036854775808", "account"),
    ("date_from=2024-02-01&date_to=2024-01-01", "date_to"),  # as the transactions page
])
def test_a_filter_value_that_cannot_be_read_is_a_400_in_the_error_shape(
        api, two_transactions, query, field):
    response = api.get(f"/api/v1/transactions/?{query}")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert list(error["details"]) == [field]
    assert error["message"].startswith(f"{field}: ")


def test_the_account_filter_takes_a_whole_number(api, two_transactions):
    account = two_transactions["account"].id

    response = api.get(f"/api/v1/transactions/?account={account}")

    assert {t["id"] for t in response.json()["results"]} == {
        two_transactions["pending"].id, two_transactions["posted"].id}


def test_the_connection_filter_gives_the_rows_of_its_accounts_only(api, alice, bob,
                                                                   two_transactions):
    connection = two_transactions["account"].connection
    other = FinancialAccountFactory(connection=ConnectionFactory(user=alice))
    Transaction.objects.create(user=alice, account=other, external_id="o",
                               posted_on=date(2026, 5, 4), amount=Decimal("-1.00"),
                               description="OTHER BANK")
    bobs = FinancialAccountFactory(connection=ConnectionFactory(user=bob)).connection

    mine = api.get(f"/api/v1/transactions/?connection={connection.id}").json()["results"]
    theirs = api.get(f"/api/v1/transactions/?connection={bobs.id}").json()["results"]

    assert {t["id"] for t in mine} == {two_transactions["pending"].id,
                                       two_transactions["posted"].id}
    assert theirs == []


@pytest.mark.usefixtures("taxonomy")
def test_the_category_filter_takes_a_top_level_with_its_sub_categories(api, alice,
                                                                        two_transactions):
    from categories.models import Category

    food = Category.objects.get(user=None, parent=None, name="Food & Dining")
    coffee = Category.objects.get(user=None, parent=food, name="Coffee Shops")
    mine = Category.objects.create(user=alice, parent=food, name="Bakeries")
    gas = Category.objects.get(user=None, name="Gas & Fuel")
    pending, posted = two_transactions["pending"], two_transactions["posted"]
    Transaction.objects.filter(pk=pending.pk).update(category=coffee)
    Transaction.objects.filter(pk=posted.pk).update(category=mine)

    def ids(query):
        return {t["id"] for t in api.get(f"/api/v1/transactions/?{query}").json()["results"]}

    assert ids(f"category={food.id}") == {pending.id, posted.id}
    assert ids(f"category={coffee.id}") == {pending.id}
    assert ids(f"category={mine.id}") == {posted.id}
    assert ids(f"category={gas.id}") == set()
    assert api.get("/api/v1/transactions/?category=food").status_code == 400
    # another user's own categories under Food & Dining are not looked at
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    bobs = Category.objects.create(user=UserFactory(), parent=food, name="Bob's Bakeries")
    with CaptureQueriesContext(connection) as queries:
        assert ids(f"category={food.id}") == {pending.id, posted.id}
    assert not any(str(bobs.id) in q["sql"] and "IN (" in q["sql"] for q in queries)


def test_the_unread_filter_of_notifications_refuses_an_unknown_word(alice, api):
    read, unread = (Notification.objects.create(user=alice, kind="refresh_finished",
                                                dedupe_key=k, title=k) for k in ("a", "b"))
    api.post(f"/api/v1/notifications/{read.id}/read/")

    refused = api.get("/api/v1/notifications/?unread=maybe")
    only_unread = api.get("/api/v1/notifications/?unread=yes").json()["results"]
    only_read = api.get("/api/v1/notifications/?unread=false").json()["results"]
    every = api.get("/api/v1/notifications/?unread=").json()["results"]

    assert refused.status_code == 400
    assert refused.json()["error"]["details"] == {"unread": ["must be true or false"]}
    assert [n["id"] for n in only_unread] == [unread.id]
    # false filters as pending=false does (the read ones), not "all"
    assert [n["id"] for n in only_read] == [read.id]
    assert [n["id"] for n in every] == [unread.id, read.id]


@pytest.mark.parametrize("path", ["/api/v1/transactions/", "/api/v1/notifications/",
                                  "/api/v1/accounts/", "/api/v1/rules/"])
@pytest.mark.parametrize("size", ["0", "-1", "abc", "1.5", " 5", "٣"])
def test_a_page_size_below_one_or_not_a_whole_number_is_a_400(api, path, size):
    response = api.get(path, {"page_size": size})

    assert response.status_code == 400
    assert list(response.json()["error"]["details"]) == ["page_size"]


@pytest.mark.parametrize("path", ["/api/v1/transactions/", "/api/v1/notifications/",
                                  "/api/v1/accounts/", "/api/v1/rules/"])
@pytest.mark.parametrize("cursor", ["garbage", "cD1ub3RhZGF0ZQ=="])  # the 2nd: "p=notadate"
def test_a_cursor_the_api_did_not_give_is_a_400(api, path, cursor):
    response = api.get(path, {"cursor": cursor})

    assert response.status_code == 400
    assert list(response.json()["error"]["details"]) == ["cursor"]


@pytest.mark.parametrize("path", ["/api/v1/transactions/", "/api/v1/notifications/"])
def test_a_page_size_above_500_is_cut_to_500(alice, api, path):
    account = FinancialAccountFactory(connection=ConnectionFactory(user=alice))
    Transaction.objects.bulk_create(
        Transaction(user=alice, account=account, external_id=f"t{i}", posted_on=date(2026, 5, 3),
                    amount=Decimal("-1.00"), description="X") for i in range(501)
    )
    Notification.objects.bulk_create(
        Notification(user=alice, kind="refresh_finished", dedupe_key=f"k{i}", title="t")
        for i in range(501)
    )

    big = api.get(path, {"page_size": "5000"}).json()
    one = api.get(path, {"page_size": "1"}).json()

    assert len(big["results"]) == 500 and big["next"]
    assert len(one["results"]) == 1


@pytest.mark.parametrize("path, authenticated", [
    ("/api/v1/auth/token/", False), ("/api/v1/auth/register/", False),
    ("/api/v1/rules/", True),
])
def test_a_body_nested_too_deeply_is_a_400_not_a_500(db, alice, path, authenticated):
    from tests.conftest import api_client_for

    client = api_client_for(alice if authenticated else None)
    body = '{"a":' * 3000 + "1" + "}" * 3000

    response = client.post(path, body, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"


def test_import_options_nested_too_deeply_are_a_400(db, alice):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.conftest import api_client_for

    response = api_client_for(alice).post("/api/v1/imports/", {
        "file": SimpleUploadedFile("x.csv", b"Date,Description,Amount\n2024-01-01,A,-1\n"),
        "options": "[" * 50_000 + "]" * 50_000}, format="multipart")

    assert response.status_code == 400
    assert response.json()["error"]["message"] == "options: nested too deeply"


def test_a_crash_under_the_api_answers_in_the_error_shape(alice, monkeypatch):
    from transactions.api.views import TransactionViewSet

    def crash(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(TransactionViewSet, "list", crash)
    client = Client(raise_request_exception=False)
    client.force_login(alice)

    api = client.get("/api/v1/transactions/")

    assert api.status_code == 500 and api["Content-Type"] == "application/json"
    assert api.json()["error"]["code"] == "server_error"
    assert "a bug" not in api.content.decode()


def test_a_crash_on_a_page_is_djangos_page(rf):
    from mint.api import server_error

    response = server_error(rf.get("/transactions/"))

    assert response.status_code == 500
    assert not response["Content-Type"].startswith("application/json")


def test_a_patch_that_reads_a_whole_body_documents_its_required_fields(api):
    schema = api.get("/api/v1/schema/?format=json").json()

    def required(path: str) -> list[str]:
        body = schema["paths"][path]["patch"]["requestBody"]
        name = body["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
        return schema["components"]["schemas"][name].get("required", [])

    assert required("/api/v1/me/") == ["timezone"]
    assert required("/api/v1/financial-accounts/{id}/") == ["name"]
    assert required("/api/v1/categories/{id}/") == ["name"]
    assert required("/api/v1/rules/{id}/") == []  # a rule's PATCH changes what it names

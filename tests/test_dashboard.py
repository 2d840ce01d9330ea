"""The browser dashboard through Django's test client: sign-up, accounts, refresh,
transactions and their categories, imports. Every page is scoped to the logged-in user."""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from unittest import mock
from urllib.parse import urljoin

import pytest
from django.contrib.auth import SESSION_KEY
from django.contrib.staticfiles import finders
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection as db
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Connection, FinancialAccount, User
from accounts.providers import sandbox
from accounts.services import account_connect
from categories.models import Category, Rule, SellerVote
from tests.conftest import api_client_for
from tests.factories import ConnectionFactory, FinancialAccountFactory, form_csrf_token
from transactions import views as transaction_views
from transactions.models import ImportJob, RawDump, RefreshRun, Transaction

PASSWORD = "correct-horse-battery"
OFX_FIXTURES = Path(__file__).parent / "fixtures" / "ofx"
SMALL_CSV = (
    b"Date,Description,Amount\n"
    b"2024-01-15,ACME CORP PAYROLL,2000.00\n"
    b"2024-01-16,STARBUCKS STORE 12345 SEATTLE WA,-4.75\n"
    b"2024-01-17,CHECK 1042,-120.00\n"
)

linked = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("object_store")]


@pytest.fixture(autouse=True)
def _bank_day(monkeypatch):
    monkeypatch.setattr(sandbox, "today", lambda: date(2026, 5, 20))


def link_demo_bank(client, login="demo"):
    return client.post("/connections/link/", {"provider": "sandbox", "url": "sandbox://demo",
                                              "login": login, "password": "pw-never-shown"},
                       follow=True)


def add_transactions(account, days: int, per_day: int, start=date(2026, 4, 30)):
    """``per_day`` rows on each of ``days`` days: same-day ties exercise the id tie-break."""
    return Transaction.objects.bulk_create(
        Transaction(user=account.user, account=account, external_id=f"{start}-{d}-{i}",
                    posted_on=start - timedelta(days=d), amount=Decimal(f"-{d + 1}.{i:02d}"),
                    description=f"SHOP {d} ITEM {i}")
        for d in range(days) for i in range(per_day)
    )


def older_link(response) -> str | None:
    found = re.search(r'<a class="older" rel="next" href="([^"]+)">Older', response.content.decode())
    if found is None:
        return None
    return urljoin(response.request["PATH_INFO"], html.unescape(found.group(1)))


def newer_link(response) -> str | None:
    found = re.search(r'<a class="newer" rel="prev" href="([^"]+)">', response.content.decode())
    if found is None:
        return None
    return urljoin(response.request["PATH_INFO"], html.unescape(found.group(1)))


# --- sign-up, login, logout ------------------------------------------------------------


@pytest.mark.django_db
def test_signup_creates_a_user_and_logs_them_in(client):
    response = client.post("/signup/", {"email": "New@Example.com",
                                        "password": "a-long-passphrase",
                                        "password_confirm": "a-long-passphrase"})

    user = User.objects.get(email="new@example.com")
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.session[SESSION_KEY] == str(user.pk)
    assert user.check_password("a-long-passphrase")
    assert "Welcome to Mint" in client.get("/").content.decode()


@pytest.mark.django_db
def test_signup_refuses_a_weak_password_a_mismatch_and_a_taken_email(client, alice):
    weak = client.post("/signup/", {"email": "x@example.com", "password": "12345678",
                                    "password_confirm": "12345678"})
    mismatch = client.post("/signup/", {"email": "y@example.com", "password": "a-long-passphrase",
                                        "password_confirm": "another-passphrase"})
    taken = client.post("/signup/", {"email": "ALICE@example.com", "password": "a-long-passphrase",
                                     "password_confirm": "a-long-passphrase"})

    assert weak.status_code == 400
    assert "too common" in weak.content.decode() or "entirely numeric" in weak.content.decode()
    assert "The two passwords differ." in mismatch.content.decode()
    assert "already exists" in taken.content.decode()
    assert list(User.objects.values_list("email", flat=True)) == ["alice@example.com"]
    assert SESSION_KEY not in client.session


@pytest.mark.django_db
def test_login_ignores_the_case_of_the_email(client, alice):
    logged_in = client.post("/accounts/login/", {"username": "Alice@Example.COM",
                                                 "password": PASSWORD})

    assert logged_in.status_code == 302 and logged_in["Location"] == "/"
    assert client.get("/").status_code == 200


@pytest.mark.django_db
def test_an_address_saved_with_capitals_by_support_still_logs_in(client):
    from accounts.models import User

    user = User(email=" Jane.Doe@Example.com")  # as the admin's forms save it
    user.set_password(PASSWORD)
    user.save()

    assert User.objects.get(pk=user.pk).email == "jane.doe@example.com"
    logged_in = client.post("/accounts/login/", {"username": "Jane.Doe@Example.com",
                                                 "password": PASSWORD})
    assert logged_in.status_code == 302 and logged_in["Location"] == "/"


@pytest.mark.django_db
def test_an_address_left_in_capitals_beside_its_lower_case_twin_still_saves(alice):
    from accounts.models import User

    # what the migration leaves when another user already has the lower case
    twin = User.objects.create_user("twin@example.com", PASSWORD)
    User.objects.filter(pk=twin.pk).update(email="Alice@Example.com")
    twin.refresh_from_db()

    twin.set_password("a-new-long-passphrase")
    twin.save()  # as the password reset form does: no IntegrityError on alice's address

    assert User.objects.get(pk=twin.pk).email == "Alice@Example.com"


@pytest.mark.django_db
def test_login_with_email_then_logout(client, alice):
    login_page = client.get("/accounts/login/")
    logged_in = client.post("/accounts/login/", {"username": "alice@example.com",
                                                 "password": PASSWORD})
    home = client.get("/")
    logged_out = client.post("/accounts/logout/")

    assert 'href="/signup/"' in login_page.content.decode()
    assert logged_in.status_code == 302 and logged_in["Location"] == "/"
    assert home.status_code == 200 and "alice@example.com" in home.content.decode()
    assert logged_out.status_code == 302
    assert client.get("/").status_code == 302


@pytest.mark.django_db
def test_a_wrong_password_does_not_log_in(client, alice):
    response = client.post("/accounts/login/", {"username": "alice@example.com",
                                                "password": "wrong"})

    assert response.status_code == 200
    assert SESSION_KEY not in client.session


@pytest.mark.django_db
@pytest.mark.parametrize("method, path", [
    ("get", "/"),
    ("get", "/transactions/"),
    ("get", "/import/"),
    ("get", "/import/6f1c1f3e-0000-4000-8000-000000000000/"),
    ("post", "/connections/link/"),
    ("post", "/connections/6f1c1f3e-0000-4000-8000-000000000000/refresh/"),
    ("get", "/connections/6f1c1f3e-0000-4000-8000-000000000000/unlink/"),
    ("post", "/transactions/1/category/"),
    ("get", "/rules/"),
    ("post", "/rules/"),
    ("get", "/rules/1/delete/"),
    ("post", "/rules/1/delete/"),
])
def test_anonymous_users_are_redirected_to_login(client, method, path):
    response = getattr(client, method)(path)

    assert response.status_code == 302
    assert response["Location"].startswith(f"/accounts/login/?next={path}")


# --- accounts page ----------------------------------------------------------------------


@pytest.mark.django_db
def test_accounts_page_lists_only_the_users_own_connections_with_status_and_error(
    alice_client, alice, bob
):
    refreshed = timezone.now().replace(year=2026, month=5, day=19, hour=8, minute=30)
    failing = ConnectionFactory(user=alice, institution="Riverbend Credit Union",
                                status=Connection.Status.ERROR, last_refreshed_at=refreshed,
                                last_error="could not reach ofx.riverbend.test: timed out")
    FinancialAccountFactory(connection=failing, name="Joint Checking", mask="7731",
                            balance=Decimal("-1234.5"))
    ConnectionFactory(user=alice, institution="Mint Demo Bank", status=Connection.Status.ACTIVE)
    ConnectionFactory(user=bob, institution="Bobs Secret Bank")

    page = alice_client.get("/").content.decode()

    assert "Riverbend Credit Union" in page and "Mint Demo Bank" in page
    assert "Bobs Secret Bank" not in page
    assert "Refresh failing" in page and "Up to date" in page
    assert "May 19, 2026, 08:30" in page
    assert "could not reach ofx.riverbend.test: timed out" in page
    assert "Joint Checking" in page and "-1,234.50" in page
    assert page.count('action="/connections/') == 2 + 1  # two refresh forms + the link form


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("object_store")
def test_linking_the_demo_bank_from_the_form_shows_its_accounts_and_transactions(
    alice_client, alice
):
    response = link_demo_bank(alice_client)

    page = response.content.decode()
    connection = Connection.objects.get(user=alice)
    assert response.redirect_chain[-1][0] == f"/#connection-{connection.pk}"
    assert "Linked Mint Demo Bank." in page
    assert "Everyday Checking" in page and "4,210.55" in page
    assert 'data-run-status="succeeded"' in page
    assert len(response.context["recent_transactions"]) == 10
    assert "pw-never-shown" not in page
    listed = alice_client.get("/transactions/").context["transactions"]
    assert len(listed) == transaction_views.PAGE_SIZE
    assert all(tx.user_id == alice.pk for tx in listed)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("object_store")
def test_linking_the_same_login_twice_refreshes_the_link_instead_of_doubling_it(
    alice_client, alice
):
    link_demo_bank(alice_client)
    rows = Transaction.objects.filter(user=alice).count()

    response = link_demo_bank(alice_client)

    assert "is linked with this login already: refreshing it instead." in (
        response.content.decode())
    assert Connection.objects.filter(user=alice).count() == 1
    assert Transaction.objects.filter(user=alice).count() == rows


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("object_store")
def test_linking_a_failing_login_again_with_another_password_says_it_was_updated(
    alice_client, alice
):
    link_demo_bank(alice_client, login="bad")  # refused by the bank: the link is failing

    response = alice_client.post("/connections/link/", {
        "provider": "sandbox", "url": "sandbox://demo", "login": "bad",
        "password": "the-new-one"}, follow=True)

    assert "Updated the password for Mint Demo Bank" in response.content.decode()
    assert "linked with this login already" not in response.content.decode()
    assert Connection.objects.filter(user=alice).count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("object_store")
def test_linking_with_a_refused_login_shows_the_banks_error(alice_client, alice):
    response = link_demo_bank(alice_client, login="bad")

    page = response.content.decode()
    connection = Connection.objects.get(user=alice)
    assert connection.status == Connection.Status.NEEDS_ATTENTION
    assert "the first refresh failed" in page
    assert "Credentials need attention" in page
    # The bank's words only once, in the card's technical details, not in the message.
    summary, detail = connection_error(page)
    assert "didn't accept the saved login" in summary
    assert detail == html.escape(connection.last_error)
    assert page.count(html.escape(connection.last_error)) == 1


def connection_error(page: str) -> tuple[str, str]:
    """The one connection card's error: its plain-language summary and, after it, the
    stored error inside a closed <details>."""
    found = re.findall(r'<div class="error-box connection-error" data-error-status="\w+">\s*'
                       r'<p class="error-summary">([^<]*)</p>\s*'
                       r'<details class="error-detail">\s*<summary>Technical details</summary>'
                       r'\s*<code>([^<]*)</code>\s*</details>', page)
    assert len(found) == 1, found
    return found[0]


REFUSED = "could not reach 127.0.0.1: [Errno 111] Connection refused (gave up after 6 attempts)"


@pytest.mark.django_db
@pytest.mark.parametrize(("status", "running", "says"), [
    ("error", None, "We couldn't get your latest transactions from your bank. We'll try "
                    "again tonight; you can also refresh now."),
    ("error", "retrying", "The last refresh didn't work; we're trying again now."),
    # linked again with a new password: the refresh that tries it is running
    ("needs_attention", "queued", "The last refresh didn't work; we're trying again now."),
    ("needs_attention", None, "Your bank didn't accept the saved login. Link it again below "
                              "with the same login and your current password: your history "
                              "stays (unlinking would delete it)."),
    # refused at the first link: no history to keep
    ("needs_attention", "never", "Your bank didn't accept the saved login. Link it again "
                                 "below with the same login and your current password."),
])
def test_a_failing_connection_says_what_to_do_in_plain_words_and_keeps_the_detail_behind(
    alice_client, alice, status, running, says
):
    connection = ConnectionFactory(user=alice, status=status, last_error=REFUSED,
                                   last_refreshed_at=None if running == "never" else timezone.now())
    if running and running != "never":
        RefreshRun.objects.create(user=alice, connection=connection, trigger="manual",
                                  status=running)

    page = alice_client.get("/").content.decode()

    summary, detail = connection_error(page)
    assert html.unescape(summary) == says
    assert html.unescape(detail) == REFUSED  # stored as it was, shown on request
    assert page.count("[Errno 111]") == 1
    assert "Last error:" not in page


@pytest.mark.django_db
def test_a_connection_without_an_error_shows_no_error_box(alice_client, alice):
    ConnectionFactory(user=alice, status=Connection.Status.ACTIVE)

    page = alice_client.get("/").content.decode()

    assert "error-box" not in page and "Technical details" not in page


@pytest.mark.django_db
def test_a_failed_refresh_message_points_at_the_card_instead_of_repeating_the_error(
    alice_client, alice, monkeypatch
):
    connection = ConnectionFactory(user=alice, status=Connection.Status.ACTIVE)

    def refused(*, connection, trigger):
        run = RefreshRun.objects.create(user=alice, connection=connection, trigger=trigger,
                                        status="failed", error=REFUSED)
        Connection.objects.filter(pk=connection.pk).update(status="error", last_error=REFUSED)
        return run

    monkeypatch.setattr("accounts.views.refresh_request", refused)

    response = alice_client.post(f"/connections/{connection.pk}/refresh/", follow=True)

    page = response.content.decode()
    assert "Refreshing Mint Demo Bank failed: see below." in page
    assert page.count("[Errno 111]") == 1
    assert html.unescape(connection_error(page)[1]) == REFUSED


@pytest.mark.django_db
def test_link_form_errors_are_shown_and_nothing_is_linked(alice_client, alice):
    no_url = alice_client.post("/connections/link/", {"provider": "ofx", "login": "me",
                                                      "password": "pw"})
    wrong_scheme = alice_client.post("/connections/link/", {"provider": "sandbox",
                                                            "url": "https://bank.test",
                                                            "login": "me"})

    assert no_url.status_code == 400
    assert "An OFX server needs its URL." in no_url.content.decode()
    # said at the top of the page too, and the page opens at the form
    assert "The account was not linked: see the form below." in no_url.content.decode()
    assert 'action="/connections/link/#link"' in no_url.content.decode()
    assert wrong_scheme.status_code == 400
    assert "The account was not linked" in wrong_scheme.content.decode()
    assert "sandbox://" in wrong_scheme.content.decode()
    assert not Connection.objects.filter(user=alice).exists()


# --- refresh, unlink --------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("object_store")
def test_refresh_button_posts_with_csrf_and_shows_the_run_status(alice):
    connection, _ = account_connect(user=alice, provider="sandbox", url="sandbox://demo",
                                 login="demo", password="pw")
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    url = f"/connections/{connection.pk}/refresh/"
    page = client.get("/").content.decode()
    token = form_csrf_token(page, url)
    assert token is not None

    by_get = client.get(url)
    without_token = client.post(url)
    refreshed = client.post(url, {"csrfmiddlewaretoken": token.group(1)}, follow=True)

    assert (by_get.status_code, by_get["Location"]) == (302, "/")  # nothing refreshed
    assert without_token.status_code == 403
    assert refreshed.redirect_chain[-1][0] == f"/#connection-{connection.pk}"
    run = RefreshRun.objects.filter(connection=connection).order_by("-created_at").first()
    assert (run.trigger, run.status) == ("manual", "succeeded")
    assert "Refreshed Mint Demo Bank" in refreshed.content.decode()
    assert 'data-run-status="succeeded"' in refreshed.content.decode()


@pytest.mark.django_db
def test_another_users_connection_answers_404_and_is_left_alone(alice_client, bob):
    bobs = ConnectionFactory(user=bob)

    refresh = alice_client.post(f"/connections/{bobs.pk}/refresh/")
    unlink_page = alice_client.get(f"/connections/{bobs.pk}/unlink/")
    unlink = alice_client.post(f"/connections/{bobs.pk}/unlink/")

    assert (refresh.status_code, unlink_page.status_code, unlink.status_code) == (404, 404, 404)
    assert not RefreshRun.objects.filter(connection=bobs).exists()
    assert Connection.objects.filter(pk=bobs.pk).exists()


@pytest.mark.django_db
def test_unlink_asks_for_confirmation_then_deletes_the_connection(alice_client, alice):
    connection = ConnectionFactory(user=alice)
    add_transactions(FinancialAccountFactory(connection=connection), days=2, per_day=2)

    confirm = alice_client.get(f"/connections/{connection.pk}/unlink/")
    response = alice_client.post(f"/connections/{connection.pk}/unlink/", follow=True)

    assert "This cannot be undone." in confirm.content.decode()
    assert "its 1 account and all of their 4 transactions" in confirm.content.decode()
    assert "Unlinked Mint Demo Bank" in response.content.decode()
    assert not Connection.objects.filter(pk=connection.pk).exists()
    assert not Transaction.objects.filter(user=alice).exists()


@pytest.mark.django_db
def test_the_accounts_page_reloads_itself_only_while_a_refresh_runs(alice_client, alice):
    connection = ConnectionFactory(user=alice)
    run = RefreshRun.objects.create(user=alice, connection=connection, trigger="manual")

    running = alice_client.get("/").content.decode()
    RefreshRun.objects.filter(pk=run.pk).update(status="succeeded")
    finished = alice_client.get("/").content.decode()

    assert "window.location.reload()" in running and "Refreshing…" in running
    assert "window.location.reload()" not in finished
    # The button says so and cannot be pressed again meanwhile.
    assert 'class="button primary" disabled>Refreshing…</button>' in running
    assert 'class="button primary">Refresh</button>' in finished


@pytest.mark.django_db
def test_a_form_sent_back_with_its_errors_never_reloads_itself(alice_client, alice):
    """The answer to a POST must not reload: the browser would send the form (and the
    bank password) again every 3 seconds."""
    connection = ConnectionFactory(user=alice)
    RefreshRun.objects.create(user=alice, connection=connection, trigger="manual")

    response = alice_client.post("/connections/link/", {
        "provider": "sandbox", "url": "ftp://nowhere", "login": "me", "password": "pw"})

    assert response.status_code == 400
    assert "window.location.reload()" not in response.content.decode()
    assert "window.location.reload()" in alice_client.get("/").content.decode()


@pytest.mark.django_db
def test_linking_says_it_is_checking_until_the_first_refresh_has_run(alice_client, alice):
    with mock.patch("transactions.tasks.refresh_connection.delay"):  # no worker yet
        response = alice_client.post("/connections/link/", {
            "provider": "sandbox", "url": "sandbox://demo", "login": "bad", "password": "pw"},
            follow=True)

    page = response.content.decode()
    assert "Linking Mint Demo Bank: checking the login" in page
    assert "Linked Mint Demo Bank." not in page


def status_badge(page: str) -> tuple[str, str]:
    """The (modifier, text) of the one connection card's status badge."""
    found = re.findall(r'<span class="badge status-([\w-]+)" title="Connection status" '
                       r'data-status="\1">([^<]*)</span>', page)
    assert len(found) == 1, found
    return found[0]


@pytest.mark.django_db
@pytest.mark.parametrize(("connection_status", "run_status", "badge"), [
    # A refresh queued or running after a good one: not "Up to date" yet.
    ("active", "queued", ("refreshing", "Refreshing…")),
    ("active", "running", ("refreshing", "Refreshing…")),
    ("active", "retrying", ("refreshing", "Retrying after an error…")),
    # the first refresh of a new connection, and a retry of a failing one,
    ("pending", "queued", ("refreshing", "Refreshing…")),
    ("error", "running", ("refreshing", "Refreshing…")),
    # then the outcome: up to date only when the last run succeeded, an error stays one.
    ("active", "succeeded", ("active", "Up to date")),
    ("error", "failed", ("error", "Refresh failing")),
    ("needs_attention", "failed", ("needs_attention", "Credentials need attention")),
])
def test_the_status_badge_says_refreshing_while_a_run_is_queued_or_running(
    alice_client, alice, connection_status, run_status, badge
):
    connection = ConnectionFactory(user=alice, status=connection_status)
    earlier = RefreshRun.objects.create(user=alice, connection=connection, trigger="manual",
                                        status="succeeded")
    RefreshRun.objects.filter(pk=earlier.pk).update(
        created_at=timezone.now() - timedelta(hours=1))
    RefreshRun.objects.create(user=alice, connection=connection, trigger="manual",
                              status=run_status)

    page = alice_client.get("/").content.decode()

    assert status_badge(page) == badge
    assert f'data-run-status="{run_status}"' in page


# --- transactions -----------------------------------------------------------------------


@pytest.mark.django_db
def test_transactions_page_lists_newest_first_and_pages_older_by_keyset(alice_client, alice):
    account = FinancialAccountFactory(connection=ConnectionFactory(user=alice))
    add_transactions(account, days=40, per_day=3)  # 120 rows, 3 pages of 50
    expected = list(Transaction.objects.filter(user=alice)
                    .order_by("-posted_on", "-id").values_list("id", flat=True))

    seen, url, pages = [], "/transactions/", 0
    with CaptureQueriesContext(db) as queries:
        while url:
            response = alice_client.get(url)
            seen += [tx.id for tx in response.context["transactions"]]
            url, pages = older_link(response), pages + 1

    assert seen == expected
    assert pages == 3
    assert not any("OFFSET" in q["sql"].upper() for q in queries.captured_queries)


@pytest.mark.django_db
def test_newer_goes_back_one_page_at_a_time_with_the_filters(alice_client, alice):
    account = FinancialAccountFactory(connection=ConnectionFactory(user=alice))
    add_transactions(account, days=40, per_day=3)  # 120 rows, 3 pages of 50
    pages, url = [], "/transactions/?q=shop"
    while url:
        response = alice_client.get(url)
        pages.append([tx.id for tx in response.context["transactions"]])
        url = older_link(response)
    assert [len(p) for p in pages] == [50, 50, 20]
    assert newer_link(alice_client.get("/transactions/?q=shop")) is None

    back = [], alice_client.get(older_link(alice_client.get(older_link(
        alice_client.get("/transactions/?q=shop")))))
    seen, response = back
    while (url := newer_link(response)) is not None:
        assert "q=shop" in url
        response = alice_client.get(url)
        seen.append([tx.id for tx in response.context["transactions"]])

    assert seen == [pages[1], pages[0]]  # the third page back to the second, then the first
    assert older_link(response) is not None  # and from there older again


@pytest.mark.django_db
def test_older_pages_keep_the_filters_and_ignore_rows_added_meanwhile(alice_client, alice):
    account = FinancialAccountFactory(connection=ConnectionFactory(user=alice))
    add_transactions(account, days=30, per_day=2)
    first = alice_client.get("/transactions/", {"q": "shop", "account": account.pk})
    add_transactions(account, days=1, per_day=5, start=date(2026, 5, 10))  # newer rows
    second = alice_client.get(older_link(first))

    assert "q=shop" in older_link(first) and f"account={account.pk}" in older_link(first)
    last_of_first = first.context["transactions"][-1]
    assert all((tx.posted_on, tx.id) < (last_of_first.posted_on, last_of_first.id)
               for tx in second.context["transactions"])
    assert len(second.context["transactions"]) == 10
    assert older_link(second) is None
    assert "« Newest" in second.content.decode()


@pytest.mark.django_db
def test_transactions_page_shows_amounts_signs_pending_and_category(alice_client, alice):
    account = FinancialAccountFactory(connection=ConnectionFactory(user=alice), name="Card")
    coffee = Category.objects.create(name="Coffee Beans", user=alice)
    Transaction.objects.bulk_create([
        Transaction(user=alice, account=account, external_id="a", posted_on=date(2026, 5, 1),
                    amount=Decimal("2000"), description="ACME PAYROLL"),
        Transaction(user=alice, account=account, external_id="b", posted_on=date(2026, 5, 2),
                    amount=Decimal("-1234.5"), description="RENT", pending=True),
        Transaction(user=alice, account=account, external_id="c", posted_on=date(2026, 5, 3),
                    amount=Decimal("-4.75"), description="BLUE BOTTLE", category=coffee),
    ])

    page = alice_client.get("/transactions/").content.decode()

    assert "+2,000.00" in page and "-1,234.50" in page and "-4.75" in page
    assert page.index("BLUE BOTTLE") < page.index("RENT") < page.index("ACME PAYROLL")
    assert "Pending" in page
    assert "Coffee Beans" in page
    assert "Older →" not in page


@pytest.mark.django_db
def test_transactions_text_account_and_date_filters(alice_client, alice, bob):
    connection = ConnectionFactory(user=alice)
    checking = FinancialAccountFactory(connection=connection, name="Checking")
    card = FinancialAccountFactory(connection=connection, name="Card")
    Transaction.objects.bulk_create([
        Transaction(user=alice, account=checking, external_id="1", posted_on=date(2026, 5, 1),
                    amount=Decimal("-5"), description="POS STARBUCKS #123"),
        Transaction(user=alice, account=card, external_id="2", posted_on=date(2026, 5, 2),
                    amount=Decimal("-9"), description="SQ *BLUE BOTTLE"),
        Transaction(user=alice, account=card, external_id="3", posted_on=date(2026, 5, 3),
                    amount=Decimal("-7"), description="STARBUCKS STORE 9"),
    ])
    bobs_account = FinancialAccountFactory(connection=ConnectionFactory(user=bob))

    by_text = alice_client.get("/transactions/", {"q": "starbucks"}).context["transactions"]
    by_account = alice_client.get("/transactions/", {"account": card.pk}).context["transactions"]
    both = alice_client.get("/transactions/", {"q": "starbucks", "account": card.pk})
    bobs = alice_client.get("/transactions/", {"account": bobs_account.pk})

    assert [tx.external_id for tx in by_text] == ["3", "1"]
    assert [tx.external_id for tx in by_account] == ["3", "2"]
    assert [tx.external_id for tx in both.context["transactions"]] == ["3"]
    assert f'<option value="{card.pk}" selected>' in both.content.decode()
    assert bobs.status_code == 404

    dated = alice_client.get("/transactions/", {"date_from": "2026-05-02",
                                                "date_to": "2026-05-02"})
    since = alice_client.get("/transactions/", {"date_from": "2026-05-02"})
    backwards = alice_client.get("/transactions/", {"date_from": "2026-05-03",
                                                    "date_to": "2026-05-01"})
    assert [tx.external_id for tx in dated.context["transactions"]] == ["2"]
    assert 'value="2026-05-02"' in dated.content.decode()
    assert [tx.external_id for tx in since.context["transactions"]] == ["3", "2"]
    assert backwards.status_code == 400
    assert "The end date is before the start date." in backwards.content.decode()
    assert "← Newest" not in backwards.content.decode()  # it would lead to the same query
    # as the API: YYYY-MM-DD only (01/05/2026 would be January 5 to Django)
    assert alice_client.get("/transactions/", {"date_from": "01/05/2026"}).status_code == 400


@pytest.mark.django_db
def test_a_malformed_cursor_is_a_bad_request(alice_client):
    assert alice_client.get("/transactions/", {"before": "yesterday"}).status_code == 400


# --- a category by hand -----------------------------------------------------------------


def categorize_url(tx) -> str:
    return f"/transactions/{tx.pk}/category/"


@pytest.fixture
def coffee_shops(taxonomy):
    return Category.objects.get(user=None, parent__name="Food & Dining", name="Coffee Shops")


@pytest.fixture
def blue_bottle(alice):
    account = FinancialAccountFactory(connection=ConnectionFactory(user=alice), name="Card")
    return Transaction.objects.create(
        user=alice, account=account, external_id="bb", posted_on=date(2026, 5, 3),
        amount=Decimal("-4.75"), description="SQ *BLUE BOTTLE COFFEE OAKLAND CA",
        seller="Blue Bottle Coffee", seller_key="blue bottle coffee", category_source="",
    )


@pytest.mark.django_db
def test_a_memo_the_search_finds_is_shown_under_the_description(alice_client, blue_bottle):
    Transaction.objects.filter(pk=blue_bottle.pk).update(memo="Brötchen und Kaffee")

    page = alice_client.get("/transactions/", {"q": "Kaffee"}).content.decode()

    assert '<div class="muted small desc" data-memo>Brötchen und Kaffee</div>' in page


@pytest.mark.django_db
def test_the_list_filters_by_a_category_and_its_sub_categories(alice_client, alice,
                                                                 blue_bottle, coffee_shops):
    Transaction.objects.filter(pk=blue_bottle.pk).update(category=coffee_shops)
    other = Transaction.objects.create(
        user=alice, account=blue_bottle.account, external_id="gas", posted_on=date(2026, 5, 4),
        amount=Decimal("-30.00"), description="SHELL OIL")

    by_top = alice_client.get("/transactions/", {"category": coffee_shops.parent_id})
    by_sub = alice_client.get("/transactions/", {"category": coffee_shops.pk})
    unknown = alice_client.get("/transactions/", {"category": "99999999"})

    assert [t.pk for t in by_top.context["transactions"]] == [blue_bottle.pk]
    assert [t.pk for t in by_sub.context["transactions"]] == [blue_bottle.pk]
    assert other.pk not in {t.pk for t in by_top.context["transactions"]}
    assert f'<option value="{coffee_shops.pk}" selected>' in by_sub.content.decode()
    assert unknown.status_code == 400


@pytest.mark.django_db
def test_a_budget_lines_name_leads_to_its_months_transactions(alice_client, taxonomy):
    page = alice_client.get("/budgets/?month=2026-02").content.decode()

    food = Category.objects.get(user=None, parent=None, name="Food & Dining")
    assert (f'href="/transactions/?category={food.pk}&amp;date_from=2026-02-01&amp;'
            f'date_to=2026-02-28"') in page


@pytest.mark.django_db
def test_a_category_chosen_by_hand_is_kept_as_manual_and_the_list_comes_back_as_it_was(
    alice_client, alice, blue_bottle, coffee_shops
):
    back = f"/transactions/?q=bottle&account={blue_bottle.account_id}"

    response = alice_client.post(categorize_url(blue_bottle),
                                 {"category": coffee_shops.pk, "next": back})

    blue_bottle.refresh_from_db()
    assert response.status_code == 302
    assert response["Location"] == f"{back}#tx-{blue_bottle.pk}"
    assert (blue_bottle.category, blue_bottle.category_source) == (coffee_shops, "manual")
    assert blue_bottle.seller == "Blue Bottle Coffee"
    assert not Rule.objects.exists()
    assert SellerVote.objects.get(user=alice).category == coffee_shops
    page = alice_client.get(response["Location"]).content.decode()
    assert "Filed “Blue Bottle Coffee” under Food &amp; Dining › Coffee Shops." in page
    assert '<div class="muted small" data-source="manual">Set by hand</div>' in page


@pytest.mark.django_db
def test_always_for_the_seller_makes_a_rule_and_renames(
    alice_client, alice, blue_bottle, coffee_shops
):
    response = alice_client.post(categorize_url(blue_bottle), {
        "category": coffee_shops.pk, "always": "on", "rename_to": "Blue Bottle",
        "next": "/transactions/",
    }, follow=True)

    blue_bottle.refresh_from_db()
    rule = Rule.objects.get(user=alice)
    # The rule shows the seller as the row showed it (before the rename), matches its key.
    assert (rule.seller, rule.seller_key, rule.category, rule.rename_to) == (
        "Blue Bottle Coffee", "blue bottle coffee", coffee_shops, "Blue Bottle"
    )
    assert (blue_bottle.category_source, blue_bottle.seller) == ("manual", "Blue Bottle")
    assert "Every transaction from Blue Bottle will be filed there too" in (
        response.content.decode()
    )


@pytest.mark.django_db
def test_a_new_name_alone_keeps_the_category_as_in_the_api(
    alice_client, alice, blue_bottle, coffee_shops
):
    Transaction.objects.filter(pk=blue_bottle.pk).update(category=coffee_shops,
                                                         category_source="seller")

    renamed = alice_client.post(categorize_url(blue_bottle), {
        "category": "", "rename_to": "Blue Bottle", "next": "/transactions/"}, follow=True)
    nothing = alice_client.post(categorize_url(blue_bottle), {"category": ""}, follow=True)
    always = alice_client.post(categorize_url(blue_bottle), {
        "category": "", "rename_to": "BB", "always": "on"}, follow=True)
    always_alone = alice_client.post(categorize_url(blue_bottle), {
        "category": "", "always": "on"}, follow=True)
    too_long = alice_client.post(categorize_url(blue_bottle), {
        "category": "", "rename_to": "B" * 201}, follow=True).content.decode()

    blue_bottle.refresh_from_db()
    assert "Renamed to “Blue Bottle”." in renamed.content.decode()
    assert (blue_bottle.seller, blue_bottle.category, blue_bottle.category_source) == (
        "Blue Bottle", coffee_shops, "manual")
    assert "Choose a category, a new name, or both." in nothing.content.decode()
    assert "Choose the category for “always”." in always.content.decode()
    assert "Choose the category for “always”." in always_alone.content.decode()
    assert "at most 200 characters (it has 201)" in too_long
    assert "Choose a category, a new name" not in too_long  # a name was given: too long
    assert not Rule.objects.exists()
    assert 'option value="">Keep its category<' in renamed.content.decode()


@pytest.mark.django_db
def test_always_needs_a_seller_and_then_nothing_changes(alice_client, alice, blue_bottle,
                                                         coffee_shops):
    Transaction.objects.filter(pk=blue_bottle.pk).update(seller="", seller_key="")

    response = alice_client.post(categorize_url(blue_bottle),
                                 {"category": coffee_shops.pk, "always": "on"}, follow=True)

    blue_bottle.refresh_from_db()
    assert response.redirect_chain == [(f"/transactions/#tx-{blue_bottle.pk}", 302)]
    assert "names no seller to make a rule for" in response.content.decode()
    assert (blue_bottle.category, blue_bottle.category_source) == (None, "")
    assert not Rule.objects.exists()


@pytest.mark.django_db
def test_bob_cannot_categorise_alices_transaction(client, bob, blue_bottle, coffee_shops):
    client.force_login(bob)

    response = client.post(categorize_url(blue_bottle),
                           {"category": coffee_shops.pk, "always": "on"})

    blue_bottle.refresh_from_db()
    assert response.status_code == 404
    assert (blue_bottle.category, blue_bottle.category_source) == (None, "")
    assert not Rule.objects.exists()
    assert not SellerVote.objects.exists()


@pytest.mark.django_db
def test_a_category_of_another_user_is_refused(alice_client, bob, blue_bottle):
    bobs = Category.objects.create(name="Bob's Coffee", user=bob)

    response = alice_client.post(categorize_url(blue_bottle),
                                 {"category": bobs.pk, "always": "on"}, follow=True)

    blue_bottle.refresh_from_db()
    assert response.status_code == 200
    assert '<li class="message error">Unknown category.</li>' in response.content.decode()
    assert (blue_bottle.category, blue_bottle.category_source) == (None, "")
    assert not Rule.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("target", [
    "https://evil.example/transactions/", "//evil.example/", "javascript:alert(1)", "",
])
def test_only_a_same_site_next_is_followed(alice_client, blue_bottle, coffee_shops, target):
    response = alice_client.post(categorize_url(blue_bottle),
                                 {"category": coffee_shops.pk, "next": target})

    assert response["Location"] == f"/transactions/#tx-{blue_bottle.pk}"


@pytest.mark.django_db
def test_categorising_takes_only_a_post_with_the_pages_csrf_token(alice, blue_bottle,
                                                                   coffee_shops):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    url = categorize_url(blue_bottle)
    page = client.get("/transactions/").content.decode()
    token = form_csrf_token(page, url)
    assert token is not None

    by_get = client.get(url, {"category": coffee_shops.pk})
    without_token = client.post(url, {"category": coffee_shops.pk})
    untouched = Transaction.objects.get(pk=blue_bottle.pk).category_source
    with_token = client.post(url, {"category": coffee_shops.pk,
                                   "csrfmiddlewaretoken": token.group(1)})

    assert (by_get.status_code, without_token.status_code, with_token.status_code) == (
        302, 403, 302
    )
    assert by_get["Location"] == "/transactions/"
    assert untouched == ""
    assert Transaction.objects.get(pk=blue_bottle.pk).category_source == "manual"


@pytest.mark.django_db
def test_each_row_shows_where_its_category_came_from_and_offers_always_only_with_a_seller(
    alice_client, alice, bob, coffee_shops
):
    account = FinancialAccountFactory(connection=ConnectionFactory(user=alice))
    rows = [("dict", "seller", "Starbucks"), ("crowd", "crowd", "Joe's Diner"),
            ("rule", "rule", "Corner Cafe"), ("heur", "heuristic", ""),
            ("file", "import", ""), ("hand", "manual", ""), ("none", "", "")]
    Transaction.objects.bulk_create(
        Transaction(user=alice, account=account, external_id=ext, posted_on=date(2026, 5, 1),
                    amount=Decimal("-3"), description=f"ROW {ext}", seller=seller,
                    seller_key=seller.lower(), category=coffee_shops if source else None,
                    category_source=source)
        for ext, source, seller in rows
    )
    mine = Category.objects.create(name="Latte Fund", user=alice)
    Category.objects.create(name="Bob's Coffee", user=bob)

    page = alice_client.get("/transactions/").content.decode()

    for source, label in Transaction.CategorySource.choices:
        if source:
            assert f'data-source="{source}">{html.escape(label)}</div>' in page
    assert "Not categorised" not in page
    assert page.count('name="always"') == 3
    assert "Always for Joe&#x27;s Diner" in page
    # the choices once, for every row's "Change" to copy when opened (not once per row)
    assert page.count(f'<option value="{coffee_shops.pk}">Coffee Shops</option>') == 1
    assert page.count("select name=\"category\" id=\"category-") == len(rows)
    assert page.count(" data-choices>") == len(rows)
    assert f'<optgroup label="Food &amp; Dining"><option value="{coffee_shops.parent_id}">' in page
    assert f'<option value="{mine.pk}">Latte Fund (yours)</option>' in page
    assert "Bob&#x27;s Coffee" not in page


@pytest.mark.django_db
def test_the_accounts_page_shows_categories_without_the_forms(alice_client, alice, blue_bottle,
                                                               coffee_shops):
    Transaction.objects.filter(pk=blue_bottle.pk).update(category=coffee_shops,
                                                         category_source="seller")

    page = alice_client.get("/").content.decode()

    assert "Coffee Shops" in page and "Seller dictionary" in page
    assert "/category/" not in page


# --- imports ----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("object_store")
def test_importing_a_csv_twice_shows_created_then_duplicate_counts(alice_client, alice):
    def upload():
        return alice_client.post(
            "/import/", {"file": SimpleUploadedFile("export.csv", SMALL_CSV, "text/csv")},
            follow=True,
        )

    first, second = upload(), upload()

    assert first.context["job"].created == 3 and first.context["job"].duplicates == 0
    assert second.context["job"].created == 0 and second.context["job"].duplicates == 3
    page = second.content.decode()
    assert "export.csv: 0 new, 3 already known" in page
    assert 'data-count="duplicates">3<' in page
    assert Transaction.objects.filter(user=alice).count() == 3
    listing = alice_client.get("/import/").content.decode()
    assert listing.count("export.csv") == 2


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("object_store")
def test_csv_files_imported_under_two_names_land_in_two_accounts(alice_client, alice):
    def upload(name):
        return alice_client.post(
            "/import/", {"file": SimpleUploadedFile("export.csv", SMALL_CSV, "text/csv"),
                         "account_name": name}, follow=True)

    upload("Chase Checking"), upload("BofA Checking")
    again = upload("Chase Checking")

    assert again.context["job"].created == 0
    page = again.content.decode()
    chase = FinancialAccount.objects.get(user=alice, name="Chase Checking")
    assert f'<dd data-import-accounts><a href="/transactions/?account={chase.pk}">Chase Checking</a></dd>' in page
    assert f'<a href="/transactions/?account={chase.pk}">See the transactions →</a>' in page
    assert sorted(FinancialAccount.objects.filter(user=alice).values_list("name", flat=True)) \
        == ["BofA Checking", "Chase Checking"]
    assert Transaction.objects.filter(user=alice).count() == 6


SPANISH_CSV = (b"Fecha;Concepto;Importe\n"
               b"31/01/2026;MERCADONA VALENCIA;-45,20\n"
               b"02/02/2026;NOMINA ACME SL;1.850,00\n")


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("object_store")
def test_a_csv_with_unknown_headers_imports_once_its_columns_are_named(alice_client, alice):
    def upload(**mapping):
        return alice_client.post(
            "/import/", {"file": SimpleUploadedFile("cuenta.csv", SPANISH_CSV, "text/csv"),
                         **mapping}, follow=True,
        )

    unnamed = upload()
    named = upload(date="fecha", amount="Importe", description="Concepto", dates="day_first")

    assert unnamed.status_code == 400
    page = unnamed.content.decode()
    assert "could not tell which column holds the date" in page
    # the mapping the file needs is shown open
    assert '<details class="csv-mapping" open>' in page and 'id="id_date"' in page
    assert named.context["job"].created == 2
    rows = Transaction.objects.filter(user=alice).order_by("posted_on")
    assert [(t.posted_on, t.amount) for t in rows] == [
        (date(2026, 1, 31), Decimal("-45.20")), (date(2026, 2, 2), Decimal("1850.00"))]


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("object_store")
def test_a_half_filled_mapping_is_shown_open_with_the_error(alice_client):
    response = alice_client.post(
        "/import/", {"file": SimpleUploadedFile("cuenta.csv", SPANISH_CSV, "text/csv"),
                     "date": "Fecha"},
    )

    assert response.status_code == 400
    assert '<details class="csv-mapping" open>' in response.content.decode()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("object_store")
def test_a_new_accounts_name_with_a_chosen_account_is_refused_not_ignored(alice_client, alice):
    account = FinancialAccountFactory(connection__user=alice)

    response = alice_client.post(
        "/import/", {"file": SimpleUploadedFile("bank.csv", SMALL_CSV, "text/csv"),
                     "account": account.pk, "account_name": "Amex Gold"})

    assert response.status_code == 400
    assert "A new account&#x27;s name is for a file that goes into a new account" in (
        response.content.decode())
    assert not Transaction.objects.filter(user=alice).exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("object_store")
def test_importing_an_ofx_file_into_a_chosen_account(alice_client, alice):
    account = FinancialAccountFactory(connection=ConnectionFactory(user=alice), name="Savings")
    data = (OFX_FIXTURES / "bank_v2.ofx").read_bytes()

    response = alice_client.post(
        "/import/", {"file": SimpleUploadedFile("march.ofx", data), "account": account.pk,
                     "format": "ofx"},
        follow=True,
    )

    job = response.context["job"]
    assert (job.status, job.format, job.account_id) == ("succeeded", "ofx", account.pk)
    assert job.created > 0
    assert Transaction.objects.filter(user=alice, account=account).count() == job.created
    assert f'data-count="created">{job.created}<' in response.content.decode()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("object_store")
@pytest.mark.parametrize("name", ["truncated.ofx", "not_ofx.ofx"])
def test_a_malformed_file_shows_the_error_and_stores_nothing(alice_client, alice, name):
    data = (OFX_FIXTURES / name).read_bytes()

    response = alice_client.post("/import/", {"file": SimpleUploadedFile(name, data),
                                              "format": "ofx"})

    assert response.status_code == 400
    assert 'class="errorlist"' in response.content.decode()
    assert response.context["form"].errors["file"]
    assert not ImportJob.objects.exists()
    assert not RawDump.objects.exists()
    assert not Transaction.objects.exists()
    assert not Connection.objects.filter(user=alice).exists()


@pytest.mark.django_db
def test_importing_into_another_users_account_is_refused(alice_client, bob):
    bobs_account = FinancialAccountFactory(connection=ConnectionFactory(user=bob))

    response = alice_client.post("/import/", {
        "file": SimpleUploadedFile("export.csv", SMALL_CSV), "account": bobs_account.pk,
    })

    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert not ImportJob.objects.exists()


@pytest.mark.django_db
def test_another_users_import_answers_404(alice_client, bob):
    job = ImportJob.objects.create(user=bob, filename="bob.csv", format="csv")

    assert alice_client.get(f"/import/{job.pk}/").status_code == 404


# --- query counts, static files ---------------------------------------------------------


@pytest.mark.django_db
def test_accounts_page_runs_a_fixed_number_of_queries(
    alice_client, alice, django_assert_max_num_queries
):
    for n in range(4):
        connection = ConnectionFactory(user=alice, institution=f"Bank {n}")
        for name in ("Checking", "Savings", "Card"):
            account = FinancialAccountFactory(connection=connection, name=name)
        RefreshRun.objects.create(user=alice, connection=connection, trigger="manual",
                                  status="succeeded")
        add_transactions(account, days=5, per_day=2)
    alice_client.get("/")  # session and last-active writes out of the way

    # session, user, connections with their last run, their accounts, recent transactions,
    # the unread count for the top bar's badge
    with django_assert_max_num_queries(6):
        response = alice_client.get("/")

    assert response.status_code == 200
    assert response.content.decode().count('data-run-status="succeeded"') == 4


@pytest.mark.django_db
def test_transactions_page_runs_a_fixed_number_of_queries(
    alice_client, alice, django_assert_max_num_queries
):
    connection = ConnectionFactory(user=alice)
    coffee = Category.objects.create(name="Coffee Beans", user=alice)
    for name in ("Checking", "Savings", "Card"):
        account = FinancialAccountFactory(connection=connection, name=name)
        add_transactions(account, days=30, per_day=2)
    Transaction.objects.filter(user=alice).update(
        category=coffee, category_source="rule", seller="Shop", seller_key="shop"
    )
    alice_client.get("/transactions/")

    # session, user, the account choices, one page of transactions (+1 to know if older),
    # the category choices: one query for every row's <select>, not one per row; the
    # unread count for the top bar's badge
    with django_assert_max_num_queries(6):
        response = alice_client.get("/transactions/", {"q": "shop"})

    page = response.content.decode()
    assert len(response.context["transactions"]) == transaction_views.PAGE_SIZE
    # one per row (the filter's own select has an id first)
    assert page.count('<select name="category" id="category-') == transaction_views.PAGE_SIZE
    assert page.count('name="always"') == transaction_views.PAGE_SIZE


def test_the_stylesheet_is_found_by_the_static_files_finders():
    assert finders.find("mint/mint.css"), (
        "mint/static/ is not a static files location: add BASE_DIR / 'mint' / 'static' "
        "to STATICFILES_DIRS in mint/settings.py"
    )


def test_templates_have_no_multi_line_hash_comments():
    # Django's {# … #} is one line only: a multi-line one is printed into the page (here
    # it once put a literal "<option>" in front of the pager and hid it in the browser).
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    for path in root.glob("*/templates/**/*.html"):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            assert "{#" not in line or "#}" in line, f"{path}:{number}"


@pytest.mark.django_db
def test_an_account_named_after_its_number_shows_the_number_once(alice_client, alice):
    connection = ConnectionFactory(user=alice)
    FinancialAccountFactory(connection=connection, name="Savings …9925", mask="9925")
    FinancialAccountFactory(connection=connection, name="Everyday Checking", mask="1111")

    page = html.unescape(alice_client.get("/").content.decode())
    shown = re.sub(r'<details class="rename-account">.*?</details>', "", page, flags=re.S)

    assert shown.count("9925") == 1
    assert re.search(r"Everyday Checking</a>\s*<span class=\"muted\">…1111</span>", page)


@pytest.mark.django_db
def test_the_card_of_imported_files_shows_no_refresh_status(alice_client, alice):
    from accounts.services import file_connection_for

    file_connection_for(user=alice)

    page = alice_client.get("/").content.decode()

    assert "Import a file" in page
    assert "Last refresh" not in page and 'title="Connection status"' not in page
    assert page.count("File imports") == 1  # its name, not repeated as its kind


@pytest.mark.django_db
def test_a_page_that_is_not_there_or_not_hers_says_so_inside_the_site(alice_client, bob):
    bobs = FinancialAccountFactory(connection=ConnectionFactory(user=bob))

    missing = alice_client.get("/no-such-page/")
    foreign = alice_client.get(f"/transactions/?account={bobs.pk}")
    edited = alice_client.get("/transactions/?before=zzz")

    assert (missing.status_code, foreign.status_code, edited.status_code) == (404, 404, 400)
    for response in (missing, foreign):
        page = response.content.decode()
        assert "<h1>Not found</h1>" in page and 'aria-label="Main"' in page
    assert "That address could not be read" in edited.content.decode()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("object_store")
def test_one_imported_account_can_be_removed_and_the_others_stay(alice_client, alice, bob):
    from budgets.models import MonthlySpending

    def upload(name):
        alice_client.post("/import/", {"file": SimpleUploadedFile("export.csv", SMALL_CSV,
                                                                  "text/csv"),
                                       "account_name": name})

    upload("Chase Checking"), upload("chase checking typo ")
    typo = FinancialAccount.objects.get(user=alice, name="chase checking typo")
    page = alice_client.get("/").content.decode()
    assert f'href="/accounts/{typo.pk}/remove/"' in page

    confirm = alice_client.get(f"/accounts/{typo.pk}/remove/")
    assert "Remove chase checking typo?" in confirm.content.decode()
    assert "its 3 transactions" in confirm.content.decode()
    assert Client().get(f"/accounts/{typo.pk}/remove/").status_code == 302  # logged out
    removed = alice_client.post(f"/accounts/{typo.pk}/remove/", follow=True)

    assert "Removed chase checking typo and its transactions." in removed.content.decode()
    assert list(FinancialAccount.objects.filter(user=alice).values_list("name", flat=True)) == [
        "Chase Checking"]
    rows = Transaction.objects.filter(user=alice)
    assert rows.count() == 3
    assert sum(m.total for m in MonthlySpending.objects.filter(user=alice)) == sum(
        r.amount for r in rows)


@pytest.mark.django_db
def test_only_her_own_imported_accounts_can_be_removed(alice_client, alice, bob):
    bobs = FinancialAccountFactory(connection=ConnectionFactory(
        user=bob, provider=Connection.Provider.FILE))
    her_bank = FinancialAccountFactory(connection=ConnectionFactory(user=alice))

    assert alice_client.post(f"/accounts/{bobs.pk}/remove/").status_code == 404
    assert alice_client.get(f"/accounts/{her_bank.pk}/remove/").status_code == 404
    assert FinancialAccount.objects.filter(pk__in=[bobs.pk, her_bank.pk]).count() == 2


@pytest.mark.django_db
def test_a_connection_says_when_it_was_linked_to_tell_two_of_one_bank_apart(alice_client, alice):
    first = ConnectionFactory(user=alice, institution="Mint Demo Bank")
    FinancialAccountFactory(connection=first, name="Checking", mask="4821")
    Connection.objects.filter(pk=first.pk).update(
        created_at=datetime(2026, 3, 2, 9, 30, tzinfo=UTC))

    home = alice_client.get("/").content.decode()
    unlink = alice_client.get(f"/connections/{first.pk}/unlink/").content.decode()

    assert ('linked <time datetime="2026-03-02T09:30:00+00:00">Mar 2, 2026, 09:30 UTC</time>'
            in home)
    assert "Linked Mar 2, 2026, 09:30 UTC: Checking …4821." in unlink


@pytest.mark.django_db
def test_pages_and_api_answers_are_compressed_for_clients_that_ask(alice_client, alice):
    import gzip

    account = FinancialAccountFactory(connection=ConnectionFactory(user=alice))
    add_transactions(account, days=10, per_day=5)

    plain = alice_client.get("/transactions/")
    packed = alice_client.get("/transactions/", headers={"Accept-Encoding": "gzip"})
    api = api_client_for(alice).get("/api/v1/transactions/?page_size=50",
                                    HTTP_ACCEPT_ENCODING="gzip")

    assert "Content-Encoding" not in plain
    assert packed["Content-Encoding"] == "gzip"
    unpacked = gzip.decompress(packed.content).decode()
    assert unpacked.count('id="tx-') == plain.content.decode().count('id="tx-') == 50
    assert len(packed.content) * 4 < len(plain.content)
    assert api["Content-Encoding"] == "gzip"


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("object_store")
def test_the_import_form_leaves_the_signs_to_the_file_or_says_either_way(alice_client, alice):
    from tests.test_csv_import_quirks import AMEX_SHORT

    def upload(name, **fields):
        return alice_client.post("/import/", {
            "file": SimpleUploadedFile("activity.csv", AMEX_SHORT, "text/csv"),
            "account_name": name, **fields}, follow=True)

    for name, choice in (("As the file says", ""), ("Kept", "keep"), ("Flipped", "negate")):
        assert upload(name, negate=choice).status_code == 200

    def amounts(name):
        return sorted(Transaction.objects.filter(user=alice, account__name=name)
                      .values_list("amount", flat=True))

    assert amounts("As the file says") == [Decimal("-412.60"), Decimal("500.00")]  # Amex's
    assert amounts("Kept") == [Decimal("-500.00"), Decimal("412.60")]
    assert amounts("Flipped") == [Decimal("-412.60"), Decimal("500.00")]


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("object_store")
def test_an_import_of_several_accounts_leads_to_their_transactions(alice_client, alice):
    data = (OFX_FIXTURES.parent / "imports" / "mint_export.csv").read_bytes()

    page = alice_client.post("/import/", {"file": SimpleUploadedFile("mint.csv", data)},
                             follow=True)

    assert len(page.context["into"]) > 1
    connection = page.context["into"][0].connection_id
    assert f'href="/transactions/?connection={connection}">See the transactions →' in \
        page.content.decode()


def test_without_javascript_a_rows_change_reloads_with_its_categories(alice_client, alice,
                                                                      blue_bottle, food):
    row = Transaction.objects.filter(user=alice).first()

    page = alice_client.get(f"/transactions/?q=blue&edit={row.pk}").content.decode()

    assert f'<noscript><a href="?q=blue&amp;edit={row.pk}#tx-{row.pk}">' not in page  # its own
    assert '<details class="recategorize" open>' in page
    chosen = page.split(f'id="category-{row.pk}"')[1].split("</select>")[0]
    assert f'<option value="{food.pk}">' in chosen and "data-choices" not in chosen
    assert '<input type="hidden" name="next" value="/transactions/?q=blue">' in page

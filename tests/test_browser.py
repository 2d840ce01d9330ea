"""The dashboard in a real browser: Debian's chromium driven by Playwright.

Celery is eager in tests, so linking the demo bank refreshes it inside the request; the
live server runs in a thread of this process and sees the same settings.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from accounts.providers import sandbox
from tests.conftest import log_in

SCREENSHOT = Path("/tmp/mint-dashboard.png")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("object_store"),
]


def test_sign_up_link_the_demo_bank_and_refresh_it(browser_page, live_server, monkeypatch):
    from playwright.sync_api import expect

    monkeypatch.setattr(sandbox, "today", lambda: date(2026, 5, 20))
    page = browser_page

    # Given an anonymous visitor, the dashboard sends them to the login page.
    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/$"))

    # When they follow "Sign up" and create an account,
    page.get_by_role("link", name="Sign up").click()
    expect(page).to_have_url(re.compile(r"/signup/$"))
    page.get_by_label("Email address").fill("carol@example.com")
    page.get_by_label("Password", exact=True).fill("a-long-passphrase")
    page.get_by_label("Password again").fill("a-long-passphrase")
    page.get_by_role("button", name="Sign up").click()

    # then they land on their (empty) accounts page, logged in.
    expect(page.get_by_role("heading", name="No linked accounts yet")).to_be_visible()
    expect(page.get_by_text("carol@example.com")).to_be_visible()

    # When they link the demo bank,
    page.get_by_label("Institution").select_option("sandbox")
    page.get_by_label("URL").fill("sandbox://demo")
    page.get_by_label("Login").fill("demo")
    page.locator("#id_password").fill("any-password")
    page.get_by_role("button", name="Link account").click()

    # then its accounts and recent transactions show within seconds.
    expect(page.get_by_text("Linked Mint Demo Bank.")).to_be_visible()
    expect(page.locator("table.accounts").get_by_role("link", name="Everyday Checking")).to_be_visible()
    expect(page.locator("table.transactions tbody tr")).to_have_count(10)

    # When they click Refresh, the run's status shows "succeeded".
    page.get_by_role("button", name="Refresh").click()
    expect(page.get_by_text("Refreshed Mint Demo Bank")).to_be_visible()
    expect(page.locator("[data-run-status]")).to_have_text("succeeded")
    expect(page.locator(".badge.status-active")).to_have_text("Up to date")

    page.screenshot(path=str(SCREENSHOT), full_page=True)

    # And the transactions page pages back in time.
    page.get_by_role("link", name="Transactions", exact=True).click()
    expect(page.locator("table.transactions tbody tr")).to_have_count(50)
    page.get_by_role("link", name="Older →").click()
    expect(page).to_have_url(re.compile(r"before="))
    expect(page.locator("table.transactions tbody tr")).to_have_count(50)


def test_a_running_import_page_reloads_itself_but_not_under_the_persons_hands(
        browser_page, live_server):
    from playwright.sync_api import expect

    from tests.factories import UserFactory
    from transactions.models import ImportJob

    erin = UserFactory(email="erin@example.com", password="a-long-passphrase")
    job = ImportJob.objects.create(user=erin, filename="big.csv", format="csv")
    page = browser_page
    log_in(page, live_server.url, "erin@example.com", "a-long-passphrase")
    page.goto(f"{live_server.url}/import/{job.pk}/")
    expect(page.locator("[data-import-status]")).to_have_text("queued")

    # While a link has the keyboard's focus, the page stays as it is (a reload would
    # send the focus back to the top) ...
    page.evaluate("window.mintMarker = 1")
    page.get_by_role("link", name="Import another file").focus()
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.SUCCEEDED, created=4)
    page.wait_for_timeout(4000)
    assert page.evaluate("window.mintMarker") == 1

    # ... and once the focus has left (a click on the page's text, which focuses the
    # page's main part), the next tick reloads it, finished.
    page.get_by_text("Format", exact=True).click()
    expect(page.locator("[data-import-status]")).to_have_text("succeeded", timeout=8000)
    assert page.evaluate("window.mintMarker") is None


def test_a_rows_change_gets_the_categories_when_opened_and_files_the_row(
        browser_page, live_server, taxonomy):
    """The category choices live once in the page; "Change" copies them into its row."""
    from decimal import Decimal

    from playwright.sync_api import expect

    from categories.models import Category
    from tests.factories import ConnectionFactory, FinancialAccountFactory, UserFactory
    from transactions.models import Transaction

    erin = UserFactory(email="erin@example.com", password="a-long-passphrase")
    account = FinancialAccountFactory(connection=ConnectionFactory(user=erin), name="Card")
    rows = [Transaction.objects.create(
        user=erin, account=account, external_id=f"r{i}", posted_on=date(2026, 5, i + 1),
        amount=Decimal("-4.75"), description=f"CORNER SHOP {i}") for i in range(3)]
    coffee = Category.objects.get(user=None, name="Coffee Shops")
    page = browser_page
    log_in(page, live_server.url, "erin@example.com", "a-long-passphrase")
    page.goto(f"{live_server.url}/transactions/")
    select = page.locator(f"#category-{rows[1].pk}")
    assert select.locator("option").count() == 1  # "Keep its category", until opened

    page.locator(f"#tx-{rows[1].pk} details.recategorize summary").click()
    select.select_option(str(coffee.pk))
    page.locator(f"#tx-{rows[1].pk}").get_by_role("button", name="Save").click()

    expect(page.locator(f"#tx-{rows[1].pk} td.category")).to_contain_text("Coffee Shops")
    rows[1].refresh_from_db()
    assert rows[1].category_id == coffee.pk and rows[1].category_source == "manual"

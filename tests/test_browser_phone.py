"""Every dashboard page on a phone (390 × 844 CSS pixels, an iPhone 12–15): nothing may be
wider than the screen, so the page never scrolls sideways and nothing is cut off. Wide
tables scroll inside their own box instead. Debian's chromium driven by Playwright (the
``browser_page`` fixture in conftest.py)."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from tests.conftest import log_in

PHONE = {"width": 390, "height": 844}
SCREENSHOTS = Path("/tmp")
PASSWORD = "a-long-passphrase"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("taxonomy"),
]

# What the page's width is made of when it is too wide: the elements that reach past
# the right edge of the screen, outside any box that scrolls on its own.
WIDEST = """() => {
  const width = window.innerWidth;
  const scrolls = el => {
    for (let p = el.parentElement; p; p = p.parentElement) {
      if (getComputedStyle(p).overflowX === "auto" || getComputedStyle(p).overflowX === "scroll") return true;
    }
    return false;
  };
  return [...document.querySelectorAll("body *")]
    .filter(el => el.getBoundingClientRect().right > width + 0.5 && !scrolls(el))
    .slice(0, 8)
    .map(el => `${el.tagName.toLowerCase()}.${el.className} right=${Math.round(el.getBoundingClientRect().right)}`);
}"""


@pytest.fixture
def erin():
    """Erin has one of everything a page can list, with the longest texts it may show."""
    from django.utils import timezone

    from accounts.models import Connection
    from accounts.services import file_connection_for
    from budgets.models import BudgetProfile, MonthlySpending
    from budgets.selectors import current_month
    from categories.models import Category
    from categories.services import rule_create
    from notifications.models import Notification
    from tests.factories import ConnectionFactory, FinancialAccountFactory, UserFactory
    from transactions.models import ImportJob, RawDump, Transaction

    erin = UserFactory(email="erin.with-a-rather-long-address@example.com", password=PASSWORD)
    connection = ConnectionFactory(
        user=erin, institution="Riverbend Community Credit Union of the Valley",
        provider=Connection.Provider.OFX, url="https://ofx.riverbend-credit-union.example/ofx",
        status=Connection.Status.ERROR, last_refreshed_at=timezone.now(),
        last_error="could not reach 127.0.0.1: [Errno 111] Connection refused "
                   "(gave up after 6 attempts)",
    )
    account = FinancialAccountFactory(connection=connection, name="Joint Everyday Checking",
                                      mask="7731", balance=Decimal("-12345.67"))
    groceries = Category.objects.get(user=None, name="Groceries")
    today = date.today()
    Transaction.objects.bulk_create(
        Transaction(user=erin, account=account, external_id=f"t{i}",
                    posted_on=today - timedelta(days=i), amount=Decimal(f"-{1000 + i}.99"),
                    description=f"POS PURCHASE 1234 WHOLEFOODSMARKETPLACE#10{i} AUSTIN TX",
                    seller="Whole Foods Market", seller_key="whole foods market",
                    category=groceries, category_source="seller", pending=i == 0)
        for i in range(5)
    )
    rule_create(user=erin, category=groceries, seller="Whole Foods Market",
                description_contains="POS PURCHASE 1234 WHOLEFOODSMARKETPLACE#10",
                amount_min=Decimal("-12345.67"), amount_max=Decimal("-1000.00"),
                account=account, rename_to="Whole Foods Market (Austin, Lamar Blvd)")
    rule_create(user=erin, category=groceries, seller="Amazon",
                rename_to="Amazon_" + "B" * 120)  # no space to wrap at
    own = Category.objects.create(user=erin, parent=groceries.parent,
                                  name="Farmers_Market_" + "X" * 80)
    files = FinancialAccountFactory(connection=file_connection_for(user=erin),
                                    name="Imported CSV of the joint account, 2019 to 2026")
    BudgetProfile.objects.create(user=erin, monthly_income=Decimal("123456.78"))
    MonthlySpending.objects.create(user=erin, month=current_month(erin), category=groceries,
                                   total=Decimal("-98765.43"), count=5)
    job = ImportJob.objects.create(
        user=erin, account=account, format="csv", status=ImportJob.Status.FAILED,
        filename="Statement-Joint-Everyday-Checking-2026-05-01-to-2026-05-31.csv",
        error="line 14: expected a date in the 'Posted Date' column, found 'TOTAL'",
    )
    dump = RawDump.objects.create(user=erin, key="u/erin/a/1", media_type="text/csv", size=1,
                                  sha256="0" * 64)
    imported = ImportJob.objects.create(
        user=erin, format="csv", status=ImportJob.Status.SUCCEEDED, created=3, dump=dump,
        rows_since=timezone.now(), account_ids=[files.pk],
        filename="Kontoauszug_Export_2026_11_Girokonto_DE89370400440532013000_ohne_"
                 "Leerzeichen_ÄÖÜ_sehr_lang_und_noch_laenger.csv",
    )
    Notification.objects.create(
        user=erin, kind="refresh_failing", title="An account failed to refresh",
        body=f"{connection}: {connection.last_error}", dedupe_key="refresh_failing:1",
    )
    return {"connection": connection, "job": job, "imported": imported, "own": own}


def overflow(page) -> str:
    """Empty when the page fits the screen, else what makes it wider. Measured once the
    stylesheet has loaded (after a click, the text may show before it)."""
    page.wait_for_load_state("load")
    width = page.evaluate("document.documentElement.scrollWidth")
    if width <= PHONE["width"]:
        return ""
    return f"{page.url} is {width}px wide: {page.evaluate(WIDEST)}"


def test_every_page_fits_a_phone_screen(browser_page, live_server, erin):
    from playwright.sync_api import expect

    page = browser_page
    page.set_viewport_size(PHONE)
    too_wide, off_screen = [], []

    # Logged out: the login and sign-up pages.
    for path in ["/accounts/login/", "/signup/"]:
        page.goto(f"{live_server.url}{path}")
        too_wide.append(overflow(page))

    # Given Erin logged in on her phone,
    log_in(page, live_server.url, "erin.with-a-rather-long-address@example.com", PASSWORD)
    nav = page.get_by_role("navigation", name="Main")
    expect(nav).to_be_visible()

    # when she opens every page the top bar leads to, and the pages those lead to,
    pages = {"accounts": "/", "transactions": "/transactions/", "import": "/import/",
             "import-detail": f"/import/{erin['job'].pk}/", "budgets": "/budgets/",
             "rules": "/rules/", "notifications": "/notifications/",
             "unlink": f"/connections/{erin['connection'].pk}/unlink/",
             "imported": f"/import/{erin['imported'].pk}/",
             "undo": f"/import/{erin['imported'].pk}/undo/", "categories": "/categories/",
             "category-delete": f"/categories/{erin['own'].pk}/delete/",
             "trends": "/trends/?months=24", "preferences": "/notifications/preferences/",
             "settings": "/settings/"}
    for name, path in pages.items():
        response = page.goto(f"{live_server.url}{path}")
        assert response is not None and response.status == 200, f"{path}: {response}"
        # (on the transactions page with a category form open, on the accounts page with
        # the error's technical details open: the widest states they have)
        if name == "transactions":
            page.locator("details.recategorize summary").first.click()
        if name == "accounts":
            detail = page.get_by_text("[Errno 111] Connection refused")
            expect(page.get_by_text("We couldn't get your latest transactions")).to_be_visible()
            expect(detail).to_be_hidden()
            page.get_by_text("Technical details").click()
            expect(detail).to_be_visible()
        too_wide.append(overflow(page))
        # then every link of the top bar is on the screen,
        for link in nav.get_by_role("link").all():
            box = link.bounding_box()
            if box is None or box["x"] < 0 or box["x"] + box["width"] > PHONE["width"]:
                off_screen.append(f"{link.inner_text()!r} on {path}: {box}")
        page.screenshot(path=str(SCREENSHOTS / f"mint-phone-{name}.png"), full_page=True)

    # and no page is wider than the screen.
    problems = off_screen + [line for line in too_wide if line]
    assert not problems, "\n".join(problems)


def test_the_budget_controls_are_reachable_on_a_phone(browser_page, live_server, erin):
    from playwright.sync_api import expect

    page = browser_page
    page.set_viewport_size(PHONE)
    log_in(page, live_server.url, "erin.with-a-rather-long-address@example.com", PASSWORD)

    # Given the Budgets page on a phone,
    page.goto(f"{live_server.url}/budgets/")
    food = page.locator('tr[data-category="Food & Dining"]')

    # the Remaining figure and the Set button of a row are on the screen (or scroll into it
    # within the table's own box), and setting a budget works.
    remaining = food.locator('[data-field="remaining"]')
    remaining.scroll_into_view_if_needed()
    expect(remaining).to_be_in_viewport()
    food.get_by_label("Budget for Food & Dining").fill("100")
    button = food.get_by_role("button", name="Set the Food & Dining budget")
    button.scroll_into_view_if_needed()
    expect(button).to_be_in_viewport()
    button.click()
    expect(page.get_by_text(re.compile(
        r"Food & Dining budget set to 100\.00 a month from \w+ \d{4} on\."))).to_be_visible()
    assert overflow(page) == ""


def test_on_a_small_laptop_the_top_bar_is_one_row_and_amounts_stay_on_screen(
        browser_page, live_server, erin):
    from accounts.models import FinancialAccount

    page = browser_page
    page.set_viewport_size({"width": 1024, "height": 800})
    # An account name as long as an import may give (up to 100 characters).
    FinancialAccount.objects.filter(name="Joint Everyday Checking").update(
        name="My Extremely Long Account Name That Goes On And On For The Joint Household Checking")
    log_in(page, live_server.url, "erin.with-a-rather-long-address@example.com", PASSWORD)

    page.goto(f"{live_server.url}/transactions/")
    page.wait_for_load_state("load")

    nav = page.get_by_role("navigation", name="Main").bounding_box()
    logout = page.get_by_role("button", name=re.compile("Log out")).bounding_box()
    assert logout["y"] < nav["y"] + nav["height"], (nav, logout)  # beside the menu, not under
    amount = page.locator("table.transactions td.amount").first.bounding_box()
    assert amount["x"] + amount["width"] <= 1024, amount
    assert page.evaluate("document.documentElement.scrollWidth") <= 1024

"""The Budgets page in a real browser: Debian's chromium driven by Playwright (the ``browser_page``
fixture in conftest.py). Celery is eager in tests, so the budget check that follows a new
budget runs inside the request."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest

from tests.conftest import log_in

SCREENSHOT = Path("/tmp/mint-budgets.png")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("taxonomy"),
]


def test_set_a_budget_below_the_spending_and_see_it_over_budget(browser_page, live_server):
    from playwright.sync_api import expect

    from budgets.models import BudgetProfile, MonthlySpending
    from budgets.selectors import current_month
    from categories.models import Category
    from tests.factories import UserFactory

    # Given Dana, who earns 4,000 a month and spent 150 on groceries this month,
    dana = UserFactory(email="dana@example.com", password="a-long-passphrase")
    BudgetProfile.objects.create(user=dana, monthly_income=Decimal("4000"))
    MonthlySpending.objects.create(
        user=dana, month=current_month(dana), total=Decimal("-150.00"), count=3,
        category=Category.objects.get(user=None, name="Groceries"),
    )
    page = browser_page

    # when she logs in and opens Budgets from the top bar,
    log_in(page, live_server.url, "dana@example.com", "a-long-passphrase")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Budgets").click()

    # then Food & Dining follows the template (15 % of 4,000) and is a quarter spent.
    food = page.locator('tr[data-category="Food & Dining"]')
    expect(food.locator('[data-field="amount"]')).to_have_text("600.00")
    expect(food.locator('[data-field="percent"]')).to_have_text("25.0%")
    expect(food.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "25")
    expect(food.get_by_text("Over budget")).to_have_count(0)

    # When she sets it to 100,
    food.get_by_label("Budget for Food & Dining").fill("100")
    food.get_by_role("button", name="Set the Food & Dining budget").click()

    # then the row says she is over budget, at 150 %, with its bar full,
    expect(page.get_by_text(re.compile(
        r"Food & Dining budget set to 100\.00 a month from \w+ \d{4} on\."))).to_be_visible()
    expect(page).to_have_url(re.compile(r"/budgets/\?month=\d{4}-\d{2}#budget-\d+$"))
    expect(food).to_have_class(re.compile(r"\bover\b"))
    expect(food.get_by_text("Over budget")).to_be_visible()
    expect(food.get_by_text("Set by you")).to_be_visible()
    expect(food.locator('[data-field="percent"]')).to_have_text("150.0%")
    expect(food.locator('[data-field="remaining"]')).to_have_text("-50.00")
    progress = food.get_by_role("progressbar")
    expect(progress).to_have_attribute("aria-valuenow", "100")
    expect(progress).to_have_attribute("aria-valuetext", "150.0% spent, over budget")
    # and the budget check's alert waits behind the top bar's badge.
    expect(page.locator(".nav-count")).to_have_attribute("data-unread", "1")
    page.screenshot(path=str(SCREENSHOT), full_page=True)

    # When she goes back to the recommendation, the row is no longer over budget.
    food.get_by_role("button", name="Use recommendation for Food & Dining").click()
    expect(page.get_by_text("Food & Dining follows the recommendation again.")).to_be_visible()
    expect(food.locator('[data-field="amount"]')).to_have_text("600.00")
    expect(food.get_by_text("Over budget")).to_have_count(0)


def test_a_refused_budget_far_down_the_page_says_why_where_she_is(browser_page, live_server):
    """The page goes back to the row's anchor: its message must still be in view (it had
    stayed at the top of the page, out of sight, and the box quietly showed the old
    amount)."""
    from playwright.sync_api import expect

    from tests.factories import UserFactory

    UserFactory(email="erin@example.com", password="a-long-passphrase")
    page = browser_page
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, live_server.url, "erin@example.com", "a-long-passphrase")
    page.goto(f"{live_server.url}/budgets/")

    last = page.locator("tr[data-category]").last
    name = last.get_attribute("data-category")
    box = last.get_by_label(f"Budget for {name}")
    box.fill("10000000000000")
    last.get_by_role("button", name=f"Set the {name} budget").click()
    # The browser refuses it first (the box's max is the largest budget taken) ...
    expect(page).not_to_have_url(re.compile(r"#budget-\d+$"))
    assert box.evaluate("el => el.validity.rangeOverflow")
    # ... and the server says why when a browser does not check (here: told not to).
    page.evaluate("document.querySelectorAll('form.budget-form').forEach(f => f.noValidate = true)")
    last.get_by_role("button", name=f"Set the {name} budget").click()

    expect(page).to_have_url(re.compile(r"#budget-\d+$"))
    message = page.locator(".messages .message.error")
    expect(message).to_contain_text("no more than 12 digits")
    expect(message).to_be_in_viewport()
    # beside the box too, which keeps what was typed
    expect(last.locator("[data-amount-error]")).to_contain_text("no more than 12 digits")
    expect(last.get_by_label(f"Budget for {name}")).to_have_value("10000000000000")
    page.get_by_role("button", name="Dismiss the message").click()
    expect(page.locator(".messages")).to_have_count(0)


def test_the_first_tab_skips_the_menu_to_the_page(browser_page, live_server):
    from playwright.sync_api import expect

    from tests.factories import UserFactory

    UserFactory(email="erin@example.com", password="a-long-passphrase")
    page = browser_page
    log_in(page, live_server.url, "erin@example.com", "a-long-passphrase")
    page.goto(f"{live_server.url}/budgets/")

    # Given a keyboard user on a page, the first Tab reaches "Skip to content", shown,
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    # and Enter moves past the nine stops of the top bar into the page.
    page.keyboard.press("Enter")
    expect(page.locator("main#content")).to_be_focused()

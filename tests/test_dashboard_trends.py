"""The dashboard's Trends page: spending per category and month, its totals, its links to
the transactions behind each amount, and what it refuses."""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime
from unittest import mock

import pytest
from django.test import Client

from categories.models import Category
from tests.conftest import api_client_for
from tests.factories import spend
from tests.factories import sub_category as sub

NOW = datetime(2026, 3, 15, 12, tzinfo=UTC)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def now():
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        yield NOW






def cells(page: str, marker: str) -> list[str]:
    """The text of each cell of the table row that holds ``marker``."""
    row = re.search(rf"<tr {marker}>(.*?)</tr>", page, re.S).group(1)
    return [re.sub(r"<[^>]+>", "", html.unescape(c)).strip()
            for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)]


def test_trends_show_each_category_per_month_with_totals_and_links(alice, alice_client):
    spend(alice, date(2026, 1, 1), sub("Groceries"), "-300")
    spend(alice, date(2026, 1, 1), sub("Restaurants"), "-45.50")
    spend(alice, date(2026, 3, 1), sub("Groceries"), "-120")
    spend(alice, date(2026, 2, 1), sub("Gas & Fuel"), "-60")
    spend(alice, date(2026, 2, 1), sub("Paycheck"), "4000")
    spend(alice, date(2025, 12, 1), sub("Groceries"), "-999")  # before the 3 months

    response = alice_client.get("/trends/?months=3")
    page = response.content.decode()

    assert response.status_code == 200
    assert 'rel="next"' not in page and 'rel="prev"' in page  # no months to come
    assert cells(page, 'data-category="Food &amp; Dining"') == [
        "Food & Dining", "345.50", "—", "120.00", "465.50", "155.17"]
    assert cells(page, 'data-category="Auto &amp; Transport"') == [
        "Auto & Transport", "—", "60.00", "—", "60.00", "20.00"]
    # The biggest category first.
    assert page.index('data-category="Food') < page.index('data-category="Auto')
    assert cells(page, 'data-row="spent"') == ["Spent", "345.50", "60.00", "120.00", "525.50",
                                               "175.17"]
    assert cells(page, 'data-row="income"')[:4] == ["Income", "0.00", "4,000.00", "0.00"]
    assert cells(page, 'data-row="net"')[:4] == ["Net", "-345.50", "3,940.00", "-120.00"]
    food = Category.objects.get(user=None, parent=None, name="Food & Dining")
    assert (f'href="/transactions/?category={food.id}&amp;date_from=2026-01-01&amp;'
            'date_to=2026-01-31"') in page
    # The same figures as the API's trends.
    api = api_client_for(alice).get("/api/v1/trends/?months=3").json()
    assert api["months"][0]["categories"] == {"Food & Dining": "345.50"}


def test_a_month_of_more_refunds_than_spending_has_an_empty_bar(alice, alice_client):
    spend(alice, date(2026, 2, 1), sub("Groceries"), "-100")
    spend(alice, date(2026, 3, 1), sub("Clothing"), "40")  # a refund, nothing bought

    page = alice_client.get("/trends/?months=3").content.decode()

    assert cells(page, 'data-row="spent"')[1:4] == ["0.00", "100.00", "-40.00"]
    assert "height: -" not in page and 'style="height: 0%"' in page


def test_trends_of_another_period_and_length(alice, alice_client):
    spend(alice, date(2025, 6, 1), sub("Groceries"), "-80")

    earlier = html.unescape(alice_client.get("/trends/?months=6&month=2025-08").content.decode())
    recent = alice_client.get("/trends/?months=3").content.decode()

    assert "Trends <span class=\"muted\">· Mar 2025 – Aug 2025</span>" in earlier
    assert cells(earlier, 'data-row="spent"')[1:7] == [
        "0.00", "0.00", "0.00", "80.00", "0.00", "0.00"]
    assert 'href="?months=6&month=2025-02"' in earlier  # ← the six months before
    assert 'href="?months=6&month=2026-02"' in earlier  # the six months after →
    assert "No spending from January 2026 to March 2026" in recent


@pytest.mark.parametrize("query", ["months=5", "months=abc", "month=2026-13", "month=1"])
def test_a_malformed_choice_is_a_400_page_that_links_to_the_default(alice_client, query):
    response = alice_client.get(f"/trends/?{query}")

    assert response.status_code == 400
    assert 'href="/trends/"' in response.content.decode()


def test_bob_sees_only_his_own_trends(alice, bob, alice_client):
    spend(alice, date(2026, 3, 1), sub("Groceries"), "-300")
    as_bob = Client()
    as_bob.force_login(bob)

    page = as_bob.get("/trends/").content.decode()

    assert "300.00" not in page and "No spending" in page
    assert alice_client.get("/trends/").content.decode().count("300.00") >= 1


def test_the_api_gives_each_month_the_ids_and_totals_the_page_shows(alice, alice_client):
    # given spending in two categories, a refund and income over three months
    spend(alice, date(2026, 1, 1), sub("Groceries"), "-300")
    spend(alice, date(2026, 1, 1), sub("Restaurants"), "-45.50")
    spend(alice, date(2026, 2, 1), sub("Gas & Fuel"), "-60")
    spend(alice, date(2026, 2, 1), sub("Paycheck"), "4000")
    spend(alice, date(2026, 3, 1), sub("Clothing"), "40")  # a refund, nothing bought
    food = Category.objects.get(user=None, parent=None, name="Food & Dining")
    auto = Category.objects.get(user=None, parent=None, name="Auto & Transport")
    shopping = Category.objects.get(user=None, parent=None, name="Shopping")

    # when the app asks for the trends and the person opens the page
    months = api_client_for(alice).get("/api/v1/trends/?months=3").json()["months"]
    page = alice_client.get("/trends/?months=3").content.decode()

    # then each month names its categories by id, for /api/v1/transactions/?category=<id>…
    assert [m["spending"] for m in months] == [
        [{"category": food.id, "name": "Food & Dining", "spent": "345.50"}],
        [{"category": auto.id, "name": "Auto & Transport", "spent": "60.00"}],
        [{"category": shopping.id, "name": "Shopping", "spent": "-40.00"}],
    ]
    # …with its spending and net, the figures of the page's Spent and Net rows
    assert [(m["spent"], m["income"], m["net"]) for m in months] == [
        ("345.50", "0.00", "-345.50"), ("60.00", "4000.00", "3940.00"),
        ("-40.00", "0.00", "40.00")]
    assert cells(page, 'data-row="spent"')[1:4] == ["345.50", "60.00", "-40.00"]
    assert cells(page, 'data-row="net"')[1:4] == ["-345.50", "3,940.00", "40.00"]
    # and what clients read before is still there
    assert months[0]["categories"] == {"Food & Dining": "345.50"}


def test_the_page_and_the_api_share_one_cached_trends(alice, alice_client,
                                                     django_assert_max_num_queries):
    spend(alice, date(2026, 3, 1), sub("Groceries"), "-120")
    assert api_client_for(alice).get("/api/v1/trends/?months=3")["X-Cache"] == "miss"

    # The page reads the API's entry: the category ids come with it (no taxonomy read).
    with django_assert_max_num_queries(4):  # session, user, the accounts' currencies
        page = alice_client.get("/trends/?months=3").content.decode()

    food = Category.objects.get(user=None, parent=None, name="Food & Dining")
    assert f"/transactions/?category={food.id}&amp;" in page


def test_the_schema_documents_a_trends_months_ids_and_totals(api):
    schema = api.get("/api/v1/schema/?format=json").json()
    month = schema["components"]["schemas"]["TrendsMonth"]

    assert {"month", "categories", "income", "spending", "spent", "net"} <= set(
        month["required"])
    assert month["properties"]["spending"]["items"]["$ref"].endswith("/SpendingLine")

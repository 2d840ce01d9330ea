"""The dashboard's Budgets and Notifications pages (#4) through Django's test client: the
figures they show, the forms that change budgets and mark notifications read, who sees
what, and how many queries a page costs."""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from unittest import mock
from urllib.parse import urljoin

import pytest
from django.test import Client

from budgets.models import Budget, BudgetProfile
from budgets.services import budget_set
from categories.models import Category
from notifications import views as notification_views
from notifications.models import Notification
from tests.factories import form_csrf_token, spend
from tests.factories import sub_category as sub
from tests.factories import top_category as top

NOW = datetime(2026, 3, 15, 12, tzinfo=UTC)
MARCH = date(2026, 3, 1)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def now():
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        yield NOW








def notify(user, n: int, *, read: bool = False, kind: str = "refresh_finished") -> list:
    return [
        Notification.objects.create(
            user=user, kind=kind, title=f"Note {i} for {user.email}", body=f"body {i}",
            dedupe_key=f"{kind}:{i}", read_at=NOW if read else None,
        )
        for i in range(n)
    ]


def row(page: str, name: str) -> str:
    """The <tr> of one budget row."""
    found = re.search(rf'<tr id="budget-\d+" class="budget-row[^"]*" data-category="{re.escape(name)}">'
                      r".*?</tr>", page, re.S)
    assert found, name
    return found.group(0)


def field(row_html: str, name: str) -> str:
    found = re.search(rf'data-field="{name}">([^<]*)<', row_html)
    assert found, name
    return found.group(1)


@pytest.fixture
def march(alice):
    """Alice earns 4,000 (her setting): the template gives Food & Dining 15 % = 600. She set
    Auto & Transport to 50 by hand and spent 80 on it; 105 went on groceries."""
    BudgetProfile.objects.create(user=alice, monthly_income=Decimal("4000"))
    budget_set(user=alice, category=top("Auto & Transport"), amount=Decimal("50"))
    spend(alice, MARCH, sub("Groceries"), "-105.00")
    spend(alice, MARCH, sub("Gas & Fuel"), "-80.00")
    spend(alice, MARCH, sub("Paycheck"), "3000.00")
    spend(alice, MARCH, top("Transfer"), "-500.00")  # not spending


# --- the Budgets page ---------------------------------------------------------------------


def test_the_budgets_page_shows_the_months_summary_and_every_spending_category(
    alice_client, march
):
    response = alice_client.get("/budgets/", {"month": "2026-03"})

    page = response.content.decode()
    assert response.status_code == 200
    assert "March 2026" in page
    assert 'data-summary="spent">185.00<' in page
    assert 'data-summary="income">3,000.00<' in page
    assert 'data-summary="net">2,815.00<' in page

    food = row(page, "Food &amp; Dining")
    assert [field(food, f) for f in ("amount", "spent", "remaining", "percent")] == [
        "600.00", "105.00", "495.00", "17.5%"]
    assert 'data-source="template">Template<' in food
    assert 'aria-valuenow="18"' in food and 'aria-valuetext="17.5% spent"' in food
    assert "Over budget" not in food and "Use recommendation" not in food

    auto = row(page, "Auto &amp; Transport")
    assert [field(auto, f) for f in ("amount", "spent", "remaining", "percent")] == [
        "50.00", "80.00", "-30.00", "160.0%"]
    assert 'class="budget-row over"' in auto and "Over budget" in auto
    assert 'data-source="manual">Set by you<' in auto
    assert 'role="progressbar"' in auto and 'aria-valuenow="100"' in auto
    assert 'aria-valuetext="160.0% spent, over budget"' in auto
    assert "Use recommendation" in auto

    assert page.count('class="budget-row') == Category.objects.filter(
        user=None, parent=None, is_income=False, is_transfer=False).count()
    assert 'data-category="Income"' not in page and 'data-category="Transfer"' not in page
    assert 'name="monthly_income" value="4000.00"' in page
    assert 'name="approaching_percent" value="80"' in page


def test_the_budgets_page_defaults_to_this_month_and_links_the_next_and_previous(
    alice_client, march
):
    this_month = alice_client.get("/budgets/").content.decode()
    january = alice_client.get("/budgets/", {"month": "2026-01"}).content.decode()

    assert "March 2026" in this_month and 'data-summary="spent">185.00<' in this_month
    assert 'href="?month=2026-02" rel="prev"' in this_month
    assert 'href="?month=2026-04" rel="next"' in this_month
    assert ">This month</a>" not in this_month
    assert 'href="?month=2025-12" rel="prev"' in january
    assert ">This month</a>" in january
    assert 'data-summary="spent">0.00<' in january


def test_only_the_current_month_shows_the_forms_that_set_a_budget(alice_client, march):
    this_month = alice_client.get("/budgets/").content.decode()
    february = alice_client.get("/budgets/", {"month": "2026-02"}).content.decode()
    april = alice_client.get("/budgets/", {"month": "2026-04"}).content.decode()

    assert 'class="budget-form"' in this_month and "data-past-month" not in this_month
    assert "data-future-month" not in this_month
    assert 'class="budget-form"' not in february and "Set the budget" not in february
    assert "These are the budgets February 2026 had." in february
    # A later month: a form there set the budget from this month on, a surprise (the
    # API refuses another ?month= too); the page says where budgets are set.
    assert 'class="budget-form"' not in april and "Set the budget" not in april
    assert "A budget set by hand holds in April 2026 as it does now" in april


def test_a_recommendation_from_history_says_so(alice_client, alice):
    spend(alice, date(2026, 2, 1), sub("Groceries"), "-300.00")

    page = alice_client.get("/budgets/", {"month": "2026-03"}).content.decode()

    assert 'data-source="recommended">Recommended<' in row(page, "Food &amp; Dining")


@pytest.mark.parametrize(("month", "says"), [
    *((m, "month must look like 2026-11") for m in ("2026-13", "2026-3", "march", "2026-03-01")),
    # 9999-12 was a 500: its page links the next month, which has no date
    *((m, "month must be between 1900-01 and 9998-12") for m in ("9999-12", "1899-12")),
])
def test_a_bad_month_is_a_400_page_with_a_way_back(alice_client, march, month, says):
    response = alice_client.get("/budgets/", {"month": month})

    page = response.content.decode()
    assert response.status_code == 400
    assert says in page
    assert 'href="/budgets/">Budgets for this month' in page


def test_the_first_and_last_months_link_no_month_outside_the_range(alice_client, march):
    first = alice_client.get("/budgets/", {"month": "1900-01"}).content.decode()
    last = alice_client.get("/budgets/", {"month": "9998-12"}).content.decode()

    assert 'rel="prev"' not in first and 'href="?month=1900-02" rel="next"' in first
    assert 'rel="next"' not in last and 'href="?month=9998-11" rel="prev"' in last


def test_bob_sees_only_his_own_budgets_and_spending(client, bob, march):
    client.force_login(bob)

    page = client.get("/budgets/", {"month": "2026-03"}).content.decode()

    assert 'data-summary="spent">0.00<' in page and 'data-summary="income">0.00<' in page
    auto = row(page, "Auto &amp; Transport")
    # no percent of no budget (the API still says 0.0)
    assert [field(auto, f) for f in ("amount", "spent", "percent")] == ["0.00", "0.00", "—"]
    assert 'data-source="template"' in auto and "Over budget" not in auto
    assert 'name="monthly_income" value="4000.00"' not in page


def test_a_form_posted_from_a_past_months_stale_page_changes_nothing(alice_client, alice,
                                                                     march):
    food = top("Food & Dining")
    Budget.objects.create(user=alice, category=food, since=date(2025, 12, 1),
                          amount=Decimal("50.00"))
    before = list(Budget.objects.filter(user=alice).values_list("category", "since", "amount"))

    set_ = alice_client.post(f"/budgets/{food.pk}/", {"amount": "100", "month": "2026-01"},
                             follow=True)
    reset = alice_client.post(f"/budgets/{food.pk}/recommendation/", {"month": "2026-01"},
                              follow=True)

    assert "Budgets are set from March 2026 on; January 2026 keeps" in set_.content.decode()
    assert "Budgets are set from March 2026 on" in reset.content.decode()
    assert list(Budget.objects.filter(user=alice).values_list("category", "since",
                                                              "amount")) == before


def test_a_form_posted_from_a_later_months_page_changes_nothing(alice_client, alice, march):
    food = top("Food & Dining")
    before = list(Budget.objects.filter(user=alice).values_list("category", "since", "amount"))

    set_ = alice_client.post(f"/budgets/{food.pk}/", {"amount": "123", "month": "2026-05"},
                             follow=True)

    assert "Budgets are set from March 2026 on: a budget set now holds in May 2026 too" in (
        set_.content.decode())
    assert list(Budget.objects.filter(user=alice).values_list("category", "since",
                                                              "amount")) == before


def test_setting_a_budget_through_the_form_changes_the_row(
    alice_client, alice, march, django_capture_on_commit_callbacks
):
    food = top("Food & Dining")
    alice_client.get("/budgets/", {"month": "2026-03"})  # the summary is now cached

    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(f"/budgets/{food.pk}/",
                                     {"amount": "100", "month": "2026-03"})

    assert response.status_code == 302
    assert response["Location"] == f"/budgets/?month=2026-03#budget-{food.pk}"
    assert Budget.objects.get(user=alice, category=food).amount == Decimal("100.00")
    page = alice_client.get(response["Location"]).content.decode()
    assert "Food &amp; Dining budget set to 100.00 a month from March 2026 on." in page
    food_row = row(page, "Food &amp; Dining")
    assert [field(food_row, f) for f in ("amount", "remaining", "percent")] == [
        "100.00", "-5.00", "105.0%"]
    assert "Over budget" in food_row and 'data-source="manual"' in food_row
    # The budget check ran after the commit and announced both budgets now over.
    assert set(Notification.objects.filter(user=alice, kind="budget_exceeded")
               .values_list("title", flat=True)) == {"Over budget: Food & Dining",
                                                     "Over budget: Auto & Transport"}
    assert 'data-unread="2"' in page


def test_spending_exactly_the_budget_shows_it_reached_not_over(alice_client, alice, march):
    food = top("Food & Dining")
    alice_client.post(f"/budgets/{food.pk}/", {"amount": "105", "month": "2026-03"})

    page = alice_client.get("/budgets/", {"month": "2026-03"}).content.decode()

    food_row = row(page, "Food &amp; Dining")
    assert [field(food_row, f) for f in ("amount", "remaining", "percent")] == [
        "105.00", "0.00", "100.0%"]
    assert "Budget reached" in food_row and "Over budget" not in food_row
    assert 'class="budget-row"' in food_row and "negative" not in food_row


def test_use_recommendation_drops_the_budget_set_by_hand(alice_client, alice, march):
    auto = top("Auto & Transport")

    response = alice_client.post(f"/budgets/{auto.pk}/recommendation/", {"month": "2026-03"},
                                 follow=True)

    assert response.redirect_chain == [(f"/budgets/?month=2026-03#budget-{auto.pk}", 302)]
    assert not Budget.objects.filter(user=alice).exists()
    page = response.content.decode()
    assert "Auto &amp; Transport follows the recommendation again." in page
    auto_row = row(page, "Auto &amp; Transport")
    assert field(auto_row, "amount") == "400.00"  # 10 % of 4,000
    assert 'data-source="template"' in auto_row and "Over budget" not in auto_row


@pytest.mark.parametrize(("amount", "error"), [
    ("abc", "Enter an amount, e.g. 250.00."),
    ("", "Enter an amount, e.g. 250.00."),
    ("-5", "greater than or equal to 0"),
    ("10.123", "no more than 2 decimal places"),
    ("1e999", "no more than 14 digits in total"),
    ("NaN", "Enter an amount, e.g. 250.00."),
    ("1000000000.00", "between 0.00 and 999,999,999.99"),
])
def test_an_invalid_amount_shows_a_message_and_changes_nothing(alice_client, alice, march,
                                                                amount, error):
    auto = top("Auto & Transport")

    response = alice_client.post(f"/budgets/{auto.pk}/", {"amount": amount, "month": "2026-03"},
                                 follow=True)

    page = response.content.decode()
    assert response.redirect_chain == [(f"/budgets/?month=2026-03#budget-{auto.pk}", 302)]
    assert '<li class="message error">Auto &amp; Transport: ' in page
    assert html.escape(error) in page
    assert list(Budget.objects.filter(user=alice).values_list("category_id", "amount")) == [
        (auto.pk, Decimal("50.00"))]
    # next to its box, which keeps what was typed; once (the next page is as before)
    auto_row = row(page, "Auto &amp; Transport")
    assert f'value="{html.escape(amount)}"' in auto_row and 'aria-invalid="true"' in auto_row
    assert f'id="amount-error-{auto.pk}" data-amount-error>' in auto_row
    again = row(alice_client.get("/budgets/?month=2026-03").content.decode(),
                "Auto &amp; Transport")
    assert "data-amount-error" not in again and 'value="50.00"' in again


def test_income_transfer_and_sub_categories_take_no_budget(alice_client, alice):
    income = alice_client.post(f"/budgets/{top('Income').pk}/", {"amount": "10"}, follow=True)
    groceries = alice_client.post(f"/budgets/{sub('Groceries').pk}/", {"amount": "10"})
    unknown = alice_client.post("/budgets/999999/", {"amount": "10"})

    assert "Budgets are set on top-level spending categories" in income.content.decode()
    assert (groceries.status_code, unknown.status_code) == (404, 404)
    assert not Budget.objects.exists()


def test_resetting_income_to_the_recommendation_says_it_takes_no_budget_not_a_500(
        alice_client, alice):
    # given a crafted post (the page shows no such button for Income)
    income = top("Income")

    # when it asks to put Income back on the recommendation
    response = alice_client.post(f"/budgets/{income.pk}/recommendation/", follow=True)

    # then the budgets page says why, as setting one does
    assert response.redirect_chain == [(f"/budgets/#budget-{income.pk}", 302)]
    assert ('<li class="message error">Income: Budgets are set on top-level spending '
            "categories") in response.content.decode()
    assert not Budget.objects.exists()


def test_a_month_not_from_the_page_goes_back_to_this_month(alice_client, alice):
    food = top("Food & Dining")

    response = alice_client.post(f"/budgets/{food.pk}/",
                                 {"amount": "10", "month": "//evil.example"})

    assert response["Location"] == f"/budgets/#budget-{food.pk}"


def test_the_settings_form_sets_income_and_threshold_and_empty_income_estimates_it(
    alice_client, alice, march
):
    saved = alice_client.post("/budgets/settings/", {"monthly_income": "5000",
                                                     "approaching_percent": "90",
                                                     "month": "2026-03"})
    profile = BudgetProfile.objects.get(user=alice)
    after_save = (profile.monthly_income, profile.approaching_percent)
    page = alice_client.get(saved["Location"]).content.decode()

    cleared = alice_client.post("/budgets/settings/", {"monthly_income": "",
                                                       "approaching_percent": "90"})
    profile.refresh_from_db()

    assert saved["Location"] == "/budgets/?month=2026-03#settings"
    assert after_save == (Decimal("5000.00"), 90)
    assert "Budget settings saved." in page
    assert field(row(page, "Food &amp; Dining"), "amount") == "750.00"  # 15 % of 5,000
    assert cleared.status_code == 302
    assert (profile.monthly_income, profile.approaching_percent) == (None, 90)


@pytest.mark.parametrize("data", [
    {"monthly_income": "5000", "approaching_percent": "100"},
    {"monthly_income": "5000", "approaching_percent": "0"},
    {"monthly_income": "5000", "approaching_percent": ""},
    {"monthly_income": "-1", "approaching_percent": "80"},
    {"monthly_income": "lots", "approaching_percent": "80"},
    {"monthly_income": "1000000000", "approaching_percent": "80"},
])
def test_invalid_settings_show_the_errors_and_change_nothing(alice_client, alice, march, data):
    response = alice_client.post("/budgets/settings/", data | {"month": "2026-03"})

    profile = BudgetProfile.objects.get(user=alice)
    page = response.content.decode()
    assert response.status_code == 400
    assert "The budget settings were not saved" in page
    assert 'class="errorlist' in page
    assert "March 2026" in page  # the page of the month the form came from
    assert (profile.monthly_income, profile.approaching_percent) == (Decimal("4000.00"), 80)


def test_bobs_form_sets_his_budget_not_alices(client, alice, bob, march):
    client.force_login(bob)
    auto = top("Auto & Transport")

    client.post(f"/budgets/{auto.pk}/", {"amount": "999"})
    client.post(f"/budgets/{auto.pk}/recommendation/")

    assert Budget.objects.get(user=alice, category=auto).amount == Decimal("50.00")
    assert not Budget.objects.filter(user=bob).exists()


# --- the Notifications page ---------------------------------------------------------------


def test_notifications_are_listed_newest_first_with_unread_ones_marked(alice_client, alice, bob):
    old = notify(alice, 1, read=True)[0]
    new = Notification.objects.create(
        user=alice, kind="budget_exceeded", title="Over budget: Food & Dining",
        body="You have spent 105.00 of your 100.00 Food & Dining budget.",
        data={"month": "2026-03"}, dedupe_key="budget:x",
    )
    notify(bob, 2)

    response = alice_client.get("/notifications/")

    page = response.content.decode()
    assert [n.pk for n in response.context["notifications"]] == [new.pk, old.pk]
    assert page.index("Over budget: Food &amp; Dining") < page.index(old.title)
    assert f'id="notification-{new.pk}" class="notification unread"' in page
    assert f'id="notification-{old.pk}" class="notification"' in page
    assert page.count(">Mark read<") == 1
    assert 'href="/budgets/?month=2026-03">See budgets' in page
    assert "bob@example.com" not in page
    assert 'class="nav-count" data-unread="1">1<' in page


def test_the_unread_filter_shows_unread_ones_only(alice_client, alice):
    notify(alice, 2, read=True)
    unread = notify(alice, 1, kind="refresh_failing")

    response = alice_client.get("/notifications/", {"unread": "1"})

    assert [n.pk for n in response.context["notifications"]] == [unread[0].pk]


def older_link(response) -> str | None:
    found = re.search(r'<a class="older" rel="next" href="([^"]+)">Older', response.content.decode())
    if found is None:
        return None
    return urljoin(response.request["PATH_INFO"], html.unescape(found.group(1)))


def test_notifications_page_by_keyset_and_mark_all_read_stops_at_the_first_pages_newest(
    alice_client, alice
):
    size = notification_views.PAGE_SIZE
    rows = notify(alice, size + 5)

    first = alice_client.get("/notifications/")
    second = alice_client.get(older_link(first))
    arrived = notify(alice, 1, kind="refresh_failing")[0]  # while the person reads
    token_page = second.content.decode()
    up_to = re.search(r'name="up_to_id" value="(\d+)"', token_page).group(1)
    marked = alice_client.post("/notifications/read-all/",
                               {"up_to_id": up_to, "next": "/notifications/"}, follow=True)

    assert [n.pk for n in first.context["notifications"]] == [r.pk for r in rows[::-1][:size]]
    assert f"before={rows[5].pk}" in older_link(first)
    assert [n.pk for n in second.context["notifications"]] == [r.pk for r in rows[4::-1]]
    assert older_link(second) is None and "← Newest" in token_page
    assert int(up_to) == rows[-1].pk
    assert f"Marked {size + 5} notifications read." in marked.content.decode()
    assert list(Notification.objects.filter(read_at__isnull=True)) == [arrived]


@pytest.mark.parametrize("before", ["x", "-1", "0"])
def test_a_malformed_cursor_is_a_bad_request(alice_client, before):
    assert alice_client.get("/notifications/", {"before": before}).status_code == 400


def test_marking_one_read_is_scoped_to_its_owner(client, alice, bob):
    alices = notify(alice, 2)
    bobs = notify(bob, 1)[0]
    client.force_login(alice)

    mine = client.post(f"/notifications/{alices[0].pk}/read/", {"next": "/notifications/?unread=1"})
    his = client.post(f"/notifications/{bobs.pk}/read/")

    assert mine.status_code == 302
    assert mine["Location"] == f"/notifications/?unread=1#notification-{alices[0].pk}"
    assert his.status_code == 404
    assert set(Notification.objects.filter(read_at__isnull=False)) == {alices[0]}


def test_mark_all_read_marks_only_the_users_own(client, alice, bob):
    notify(alice, 3)
    bobs = notify(bob, 2)
    client.force_login(alice)

    response = client.post("/notifications/read-all/", {"next": "https://evil.example/"})

    assert response["Location"] == "/notifications/"
    assert not Notification.objects.filter(user=alice, read_at__isnull=True).exists()
    assert Notification.objects.filter(user=bob, read_at__isnull=True).count() == len(bobs)


def test_mark_all_read_with_a_malformed_id_marks_nothing(alice_client, alice):
    notify(alice, 2)

    response = alice_client.post("/notifications/read-all/", {"up_to_id": "x"}, follow=True)

    assert "Nothing was marked read" in response.content.decode()
    assert Notification.objects.filter(read_at__isnull=True).count() == 2


def test_the_unread_badge_counts_the_users_unread_notifications_on_every_page(
    alice_client, alice, bob
):
    notify(alice, 3)
    notify(alice, 2, read=True, kind="budget_approaching")
    notify(bob, 7)

    for path in ("/", "/transactions/", "/budgets/", "/notifications/"):
        page = alice_client.get(path).content.decode()
        assert 'class="nav-count" data-unread="3">3<span class="visually-hidden"> unread' in page
        assert 'href="/budgets/"' in page and 'href="/notifications/"' in page

    Notification.objects.filter(user=alice).update(read_at=NOW)
    assert "nav-count" not in alice_client.get("/").content.decode()


# --- authentication, CSRF -----------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), [
    ("get", "/budgets/"),
    ("post", "/budgets/1/"),
    ("post", "/budgets/1/recommendation/"),
    ("post", "/budgets/settings/"),
    ("get", "/notifications/"),
    ("post", "/notifications/1/read/"),
    ("post", "/notifications/read-all/"),
])
def test_anonymous_users_are_redirected_to_login(client, method, path):
    response = getattr(client, method)(path)

    assert response.status_code == 302
    assert response["Location"].startswith(f"/accounts/login/?next={path}")


@pytest.mark.parametrize(("path", "page"), [
    ("/budgets/1/", "/budgets/"), ("/budgets/1/recommendation/", "/budgets/"),
    ("/notifications/1/read/", "/notifications/"), ("/notifications/read-all/", "/notifications/"),
    ("/connections/link/", "/#link"),
])
def test_a_get_of_a_forms_address_goes_to_its_page_saying_nothing_changed(
        alice_client, path, page):
    # The log-in page sends a person whose session ended as they posted a form back to
    # the form's address, by GET: the page the form is on, not a bare 405.
    response = alice_client.get(path)
    shown = alice_client.get(response["Location"]).content.decode()

    assert (response.status_code, response["Location"]) == (302, page)
    assert "Nothing was changed" in shown
    assert alice_client.put(path).status_code == 405


def test_opening_the_settings_address_goes_to_the_settings_form(alice_client, march):
    # After an invalid post the address bar says /budgets/settings/: opening it again (or
    # a bookmark of it) is a GET, which lands on the form instead of an empty 405.
    plain = alice_client.get("/budgets/settings/", follow=True)
    of_march = alice_client.get("/budgets/settings/", {"month": "2026-03"})
    malformed = alice_client.get("/budgets/settings/", {"month": "March"})

    assert plain.redirect_chain == [("/budgets/#settings", 302)]
    assert plain.status_code == 200
    assert 'id="settings"' in plain.content.decode()
    assert 'action="/budgets/settings/"' in plain.content.decode()
    assert of_march["Location"] == "/budgets/?month=2026-03#settings"
    assert malformed["Location"] == "/budgets/#settings"
    profile = BudgetProfile.objects.get()
    assert (profile.monthly_income, profile.approaching_percent) == (Decimal("4000"), 80)


def test_the_budget_forms_need_the_pages_csrf_token(alice, march):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    food = top("Food & Dining")
    page = client.get("/budgets/", {"month": "2026-03"}).content.decode()
    token = form_csrf_token(page, f"/budgets/{food.pk}/")
    assert token is not None

    without = [client.post(f"/budgets/{food.pk}/", {"amount": "10"}),
               client.post(f"/budgets/{top('Auto & Transport').pk}/recommendation/"),
               client.post("/budgets/settings/", {"approaching_percent": "50"})]
    untouched = (list(Budget.objects.values_list("category_id", "amount")),
                 BudgetProfile.objects.get(user=alice).approaching_percent)
    with_token = client.post(f"/budgets/{food.pk}/",
                             {"amount": "10", "csrfmiddlewaretoken": token.group(1)})

    assert [r.status_code for r in without] == [403, 403, 403]
    assert untouched == ([(top("Auto & Transport").pk, Decimal("50.00"))], 80)
    assert with_token.status_code == 302
    assert Budget.objects.get(user=alice, category=food).amount == Decimal("10.00")


def test_the_notification_forms_need_the_pages_csrf_token(alice):
    note = notify(alice, 1)[0]
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    page = client.get("/notifications/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)

    without = [client.post(f"/notifications/{note.pk}/read/"),
               client.post("/notifications/read-all/")]
    still_unread = Notification.objects.get(pk=note.pk).read_at is None
    with_token = client.post(f"/notifications/{note.pk}/read/", {"csrfmiddlewaretoken": token})

    assert [r.status_code for r in without] == [403, 403]
    assert still_unread
    assert with_token.status_code == 302
    assert Notification.objects.get(pk=note.pk).read_at is not None


# --- query counts ---------------------------------------------------------------------------


def test_the_budgets_page_runs_a_fixed_number_of_queries(alice_client, alice,
                                                         django_assert_max_num_queries):
    BudgetProfile.objects.create(user=alice, monthly_income=Decimal("6000"))
    tops = Category.objects.filter(user=None, parent=None, is_income=False, is_transfer=False)
    for n, category in enumerate(tops):
        budget_set(user=alice, category=category, amount=Decimal(100 + n))
        for back in range(7):  # this month and six months of history, every category
            spend(alice, date(2025, 9 + back, 1) if back < 4 else date(2026, back - 3, 1),
                  category, f"-{10 + n + back}")
    notify(alice, 5)
    alice_client.get("/")  # session and last-active writes out of the way

    # session, user, unread badge; the summary (categories, spending, profile, budgets,
    # the accounts' currencies); the rows (the same four); the profile for the settings form
    with django_assert_max_num_queries(13):
        cold = alice_client.get("/budgets/", {"month": "2026-03"})
    # the summary from the cache
    with django_assert_max_num_queries(8):
        warm = alice_client.get("/budgets/", {"month": "2026-03"})

    assert cold.status_code == warm.status_code == 200
    assert warm.content.decode().count('class="budget-row') == tops.count()


def test_the_notifications_page_runs_a_fixed_number_of_queries(alice_client, alice,
                                                               django_assert_max_num_queries):
    notify(alice, 30)
    notify(alice, 30, read=True, kind="budget_approaching")
    alice_client.get("/")

    # session, user, unread count (badge, "mark all read" and the tab share it), one page
    with django_assert_max_num_queries(4):
        response = alice_client.get("/notifications/")

    assert len(response.context["notifications"]) == notification_views.PAGE_SIZE
    assert older_link(response) is not None

"""Budgets: template, recommendation, overrides, the check and its alerts, summaries."""

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from unittest import mock

import pytest
from django.core import mail

from budgets.models import Budget, BudgetAlert, BudgetProfile, MonthlySpending
from budgets.selectors import TEMPLATE, budgets_for, current_month
from budgets.services import budget_set, budgets_check
from categories.models import Category
from notifications.models import Notification
from tests.conftest import api_client_for
from tests.factories import spend
from tests.factories import sub_category as sub
from tests.factories import top_category as top


def line(user, month, name):
    return next(b for b in budgets_for(user=user, month=month) if b.name == name)


NOW = datetime(2026, 3, 15, 12, tzinfo=UTC)
MARCH = date(2026, 3, 1)


@pytest.fixture
def now():
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        yield NOW


# --- month boundaries --------------------------------------------------------------------

@pytest.mark.parametrize(
    ("instant", "tz", "month"),
    [
        (datetime(2026, 3, 31, 23, 30, tzinfo=UTC), "UTC", date(2026, 3, 1)),
        (datetime(2026, 3, 31, 23, 30, tzinfo=UTC), "Europe/Paris", date(2026, 4, 1)),
        (datetime(2026, 4, 1, 3, 0, tzinfo=UTC), "America/Los_Angeles", date(2026, 3, 1)),
        (datetime(2026, 12, 31, 20, 0, tzinfo=UTC), "Pacific/Auckland", date(2027, 1, 1)),
        (datetime(2026, 4, 1, 3, 0, tzinfo=UTC), "Not/AZone", date(2026, 4, 1)),
    ],
)
def test_the_current_month_is_the_month_where_the_user_lives(alice, instant, tz, month):
    alice.timezone = tz
    with mock.patch("django.utils.timezone.now", return_value=instant):
        assert current_month(alice) == month


# --- template and recommendation ------------------------------------------------------------

def test_without_history_budgets_come_from_the_template_and_income(alice):
    BudgetProfile.objects.create(user=alice, monthly_income=Decimal("5000"))
    home = line(alice, MARCH, "Home")
    assert (home.amount, home.source) == (Decimal("1750.00"), "template")  # 35 %
    assert sum(TEMPLATE.values()) == 100
    names = {b.name for b in budgets_for(user=alice, month=MARCH)}
    assert "Income" not in names and "Transfer" not in names and "Food & Dining" in names


def test_with_enough_history_the_recommendation_is_the_median_month(alice):
    BudgetProfile.objects.create(user=alice, monthly_income=Decimal("5000"))
    for month, amount in [(date(2025, 12, 1), "-300"), (date(2026, 1, 1), "-340"),
                          (date(2026, 2, 1), "-2000")]:  # one month with a party
        spend(alice, month, sub("Groceries"), amount)
    food = line(alice, MARCH, "Food & Dining")
    assert (food.amount, food.source) == (Decimal("340.00"), "recommended")


def test_short_history_is_blended_with_the_template(alice):
    BudgetProfile.objects.create(user=alice, monthly_income=Decimal("3000"))
    spend(alice, date(2026, 2, 1), sub("Groceries"), "-300")
    # ⅓ × 300 + ⅔ × (15 % of 3000 = 450) = 400
    assert line(alice, MARCH, "Food & Dining").amount == Decimal("400.00")


def test_months_ahead_are_recommended_from_the_current_months_history(alice, now):
    # Months ahead know nothing more than the current one: the same six complete months.
    for month, amount in [(date(2025, 9, 1), "-900"), (date(2025, 12, 1), "-300"),
                          (date(2026, 1, 1), "-340"), (date(2026, 2, 1), "-380")]:
        spend(alice, month, sub("Groceries"), amount)
        spend(alice, month, sub("Paycheck"), "4000")
    march = line(alice, MARCH, "Food & Dining")
    assert (march.amount, march.source) == (Decimal("360.00"), "recommended")

    for ahead in (date(2026, 4, 1), date(2026, 6, 1), date(2026, 9, 1), date(2027, 3, 1)):
        food = line(alice, ahead, "Food & Dining")
        assert (food.amount, food.source) == (march.amount, march.source), ahead
    assert api_client_for(alice).get("/api/v1/summary/?month=2026-09").json()["budgets"] == (
        api_client_for(alice).get("/api/v1/budgets/?month=2026-09").json())


def test_a_cached_summary_of_a_month_ahead_is_not_served_once_that_month_has_come(alice):
    for month, amount in ((date(2025, 12, 1), "-300"), (date(2026, 1, 1), "-300"),
                          (date(2026, 2, 1), "-900"), (MARCH, "-900")):
        spend(alice, month, sub("Groceries"), amount)
    api = api_client_for(alice)

    def food_budget():
        summary = api.get("/api/v1/summary/?month=2026-04")
        return summary["X-Cache"], next(b["amount"] for b in summary.json()["budgets"]
                                        if b["name"] == "Food & Dining")

    with mock.patch("django.utils.timezone.now", return_value=NOW):
        assert food_budget() == ("miss", "300.00")
        assert food_budget() == ("hit", "300.00")
    # Nothing is written, but in April, March's spending is history.
    with mock.patch("django.utils.timezone.now", return_value=datetime(2026, 4, 2, tzinfo=UTC)):
        assert food_budget() == ("miss", "600.00")  # the median of 300, 300, 900, 900


@pytest.mark.parametrize(("spent", "budget", "percent"), [
    ("482.78", "483.00", "99.9"),  # not reached: never "100.0"
    ("55.00", "54.99", "100.1"),  # over: never "100.0"
    ("55.00", "55.00", "100.0"),
    ("60.00", "600.00", "10.0"),
    ("-0.04", "100.00", "0.0"),  # a refund, not "-0.0"
])
def test_a_percent_never_reads_100_unless_the_budget_is_exactly_reached(spent, budget, percent):
    from budgets.selectors import BudgetLine

    assert str(BudgetLine(1, "Shopping", Decimal(budget), "manual", Decimal(spent)).percent) == (
        percent)


def test_income_is_estimated_from_history_when_not_set(alice):
    for month in (date(2025, 12, 1), date(2026, 1, 1), date(2026, 2, 1)):
        spend(alice, month, sub("Paycheck"), "4000")
        spend(alice, month, sub("Gas & Fuel"), "-100")
    # No food history: the template share of the estimated income (15 % of 4000).
    assert line(alice, MARCH, "Food & Dining").amount == Decimal("0.00")  # 3 full months
    assert line(alice, MARCH, "Auto & Transport").amount == Decimal("100.00")


def test_refunds_reduce_what_is_spent_and_sub_categories_count_for_their_top(alice):
    spend(alice, MARCH, sub("Groceries"), "-120.00")
    spend(alice, MARCH, sub("Restaurants"), "-50.00")
    spend(alice, MARCH, top("Food & Dining"), "20.00")  # a refund
    mine = Category.objects.create(user=alice, parent=top("Food & Dining"), name="Snacks")
    spend(alice, MARCH, mine, "-10.00")
    assert line(alice, MARCH, "Food & Dining").spent == Decimal("160.00")


# --- API ---------------------------------------------------------------------------------

def test_budgets_api_lists_sets_and_resets(alice, api, now):
    BudgetProfile.objects.create(user=alice, monthly_income=Decimal("4000"))
    spend(alice, MARCH, sub("Groceries"), "-105.00")
    food = top("Food & Dining")

    listed = api.get("/api/v1/budgets/?month=2026-03")
    assert listed.status_code == 200
    row = next(r for r in listed.json() if r["category"] == food.id)
    assert row == {"category": food.id, "name": "Food & Dining", "amount": "600.00",
                   "source": "template", "spent": "105.00", "remaining": "495.00",
                   "percent": "17.5"}

    put = api.put(f"/api/v1/budgets/{food.id}/", {"amount": "100.00"}, format="json")
    assert put.status_code == 200
    assert put.json() | {} == {"category": food.id, "name": "Food & Dining", "amount": "100.00",
                               "source": "manual", "spent": "105.00", "remaining": "-5.00",
                               "percent": "105.0"}
    assert api.delete(f"/api/v1/budgets/{food.id}/").json()["source"] == "template"
    assert not Budget.objects.filter(user=alice).exists()


def test_a_budget_holds_from_the_month_it_is_set_and_past_months_keep_theirs(alice):
    from budgets.services import budget_reset

    food = top("Food & Dining")
    jan, feb, april = date(2026, 1, 1), date(2026, 2, 1), date(2026, 4, 1)
    BudgetProfile.objects.create(user=alice, monthly_income=Decimal("4000"))

    def at(month):
        return mock.patch("django.utils.timezone.now",
                          return_value=datetime(month.year, month.month, 10, tzinfo=UTC))
    with at(jan):
        budget_set(user=alice, category=food, amount=Decimal("300"))
    with at(MARCH):
        budget_set(user=alice, category=food, amount=Decimal("100"))
        budget_set(user=alice, category=food, amount=Decimal("120"))  # same month: replaced
    with at(april):
        budget_reset(user=alice, category=food)

    def amount(month):
        found = line(alice, month, "Food & Dining")
        return found.amount, found.source

    assert amount(date(2025, 12, 1)) == (Decimal("600"), "template")  # before any
    assert amount(jan) == amount(feb) == (Decimal("300"), "manual")
    assert amount(MARCH) == (Decimal("120"), "manual")
    assert amount(april) == amount(date(2026, 9, 1)) == (Decimal("600"), "template")
    assert list(Budget.objects.filter(user=alice).order_by("since")
                .values_list("since", "amount")) == [
        (jan, Decimal("300.00")), (MARCH, Decimal("120.00")), (april, None)]


def test_a_zero_budget_reads_zero_point_zero_percent_as_every_other(alice, now):
    budget_set(user=alice, category=top("Food & Dining"), amount=Decimal("0"))

    assert str(line(alice, MARCH, "Food & Dining").percent) == "0.0"


def test_the_api_sets_budgets_from_this_month_and_refuses_another_month(alice, api, now):
    food = top("Food & Dining")

    past = api.put(f"/api/v1/budgets/{food.id}/?month=2026-01", {"amount": "42.00"},
                   format="json")
    past_reset = api.delete(f"/api/v1/budgets/{food.id}/?month=2026-01")
    bad = api.put(f"/api/v1/budgets/{food.id}/?month=2026-1", {"amount": "42.00"},
                  format="json")
    this = api.put(f"/api/v1/budgets/{food.id}/?month=2026-03", {"amount": "42.00"},
                   format="json")

    assert past.status_code == past_reset.status_code == bad.status_code == 400
    assert "from the current month (2026-03) on" in past.json()["error"]["message"]
    assert this.status_code == 200
    assert (this.json()["amount"], this.json()["source"]) == ("42.00", "manual")
    assert list(Budget.objects.filter(user=alice).values_list("since", "amount")) == [
        (MARCH, Decimal("42.00"))]


def test_a_reset_that_changes_nothing_leaves_no_row(alice, now):
    from budgets.services import budget_reset

    food = top("Food & Dining")
    budget_set(user=alice, category=food, amount=Decimal("100"))
    budget_reset(user=alice, category=food)  # set and reset in one month: as if never set
    budget_reset(user=alice, category=food)

    assert not Budget.objects.filter(user=alice).exists()


def test_every_percent_has_one_decimal_place_even_on_a_budget_of_zero(alice, api, now):
    # A budget of 0.00 has percent Decimal("0"), which came out as "0" beside "17.5".
    BudgetProfile.objects.create(user=alice, monthly_income=Decimal("4000"))
    spend(alice, MARCH, sub("Groceries"), "-60.00")
    spend(alice, MARCH, sub("Gas & Fuel"), "-30.00")
    food, auto = top("Food & Dining"), top("Auto & Transport")

    put = api.put(f"/api/v1/budgets/{auto.id}/?month=2026-03", {"amount": "0"}, format="json")
    listed = api.get("/api/v1/budgets/?month=2026-03").json()
    summary = api.get("/api/v1/summary/?month=2026-03").json()

    assert put.json()["percent"] == "0.0" and put.json()["amount"] == "0.00"
    for rows in (listed, summary["budgets"]):
        percents = {row["category"]: row["percent"] for row in rows}
        assert percents[food.id] == "10.0"  # 60 of 600
        assert percents[auto.id] == "0.0"
        assert all(re.fullmatch(r"-?\d+\.\d", p) for p in percents.values()), percents
        assert all(re.fullmatch(r"-?\d+\.\d\d", row[key])
                   for row in rows for key in ("amount", "spent", "remaining"))


@pytest.mark.parametrize("body", [{"amount": "-1"}, {"amount": "abc"}, {}, {"amount": "1e999"}])
def test_a_bad_budget_amount_is_a_400(api, body):
    food = top("Food & Dining")
    response = api.put(f"/api/v1/budgets/{food.id}/", body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"]


def test_budgets_are_set_on_spending_top_levels_only(api, alice, bob):
    # given a sub-category of Mint's, Income, an own sub-category of Alice's and of Bob's
    boba = Category.objects.create(name="Boba", parent=top("Food & Dining"), user=alice)
    bobs = Category.objects.create(name="Bob's", parent=top("Food & Dining"), user=bob)
    refusals = [sub("Coffee Shops"), sub("Groceries"), top("Income"), boba]

    # when Alice sets or resets a budget on each
    puts = [api.put(f"/api/v1/budgets/{c.id}/", {"amount": "1"}, format="json")
            for c in refusals]
    deletes = [api.delete(f"/api/v1/budgets/{c.id}/") for c in refusals]

    # then a category that exists but takes no budget is the same 400 for all of them…
    for response in puts + deletes:
        assert response.status_code == 400, response.json()
        error = response.json()["error"]
        assert error["code"] == "invalid"
        assert error["details"]["category"] == [
            "Budgets are set on top-level spending categories (not Income, Transfer or a "
            "sub-category)."]
    # …and a category she cannot see (Bob's) or that does not exist stays a 404
    for missing in (bobs.id, 999_999):
        response = api.put(f"/api/v1/budgets/{missing}/", {"amount": "1"}, format="json")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    assert not Budget.objects.filter(user=alice).exists()


@pytest.mark.parametrize("month", ["2026-13", "2026-3", "march", "2026-03-01"])
def test_a_bad_month_is_a_400(api, month):
    response = api.get(f"/api/v1/budgets/?month={month}")
    assert response.status_code == 400
    assert "2026-11" in response.json()["error"]["message"]


def test_budget_settings_api(api, alice):
    assert api.get("/api/v1/budget-settings/").json() == {"monthly_income": None,
                                                         "approaching_percent": 80}
    response = api.put("/api/v1/budget-settings/",
                       {"monthly_income": "5200.00", "approaching_percent": 75}, format="json")
    assert response.json() == {"monthly_income": "5200.00", "approaching_percent": 75}
    assert api.put("/api/v1/budget-settings/", {"approaching_percent": 100},
                   format="json").status_code == 400


def test_budget_settings_put_replaces_and_patch_changes_only_what_it_names(api, alice):
    # given both settings changed from their defaults
    api.put("/api/v1/budget-settings/", {"monthly_income": "5200.00", "approaching_percent": 75},
            format="json")

    # when a PATCH names one, it changes that one and keeps the other
    patched = api.patch("/api/v1/budget-settings/", {"approaching_percent": 60}, format="json")
    assert patched.json() == {"monthly_income": "5200.00", "approaching_percent": 60}
    patched = api.patch("/api/v1/budget-settings/", {"monthly_income": None}, format="json")
    assert patched.json() == {"monthly_income": None, "approaching_percent": 60}
    patched = api.patch("/api/v1/budget-settings/", {"monthly_income": "4000"}, format="json")
    assert patched.json() == {"monthly_income": "4000.00", "approaching_percent": 60}

    # then a PUT replaces both: what it leaves out goes back to its default
    put = api.put("/api/v1/budget-settings/", {"approaching_percent": 90}, format="json")
    assert put.json() == {"monthly_income": None, "approaching_percent": 90}
    api.put("/api/v1/budget-settings/", {"monthly_income": "3000"}, format="json")
    assert api.get("/api/v1/budget-settings/").json() == {"monthly_income": "3000.00",
                                                         "approaching_percent": 80}
    assert api.put("/api/v1/budget-settings/", {}, format="json").json() == {
        "monthly_income": None, "approaching_percent": 80}
    assert api.patch("/api/v1/budget-settings/", {"approaching_percent": 0},
                     format="json").status_code == 400


def test_the_schema_documents_budget_settings_put_and_patch(api):
    schema = api.get("/api/v1/schema/?format=json").json()
    path = schema["paths"]["/api/v1/budget-settings/"]
    assert {"get", "put", "patch"} <= set(path)
    assert "default" in path["put"]["description"] and "keeps" in path["patch"]["description"]
    patch_body = path["patch"]["requestBody"]["content"]["application/json"]["schema"]
    assert patch_body["$ref"].endswith("/PatchedBudgetProfileRequest")


def test_bobs_budgets_are_his_own(alice, bob, now):
    budget_set(user=alice, category=top("Home"), amount=Decimal("900"))
    spend(alice, MARCH, top("Home"), "-500")
    bobs = api_client_for(bob).get("/api/v1/budgets/?month=2026-03").json()
    home = next(r for r in bobs if r["name"] == "Home")
    assert (home["source"], home["spent"]) == ("template", "0.00")


# --- the check and its alerts -----------------------------------------------------------

def test_crossing_80_then_100_percent_alerts_twice_however_often_it_is_checked(
    alice, now, django_capture_on_commit_callbacks
):
    budget_set(user=alice, category=top("Food & Dining"), amount=Decimal("100"))
    spend(alice, MARCH, sub("Groceries"), "-50.00")
    for _ in range(3):
        budgets_check(user_id=alice.id)
    assert BudgetAlert.objects.count() == 0

    spend(alice, MARCH, sub("Groceries"), "-85.00")
    for _ in range(3):
        budgets_check(user_id=alice.id)
    spend(alice, MARCH, sub("Groceries"), "-120.00")
    for _ in range(3):
        budgets_check(user_id=alice.id)

    assert list(BudgetAlert.objects.order_by("id").values_list("threshold", flat=True)) == [
        "approaching", "exceeded"]
    kinds = list(Notification.objects.filter(user=alice).order_by("id")
                 .values_list("kind", flat=True))
    assert kinds == ["budget_approaching", "budget_exceeded"]


def test_spending_exactly_the_budget_reaches_it_without_an_overrun_alert(alice, now):
    # a fixed bill budgeted at its own median lands on 100 % every month
    budget_set(user=alice, category=top("Food & Dining"), amount=Decimal("100"))
    spend(alice, MARCH, sub("Groceries"), "-100.00")
    budgets_check(user_id=alice.id)
    assert list(BudgetAlert.objects.values_list("threshold", flat=True)) == ["approaching"]
    assert Notification.objects.get(user=alice).title == (
        "100.0% of your Food & Dining budget spent")

    spend(alice, MARCH, sub("Groceries"), "-100.01")  # (sets the month's total)
    budgets_check(user_id=alice.id)
    assert Notification.objects.filter(user=alice, kind="budget_exceeded").count() == 1


def test_a_raised_budget_crossed_again_alerts_again(alice, now):
    budget_set(user=alice, category=top("Food & Dining"), amount=Decimal("100"))
    spend(alice, MARCH, sub("Groceries"), "-120.00")
    budgets_check(user_id=alice.id)
    budget_set(user=alice, category=top("Food & Dining"), amount=Decimal("200"))
    budgets_check(user_id=alice.id)
    assert BudgetAlert.objects.count() == 2  # approaching + exceeded at 100, none at 200 yet
    spend(alice, MARCH, sub("Groceries"), "-170.00")
    budgets_check(user_id=alice.id)
    assert list(BudgetAlert.objects.filter(budget_amount=Decimal("200"))
                .values_list("threshold", flat=True)) == ["approaching"]


def test_jumping_past_both_thresholds_announces_only_the_overrun(alice, now):
    budget_set(user=alice, category=top("Food & Dining"), amount=Decimal("100"))
    spend(alice, MARCH, sub("Groceries"), "-150.00")
    budgets_check(user_id=alice.id)
    assert BudgetAlert.objects.count() == 2
    assert list(Notification.objects.filter(user=alice).values_list("kind", flat=True)) == [
        "budget_exceeded"]


def test_the_approaching_threshold_is_a_user_setting(alice, now):
    BudgetProfile.objects.create(user=alice, approaching_percent=50)
    budget_set(user=alice, category=top("Food & Dining"), amount=Decimal("100"))
    spend(alice, MARCH, sub("Groceries"), "-55.00")
    budgets_check(user_id=alice.id)
    assert list(BudgetAlert.objects.values_list("threshold", flat=True)) == ["approaching"]


def test_an_alert_says_what_was_spent(alice, now):
    budget_set(user=alice, category=top("Food & Dining"), amount=Decimal("100"))
    spend(alice, MARCH, sub("Groceries"), "-105.00")
    budgets_check(user_id=alice.id)
    notification = Notification.objects.get(user=alice, kind="budget_exceeded")
    assert notification.title == "Over budget: Food & Dining"
    assert "105.00 of your 100.00 Food & Dining budget for March 2026" in notification.body
    assert notification.data["percent"] == "105.0"
    assert len(mail.outbox) <= 1  # email delivery is the notifications app's business


def test_a_budget_of_nothing_set_by_hand_alerts_at_the_first_spending(alice, now):
    budget_set(user=alice, category=top("Food & Dining"), amount=Decimal("0"))
    budgets_check(user_id=alice.id)
    assert not BudgetAlert.objects.exists()  # nothing spent yet

    spend(alice, MARCH, sub("Fast Food"), "-12.50")
    budgets_check(user_id=alice.id)
    budgets_check(user_id=alice.id)

    [alert] = BudgetAlert.objects.all()
    assert alert.threshold == "exceeded"
    [told] = Notification.objects.filter(user=alice, kind="budget_exceeded")
    assert told.title == "Over budget: Food & Dining"
    assert told.body == ("You have spent 12.50 on Food & Dining in March 2026, which you "
                         "budgeted nothing for.")


def test_a_recommendation_of_nothing_never_alerts(alice, now):
    spend(alice, MARCH, sub("Fast Food"), "-12.50")
    assert line(alice, MARCH, "Education").amount == 0
    spend(alice, MARCH, sub("Tuition"), "-40.00")
    budgets_check(user_id=alice.id)
    assert not BudgetAlert.objects.filter(category=top("Education")).exists()


def test_an_alert_writes_thousands_as_the_pages_do(alice, now):
    budget_set(user=alice, category=top("Food & Dining"), amount=Decimal("6000"))
    spend(alice, MARCH, sub("Groceries"), "-6450.00")
    budgets_check(user_id=alice.id)
    notification = Notification.objects.get(user=alice, kind="budget_exceeded")
    assert "6,450.00 of your 6,000.00 Food & Dining budget" in notification.body


# --- a check that runs after the user's midnight -------------------------------------------

def _ingest_queueing_the_check(capture, user, records, instant):
    """Ingests ``records`` at ``instant``; returns the budget check the commit queued (the
    positional and keyword arguments of ``check_budgets.delay``), for a worker to run."""
    from tests.factories import ConnectionFactory, ingest_statement

    with (mock.patch("django.utils.timezone.now", return_value=instant),
          mock.patch("budgets.tasks.check_budgets.delay") as queued,
          capture(execute=True)):
        ingest_statement(user, ConnectionFactory(user=user), records)
    [call] = queued.call_args_list
    return call.args, call.kwargs


def groceries(external_id, amount, day):
    from .test_spending import rec

    return rec(external_id, amount, day, "WHOLEFDS MKT 10234 PALO ALTO CA")


def _run_check(queued, instant):
    from budgets.tasks import check_budgets

    args, kwargs = queued
    with mock.patch("django.utils.timezone.now", return_value=instant):
        check_budgets(*args, **kwargs)


def _alerts(user):
    return list(BudgetAlert.objects.filter(user=user).order_by("id")
                .values_list("month", "threshold"))


def test_a_crossing_whose_check_runs_after_the_users_midnight_alerts_for_its_month(
    alice, django_capture_on_commit_callbacks
):
    # given a budget of 100 for food, set in March
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        budget_set(user=alice, category=top("Food & Dining"), amount=Decimal("100"))
    # when a purchase at 23:59:59 on 31 March (Alice lives in UTC) takes March to 150 …
    queued = _ingest_queueing_the_check(
        django_capture_on_commit_callbacks, alice,
        [groceries("a", "-150.00", date(2026, 3, 31))],
        datetime(2026, 3, 31, 23, 59, 59, tzinfo=UTC))
    # … and a worker runs its check two seconds later, on 1 April
    _run_check(queued, datetime(2026, 4, 1, 0, 0, 1, tzinfo=UTC))
    # then March's crossings alert, and the overrun is told
    assert _alerts(alice) == [(MARCH, "approaching"), (MARCH, "exceeded")]
    [told] = Notification.objects.filter(user=alice, kind__startswith="budget_")
    assert (told.kind, told.data["month"]) == ("budget_exceeded", "2026-03")
    assert "budget for March 2026" in told.body


@pytest.mark.parametrize("tz", ["UTC", "America/Los_Angeles", "Pacific/Auckland"])
def test_a_purchase_of_the_last_day_that_the_bank_posts_on_the_first_alerts_for_its_month(
    alice, tz, django_capture_on_commit_callbacks
):
    from zoneinfo import ZoneInfo

    # given a budget of 100 for food, set in March where Alice lives
    alice.timezone = tz
    alice.save(update_fields=["timezone"])
    local = ZoneInfo(tz)
    with mock.patch("django.utils.timezone.now",
                    return_value=datetime(2026, 3, 20, 12, tzinfo=local)):
        budget_set(user=alice, category=top("Food & Dining"), amount=Decimal("100"))
    # when the refresh of 1 April, 08:00 her time, brings a purchase dated 31 March
    queued = _ingest_queueing_the_check(
        django_capture_on_commit_callbacks, alice,
        [groceries("a", "-150.00", date(2026, 3, 31))],
        datetime(2026, 4, 1, 8, tzinfo=local))
    _run_check(queued, datetime(2026, 4, 1, 8, 0, 2, tzinfo=local))
    # then it is March's crossing that alerts
    assert _alerts(alice) == [(MARCH, "approaching"), (MARCH, "exceeded")]
    assert Notification.objects.get(user=alice, kind="budget_exceeded").data["month"] == "2026-03"


def _food_budget_of_100_since_january(user):
    with mock.patch("django.utils.timezone.now",
                    return_value=datetime(2026, 1, 20, 12, tzinfo=UTC)):
        budget_set(user=user, category=top("Food & Dining"), amount=Decimal("100"))


def test_after_midnight_only_the_month_before_is_checked_and_only_if_the_write_changed_it(
    alice, django_capture_on_commit_callbacks
):
    # given a budget of 100 for food since January, and a March past it that was never
    # checked (history imported with the checks off)
    _food_budget_of_100_since_january(alice)
    spend(alice, MARCH, sub("Groceries"), "-400.00")
    # when a refresh on 2 April brings a purchase of February and one of April
    queued = _ingest_queueing_the_check(
        django_capture_on_commit_callbacks, alice,
        [groceries("feb", "-300.00", date(2026, 2, 10)),
         groceries("apr", "-10.00", date(2026, 4, 1))],
        datetime(2026, 4, 2, 8, tzinfo=UTC))
    _run_check(queued, datetime(2026, 4, 2, 8, 0, 2, tzinfo=UTC))
    # then neither February (older) nor March (not changed by it) alerts: April is short
    assert _alerts(alice) == []


@pytest.mark.parametrize(("day", "alerts"), [(7, True), (8, False)])
def test_last_months_crossing_is_news_in_the_first_week_only(
    alice, django_capture_on_commit_callbacks, day, alerts
):
    # given a budget of 100 for food since January
    _food_budget_of_100_since_january(alice)
    # when a file brings a March past it on that day of April (a late posting, or an
    # account linked with its history)
    queued = _ingest_queueing_the_check(
        django_capture_on_commit_callbacks, alice,
        [groceries("mar", "-150.00", date(2026, 3, 30))],
        datetime(2026, 4, day, 8, tzinfo=UTC))
    _run_check(queued, datetime(2026, 4, day, 8, 0, 2, tzinfo=UTC))
    # then March alerts in the first week of April only
    assert _alerts(alice) == ([(MARCH, "approaching"), (MARCH, "exceeded")] if alerts else [])


def test_a_budget_check_queued_with_the_user_id_only_checks_the_current_month(alice, now):
    from budgets.tasks import check_budgets

    # given a message of a worker from before the months: its user id only
    budget_set(user=alice, category=top("Food & Dining"), amount=Decimal("100"))
    spend(alice, MARCH, sub("Groceries"), "-150.00")
    spend(alice, date(2026, 2, 1), sub("Groceries"), "-150.00")
    # when it runs
    check_budgets(alice.id)
    # then the current month is checked, as before
    assert _alerts(alice) == [(MARCH, "approaching"), (MARCH, "exceeded")]


def test_a_budget_lowered_at_the_last_second_of_the_month_alerts_for_that_month(
    alice, django_capture_on_commit_callbacks
):
    # given March at 150 of a budget of 200
    spend(alice, MARCH, sub("Groceries"), "-150.00")
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        budget_set(user=alice, category=top("Food & Dining"), amount=Decimal("200"))
    # when it is lowered to 100 at 23:59:59 on 31 March and the check runs on 1 April
    with (mock.patch("django.utils.timezone.now",
                     return_value=datetime(2026, 3, 31, 23, 59, 59, tzinfo=UTC)),
          mock.patch("budgets.tasks.check_budgets.delay") as queued,
          django_capture_on_commit_callbacks(execute=True)):
        budget_set(user=alice, category=top("Food & Dining"), amount=Decimal("100"))
    _run_check((queued.call_args.args, queued.call_args.kwargs),
               datetime(2026, 4, 1, 0, 0, 1, tzinfo=UTC))
    # then March alerts
    assert _alerts(alice) == [(MARCH, "approaching"), (MARCH, "exceeded")]


@pytest.mark.parametrize("model", ["monthlyspending", "budgetalert", "budget", "budgetprofile"])
def test_support_can_open_the_budget_admin_pages(client, alice, model):
    from tests.factories import UserFactory, spend
    from tests.factories import sub_category as sub

    spend(alice, MARCH, sub("Groceries"), "-10.00")
    admin = UserFactory(email="root@example.com", is_staff=True, is_superuser=True)
    client.force_login(admin)
    assert client.get(f"/admin/budgets/{model}/").status_code == 200


# --- found in review ---------------------------------------------------------------------

def test_months_emptied_by_an_unlink_are_no_history(alice, now):
    from accounts.services import account_unlink
    from tests.factories import ConnectionFactory, ingest_statement

    from .test_spending import rec

    BudgetProfile.objects.create(user=alice, monthly_income=Decimal("4000"))
    connection = ConnectionFactory(user=alice)
    ingest_statement(alice, connection, [rec("a", "-40.00", date(2026, 1, 5)),
                                         rec("b", "-40.00", date(2026, 2, 5))])
    account_unlink(connection=connection)
    food = line(alice, MARCH, "Food & Dining")
    assert (food.amount, food.source) == (Decimal("600.00"), "template")


def test_a_month_to_come_does_not_count_the_current_month_as_history(alice, now):
    BudgetProfile.objects.create(user=alice, monthly_income=Decimal("4000"))
    spend(alice, MARCH, sub("Groceries"), "-10.00")  # March is not over yet
    assert line(alice, date(2026, 4, 1), "Food & Dining").source == "template"


def test_bad_category_ids_are_404_and_non_spending_ones_400(api):
    assert api.put("/api/v1/budgets/abc/", {"amount": "1"}, format="json").status_code == 404
    assert api.delete(f"/api/v1/budgets/{top('Income').id}/").status_code == 400
    assert api.delete(f"/api/v1/budgets/{top('Transfer').id}/").status_code == 400


@pytest.mark.parametrize("query", ["month=%202026-11", "month=2026-+1", "months=1_0"])
def test_sloppy_numbers_are_refused(api, query):
    assert api.get(f"/api/v1/trends/?{query}").status_code == 400


def test_a_recommendation_that_moves_or_a_lowered_budget_does_not_alert_twice(alice, now):
    spend(alice, MARCH, sub("Groceries"), "-150.00")
    for month, amount in [(date(2025, 12, 1), "-100"), (date(2026, 1, 1), "-120"),
                          (date(2026, 2, 1), "-140")]:
        spend(alice, month, sub("Groceries"), amount)
    budgets_check(user_id=alice.id)  # recommended 120: exceeded
    spend(alice, date(2026, 2, 1), sub("Groceries"), "-160")  # a late charge: now 140
    budgets_check(user_id=alice.id)
    budget_set(user=alice, category=top("Food & Dining"), amount=Decimal("90"))
    budgets_check(user_id=alice.id)  # lowered by hand
    assert Notification.objects.filter(user=alice, kind="budget_exceeded").count() == 1


def test_a_write_commits_and_its_budget_check_is_queued_even_with_the_cache_down(
    alice, api, django_capture_on_commit_callbacks
):
    from django.core.cache import cache

    from tests.factories import ConnectionFactory, ingest_statement
    from transactions.models import Transaction

    from .test_spending import rec

    ingest_statement(alice, ConnectionFactory(user=alice), [rec("a", "-40.00")])
    row = Transaction.objects.get(user=alice)
    with (mock.patch("budgets.tasks.check_budgets.delay") as check,
          mock.patch.object(cache, "incr", side_effect=ConnectionError("cache down")),
          mock.patch.object(cache, "get", side_effect=ConnectionError("cache down")),
          django_capture_on_commit_callbacks(execute=True)):
        response = api.patch(f"/api/v1/transactions/{row.id}/",
                             {"category": sub("Coffee Shops").id}, format="json")
        summary = api.get("/api/v1/summary/?month=2026-03")
    assert response.status_code == 200 and check.called
    assert summary.status_code == 200 and summary["X-Cache"] == "miss"


def test_support_deletes_go_through_the_services_and_keep_spending_exact(alice, client):
    from budgets.services.recompute import current_totals, totals_from_rows
    from tests.factories import ConnectionFactory, UserFactory, ingest_statement
    from transactions.models import Transaction

    from .test_spending import rec

    kept, gone = ConnectionFactory(user=alice), ConnectionFactory(user=alice)
    ingest_statement(alice, kept, [rec("a", "-40.00"), rec("b", "-2.00")])
    ingest_statement(alice, gone, [rec("c", "-7.00")])
    mine = Category.objects.create(user=alice, parent=top("Auto & Transport"), name="Tolls")
    Transaction.objects.filter(user=alice, external_id="b").update(category=mine)
    MonthlySpending.objects.filter(user=alice).delete()
    from budgets.services.recompute import spending_recompute

    spending_recompute(user_id=alice.id)
    client.force_login(UserFactory(email="root@example.com", is_staff=True, is_superuser=True))

    assert client.post(f"/admin/accounts/connection/{gone.pk}/delete/",
                       {"post": "yes"}).status_code == 302
    assert current_totals(alice.id) == totals_from_rows(alice.id)
    assert client.post(f"/admin/categories/category/{mine.pk}/delete/",
                       {"post": "yes"}).status_code == 302
    assert Transaction.objects.get(user=alice, external_id="b").category == top("Auto & Transport")
    assert current_totals(alice.id) == totals_from_rows(alice.id)
    assert client.get(f"/admin/categories/category/{sub('Groceries').id}/delete/").status_code == 403
    account = kept.accounts.get()
    assert client.post(f"/admin/accounts/financialaccount/{account.pk}/delete/",
                       {"post": "yes"}).status_code == 302
    assert current_totals(alice.id) == totals_from_rows(alice.id) == {}


def test_a_budget_that_grows_while_spending_is_past_it_already_does_not_alert_again(alice, now):
    """A recommendation drifts up as a month's history arrives (2,197 → 2,218) with the
    spending still past 80 % of it: the person was told, nothing crossed since."""
    spend(alice, MARCH, sub("Groceries"), "-2150.00")
    budget_set(user=alice, category=top("Food & Dining"), amount=Decimal("2197"))
    budgets_check(user_id=alice.id)
    budget_set(user=alice, category=top("Food & Dining"), amount=Decimal("2218"))
    budgets_check(user_id=alice.id)

    assert Notification.objects.filter(user=alice, kind="budget_approaching").count() == 1

    # over the grown budget later: that line was never crossed, so it is news
    spend(alice, MARCH, sub("Groceries"), "-2300.00")
    budgets_check(user_id=alice.id)
    assert Notification.objects.filter(user=alice, kind="budget_exceeded").count() == 1

"""Summary and trends: what they show, and that a cached answer never hides a write."""

from datetime import UTC, date, datetime
from decimal import Decimal
from unittest import mock

import pytest

from accounts.services import account_unlink
from budgets import selectors
from budgets.services import budget_set
from categories.models import Category
from categories.services import transaction_categorize
from tests.factories import ConnectionFactory, ingest_statement
from transactions.models import Transaction

from .test_spending import rec

NOW = datetime(2026, 3, 20, 12, tzinfo=UTC)


@pytest.fixture(autouse=True)
def now():
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        yield


@pytest.fixture
def history(alice):
    connection = ConnectionFactory(user=alice)
    ingest_statement(alice, connection, [
        rec("g1", "-120.00", date(2026, 3, 2), "WHOLEFDS MKT 10234 PALO ALTO CA"),
        rec("g2", "20.00", date(2026, 3, 3), "WHOLEFDS MKT 10234 PALO ALTO CA"),  # refund
        rec("f1", "-45.00", date(2026, 3, 4), "SHELL OIL 12345 AUSTIN TX"),
        rec("p1", "3000.00", date(2026, 3, 1), "ACME CORP PAYROLL"),
        rec("t1", "-500.00", date(2026, 3, 5), "ONLINE TRANSFER TO SAV 1234"),
        rec("f0", "-60.00", date(2026, 2, 10), "SHELL OIL 12345 AUSTIN TX"),
        rec("o1", "-9.00", date(2025, 4, 10), "SHELL OIL 12345 AUSTIN TX"),  # out of range
    ])
    return connection


def test_summary_shows_spending_income_net_and_budgets(api, history):
    body = api.get("/api/v1/summary/?month=2026-03").json()
    assert body["month"] == "2026-03"
    assert body["spending"] == [
        {"category": Category.objects.get(name="Food & Dining").id, "name": "Food & Dining",
         "spent": "100.00"},
        {"category": Category.objects.get(name="Auto & Transport").id,
         "name": "Auto & Transport", "spent": "45.00"},
    ]
    assert (body["spent"], body["income"], body["net"]) == ("145.00", "3000.00", "2855.00")
    food = next(b for b in body["budgets"] if b["name"] == "Food & Dining")
    assert food["spent"] == "100.00" and food["source"] in ("template", "recommended")


def test_summary_defaults_to_this_month_where_the_user_lives(api, history):
    assert api.get("/api/v1/summary/").json()["month"] == "2026-03"


def test_trends_give_monthly_totals_per_top_level_category(api, history):
    body = api.get("/api/v1/trends/?months=12&month=2026-03").json()
    months = body["months"]
    assert [m["month"] for m in months][:2] == ["2025-04", "2025-05"] and len(months) == 12
    assert months[-1]["categories"] == {"Auto & Transport": "45.00", "Food & Dining": "100.00"}
    assert months[-2]["categories"] == {"Auto & Transport": "60.00"}
    assert months[0]["categories"] == {"Auto & Transport": "9.00"}
    assert months[-1]["income"] == "3000.00"


@pytest.mark.parametrize("query", ["months=0", "months=121", "months=x", "month=2026-1"])
def test_bad_trend_parameters_are_a_400(api, query):
    assert api.get(f"/api/v1/trends/?{query}").status_code == 400


def test_a_summary_is_served_from_the_cache_with_few_queries(api, history,
                                                              django_assert_max_num_queries):
    first = api.get("/api/v1/summary/?month=2026-03")
    assert first["X-Cache"] == "miss"
    with django_assert_max_num_queries(1):  # the user, for authentication
        second = api.get("/api/v1/summary/?month=2026-03")
    assert second["X-Cache"] == "hit" and second.json() == first.json()


def test_a_cold_summary_costs_a_handful_of_queries(api, history, django_assert_max_num_queries):
    with django_assert_max_num_queries(7):  # … the accounts' currencies among them
        assert api.get("/api/v1/summary/?month=2026-03")["X-Cache"] == "miss"


def spent(api, name="Auto & Transport"):
    body = api.get("/api/v1/summary/?month=2026-03").json()
    return next((c["spent"] for c in body["spending"] if c["name"] == name), "0.00")


def test_every_write_that_changes_a_summary_invalidates_it(
    api, alice, history, django_capture_on_commit_callbacks
):
    assert spent(api) == "45.00"
    with django_capture_on_commit_callbacks(execute=True):  # a refresh brings a new row
        ingest_statement(alice, history, [rec("f2", "-5.00", date(2026, 3, 9),
                                              "SHELL OIL 12345 AUSTIN TX")])
    assert spent(api) == "50.00"

    shell = Transaction.objects.get(user=alice, external_id="f2")
    with django_capture_on_commit_callbacks(execute=True):  # recategorised by hand
        transaction_categorize(user=alice, transaction_id=shell.id,
                               category=Category.objects.get(name="Groceries"))
    assert spent(api) == "45.00"
    assert spent(api, "Food & Dining") == "105.00"

    food = Category.objects.get(user=None, name="Food & Dining")
    with django_capture_on_commit_callbacks(execute=True):  # a budget set
        budget_set(user=alice, category=food, amount=Decimal("150"))
    budgets = api.get("/api/v1/summary/?month=2026-03").json()["budgets"]
    assert next(b for b in budgets if b["name"] == "Food & Dining")["amount"] == "150.00"

    with django_capture_on_commit_callbacks(execute=True):  # the account unlinked
        account_unlink(connection=history)
    assert api.get("/api/v1/summary/?month=2026-03").json()["spending"] == []


def test_a_write_during_a_slow_read_is_never_hidden(api, alice, history,
                                                    django_capture_on_commit_callbacks):
    # The read computes from the rows before the write commits, then stores its (now
    # old) answer; the next read must still see the write.
    real = selectors.summary_for

    def slow_read(**kwargs):
        answer = real(**kwargs)
        with django_capture_on_commit_callbacks(execute=True):
            ingest_statement(alice, history, [rec("f3", "-7.00", date(2026, 3, 11),
                                                  "SHELL OIL 12345 AUSTIN TX")])
        return answer

    with mock.patch("budgets.api.views.summary_for", side_effect=slow_read):
        assert spent(api) == "45.00"  # the read that raced the write
    assert spent(api) == "52.00"


def test_the_summary_names_the_currencies_it_adds_without_converting(api, alice, client,
                                                                    history):
    from tests.factories import FinancialAccountFactory

    client.force_login(alice)
    alice_client = client
    one = api.get("/api/v1/summary/?month=2026-03").json()
    page = alice_client.get("/budgets/?month=2026-03").content.decode()
    assert one["currencies"] == ["USD"] and 'data-note="currencies"' not in page

    FinancialAccountFactory(connection=history, currency="EUR")
    two = api.get("/api/v1/summary/?month=2026-04").json()  # not cached yet
    page = alice_client.get("/budgets/?month=2026-04").content.decode()

    assert two["currencies"] == ["EUR", "USD"]
    assert "Your accounts are in EUR, USD: these totals and budgets add their amounts as " \
           "written, without converting them." in page


def test_the_summary_names_a_currency_its_rows_carry_that_no_account_has(api, alice, history):
    # a CSV's currency column gives a row its own currency, whatever its account's
    Transaction.objects.filter(user=alice, external_id="g1").update(currency="GBP")
    Transaction.objects.filter(user=alice, external_id="o1").update(currency="JPY")

    body = api.get("/api/v1/summary/?month=2026-03").json()

    assert body["currencies"] == ["GBP", "USD"]  # o1 is not in the summary's month


# --- the schema of the summary and the trends --------------------------------------------


def _component(schema: dict, ref_or_schema: dict) -> dict:
    ref = ref_or_schema.get("$ref")
    return schema["components"]["schemas"][ref.rsplit("/", 1)[1]] if ref else ref_or_schema


def test_the_schema_types_a_summary_line_and_a_trends_month(api):
    # given the published schema
    schema = api.get("/api/v1/schema/?format=json").json()
    components = schema["components"]["schemas"]

    # when a generated client reads a summary's spending line and a trends month
    line = _component(schema, components["Summary"]["properties"]["spending"]["items"])
    month = _component(schema, components["Trends"]["properties"]["months"]["items"])

    # then each is an object with typed, required fields, not a bare map
    assert line["properties"]["category"]["type"] == "integer"
    assert line["properties"]["name"]["type"] == "string"
    assert (line["properties"]["spent"]["type"], line["properties"]["spent"]["format"]) == (
        "string", "decimal")
    assert set(line["required"]) == {"category", "name", "spent"}
    assert month["properties"]["month"]["type"] == "string"
    assert month["properties"]["categories"]["type"] == "object"
    assert month["properties"]["categories"]["additionalProperties"]["type"] == "string"
    assert month["properties"]["income"]["format"] == "decimal"
    assert {"month", "categories", "income"} <= set(month["required"])


def test_the_summary_and_trends_answer_as_before_through_their_serializers(api, history):
    summary = api.get("/api/v1/summary/?month=2026-03").json()
    trends = api.get("/api/v1/trends/?months=2&month=2026-03").json()

    assert [set(line) for line in summary["spending"]] == [{"category", "name", "spent"}] * 2
    assert trends["months"][0]["month"] == "2026-02"
    assert trends["months"][0]["categories"] == {"Auto & Transport": "60.00"}
    assert trends["months"][0]["income"] == "0.00"


@pytest.mark.parametrize("refund", [
    "RETURN TARGET T-1234 EMERYVILLE CA",
    "POS RETURN 1234 TARGET T-1234 EMERYVILLE CA",
    "CHECKCARD REFUND 0312 TARGET T-1234 EMERYVILLE CA",
    "REFUND TARGET T-1234 EMERYVILLE CA",
])
def test_a_shops_refund_written_return_or_refund_first_reduces_its_spending(api, alice, refund):
    # These lines read as a seller called "Return Target" with the word "refund": the
    # money counted as income and Target's spending stayed whole (review).
    ingest_statement(alice, ConnectionFactory(user=alice), [
        rec("buy", "-100.00", date(2026, 3, 2), "TARGET T-1234 EMERYVILLE CA"),
        rec("back", "30.00", date(2026, 3, 5), refund),
    ])
    body = api.get("/api/v1/summary/?month=2026-03").json()
    spent = {line["name"]: line["spent"] for line in body["spending"]}
    assert (spent.get("Shopping"), body["income"]) == ("70.00", "0.00")

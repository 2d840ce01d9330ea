"""Ids in the API: what an id in a request body or a path is (a whole number, in ASCII
digits), the code a duplicate rule answers with, and a webhook URL that cannot change.

An id DRF handed to the database as it came was read by ``int()``: 1e400 (infinity to
Python's JSON reader) was a 500, 43.9 was category 43 and "١" (Arabic-Indic one) was 1.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from budgets.models import Budget
from categories.models import Category, Rule
from notifications.models import Notification, Webhook
from tests.conftest import api_client_for
from tests.factories import ConnectionFactory, FinancialAccountFactory
from transactions.models import Transaction

pytestmark = pytest.mark.django_db  # the taxonomy comes from the data migration

MAX_ID = 2**63 - 1


def arabic(number: int) -> str:
    """``number`` in Arabic-Indic digits: ``str.isdigit()`` is true, ``int()`` reads it."""
    return "".join(chr(0x660 + int(digit)) for digit in str(number))


def fullwidth(number: int) -> str:
    return "".join(chr(0xFF10 + int(digit)) for digit in str(number))


def raw(client, method: str, path: str, body: str):
    """A JSON body as written: ``format="json"`` cannot send 1e400 or 43.9 exactly."""
    return getattr(client, method)(path, body.encode(), content_type="application/json")


def assert_refused(response, field: str) -> dict:
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert set(error) == {"code", "message", "details"}
    assert error["code"] == "invalid"
    assert list(error["details"]) == [field]
    assert error["message"].startswith(f"{field}: ")
    return error


@pytest.fixture
def food():
    return Category.objects.get(user=None, parent=None, name="Food & Dining")


@pytest.fixture
def groceries(food):
    return Category.objects.get(user=None, parent=food, name="Groceries")


@pytest.fixture
def restaurants(food):
    return Category.objects.get(user=None, parent=food, name="Restaurants")


@pytest.fixture
def account(alice):
    return FinancialAccountFactory(connection=ConnectionFactory(user=alice))


@pytest.fixture
def coffee(alice, account, groceries):
    return Transaction.objects.create(
        user=alice, account=account, external_id="t1", posted_on=date(2026, 5, 3),
        amount=Decimal("-4.75"), description="STARBUCKS #12345 SEATTLE WA",
        seller="Starbucks", seller_key="starbucks", category=groceries,
    )


# --- ids in request bodies ------------------------------------------------------------------


@pytest.mark.parametrize("number", ["1e400", "-1e400"])
def test_a_number_too_large_for_a_float_is_a_400_naming_the_field_not_a_500(
        api, coffee, account, food, restaurants, number):
    filed = raw(api, "patch", f"/api/v1/transactions/{coffee.id}/",
                f'{{"category": {number}}}')
    rule = raw(api, "post", "/api/v1/rules/", f'{{"seller": "qq", "category": {number}}}')
    on_account = raw(api, "post", "/api/v1/rules/",
                     f'{{"account": {number}, "category": {restaurants.id}}}')
    created = raw(api, "post", "/api/v1/categories/", f'{{"name": "n", "parent": {number}}}')

    assert_refused(filed, "category")
    assert_refused(rule, "category")
    assert_refused(on_account, "account")
    assert_refused(created, "parent")
    assert not Rule.objects.exists()
    assert not Category.objects.filter(name="n").exists()


def test_a_fractional_category_id_files_nothing_under_the_category_below_it(
        api, alice, coffee, groceries, restaurants):
    response = raw(api, "patch", f"/api/v1/transactions/{coffee.id}/",
                   f'{{"category": {restaurants.id}.9}}')

    assert_refused(response, "category")
    coffee.refresh_from_db()
    assert (coffee.category, coffee.category_source) == (groceries, "")


def test_a_fractional_parent_creates_no_category_under_the_one_below_it(api, alice, food):
    response = raw(api, "post", "/api/v1/categories/", f'{{"name": "n", "parent": {food.id}.99}}')

    assert_refused(response, "parent")
    assert not Category.objects.filter(user=alice).exists()


@pytest.mark.parametrize("value", [
    "{id}.0",          # a whole float: no client writes an id so
    "true",            # a bool is no id, though Python's is an int
    '"{id}.0"',
    '" {id}"',
    '"+{id}"',
    '"{arabic}"',      # Arabic-Indic digits: int() reads them
    '"{fullwidth}"',
    '"abc"',
    '[{id}]',
    '{{"id": {id}}}',
])
def test_an_id_is_a_json_integer_or_a_string_of_ascii_digits_and_nothing_else(
        api, alice, coffee, groceries, restaurants, value):
    text = value.format(id=restaurants.id, arabic=arabic(restaurants.id),
                        fullwidth=fullwidth(restaurants.id))

    filed = raw(api, "patch", f"/api/v1/transactions/{coffee.id}/", f'{{"category": {text}}}')
    rule = raw(api, "post", "/api/v1/rules/", f'{{"seller": "qq", "category": {text}}}')

    assert_refused(filed, "category")
    assert_refused(rule, "category")
    assert "whole number" in filed.json()["error"]["message"]
    coffee.refresh_from_db()
    assert coffee.category == groceries
    assert not Rule.objects.exists()


@pytest.mark.parametrize("value", ["0", "-3", str(MAX_ID + 1), f'"{"9" * 5000}"'])
def test_a_whole_number_no_id_can_be_is_an_object_that_does_not_exist(api, coffee, value):
    response = raw(api, "patch", f"/api/v1/transactions/{coffee.id}/", f'{{"category": {value}}}')

    error = assert_refused(response, "category")
    assert "does not exist" in error["message"]


def test_an_id_as_a_string_of_ascii_digits_is_read_as_forms_send_it(api, alice, coffee,
                                                                     restaurants):
    response = raw(api, "patch", f"/api/v1/transactions/{coffee.id}/",
                   f'{{"category": "{restaurants.id}"}}')

    assert response.status_code == 200, response.content
    assert response.json()["category"] == restaurants.id


def test_an_import_names_its_account_by_a_whole_number_too(api, account):
    response = api.post("/api/v1/imports/", {"account": arabic(account.id)}, format="multipart")

    assert response.status_code == 400
    assert "whole number" in response.json()["error"]["details"]["account"][0]


@pytest.mark.parametrize("value", ["1.0", '"1.0"', '"١"', "1e400", str(MAX_ID + 1)])
def test_marking_notifications_read_up_to_an_id_takes_a_whole_number(api, alice, value):
    Notification.objects.create(user=alice, kind="budget_exceeded", title="t", body="b",
                                dedupe_key="k")

    response = raw(api, "post", "/api/v1/notifications/read-all/", f'{{"up_to_id": {value}}}')

    assert_refused(response, "up_to_id")
    assert Notification.objects.filter(read_at=None).count() == 1


# --- ids in paths -----------------------------------------------------------------------


def test_an_id_in_other_digits_than_ascii_is_a_404_for_every_resource(api, alice, coffee,
                                                                     restaurants, food):
    rule = Rule.objects.create(user=alice, seller="Starbucks", seller_key="starbucks",
                               category=restaurants)
    notification = Notification.objects.create(user=alice, kind="budget_exceeded", title="t",
                                               body="b", dedupe_key="k")
    webhook = Webhook.objects.create(user=alice, url="https://example.com/hook", secret="x")
    paths = [f"/api/v1/transactions/{arabic(coffee.id)}/",
             f"/api/v1/transactions/{fullwidth(coffee.id)}/",
             f"/api/v1/rules/{arabic(rule.id)}/",
             f"/api/v1/notifications/{arabic(notification.id)}/",
             f"/api/v1/webhooks/{arabic(webhook.id)}/"]

    for path in paths:
        response = api.get(path)
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "not_found"
    assert api.patch(f"/api/v1/transactions/{arabic(coffee.id)}/",
                     {"category": restaurants.id}, format="json").status_code == 404
    assert api.delete(f"/api/v1/rules/{arabic(rule.id)}/").status_code == 404
    assert Rule.objects.filter(pk=rule.pk).exists()
    coffee.refresh_from_db()
    assert coffee.category != restaurants


def test_a_budget_for_a_category_id_in_arabic_indic_digits_is_a_404_and_sets_nothing(
        api, alice, food):
    put = api.put(f"/api/v1/budgets/{arabic(food.id)}/", {"amount": "1"}, format="json")
    delete = api.delete(f"/api/v1/budgets/{arabic(food.id)}/")

    assert (put.status_code, delete.status_code) == (404, 404)
    assert put.json()["error"]["code"] == "not_found"
    assert not Budget.objects.filter(user=alice).exists()


def test_the_same_ids_in_ascii_digits_still_reach_the_objects(api, alice, coffee, food):
    assert api.get(f"/api/v1/transactions/{coffee.id}/").status_code == 200
    assert api.put(f"/api/v1/budgets/{food.id}/", {"amount": "1"},
                   format="json").status_code == 200


def test_path_ids_stay_integers_in_the_schema(api):
    schema = api.get("/api/v1/schema/?format=json").json()

    for path in ("/api/v1/transactions/{id}/", "/api/v1/rules/{id}/"):
        for operation in schema["paths"][path].values():
            (parameter,) = [p for p in operation["parameters"] if p["in"] == "path"]
            assert parameter["schema"] == {"type": "integer", "minimum": 1}, path


# --- a duplicate rule -------------------------------------------------------------------


def test_a_second_rule_with_the_same_conditions_answers_with_code_duplicate_rule(
        api, alice, restaurants, groceries):
    first = api.post("/api/v1/rules/", {"seller": "Starbucks", "category": restaurants.id},
                     format="json")
    other = api.post("/api/v1/rules/", {"seller": "Starbucks", "amount_max": "-10.00",
                                        "category": groceries.id}, format="json")

    twin = api.post("/api/v1/rules/", {"seller": "STARBUCKS", "category": groceries.id},
                    format="json")
    changed = api.patch(f"/api/v1/rules/{other.json()['id']}/", {"amount_max": None},
                        format="json")

    assert (first.status_code, other.status_code) == (201, 201)
    for response in (twin, changed):
        assert response.status_code == 400
        error = response.json()["error"]
        assert error["code"] == "duplicate_rule"
        assert error["message"].startswith("A rule for Starbucks already files them under")
    assert Rule.objects.filter(user=alice).count() == 2


def test_other_refusals_of_a_service_keep_code_invalid(api, restaurants):
    upside_down = api.post("/api/v1/rules/", {"seller": "qq", "amount_min": "5",
                                              "amount_max": "1", "category": restaurants.id},
                           format="json")
    no_letters = api.post("/api/v1/rules/", {"seller": "!!", "category": restaurants.id},
                          format="json")

    assert upside_down.json()["error"]["code"] == "invalid"
    assert no_letters.json()["error"]["code"] == "invalid"


# --- a webhook's URL --------------------------------------------------------------------


@pytest.fixture
def webhook(alice):
    response = api_client_for(alice).post("/api/v1/webhooks/",
                                          {"url": "http://127.0.0.1:9/hook"}, format="json")
    assert response.status_code == 201, response.content
    return Webhook.objects.get(pk=response.json()["id"])


def test_patching_a_webhook_to_another_url_is_a_400_saying_to_add_another(api, webhook):
    response = api.patch(f"/api/v1/webhooks/{webhook.pk}/", {"url": "http://evil/"},
                         format="json")

    error = assert_refused(response, "url")
    assert "cannot be changed" in error["message"]
    assert "delete" in error["message"] and "add another" in error["message"]
    webhook.refresh_from_db()
    assert (webhook.url, webhook.active) == ("http://127.0.0.1:9/hook", True)


def test_sending_back_the_url_a_webhook_has_is_no_change_and_no_error(api, webhook):
    body = api.get(f"/api/v1/webhooks/{webhook.pk}/").json()

    response = api.patch(f"/api/v1/webhooks/{webhook.pk}/", {**body, "active": False},
                         format="json")
    same = api.patch(f"/api/v1/webhooks/{webhook.pk}/", {"url": body["url"]}, format="json")

    assert (response.status_code, same.status_code) == (200, 200)
    assert response.json()["active"] is False

"""/api/v1/categories/: Mint's taxonomy as a tree and users' own sub-categories, which only
their owner sees and files transactions under."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from categories.models import Category, Rule, SellerVote
from tests.conftest import api_client_for
from tests.factories import ConnectionFactory, FinancialAccountFactory
from transactions.models import Transaction

pytestmark = pytest.mark.django_db  # the taxonomy comes from the data migration

NODE_KEYS = {"id", "name", "own", "is_income", "is_transfer", "children"}


def tree(client) -> dict[str, dict]:
    response = client.get("/api/v1/categories/")
    assert response.status_code == 200
    return {node["name"]: node for node in response.json()}


def children(node: dict) -> dict[str, dict]:
    return {child["name"]: child for child in node["children"]}


def create(client, name: str, parent: int | None):
    return client.post("/api/v1/categories/", {"name": name, "parent": parent}, format="json")


def spending(user, external_id="t1") -> Transaction:
    account = FinancialAccountFactory(connection=ConnectionFactory(user=user))
    return Transaction.objects.create(
        user=user, account=account, external_id=external_id, posted_on=date(2026, 5, 3),
        amount=Decimal("-12.00"), description="FERRY PLAZA FARMERS MKT SAN FRANCISCO CA",
        seller="Ferry Plaza Farmers Mkt", seller_key="ferry plaza farmers mkt",
    )


# --- the tree -----------------------------------------------------------------------------


def test_the_tree_holds_mints_categories_with_children_and_flags(api):
    nodes = tree(api)

    def walk(node):
        assert set(node) == NODE_KEYS
        assert node["own"] is False
        for child in node["children"]:
            walk(child)

    for node in nodes.values():
        walk(node)
    assert len(nodes) == 23
    food = children(nodes["Food & Dining"])
    assert {"Coffee Shops", "Restaurants", "Groceries"} <= set(food)
    assert food["Coffee Shops"]["children"] == []
    assert (nodes["Income"]["is_income"], nodes["Income"]["is_transfer"]) == (True, False)
    assert all(c["is_income"] for c in nodes["Income"]["children"])
    assert (nodes["Transfer"]["is_income"], nodes["Transfer"]["is_transfer"]) == (False, True)
    assert children(nodes["Transfer"])["Credit Card Payment"]["is_transfer"] is True
    assert not (nodes["Food & Dining"]["is_income"] or nodes["Food & Dining"]["is_transfer"])
    assert set(children(nodes["Uncategorized"])) == {"Cash & ATM", "Check"}
    assert nodes["Misc Expenses"]["children"] == []
    assert list(nodes) == sorted(nodes)


# --- own sub-categories -------------------------------------------------------------------


def test_alice_creates_her_own_sub_category_that_only_she_sees(api, alice, bob, food):
    response = create(api, "  Farmers   Market ", food.id)

    assert response.status_code == 201
    body = response.json()
    assert body == {"id": body["id"], "name": "Farmers Market", "own": True,
                    "is_income": False, "is_transfer": False, "children": []}
    assert children(tree(api)["Food & Dining"])["Farmers Market"] == body
    assert "Farmers Market" not in children(tree(api_client_for(bob))["Food & Dining"])
    created = Category.objects.get(id=body["id"])
    assert (created.user, created.parent) == (alice, food)


def test_a_sub_category_of_income_counts_as_income(api):
    income = Category.objects.get(user=None, parent=None, name="Income")

    response = create(api, "Side Gigs", income.id)

    assert response.status_code == 201
    assert (response.json()["is_income"], response.json()["is_transfer"]) == (True, False)


@pytest.mark.parametrize("name", ["farmers MARKET", "Farmers Market", "coffee shops"])
def test_a_name_already_under_the_parent_is_refused_whatever_its_case(api, farmers_market,
                                                                       food, name):
    response = create(api, name, food.id)

    assert response.status_code == 400
    error = response.json()["error"]
    assert set(error) == {"code", "message", "details"}
    assert set(error["details"]) == {"name"}
    assert Category.objects.filter(parent=food, name__iexact=name).count() == 1


def test_a_name_with_accents_already_under_the_parent_is_refused_whatever_its_case(api, food):
    assert create(api, "Café Crème", food.id).status_code == 201

    response = create(api, "CAFÉ CRÈME", food.id)  # SQLite's iexact folds ASCII only

    assert response.status_code == 400
    assert Category.objects.filter(parent=food, user__isnull=False).count() == 1


def test_a_name_typed_with_a_combining_accent_is_the_name_that_exists(api, food):
    # given "Café" (é one character) under Food & Dining
    assert create(api, "Caf\u00e9", food.id).status_code == 201

    # when "Café" comes again, its é typed as e and a combining accent
    response = create(api, "Cafe\u0301", food.id)

    # then it is the same name, refused
    assert response.status_code == 400
    assert "already exists" in str(response.json())


def test_the_same_name_created_twice_at_once_is_refused_not_a_500(api, alice, food,
                                                                  monkeypatch):
    # given a first request that has just created "Lunch" between the second request's
    # check and its insert (a double click, two devices)
    from django.db import connection

    from categories.services import manual

    if connection.vendor != "postgresql":
        pytest.skip("the unique name constraint (NULLS NOT DISTINCT) is PostgreSQL's")

    # (the first request's row committed; the second's check looked before that: its
    # own transaction, category_create's, must not roll the first one's row back)
    Category.objects.create(user=alice, parent=food, name="Lunch")
    monkeypatch.setattr(manual, "_name_free", lambda **kwargs: None)

    # when the second request inserts
    response = create(api, "Lunch", food.id)

    # then it is told the name exists, and one "Lunch" is there
    assert response.status_code == 400, response.content
    assert "already exists" in str(response.json())
    assert Category.objects.filter(user=alice, name="Lunch").count() == 1


def test_a_sub_category_as_parent_is_refused_saying_what_a_parent_must_be(api):
    groceries = Category.objects.get(user=None, name="Groceries")

    response = create(api, "Organic", groceries.id)

    assert response.status_code == 400
    assert response.json()["error"]["details"]["parent"] == [
        f"{groceries.id} is not a top-level category of the shared taxonomy (your own go "
        "under one of those)"]


def test_bob_may_use_a_name_alice_already_has(bob, farmers_market, food):
    response = create(api_client_for(bob), "Farmers Market", food.id)

    assert response.status_code == 201
    assert Category.objects.filter(name="Farmers Market").count() == 2


def test_a_sub_category_cannot_be_a_parent(api, farmers_market):
    coffee_shops = Category.objects.get(user=None, name="Coffee Shops")

    under_shared = create(api, "Espresso Bars", coffee_shops.id)
    under_own = create(api, "Saturdays", farmers_market.id)

    assert (under_shared.status_code, under_own.status_code) == (400, 400)
    assert set(under_shared.json()["error"]["details"]) == {"parent"}
    assert set(under_own.json()["error"]["details"]) == {"parent"}
    assert not Category.objects.filter(name__in=["Espresso Bars", "Saturdays"]).exists()


@pytest.mark.parametrize("body", [{"name": ""}, {"name": "   "}, {}])
def test_a_category_needs_a_name(api, alice, food, body):
    response = api.post("/api/v1/categories/", {"parent": food.id, **body}, format="json")

    assert response.status_code == 400
    assert set(response.json()["error"]["details"]) == {"name"}
    assert not Category.objects.filter(user=alice).exists()


def test_anonymous_users_can_neither_list_nor_create_categories(food):
    anonymous = api_client_for(None)

    listed = anonymous.get("/api/v1/categories/")
    created = create(anonymous, "Farmers Market", food.id)

    assert (listed.status_code, created.status_code) == (401, 401)
    assert created.json()["error"]["code"] == "not_authenticated"
    assert not Category.objects.filter(name="Farmers Market").exists()


# --- filing transactions under one's own category -----------------------------------------


def test_alice_files_a_transaction_under_her_own_category(api, alice, farmers_market):
    tx = spending(alice)

    response = api.patch(f"/api/v1/transactions/{tx.id}/", {"category": farmers_market.id},
                         format="json")

    assert response.status_code == 200
    body = response.json()
    assert (body["category"], body["category_name"], body["category_source"]) == (
        farmers_market.id, "Food & Dining › Farmers Market", "manual")
    tx.refresh_from_db()
    assert (tx.category, tx.category_source) == (farmers_market, "manual")


def test_bob_cannot_file_his_transaction_under_alices_category(bob, farmers_market):
    tx = spending(bob, "b1")

    response = api_client_for(bob).patch(f"/api/v1/transactions/{tx.id}/",
                                         {"category": farmers_market.id}, format="json")

    assert response.status_code == 400
    assert set(response.json()["error"]["details"]) == {"category"}
    tx.refresh_from_db()
    assert (tx.category, tx.category_source) == (None, "")


def test_a_rename_alone_keeps_the_category_and_locks_the_row(api, alice, farmers_market):
    tx = spending(alice)
    Transaction.objects.filter(pk=tx.pk).update(category=farmers_market, category_source="seller")

    renamed = api.patch(f"/api/v1/transactions/{tx.id}/", {"rename_to": "Corner Market"},
                        format="json")
    neither = api.patch(f"/api/v1/transactions/{tx.id}/", {"always": True}, format="json")
    rule_of_a_guess = api.patch(f"/api/v1/transactions/{tx.id}/",
                                {"rename_to": "Corner", "always": True}, format="json")

    assert renamed.status_code == 200
    body = renamed.json()
    assert (body["seller"], body["category"], body["category_source"], body["rule"]) == (
        "Corner Market", farmers_market.id, "manual", None)
    assert neither.status_code == rule_of_a_guess.status_code == 400
    assert set(neither.json()["error"]["details"]) == {"category"}
    assert "category for the rule" in str(rule_of_a_guess.json()["error"]["details"])
    assert not Rule.objects.filter(user=alice).exists()
    assert not SellerVote.objects.filter(user=alice).exists()  # a rename is no vote


# --- renaming and deleting one's own -----------------------------------------------------


def test_alice_renames_her_own_category_but_not_to_a_taken_name(api, farmers_market, food):
    Category.objects.create(user=None, parent=food, name="Street Food")

    renamed = api.patch(f"/api/v1/categories/{farmers_market.id}/",
                        {"name": "  Farm   Stands "}, format="json")
    taken = api.patch(f"/api/v1/categories/{farmers_market.id}/", {"name": "street food"},
                      format="json")
    same = api.patch(f"/api/v1/categories/{farmers_market.id}/", {"name": "FARM STANDS"},
                     format="json")
    empty = api.patch(f"/api/v1/categories/{farmers_market.id}/", {"name": "   "},
                      format="json")

    assert renamed.status_code == 200
    assert renamed.json() == {"id": farmers_market.id, "name": "Farm Stands", "own": True,
                              "is_income": False, "is_transfer": False, "children": []}
    assert taken.status_code == 400 and "already exists" in str(taken.json())
    assert same.status_code == 200  # its own name in other capitals is no clash
    assert empty.status_code == 400
    farmers_market.refresh_from_db()
    assert farmers_market.name == "FARM STANDS"


def test_alice_deletes_her_own_category_its_rows_move_to_the_parent_its_rules_go(
        api, alice, farmers_market, food):
    from budgets.services.recompute import current_totals, spending_recompute, totals_from_rows

    tx = spending(alice)
    spending_recompute(user_id=alice.id)  # (spending() writes the row alone)
    api.patch(f"/api/v1/transactions/{tx.id}/", {"category": farmers_market.id,
                                                 "always": True}, format="json")
    assert Rule.objects.filter(user=alice, category=farmers_market).exists()

    response = api.delete(f"/api/v1/categories/{farmers_market.id}/")

    assert response.status_code == 204
    tx.refresh_from_db()
    assert (tx.category_id, tx.category_source) == (food.id, "manual")
    assert not Category.objects.filter(pk=farmers_market.pk).exists()
    assert not Rule.objects.filter(user=alice).exists()
    assert current_totals(alice.id) == totals_from_rows(alice.id)
    assert "Farmers Market" not in children(tree(api)["Food & Dining"])


@pytest.mark.parametrize("batch_size", [1000, 1])
def test_rows_a_deleted_categorys_rule_filed_are_filed_again_without_it(
        api, alice, food, django_capture_on_commit_callbacks, settings, batch_size):
    settings.RECATEGORIZE_BATCH_SIZE = batch_size  # 1: each row its own task
    coffee = Category.objects.get(user=None, name="Coffee Shops")
    account = FinancialAccountFactory(connection=ConnectionFactory(user=alice))
    rows = [Transaction.objects.create(
        user=alice, account=account, external_id=f"s{i}", posted_on=date(2026, 5, i + 1),
        amount=Decimal("-5.40"), description=f"STARBUCKS STORE 0{i}123 SEATTLE WA",
        seller="Starbucks", seller_key="starbucks", category=coffee, category_source="seller",
    ) for i in range(3)]
    boba = create(api, "Boba", food.id).json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        api.patch(f"/api/v1/transactions/{rows[0].id}/", {"category": boba, "always": True},
                  format="json")
    assert set(Transaction.objects.filter(user=alice).values_list(
        "category_id", "category_source")) == {(boba, "manual"), (boba, "rule")}

    with django_capture_on_commit_callbacks(execute=True):
        assert api.delete(f"/api/v1/categories/{boba}/").status_code == 204

    # The one filed by hand stays in the parent, by hand; the rule's go back to the
    # dictionary's Coffee Shops, not "rule" with no rule.
    assert list(Transaction.objects.filter(user=alice).order_by("external_id").values_list(
        "category_id", "category_source")) == [
        (food.id, "manual"), (coffee.id, "seller"), (coffee.id, "seller")]


def test_deleting_a_category_leaves_the_rows_other_rules_filed_under_its_parent(
        api, alice, food, django_capture_on_commit_callbacks):
    # given a Starbucks row a rule, since deleted keeping the past, filed under Food &
    # Dining, and a boba row a rule filed under her own "Boba"
    account = FinancialAccountFactory(connection=ConnectionFactory(user=alice))
    starbucks, boba_row = (Transaction.objects.create(
        user=alice, account=account, external_id=external_id, posted_on=date(2026, 5, 3),
        amount=Decimal("-5.40"), description=description, seller=seller, seller_key=key,
    ) for external_id, description, seller, key in [
        ("s1", "STARBUCKS STORE 01234 SEATTLE WA", "Starbucks", "starbucks"),
        ("b1", "ZQX BOBA HOUSE 12", "Zqx Boba House", "zqx boba house")])
    with django_capture_on_commit_callbacks(execute=True):
        rule = api.post("/api/v1/rules/", {"seller": "Starbucks", "category": food.id,
                                           "apply_to_past": True}, format="json").json()["id"]
    api.delete(f"/api/v1/rules/{rule}/")  # the past keeps what it filed
    boba = create(api, "Boba", food.id).json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        api.post("/api/v1/rules/", {"description_contains": "BOBA", "category": boba,
                                    "apply_to_past": True}, format="json")
    boba_row.refresh_from_db()
    assert (boba_row.category_id, boba_row.category_source) == (boba, "rule")

    # when she deletes "Boba"
    with django_capture_on_commit_callbacks(execute=True):
        assert api.delete(f"/api/v1/categories/{boba}/").status_code == 204

    # then the Starbucks row keeps its category; the boba row is filed again without
    # the rule that went with "Boba"
    starbucks.refresh_from_db()
    boba_row.refresh_from_db()
    assert (starbucks.category_id, starbucks.category_source) == (food.id, "rule")
    assert boba_row.category_source != "rule"


def test_mints_categories_and_other_users_own_cannot_be_renamed_or_deleted(
        api, bob, farmers_market, food):
    bobs = api_client_for(bob)

    answers = [
        api.patch(f"/api/v1/categories/{food.id}/", {"name": "Eating"}, format="json"),
        api.delete(f"/api/v1/categories/{food.id}/"),
        bobs.patch(f"/api/v1/categories/{farmers_market.id}/", {"name": "Mine"}, format="json"),
        bobs.delete(f"/api/v1/categories/{farmers_market.id}/"),
        api.delete("/api/v1/categories/1e400/"),
    ]

    assert [r.status_code for r in answers] == [403, 403, 404, 404, 404]
    assert answers[0].json()["error"]["code"] == "shared_category"
    food.refresh_from_db()
    farmers_market.refresh_from_db()
    assert (food.name, farmers_market.name) == ("Food & Dining", "Farmers Market")


# --- documentation ------------------------------------------------------------------------


def test_the_schema_documents_categories_rules_and_filing_by_hand(api):
    # That the schema builds at all, without warnings, is in test_api.py.
    schema = api.get("/api/v1/schema/?format=json").json()

    paths = schema["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/categories/"])
    assert {"get", "put", "patch", "delete"} <= set(paths["/api/v1/rules/{id}/"])
    patch = paths["/api/v1/transactions/{id}/"]["patch"]
    assert "TransactionCategorize" in str(patch["requestBody"])


def test_the_tree_sorts_names_in_any_capitals(api, alice, food):
    for name in ["beans", "Éclairs", "Zucchini"]:
        Category.objects.create(user=alice, parent=food, name=name)

    names = list(children(tree(api)["Food & Dining"]))

    assert names.index("beans") < names.index("Coffee Shops") < names.index("Zucchini")
    assert names.index("Éclairs") > names.index("Coffee Shops")  # É after the Latin C

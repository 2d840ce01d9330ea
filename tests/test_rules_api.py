"""Rules through /api/v1/rules/ and filing a transaction by hand through
PATCH /api/v1/transactions/{id}/: what a rule matches, what it beats, what it changes in
the past (and what it never changes), and who may touch it.

Transactional: the recategorisation a rule enqueues runs (eagerly) when the request's
transaction commits, as it does in production.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import transaction

from accounts.models import FinancialAccount
from accounts.providers import AccountRecord, Statement, TransactionRecord
from categories import tasks as category_tasks
from categories.models import Category, Rule, SellerVote
from tests.conftest import api_client_for
from tests.factories import ConnectionFactory, FinancialAccountFactory
from transactions.models import RawDump, Transaction
from transactions.services.ingest import transactions_ingest

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("taxonomy")]

STARBUCKS = "POS PURCHASE 1234 STARBUCKS #12345 SEATTLE WA"


# --- helpers ------------------------------------------------------------------------------


def category(path: str) -> Category:
    """A shared category by "Top › Sub" or "Top"."""
    top, _, sub = path.partition(" › ")
    if not sub:
        return Category.objects.get(user=None, parent=None, name=top)
    return Category.objects.get(user=None, parent__name=top, name=sub)


def record(external_id: str, description: str, amount: str = "-4.75", account: str = "chk",
           day: date = date(2026, 5, 3)) -> TransactionRecord:
    return TransactionRecord(account_external_id=account, external_id=external_id,
                             posted_on=day, amount=Decimal(amount), description=description)


def ingest(connection, records: list[TransactionRecord]) -> None:
    """The pipeline's write step, as a refresh or an import runs it."""
    dump = RawDump.objects.create(user=connection.user, connection=connection,
                                  key=f"k/{RawDump.objects.count()}",
                                  media_type="application/json", size=1, sha256="0")
    statement = Statement(accounts=[AccountRecord(external_id="chk", name="Checking"),
                                    AccountRecord(external_id="sav", name="Savings")],
                          transactions=records)
    with transaction.atomic():
        transactions_ingest(user=connection.user, connection=connection, statement=statement,
                            dump=dump)


def row(user, external_id: str) -> Transaction:
    return Transaction.objects.select_related("category__parent").get(user=user,
                                                                       external_id=external_id)


def filed(user, external_id: str) -> tuple[str, str, str]:
    """(category, source, seller) of a stored transaction."""
    tx = row(user, external_id)
    return str(tx.category), tx.category_source, tx.seller


def post_rule(client, **body):
    return client.post("/api/v1/rules/", body, format="json")


@pytest.fixture
def alices_bank(alice):
    return ConnectionFactory(user=alice)


@pytest.fixture
def bobs_bank(bob):
    return ConnectionFactory(user=bob)


@pytest.fixture
def restaurants():
    return category("Food & Dining › Restaurants")


@pytest.fixture
def bobs_category(bob):
    return Category.objects.create(user=bob, parent=category("Food & Dining"), name="Bob's")


# --- creating, listing, ownership ---------------------------------------------------------


def test_a_rule_with_every_kind_of_condition_is_created_with_201(api, alice, restaurants):
    card = FinancialAccountFactory(connection=ConnectionFactory(user=alice), name="Card")

    response = post_rule(api, seller="  Starbucks ", description_contains="seattle  wa",
                         amount_min="-20.00", amount_max="0", account=card.id,
                         category=restaurants.id, rename_to="Starbucks Seattle")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert {k: body[k] for k in ("seller", "description_contains", "amount_min", "amount_max",
                                 "account", "category", "category_name", "rename_to")} == {
        "seller": "Starbucks", "description_contains": "seattle wa", "amount_min": "-20.00",
        "amount_max": "0.00", "account": card.id, "category": restaurants.id,
        "category_name": "Food & Dining › Restaurants", "rename_to": "Starbucks Seattle",
    }
    assert "apply_to_past" not in body
    rule = Rule.objects.get(id=body["id"])
    assert (rule.user, rule.seller_key) == (alice, "starbucks")
    assert api.get(f"/api/v1/rules/{rule.id}/").json() == body


def test_a_seller_whose_key_outgrows_the_column_is_cut_to_it(api, alice, restaurants):
    response = post_rule(api, seller="&" * 200, category=restaurants.id)  # "and and …"

    assert response.status_code == 201, response.json()
    rule = Rule.objects.get(id=response.json()["id"])
    assert len(rule.seller_key) <= 200 and rule.seller_key.startswith("and and")


def test_a_seller_named_in_another_script_gets_rules_and_always(api, alice, alices_bank,
                                                                restaurants):
    ingest(alices_bank, [record("p1", "ПЯТЁРОЧКА 1234 МОСКВА")])
    tx = row(alice, "p1")

    rule = post_rule(api, seller="Пятёрочка Москва", category=restaurants.id)
    always = api.patch(f"/api/v1/transactions/{tx.id}/",
                       {"category": restaurants.id, "always": True}, format="json")

    assert rule.status_code == 201, rule.json()
    assert Rule.objects.get(id=rule.json()["id"]).seller_key == "пятерочка москва"
    assert always.status_code == 200, always.json()
    ingest(alices_bank, [record("p2", "ПЯТЁРОЧКА 9876 МОСКВА", day=date(2026, 5, 9))])
    assert filed(alice, "p2") == ("Food & Dining › Restaurants", "rule", "Пятерочка Москва")


def test_a_rule_made_when_mixed_script_sellers_were_keyed_by_their_latin_words_holds(
        alice, alices_bank, restaurants):
    # Until December 2026 "KAFE PUSHKIN МОСКВА" was keyed "kafe pushkin".
    Rule.objects.create(user=alice, seller="Kafe Pushkin", seller_key="kafe pushkin",
                        category=restaurants)

    ingest(alices_bank, [record("k1", "KAFE PUSHKIN МОСКВА")])

    assert row(alice, "k1").seller_key == "kafe pushkin москва"
    assert filed(alice, "k1")[:2] == ("Food & Dining › Restaurants", "rule")


def test_a_second_rule_with_the_same_conditions_is_refused_naming_the_first(
    api, alice, restaurants
):
    first = post_rule(api, seller="Starbucks", category=restaurants.id)
    groceries = category("Food & Dining › Groceries")

    twin = post_rule(api, seller="STARBUCKS", category=groceries.id)
    other = post_rule(api, seller="Starbucks", amount_max="-10.00", category=groceries.id)
    changed = api.put(f"/api/v1/rules/{other.json()['id']}/", {
        "seller": "Starbucks", "amount_max": None, "category": groceries.id}, format="json")

    assert first.status_code == 201 and other.status_code == 201
    assert twin.status_code == 400 and changed.status_code == 400
    assert twin.json()["error"]["message"] == (
        "A rule for Starbucks already files them under Food & Dining › "
        "Restaurants: change or delete that one.")
    assert Rule.objects.filter(user=alice).count() == 2


def test_a_duplicate_rule_error_gives_the_id_of_the_rule_to_open(api, alice, restaurants):
    # given a rule for Starbucks, and another one with an amount range
    first = post_rule(api, seller="Starbucks", category=restaurants.id).json()
    other = post_rule(api, seller="Starbucks", amount_max="-10.00",
                      category=restaurants.id).json()

    # when the app posts the first one again, or changes the other into it (PUT and PATCH)
    twin = post_rule(api, seller="Starbucks", category=restaurants.id)
    put = api.put(f"/api/v1/rules/{other['id']}/", {"seller": "Starbucks",
                                                     "category": restaurants.id}, format="json")
    patched = api.patch(f"/api/v1/rules/{other['id']}/", {"amount_max": None}, format="json")

    # then each is a 400 duplicate_rule in the one error shape, whose details name the
    # existing rule's id beside the message
    for response in (twin, put, patched):
        assert response.status_code == 400
        error = response.json()["error"]
        message = ("A rule for Starbucks already files them under Food & Dining › "
                   "Restaurants: change or delete that one.")
        assert error == {"code": "duplicate_rule", "message": message,
                         "details": {"non_field_errors": [message], "rule": first["id"]}}
    assert api.get(f"/api/v1/rules/{first['id']}/").status_code == 200
    assert Rule.objects.filter(user=alice).count() == 2


def test_the_schema_documents_the_duplicate_rules_id(api):
    schema = api.get("/api/v1/schema/?format=json").json()

    for method, path in [("post", "/api/v1/rules/"), ("put", "/api/v1/rules/{id}/"),
                         ("patch", "/api/v1/rules/{id}/")]:
        bad = schema["paths"][path][method]["responses"]["400"]
        assert "duplicate_rule" in bad["description"] and "`details.rule`" in bad["description"]
        assert bad["content"]["application/json"]["schema"]["$ref"].endswith("/Error")


def test_put_replaces_a_rule_and_patch_changes_only_what_it_names(api, alice, restaurants):
    groceries = category("Food & Dining › Groceries")
    rule = post_rule(api, seller="Starbucks", amount_max="-10.00", rename_to="Sbux",
                     category=restaurants.id).json()

    patched = api.patch(f"/api/v1/rules/{rule['id']}/", {"category": groceries.id},
                        format="json").json()
    put = api.put(f"/api/v1/rules/{rule['id']}/", {"seller": "Starbucks",
                                                    "category": restaurants.id}, format="json")

    assert (patched["amount_max"], patched["rename_to"]) == ("-10.00", "Sbux")  # kept
    assert put.status_code == 200
    assert (put.json()["amount_max"], put.json()["rename_to"]) == (None, "")  # cleared


def test_a_second_rule_whose_text_differs_only_in_case_is_refused_accents_too(
    api, alice, restaurants
):
    first = post_rule(api, description_contains="lumière", category=restaurants.id)

    twin = post_rule(api, description_contains="LUMIÈRE", category=restaurants.id)

    assert first.status_code == 201 and twin.status_code == 400
    assert Rule.objects.filter(user=alice).count() == 1


def test_the_rule_list_is_paged_by_cursor_and_holds_only_the_users_own_rules(
    api, alice, bob, restaurants
):
    alices = [Rule.objects.create(user=alice, description_contains=f"SHOP {i}",
                                  category=restaurants).id for i in range(3)]
    Rule.objects.create(user=bob, description_contains="SHOP", category=restaurants)

    first = api.get("/api/v1/rules/?page_size=2").json()
    second = api.get(first["next"]).json()

    assert set(first) == {"next", "previous", "results"}
    assert "cursor=" in first["next"] and first["previous"] is None
    assert second["next"] is None
    seen = [r["id"] for r in first["results"] + second["results"]]
    assert seen == sorted(alices, reverse=True)  # newest first


@pytest.mark.parametrize("method", ["get", "patch", "put", "delete"])
def test_bob_gets_404_on_alices_rule_and_it_stays_as_it_was(alice, bob, restaurants, method):
    rule = Rule.objects.create(user=alice, seller="Starbucks", seller_key="starbucks",
                               category=restaurants)
    bobs_own = Category.objects.create(user=bob, parent=category("Food & Dining"), name="B")

    response = getattr(api_client_for(bob), method)(
        f"/api/v1/rules/{rule.id}/", {"seller": "Peet's", "category": bobs_own.id},
        format="json",
    )

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    rule.refresh_from_db()
    assert (rule.user, rule.seller, rule.category) == (alice, "Starbucks", restaurants)


def test_alice_changes_her_rule_with_patch_and_deletes_it(api, alice, restaurants):
    rule_id = post_rule(api, seller="Starbucks", category=restaurants.id).json()["id"]

    patched = api.patch(f"/api/v1/rules/{rule_id}/", {"seller": "Peet's Coffee"},
                        format="json")
    deleted = api.delete(f"/api/v1/rules/{rule_id}/")

    assert patched.status_code == 200
    assert (patched.json()["seller"], patched.json()["category"]) == ("Peet's Coffee",
                                                                      restaurants.id)
    assert deleted.status_code == 204
    assert not Rule.objects.exists()


def test_deleting_a_rule_with_an_unreadable_apply_to_past_is_refused_and_keeps_it(
    api, alice, restaurants
):
    rule_id = post_rule(api, seller="Starbucks", category=restaurants.id).json()["id"]

    refused = api.delete(f"/api/v1/rules/{rule_id}/?apply_to_past=maybe")

    assert refused.status_code == 400
    assert "apply_to_past" in refused.json()["error"]["details"]
    assert Rule.objects.filter(pk=rule_id).exists()
    assert api.delete(f"/api/v1/rules/{rule_id}/?apply_to_past=no").status_code == 204


# --- validation ---------------------------------------------------------------------------


@pytest.mark.parametrize("conditions", [
    {},
    {"seller": "", "description_contains": "", "account": None},
    {"description_contains": "   "},
])
def test_a_rule_without_a_condition_is_refused_with_the_error_shape(api, restaurants,
                                                                     conditions):
    response = post_rule(api, category=restaurants.id, rename_to="Anything", **conditions)

    assert response.status_code == 400
    error = response.json()["error"]
    assert set(error) == {"code", "message", "details"}
    assert error["code"] == "invalid"
    assert "at least one condition" in error["message"]
    assert not Rule.objects.exists()


def test_a_seller_without_letters_or_digits_is_refused(api, restaurants):
    response = post_rule(api, seller="*** #", category=restaurants.id)

    assert response.status_code == 400
    assert "seller" in response.json()["error"]["details"]
    assert not Rule.objects.exists()


def test_an_amount_range_upside_down_is_refused(api, restaurants):
    response = post_rule(api, amount_min="50.00", amount_max="10.00", category=restaurants.id)

    assert response.status_code == 400
    assert "amount_max" in response.json()["error"]["details"]
    assert not Rule.objects.exists()


def test_a_change_that_leaves_a_rule_without_conditions_is_refused_and_the_rule_stays(
    api, restaurants
):
    rule_id = post_rule(api, seller="Starbucks", category=restaurants.id).json()["id"]

    response = api.patch(f"/api/v1/rules/{rule_id}/", {"seller": ""}, format="json")

    assert response.status_code == 400
    assert "at least one condition" in response.json()["error"]["message"]
    assert Rule.objects.get(id=rule_id).seller_key == "starbucks"


@pytest.mark.parametrize("field", ["category", "account"])
def test_another_users_category_or_account_is_refused(api, alice, bob, restaurants,
                                                      bobs_category, field):
    bobs_account = FinancialAccountFactory(connection=ConnectionFactory(user=bob))
    body = {"seller": "Starbucks", "category": restaurants.id}
    body[field] = bobs_category.id if field == "category" else bobs_account.id

    response = post_rule(api, **body)

    assert response.status_code == 400
    assert set(response.json()["error"]["details"]) == {field}
    assert not Rule.objects.exists()


def test_unknown_and_read_only_fields_are_ignored(api, alice, bob, restaurants):
    response = post_rule(api, seller="Starbucks", category=restaurants.id, id=424242,
                         user=bob.id, seller_key="something else",
                         created_at="2000-01-01T00:00:00Z", colour="green")

    assert response.status_code == 201
    body = response.json()
    assert body["id"] != 424242 and "colour" not in body and "user" not in body
    assert not body["created_at"].startswith("2000")
    rule = Rule.objects.get()
    assert (rule.user, rule.seller_key) == (alice, "starbucks")


# --- the past -----------------------------------------------------------------------------


def test_apply_to_past_refiles_alices_automatic_rows_but_never_manual_ones_or_bobs(
    api, alice, bob, alices_bank, bobs_bank, restaurants
):
    # given two of Alice's Starbucks rows from the dictionary, one she filed by hand,
    # and one of Bob's
    ingest(alices_bank, [record("a1", STARBUCKS), record("a2", "STARBUCKS STORE 0042"),
                         record("a3", STARBUCKS, "-6.10"), record("other", "CORNER DELI 12")])
    ingest(bobs_bank, [record("b1", STARBUCKS)])
    groceries = category("Food & Dining › Groceries")
    api.patch(f"/api/v1/transactions/{row(alice, 'a3').id}/", {"category": groceries.id},
              format="json")
    assert filed(alice, "a1") == ("Food & Dining › Coffee Shops", "seller", "Starbucks")

    # when she makes a rule for Starbucks and applies it to the past
    response = post_rule(api, seller="Starbucks", category=restaurants.id,
                         rename_to="Starbucks Reserve", apply_to_past=True)

    # then
    assert response.status_code == 201
    for external_id in ("a1", "a2"):
        assert filed(alice, external_id) == ("Food & Dining › Restaurants", "rule",
                                             "Starbucks Reserve")
    assert filed(alice, "a3") == ("Food & Dining › Groceries", "manual", "Starbucks")
    assert filed(alice, "other") == ("Food & Dining › Restaurants", "heuristic", "Corner Deli")
    assert filed(bob, "b1") == ("Food & Dining › Coffee Shops", "seller", "Starbucks")


@pytest.mark.parametrize("apply_to_past", [False, None])
def test_without_apply_to_past_the_past_stays_as_it_was(api, alice, alices_bank,
                                                        restaurants, apply_to_past):
    ingest(alices_bank, [record("a1", STARBUCKS)])
    body = {"seller": "Starbucks", "category": restaurants.id}
    if apply_to_past is not None:
        body["apply_to_past"] = apply_to_past

    response = post_rule(api, **body)

    assert response.status_code == 201
    assert filed(alice, "a1") == ("Food & Dining › Coffee Shops", "seller", "Starbucks")


def test_leaving_the_past_as_it_was_holds_when_another_rule_refiles_the_past(
    api, alice, alices_bank, restaurants
):
    ingest(alices_bank, [record("s1", STARBUCKS), record("d1", "CORNER DELI 12")])
    groceries = category("Food & Dining › Groceries")
    starbucks = post_rule(api, seller="Starbucks", category=restaurants.id, rename_to="Sbux",
                          apply_to_past=True).json()["id"]
    api.delete(f"/api/v1/rules/{starbucks}/")  # the past keeps what the rule filed
    post_rule(api, seller="Peet's Coffee", category=groceries.id)  # not for the past
    assert filed(alice, "s1") == ("Food & Dining › Restaurants", "rule", "Sbux")

    # another rule, for the past, moves only its own rows
    post_rule(api, description_contains="CORNER DELI", category=groceries.id,
              apply_to_past=True)

    assert filed(alice, "s1") == ("Food & Dining › Restaurants", "rule", "Sbux")
    assert filed(alice, "d1") == ("Food & Dining › Groceries", "rule", "Corner Deli")


def test_apply_to_past_moves_only_the_sellers_rows_its_other_conditions_match(
    api, alice, alices_bank
):
    # given two rows of one seller, and an older rule for them made not for the past
    ingest(alices_bank, [record("small", "ZQX FLORBNIK 99", "-5.00"),
                         record("big", "ZQX FLORBNIK 99", "-200.00")])
    before_small = filed(alice, "small")
    books, hobbies = category("Shopping › Books"), category("Shopping › Hobbies")
    assert post_rule(api, description_contains="ZQX", category=books.id).status_code == 201
    assert filed(alice, "small") == before_small

    # when a rule for the seller's big charges is applied to the past
    response = post_rule(api, seller="Zqx Florbnik", amount_max="-100.00",
                         category=hobbies.id, apply_to_past=True)

    # then the big row is filed by it, and the small one, which it does not match, is
    # not handed to the older rule
    assert response.status_code == 201, response.json()
    assert filed(alice, "big") == ("Shopping › Hobbies", "rule", "Zqx Florbnik")
    assert filed(alice, "small") == before_small


def test_putting_the_past_back_finds_the_rows_a_rule_filed_under_earlier_conditions(
    api, alice, alices_bank, restaurants
):
    ingest(alices_bank, [record("s1", STARBUCKS)])
    rule_id = post_rule(api, seller="Starbucks", category=restaurants.id, rename_to="Sbux",
                        apply_to_past=True).json()["id"]
    api.patch(f"/api/v1/rules/{rule_id}/", {"seller": "Corner Deli"}, format="json")
    assert filed(alice, "s1") == ("Food & Dining › Restaurants", "rule", "Sbux")

    api.delete(f"/api/v1/rules/{rule_id}/?apply_to_past=true")

    assert filed(alice, "s1") == ("Food & Dining › Coffee Shops", "seller", "Starbucks")


def test_apply_to_past_goes_through_every_batch(api, alice, alices_bank, restaurants,
                                                settings, monkeypatch):
    settings.RECATEGORIZE_BATCH_SIZE = 3
    batches = []
    one_batch = category_tasks.transactions_recategorize_user

    def spy(**kwargs):
        batches.append(kwargs["after_id"])
        return one_batch(**kwargs)

    monkeypatch.setattr(category_tasks, "transactions_recategorize_user", spy)
    ingest(alices_bank, [record(f"s{i}", STARBUCKS, f"-{i + 1}.50") for i in range(10)])

    post_rule(api, seller="Starbucks", category=restaurants.id, apply_to_past=True)

    assert Transaction.objects.filter(user=alice, category_source="rule",
                                      category=restaurants).count() == 10
    assert len(batches) == 4  # 3 + 3 + 3 + 1, each batch its own task
    assert batches[0] == 0 and batches == sorted(set(batches))


@pytest.mark.parametrize("how", ["query", "body"])
def test_deleting_a_rule_with_apply_to_past_puts_the_past_back(api, alice, alices_bank, how):
    ingest(alices_bank, [record("coffee", STARBUCKS), record("deli", "CORNER DELI 12"),
                         record("odd", "ZZYZX WIDGETS LLC")])
    before = {x: filed(alice, x) for x in ("coffee", "deli", "odd")}
    chk = FinancialAccount.objects.get(connection=alices_bank, external_id="chk")
    hobbies = category("Shopping › Hobbies")
    rule_id = post_rule(api, account=chk.id, category=hobbies.id, rename_to="Hobby",
                        apply_to_past=True).json()["id"]
    assert {filed(alice, x) for x in before} == {("Shopping › Hobbies", "rule", "Hobby")}

    if how == "query":
        response = api.delete(f"/api/v1/rules/{rule_id}/?apply_to_past=true")
    else:
        response = api.delete(f"/api/v1/rules/{rule_id}/", {"apply_to_past": True},
                              format="json")

    assert response.status_code == 204
    assert {x: filed(alice, x) for x in before} == before == {
        "coffee": ("Food & Dining › Coffee Shops", "seller", "Starbucks"),
        "deli": ("Food & Dining › Restaurants", "heuristic", "Corner Deli"),
        "odd": ("Uncategorized", "", "Zzyzx Widgets Llc"),
    }


def test_deleting_a_rule_puts_back_only_the_rows_it_filed(api, alice, alices_bank,
                                                          restaurants):
    ingest(alices_bank, [record("shell", "SHELL OIL 57444")])
    chk = FinancialAccount.objects.get(connection=alices_bank, external_id="chk")
    before = filed(alice, "shell")
    hobbies = category("Shopping › Hobbies")
    # B on the whole account and A for the seller, both for new transactions only
    rule_b = post_rule(api, account=chk.id, category=hobbies.id).json()["id"]
    post_rule(api, seller="Shell", category=restaurants.id)

    api.delete(f"/api/v1/rules/{rule_b}/?apply_to_past=true")

    # B never filed the row: its going does not hand it to A, made "not for the past"
    assert filed(alice, "shell") == before
    assert before[1] == "seller"


def test_deleting_a_rule_without_apply_to_past_leaves_the_past_as_it_is(api, alice,
                                                                         alices_bank):
    ingest(alices_bank, [record("coffee", STARBUCKS)])
    hobbies = category("Shopping › Hobbies")
    rule_id = post_rule(api, seller="Starbucks", category=hobbies.id,
                        apply_to_past=True).json()["id"]

    response = api.delete(f"/api/v1/rules/{rule_id}/")

    assert response.status_code == 204
    assert filed(alice, "coffee") == ("Shopping › Hobbies", "rule", "Starbucks")


# --- precedence ---------------------------------------------------------------------------


def test_a_rule_beats_the_seller_dictionary_for_transactions_that_arrive_later(
    api, alice, alices_bank, restaurants
):
    ingest(alices_bank, [record("before", STARBUCKS)])
    post_rule(api, seller="Starbucks", category=restaurants.id)

    ingest(alices_bank, [record("after", STARBUCKS, day=date(2026, 5, 4))])

    assert filed(alice, "before") == ("Food & Dining › Coffee Shops", "seller", "Starbucks")
    assert filed(alice, "after") == ("Food & Dining › Restaurants", "rule", "Starbucks")


def test_the_rule_with_more_conditions_wins_over_a_simpler_newer_one(api, alice, alices_bank,
                                                                     restaurants):
    bars = category("Food & Dining › Alcohol & Bars")
    post_rule(api, seller="Starbucks", amount_max="-20.00", category=bars.id)
    post_rule(api, seller="Starbucks", category=restaurants.id)

    ingest(alices_bank, [record("big", STARBUCKS, "-25.00"), record("small", STARBUCKS)])

    assert filed(alice, "big")[0] == "Food & Dining › Alcohol & Bars"
    assert filed(alice, "small")[0] == "Food & Dining › Restaurants"


def test_on_equal_conditions_the_newest_rule_wins(api, alice, alices_bank, restaurants):
    fast_food = category("Food & Dining › Fast Food")
    post_rule(api, seller="Starbucks", category=restaurants.id)
    post_rule(api, description_contains="seattle", category=fast_food.id)

    ingest(alices_bank, [record("seattle", STARBUCKS),
                         record("portland", "STARBUCKS STORE 0042 PORTLAND OR")])

    assert filed(alice, "seattle")[0] == "Food & Dining › Fast Food"
    assert filed(alice, "portland")[0] == "Food & Dining › Restaurants"


def test_a_rule_on_an_account_and_amount_range_matches_only_inside_both(api, alice,
                                                                       alices_bank):
    ingest(alices_bank, [record("chk-in", "ZZYZX WIDGETS LLC", "-10.00"),
                         record("chk-edge", "ZZYZX WIDGETS LLC", "-0.01"),
                         record("chk-out", "ZZYZX WIDGETS LLC", "-10.01"),
                         record("sav-in", "ZZYZX WIDGETS LLC", "-5.00", account="sav")])
    chk = FinancialAccount.objects.get(connection=alices_bank, external_id="chk")
    hobbies = category("Shopping › Hobbies")

    post_rule(api, account=chk.id, amount_min="-10.00", amount_max="0", category=hobbies.id,
              apply_to_past=True)

    assert {x: filed(alice, x)[:2] for x in ("chk-in", "chk-edge", "chk-out", "sav-in")} == {
        "chk-in": ("Shopping › Hobbies", "rule"), "chk-edge": ("Shopping › Hobbies", "rule"),
        "chk-out": ("Uncategorized", ""), "sav-in": ("Uncategorized", ""),
    }


# --- filing a transaction by hand ---------------------------------------------------------


def patch_transaction(client, tx, **body):
    return client.patch(f"/api/v1/transactions/{tx.id}/", body, format="json")


def test_filing_a_transaction_by_hand_marks_it_manual(api, alice, alices_bank, restaurants):
    ingest(alices_bank, [record("a1", STARBUCKS)])

    response = patch_transaction(api, row(alice, "a1"), category=restaurants.id)

    assert response.status_code == 200
    body = response.json()
    assert (body["category"], body["category_name"], body["category_source"], body["rule"]) == (
        restaurants.id, "Food & Dining › Restaurants", "manual", None)
    assert filed(alice, "a1") == ("Food & Dining › Restaurants", "manual", "Starbucks")
    assert not Rule.objects.exists()


def test_a_manual_category_survives_a_reingest_with_a_changed_amount(api, alice, alices_bank,
                                                                      restaurants):
    ingest(alices_bank, [record("a1", STARBUCKS, "-4.75")])
    patch_transaction(api, row(alice, "a1"), category=restaurants.id)

    ingest(alices_bank, [record("a1", STARBUCKS, "-5.25")])

    tx = row(alice, "a1")
    assert tx.amount == Decimal("-5.25")
    assert (tx.category, tx.category_source) == (restaurants, "manual")


def test_a_rule_created_or_changed_with_apply_to_past_never_refiles_a_manual_choice(
    api, alice, alices_bank, restaurants
):
    ingest(alices_bank, [record("mine", STARBUCKS), record("auto", STARBUCKS, "-3.00")])
    patch_transaction(api, row(alice, "mine"), category=restaurants.id)
    hobbies, fast_food = category("Shopping › Hobbies"), category("Food & Dining › Fast Food")

    rule_id = post_rule(api, seller="Starbucks", category=hobbies.id,
                        apply_to_past=True).json()["id"]
    after_create = filed(alice, "mine")
    api.patch(f"/api/v1/rules/{rule_id}/", {"category": fast_food.id, "apply_to_past": True},
              format="json")

    assert after_create == filed(alice, "mine") == ("Food & Dining › Restaurants", "manual",
                                                    "Starbucks")
    assert filed(alice, "auto")[:2] == ("Food & Dining › Fast Food", "rule")


def test_always_makes_a_rule_for_the_seller_that_files_alices_other_transactions(
    api, alice, bob, alices_bank, bobs_bank, restaurants
):
    ingest(alices_bank, [record("a1", STARBUCKS), record("a2", "STARBUCKS STORE 0042"),
                         record("a3", STARBUCKS, "-9.00"), record("x", "TRADER JOES #552")])
    ingest(bobs_bank, [record("b1", STARBUCKS)])

    response = patch_transaction(api, row(alice, "a1"), category=restaurants.id, always=True,
                                 rename_to="Starbucks Reserve")

    assert response.status_code == 200
    rule = Rule.objects.get()
    assert response.json()["rule"] == rule.id
    assert (rule.user, rule.seller_key, rule.category, rule.rename_to) == (
        alice, "starbucks", restaurants, "Starbucks Reserve")
    assert filed(alice, "a1") == ("Food & Dining › Restaurants", "manual", "Starbucks Reserve")
    for external_id in ("a2", "a3"):
        assert filed(alice, external_id) == ("Food & Dining › Restaurants", "rule",
                                             "Starbucks Reserve")
    assert filed(alice, "x")[:2] == ("Food & Dining › Groceries", "seller")
    assert filed(bob, "b1") == ("Food & Dining › Coffee Shops", "seller", "Starbucks")
    assert api.get("/api/v1/rules/").json()["results"][0]["id"] == rule.id


def test_always_for_a_seller_whose_key_reads_as_another_files_its_rows_and_only_once(
    api, alice, alices_bank, restaurants
):
    # "APPLE.COM/BILL" has the key "apple store", which read again as a description gives
    # "apple": the rule must match "apple store", and saying it twice must not add a rule
    ingest(alices_bank, [record("a1", "APPLE.COM/BILL 866-712-7753 CA"),
                         record("a2", "APPLE.COM/BILL 866-712-7753 CA", "-2.99")])
    key = row(alice, "a1").seller_key

    patch_transaction(api, row(alice, "a1"), category=restaurants.id, always=True)
    patch_transaction(api, row(alice, "a1"), category=restaurants.id, always=True,
                      rename_to="Apple")

    [rule] = Rule.objects.filter(user=alice)
    assert rule.seller_key == key == "apple store"
    assert filed(alice, "a2") == ("Food & Dining › Restaurants", "rule", "Apple")


def test_another_users_category_is_refused_when_filing_by_hand(api, alice, alices_bank,
                                                               bobs_category):
    ingest(alices_bank, [record("a1", STARBUCKS)])
    before = filed(alice, "a1")

    response = patch_transaction(api, row(alice, "a1"), category=bobs_category.id, always=True)

    assert response.status_code == 400
    assert set(response.json()["error"]["details"]) == {"category"}
    assert filed(alice, "a1") == before
    assert not Rule.objects.exists() and not SellerVote.objects.exists()


def test_bob_cannot_file_alices_transaction(alice, bob, alices_bank, restaurants):
    ingest(alices_bank, [record("a1", STARBUCKS)])
    before = filed(alice, "a1")

    response = patch_transaction(api_client_for(bob), row(alice, "a1"),
                                 category=restaurants.id, always=True)

    assert response.status_code == 404
    assert filed(alice, "a1") == before
    assert not Rule.objects.exists() and not SellerVote.objects.exists()


def test_always_on_a_transaction_without_a_seller_is_refused_and_nothing_changes(
    api, alice, alices_bank, restaurants
):
    ingest(alices_bank, [record("chq", "CHECK 1042", "-120.00")])
    tx = row(alice, "chq")
    assert (tx.seller, tx.seller_key) == ("", "")
    before = filed(alice, "chq")

    response = patch_transaction(api, tx, category=restaurants.id, always=True,
                                 rename_to="Landlord")

    assert response.status_code == 400
    assert "names no seller" in response.json()["error"]["details"]["always"][0]
    assert filed(alice, "chq") == before
    assert not Rule.objects.exists()


# --- cost ---------------------------------------------------------------------------------


def test_the_rule_list_runs_a_bounded_number_of_queries(api, alice, restaurants,
                                                        django_assert_max_num_queries):
    card = FinancialAccountFactory(connection=ConnectionFactory(user=alice))
    mine = Category.objects.create(user=alice, parent=category("Food & Dining"), name="Mine")
    shared = list(Category.objects.filter(user=None, parent__isnull=False)[:10])
    for i in range(30):
        Rule.objects.create(user=alice, description_contains=f"SHOP {i}",
                            account=card if i % 2 else None,
                            category=mine if i % 3 == 0 else shared[i % 10])
    api.get("/api/v1/rules/")  # the once-an-hour activity write is not the list's cost

    with django_assert_max_num_queries(2):  # the user, then one page of rules
        response = api.get("/api/v1/rules/?page_size=50")

    assert len(response.json()["results"]) == 30

"""The dashboard's Rules page through Django's test client: the rules it lists (only the
user's own), the form that adds one and the button that deletes one, both through the
services ``/api/v1/rules/`` uses, and what deleting does to past transactions."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.test import Client

from categories import services
from categories.models import Category, Rule
from categories.services import rule_create
from tests.factories import ConnectionFactory, FinancialAccountFactory, form_csrf_token
from tests.test_rules_api import STARBUCKS, category, filed, ingest, record

CREATED = datetime(2026, 5, 3, 12, tzinfo=UTC)

pytestmark = pytest.mark.usefixtures("taxonomy")


@pytest.fixture
def restaurants():
    return category("Food & Dining › Restaurants")


def make_rule(user, **fields) -> Rule:
    fields.setdefault("category", category("Food & Dining › Restaurants"))
    rule = rule_create(user=user, **fields)
    Rule.objects.filter(pk=rule.pk).update(created_at=CREATED)
    return rule


def rule_row(page: str, rule: Rule) -> str:
    """The <tr> of one rule."""
    found = re.search(rf'<tr id="rule-{rule.pk}">(.*?)</tr>', page, re.S)
    assert found is not None, f"rule {rule.pk} is not listed"
    return found.group(1)


def text(fragment: str) -> str:
    """A fragment of HTML as its words, tags dropped and entities read."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


# --- the list -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_rules_page_lists_what_each_of_alices_rules_matches_and_none_of_bobs(
    alice_client, alice, bob
):
    # given Alice's rules, one with every kind of condition, and one of Bob's
    card = FinancialAccountFactory(connection=ConnectionFactory(user=alice), name="Card",
                                   mask="1111")
    by_seller = make_rule(alice, seller="Starbucks", rename_to="Starbucks Reserve")
    everything = make_rule(alice, seller="Blue Bottle", description_contains="oakland ca",
                           amount_min=Decimal("-20"), amount_max=Decimal("0"), account=card,
                           category=category("Shopping › Hobbies"))
    at_least = make_rule(alice, amount_min=Decimal("1000"), category=category("Income"))
    bobs = make_rule(bob, seller="Bob's Burgers", rename_to="Bob's own")

    # when she opens the Rules page
    response = alice_client.get("/rules/")

    # then each of her rules says what it matches, what it files it under, its display
    # name and when it was made; Bob's is not there
    page = response.content.decode()
    assert response.status_code == 200
    assert text(rule_row(page, by_seller)) == (
        "Seller Starbucks Food & Dining › Restaurants Starbucks Reserve May 3, 2026 "
        "Edit this rule Also put past transactions back Delete this rule"
    )
    assert text(rule_row(page, everything)) == (
        "Seller Blue Bottle Description contains “oakland ca” Amount from -20.00 to 0.00 "
        "Account Card …1111 Shopping › Hobbies — May 3, 2026 "
        "Edit this rule Also put past transactions back Delete this rule"
    )
    assert "Amount at least 1,000.00 Income —" in text(rule_row(page, at_least))
    assert f'id="rule-{bobs.pk}"' not in page
    assert "Bob" not in page
    # newest first
    assert page.index(f"rule-{at_least.pk}") < page.index(f"rule-{by_seller.pk}")


@pytest.mark.django_db
def test_the_top_bar_links_to_the_rules_page_and_marks_it_current(alice_client):
    home = alice_client.get("/").content.decode()
    rules = alice_client.get("/rules/").content.decode()

    assert '<a href="/rules/">Rules</a>' in home
    assert '<a href="/rules/" aria-current="page">Rules</a>' in rules


@pytest.mark.django_db
def test_without_rules_the_page_says_how_to_make_one(alice_client, bob):
    make_rule(bob, seller="Starbucks")

    page = text(alice_client.get("/rules/").content.decode())

    assert "You have no rules yet." in page
    assert "change a transaction's category on the Transactions page and tick “Always for …”" in (
        page
    )
    assert "Delete" not in page


@pytest.mark.django_db
def test_the_rules_page_runs_a_fixed_number_of_queries(
    alice_client, alice, django_assert_max_num_queries
):
    card = FinancialAccountFactory(connection=ConnectionFactory(user=alice), name="Card")
    mine = Category.objects.create(user=alice, parent=category("Shopping"), name="Lego")
    for name in ("Ace", "Bolt", "Cove", "Dune", "Elm", "Fern", "Gale", "Hive", "Isle", "Jade"):
        make_rule(alice, seller=f"Shop {name}", account=card, category=mine)
    alice_client.get("/rules/")

    # session, user, the rules with their category, its parent and the account, the
    # category choices of the form, the unread count for the top bar's badge
    with django_assert_max_num_queries(5):
        response = alice_client.get("/rules/")

    assert response.content.decode().count("Shopping › Lego") == 10


# --- deleting -------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("box, apply_to_past", [({"apply_to_past": "on"}, True), ({}, False)])
def test_delete_goes_through_the_service_with_the_box_as_apply_to_past(
    alice_client, alice, monkeypatch, box, apply_to_past
):
    rule = make_rule(alice, seller="Starbucks")
    calls = []
    real = services.rule_delete

    def spy(*, rule, apply_to_past):
        calls.append((rule.pk, apply_to_past))  # the pk before the delete clears it
        return real(rule=rule, apply_to_past=apply_to_past)

    monkeypatch.setattr("categories.views.rule_delete", spy)

    response = alice_client.post(f"/rules/{rule.pk}/delete/", box, follow=True)

    assert response.redirect_chain == [("/rules/", 302)]
    assert calls == [(rule.pk, apply_to_past)]
    assert not Rule.objects.exists()
    said = ("The transactions it filed are being put back." if apply_to_past
            else "Transactions it already filed keep their category.")
    assert (f'<li class="message success">Deleted the rule for Starbucks. {said}</li>'
            in response.content.decode())


@pytest.mark.django_db(transaction=True)
def test_deleting_with_the_box_ticked_puts_past_transactions_back(alice_client, alice):
    # given transactions a rule for her checking account refiled
    bank = ConnectionFactory(user=alice)
    ingest(bank, [record("coffee", STARBUCKS), record("deli", "CORNER DELI 12")])
    before = {x: filed(alice, x) for x in ("coffee", "deli")}
    checking = bank.accounts.get(external_id="chk")
    rule = rule_create(user=alice, account=checking, category=category("Shopping › Hobbies"),
                       rename_to="Hobby", apply_to_past=True)
    assert {filed(alice, x) for x in before} == {("Shopping › Hobbies", "rule", "Hobby")}

    # when she deletes it with "Also put past transactions back" ticked
    response = alice_client.post(f"/rules/{rule.pk}/delete/", {"apply_to_past": "on"})

    # then they are filed as they were before the rule
    assert response.status_code == 302
    assert not Rule.objects.exists()
    assert {x: filed(alice, x) for x in before} == before == {
        "coffee": ("Food & Dining › Coffee Shops", "seller", "Starbucks"),
        "deli": ("Food & Dining › Restaurants", "heuristic", "Corner Deli"),
    }


@pytest.mark.django_db(transaction=True)
def test_deleting_without_the_box_leaves_past_transactions_as_they_are(alice_client, alice):
    bank = ConnectionFactory(user=alice)
    ingest(bank, [record("coffee", STARBUCKS)])
    rule = rule_create(user=alice, seller="Starbucks", category=category("Shopping › Hobbies"),
                       apply_to_past=True)

    response = alice_client.post(f"/rules/{rule.pk}/delete/")

    assert response.status_code == 302
    assert not Rule.objects.exists()
    assert filed(alice, "coffee") == ("Shopping › Hobbies", "rule", "Starbucks")


@pytest.mark.django_db
def test_bob_gets_404_deleting_alices_rule_and_it_stays(client, alice, bob):
    rule = make_rule(alice, seller="Starbucks")
    bobs = make_rule(bob, seller="Starbucks")
    client.force_login(bob)

    response = client.post(f"/rules/{rule.pk}/delete/", {"apply_to_past": "on"})
    own = client.post(f"/rules/{bobs.pk}/delete/")

    assert (response.status_code, own.status_code) == (404, 302)
    assert list(Rule.objects.values_list("pk", "user")) == [(rule.pk, alice.pk)]


@pytest.mark.django_db
def test_deleting_takes_only_a_post_with_the_pages_csrf_token(alice):
    rule = make_rule(alice, seller="Starbucks")
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    url = f"/rules/{rule.pk}/delete/"
    page = client.get("/rules/").content.decode()
    token = form_csrf_token(page, url)
    assert token is not None

    by_get = client.get(url)
    without_token = client.post(url)
    kept = Rule.objects.filter(pk=rule.pk).exists()
    with_token = client.post(url, {"csrfmiddlewaretoken": token.group(1)})

    assert (by_get.status_code, without_token.status_code, with_token.status_code) == (
        302, 403, 302
    )
    assert by_get["Location"] == "/rules/"
    assert kept
    assert not Rule.objects.exists()


# --- adding -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_rule_added_on_the_page_is_made_by_the_service_and_listed(
    alice_client, alice, restaurants, monkeypatch
):
    calls = []
    real = services.rule_create

    def spy(**kwargs):
        calls.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr("categories.views.rule_create", spy)

    response = alice_client.post("/rules/", {
        "seller": "  Starbucks ", "description_contains": "", "category": restaurants.pk,
        "rename_to": "Starbucks Reserve",
    }, follow=True)

    rule = Rule.objects.get(user=alice)
    assert response.redirect_chain == [("/rules/", 302)]
    assert calls == [{"user": alice, "category": restaurants, "seller": "Starbucks",
                      "description_contains": "", "rename_to": "Starbucks Reserve",
                      "apply_to_past": False}]
    assert (rule.seller_key, rule.category, rule.rename_to) == ("starbucks", restaurants,
                                                                "Starbucks Reserve")
    page = response.content.decode()
    assert ("Added a rule: Starbucks is filed under Food &amp; Dining › Restaurants."
            in page)
    assert "Seller Starbucks Food & Dining › Restaurants Starbucks Reserve" in text(
        rule_row(page, rule))


@pytest.mark.django_db(transaction=True)
def test_a_rule_added_with_the_box_ticked_refiles_past_transactions(alice_client, alice):
    bank = ConnectionFactory(user=alice)
    ingest(bank, [record("coffee", STARBUCKS), record("deli", "CORNER DELI 12")])
    hobbies = category("Shopping › Hobbies")

    response = alice_client.post("/rules/", {"description_contains": "starbucks",
                                             "category": hobbies.pk, "apply_to_past": "on"},
                                 follow=True)

    assert "Earlier transactions are being updated." in response.content.decode()
    assert filed(alice, "coffee") == ("Shopping › Hobbies", "rule", "Starbucks")
    assert filed(alice, "deli") == ("Food & Dining › Restaurants", "heuristic", "Corner Deli")


@pytest.mark.django_db
@pytest.mark.parametrize("body, error", [
    ({"seller": "", "description_contains": ""},
     "A rule needs at least one condition: seller, description text, amount range or account."),
    ({"seller": "#### ***"}, "This seller name has no letters or digits."),
    ({"seller": "x" * 201}, "Ensure this value has at most 200 characters (it has 201)."),
    ({"seller": "Starbucks", "category": ""}, "Choose a category."),
    ({"seller": "Starbucks", "category": "999999"}, "Unknown category."),
    ({"seller": "Starbucks", "category": "bob"}, "Unknown category."),
])
def test_an_invalid_rule_shows_the_error_and_adds_nothing(alice_client, restaurants, bob,
                                                          body, error):
    if body.get("category") == "bob":
        body["category"] = Category.objects.create(user=bob, parent=restaurants.parent,
                                                   name="Bob's").pk
    body = {"category": restaurants.pk, **body}

    response = alice_client.post("/rules/", body)

    page = response.content.decode()
    assert response.status_code == 400
    assert "The rule was not added: see below." in page
    assert html.escape(error) in page
    assert not Rule.objects.exists()
    if body.get("seller"):
        assert f'value="{html.escape(body["seller"].strip())}"' in page  # kept for a retry


@pytest.mark.django_db
def test_the_category_choices_are_the_taxonomy_and_alices_own_not_bobs(
    alice_client, alice, bob, restaurants
):
    mine = Category.objects.create(user=alice, parent=restaurants.parent, name="Brunch")
    Category.objects.create(user=bob, parent=restaurants.parent, name="Bob's Diner")

    page = alice_client.get("/rules/").content.decode()

    assert f'<option value="{restaurants.pk}">Restaurants</option>' in page
    assert f'<option value="{mine.pk}">Brunch (yours)</option>' in page
    assert '<optgroup label="Food &amp; Dining">' in page
    assert "Bob&#x27;s Diner" not in page


# --- editing --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_rule_is_edited_on_its_page_keeping_what_the_form_does_not_show(
    alice_client, alice, bob
):
    card = FinancialAccountFactory(connection=ConnectionFactory(user=alice), name="Card")
    rule = make_rule(alice, seller="Starbucks", amount_max=Decimal("0"), account=card)
    Rule.objects.filter(pk=rule.pk).update(seller_key="starbucks exact")  # an "always" key
    groceries = category("Food & Dining › Groceries")

    page = alice_client.get(f"/rules/{rule.pk}/edit/")
    saved = alice_client.post(f"/rules/{rule.pk}/edit/", {
        "seller": "Starbucks", "description_contains": "", "category": groceries.pk,
        "rename_to": "Coffee"}, follow=True)
    bobs = alice_client.get(f"/rules/{make_rule(bob, seller='X').pk}/edit/")

    assert page.status_code == 200 and 'value="Starbucks"' in page.content.decode()
    assert "These conditions stay as they are: amount at most 0.00; account Card" in (
        page.content.decode())
    assert "Changed the rule: Starbucks is filed under Food &amp; Dining › Groceries." in (
        saved.content.decode())
    rule.refresh_from_db()
    assert (rule.category, rule.rename_to, rule.seller_key, rule.amount_max, rule.account) == (
        groceries, "Coffee", "starbucks exact", Decimal("0.00"), card)
    assert bobs.status_code == 404


@pytest.mark.django_db
def test_an_edit_that_would_twin_another_rule_is_refused_and_changes_nothing(
    alice_client, alice
):
    make_rule(alice, seller="Starbucks")
    other = make_rule(alice, seller="Blue Bottle")

    response = alice_client.post(f"/rules/{other.pk}/edit/", {
        "seller": "Starbucks", "category": category("Shopping › Hobbies").pk})

    assert response.status_code == 400
    assert "A rule for Starbucks already files them under" in (
        response.content.decode())
    other.refresh_from_db()
    assert other.seller == "Blue Bottle"

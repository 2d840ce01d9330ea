"""The dashboard's "Your categories" page: a user's own sub-categories listed (only
theirs), added, renamed and deleted through the services ``/api/v1/categories/`` uses."""

from __future__ import annotations

import html
from datetime import date
from decimal import Decimal

import pytest

from budgets.services.recompute import current_totals, spending_recompute, totals_from_rows
from categories.models import Category, Rule
from tests.factories import ConnectionFactory, FinancialAccountFactory
from transactions.models import Transaction

pytestmark = pytest.mark.usefixtures("taxonomy")


def page(client) -> str:
    response = client.get("/categories/")
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def test_the_page_lists_only_her_own_categories_with_their_rows_and_rules(
        alice_client, alice, bob, farmers_market, food):
    Category.objects.create(user=bob, parent=food, name="Bobs Bakery")
    account = FinancialAccountFactory(connection=ConnectionFactory(user=alice))
    for n in range(3):
        Transaction.objects.create(user=alice, account=account, external_id=f"t{n}",
                                   posted_on=date(2026, 5, n + 1), amount=Decimal("-5.00"),
                                   description="FERRY PLAZA", category=farmers_market)
    Rule.objects.create(user=alice, category=farmers_market, seller="Ferry Plaza",
                        seller_key="ferry plaza")

    shown = page(alice_client)

    assert "Farmers Market" in shown and "Bobs Bakery" not in shown
    row = shown.split(f'id="category-{farmers_market.pk}"')[1].split("</tr>")[0]
    assert '<td data-label="Transactions" class="num">3</td>' in row
    assert '<td data-label="Rules" class="num">1</td>' in row
    assert 'aria-current="page">Categories' in shown


def test_she_adds_a_category_and_a_taken_or_empty_name_is_refused(alice_client, alice, food,
                                                                    farmers_market):
    added = alice_client.post("/categories/", {"parent": food.pk, "name": " Food  Trucks "},
                              follow=True)
    taken = alice_client.post("/categories/", {"parent": food.pk, "name": "farmers market"})
    empty = alice_client.post("/categories/", {"parent": food.pk, "name": ""})
    sub = alice_client.post("/categories/", {"parent": farmers_market.pk, "name": "Stalls"})

    assert "Added Food & Dining › Food Trucks." in html.unescape(added.content.decode())
    assert taken.status_code == empty.status_code == sub.status_code == 400
    assert "already exists" in html.unescape(taken.content.decode())
    assert "A category needs a name." in empty.content.decode()
    assert "Choose a top-level category of the list." in sub.content.decode()
    assert sorted(Category.objects.filter(user=alice).values_list("name", flat=True)) == [
        "Farmers Market", "Food Trucks"]


def test_she_renames_one_and_a_clash_is_shown_on_its_row(alice_client, alice, food, farmers_market):
    Category.objects.create(user=alice, parent=food, name="Food Trucks")

    renamed = alice_client.post(f"/categories/{farmers_market.pk}/rename/",
                                {f"c{farmers_market.pk}-name": "Farm Stands"}, follow=True)
    clash = alice_client.post(f"/categories/{farmers_market.pk}/rename/",
                              {f"c{farmers_market.pk}-name": "food trucks"})

    assert "Renamed Food & Dining › Farmers Market to Farm Stands." in html.unescape(
        renamed.content.decode())
    assert clash.status_code == 400
    row = html.unescape(clash.content.decode()).split(f'id="category-{farmers_market.pk}"')[1]
    assert "already exists" in row.split("</tr>")[0]
    assert 'value="food trucks"' in row  # what she typed stays in the box
    farmers_market.refresh_from_db()
    assert farmers_market.name == "Farm Stands"


def test_she_deletes_one_after_being_told_what_happens_to_its_rows(alice_client, alice, food,
                                                                    farmers_market):
    account = FinancialAccountFactory(connection=ConnectionFactory(user=alice))
    tx = Transaction.objects.create(user=alice, account=account, external_id="t1",
                                    posted_on=date(2026, 5, 3), amount=Decimal("-5.00"),
                                    description="FERRY PLAZA", category=farmers_market,
                                    category_source="manual")
    spending_recompute(user_id=alice.id)

    asked = html.unescape(alice_client.get(f"/categories/{farmers_market.pk}/delete/").content.decode())
    deleted = alice_client.post(f"/categories/{farmers_market.pk}/delete/", follow=True)

    assert "Its 1 transaction moves to Food & Dining." in asked
    assert 'href="/categories/"' in asked  # Cancel goes back to the list
    assert "Deleted Food & Dining › Farmers Market" in html.unescape(deleted.content.decode())
    tx.refresh_from_db()
    assert tx.category_id == food.pk
    assert current_totals(alice.id) == totals_from_rows(alice.id)


def test_another_users_or_mints_categories_cannot_be_changed_here(client, bob, farmers_market, food):
    client.force_login(bob)

    answers = [client.post(f"/categories/{farmers_market.pk}/rename/", {f"c{farmers_market.pk}-name": "X"}),
               client.get(f"/categories/{farmers_market.pk}/delete/"),
               client.post(f"/categories/{farmers_market.pk}/delete/"),
               client.post(f"/categories/{food.pk}/delete/")]

    assert [r.status_code for r in answers] == [404, 404, 404, 404]
    assert Category.objects.filter(pk=farmers_market.pk, name="Farmers Market").exists()

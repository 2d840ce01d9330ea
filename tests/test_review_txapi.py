"""Review of the transactions API, the lock on manual categories and monthly spending:
cases the other test files did not cover, each found failing first."""

from datetime import date

import pytest

from budgets.services.recompute import current_totals, totals_from_rows
from categories.models import Category
from categories.services import transaction_categorize
from tests.factories import ConnectionFactory
from tests.test_api_imports import chase, upload
from tests.test_ingest import tx
from tests.test_pending_expiry import refresh
from transactions.models import Transaction

pytestmark = pytest.mark.django_db

PAGED = ["/api/v1/transactions/", "/api/v1/notifications/", "/api/v1/accounts/",
         "/api/v1/rules/"]


@pytest.mark.parametrize("path", PAGED)
def test_a_page_size_of_thousands_of_digits_is_cut_to_the_maximum_not_a_500(api, path):
    # given a page size past what Python's int() reads (4,300 digits)
    huge = "1" * 5000

    # when a list is asked for with it
    response = api.get(path, {"page_size": huge})

    # then it is a larger value, cut to the maximum as any other, not a crash
    assert response.status_code == 200


@pytest.mark.parametrize("edit", ["²", "1" * 5000])
def test_an_edit_parameter_that_only_looks_like_a_number_shows_the_list_not_a_500(
        alice_client, edit):
    # given the transactions page, whose ?edit=<id> opens one row's categories
    # when the id is a digit int() cannot read (a superscript two) or a number too long
    response = alice_client.get("/transactions/", {"edit": edit})

    # then the list shows, no row opened
    assert response.status_code == 200
    assert response.context["edit_pk"] is None


def test_an_older_export_holding_only_a_charge_that_has_posted_since_imports_as_a_duplicate(
        api, alice, object_store):
    # given a card export where a dinner has posted
    upload(api, "card.csv", chase("03/20/2024,03/22/2024,OLIVE GARDEN 55,Food & Drink,Sale,-50.00,"),
           options='{"account_name": "Sapphire"}')

    # when an older export is imported, which holds only that dinner, still pending
    older = upload(api, "card.csv", chase("03/20/2024,,OLIVE GARDEN 55,Food & Drink,Sale,-50.00,"),
                   options='{"account_name": "Sapphire"}')

    # then it adds nothing (the pending row is the posted one), and does not crash
    assert older.status_code == 201, older.content
    assert (older.json()["created"], older.json()["duplicates"]) == (0, 1)
    assert list(Transaction.objects.filter(user=alice).values_list("pending", flat=True)) == [
        False]
    assert current_totals(alice.id) == totals_from_rows(alice.id)


def test_a_category_chosen_by_hand_on_a_pending_charge_survives_its_posting_with_a_tip(
        alice):
    # given a pending restaurant charge, filed by hand under Alice's own category
    connection = ConnectionFactory(user=alice)
    refresh(alice, connection, [tx("P1", amount="-50.00", day=date(2026, 3, 10),
                                   pending=True, description="JOES DINER")],
            window_start=date(2026, 3, 1))
    food = Category.objects.get(user=None, parent=None, name="Food & Dining")
    business = Category.objects.create(user=alice, parent=food, name="Business meals")
    pending = Transaction.objects.get(user=alice)
    transaction_categorize(user=alice, transaction_id=pending.id, category=business)

    # when the next refresh brings it posted with a tip (another amount, another id) and
    # no longer sends the pending row
    refresh(alice, connection, [tx("T1", amount="-60.00", day=date(2026, 3, 11),
                                   description="JOES DINER")],
            window_start=date(2026, 3, 5))

    # then the posted row keeps the choice made by hand, and spending follows it
    posted = Transaction.objects.get(user=alice)
    assert (posted.external_id, posted.category, posted.category_source) == (
        "T1", business, "manual")
    assert current_totals(alice.id) == totals_from_rows(alice.id)


def test_two_dinners_filed_by_hand_while_pending_each_give_their_choice_to_their_own_posting(
        alice):
    # given two pending dinners at one diner on two days, filed and named by hand apart,
    # and a pending taxi filed by hand
    connection = ConnectionFactory(user=alice)
    refresh(alice, connection, [
        tx("P1", amount="-50.00", day=date(2026, 3, 10), pending=True, description="JOES DINER"),
        tx("P2", amount="-20.00", day=date(2026, 3, 12), pending=True, description="JOES DINER"),
        tx("P3", amount="-15.00", day=date(2026, 3, 12), pending=True, description="YELLOW CAB 42"),
    ], window_start=date(2026, 3, 1))
    food = Category.objects.get(user=None, parent=None, name="Food & Dining")
    business = Category.objects.create(user=alice, parent=food, name="Business meals")
    family = Category.objects.create(user=alice, parent=food, name="Family dinners")
    rows = {t.external_id: t for t in Transaction.objects.filter(user=alice)}
    transaction_categorize(user=alice, transaction_id=rows["P1"].id, category=business,
                           rename_to="Client dinner")
    transaction_categorize(user=alice, transaction_id=rows["P2"].id, category=family)
    transaction_categorize(user=alice, transaction_id=rows["P3"].id, category=business)

    # when both dinners post with tips (later, under other ids) and the taxi does not post
    # in this window (the bank dropped it); the pending rows are no longer sent
    refresh(alice, connection, [
        tx("T2", amount="-24.00", day=date(2026, 3, 13), description="JOES DINER"),
        tx("T1", amount="-60.00", day=date(2026, 3, 11), description="JOES DINER"),
        tx("T9", amount="-9.00", day=date(2026, 3, 13), description="CORNER STORE"),
    ], window_start=date(2026, 3, 5))

    # then each posting carries its own pending row's choice (nearest day first), the name
    # given by hand goes along, the other seller's row is filed afresh, and spending follows
    posted = {t.external_id: t for t in Transaction.objects.filter(user=alice)}
    assert sorted(posted) == ["T1", "T2", "T9"]
    assert (posted["T1"].category, posted["T1"].category_source, posted["T1"].seller) == (
        business, "manual", "Client dinner")
    assert (posted["T2"].category, posted["T2"].category_source) == (family, "manual")
    assert posted["T9"].category_source != "manual"
    assert current_totals(alice.id) == totals_from_rows(alice.id)


def test_a_dinner_filed_by_hand_while_pending_keeps_its_choice_when_a_newer_export_has_it_posted(
        api, alice, object_store):
    # given a card export with a dinner still pending, filed by hand
    upload(api, "card.csv", chase("03/20/2024,,OLIVE GARDEN 55,Food & Drink,Sale,-50.00,"),
           options='{"account_name": "Sapphire"}')
    food = Category.objects.get(user=None, parent=None, name="Food & Dining")
    business = Category.objects.create(user=alice, parent=food, name="Business meals")
    transaction_categorize(user=alice, transaction_id=Transaction.objects.get(user=alice).id,
                           category=business)

    # when a newer export holds it posted with a tip (another amount), no longer pending
    newer = upload(api, "card.csv", chase(
        "03/20/2024,03/22/2024,OLIVE GARDEN 55,Food & Drink,Sale,-58.00,"),
        options='{"account_name": "Sapphire"}')

    # then one row, posted, still filed by hand where Alice put it
    assert newer.status_code == 201, newer.content
    (row,) = Transaction.objects.filter(user=alice)
    assert (row.pending, row.amount, row.category, row.category_source) == (
        False, -58, business, "manual")
    assert current_totals(alice.id) == totals_from_rows(alice.id)

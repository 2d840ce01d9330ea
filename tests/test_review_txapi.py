"""Review of the transactions API, the lock on manual categories and monthly spending:
cases the other test files did not cover, each found failing first."""


import pytest

from budgets.services.recompute import current_totals, totals_from_rows
from tests.test_api_imports import chase, upload
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

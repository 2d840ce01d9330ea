"""Files imported out of order, or again: a pending charge that has posted since is not
written back beside its posted row (the evidence a newer file takes a stored pending row
away with, read the other way round), and a charge still pending beside one that posted
is kept."""

from decimal import Decimal

import pytest

from budgets.services.recompute import current_totals, totals_from_rows
from transactions.models import ImportJob, Transaction
from transactions.services.imports import import_create, import_undo

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("object_store")]

REVOLUT = b"Type,Started Date,Completed Date,Description,Amount,Currency,State\n"
OPTS = {"account_name": "Revolut"}

FEB_ROWS = (b"CARD_PAYMENT,2026-02-03 10:00:00,2026-02-04 10:00:00,Shell,-40.00,USD,COMPLETED\n"
            b"CARD_PAYMENT,2026-03-15 10:00:00,2026-03-16 10:00:00,Tesco,-22.00,USD,COMPLETED\n")
JAN_MAR = REVOLUT + (  # exported on 31 March: a hotel's hold of 200 still pending
    b"CARD_PAYMENT,2026-01-10 10:00:00,2026-01-11 10:00:00,Shell,-40.00,USD,COMPLETED\n"
    + FEB_ROWS + b"CARD_PAYMENT,2026-03-30 18:00:00,,Marriott,-200.00,USD,PENDING\n")
FEB_APR = REVOLUT + (  # exported on 30 April: the stay posted on 2 April, for 450
    FEB_ROWS
    + b"CARD_PAYMENT,2026-03-30 18:00:00,2026-04-02 10:00:00,Marriott,-450.00,USD,COMPLETED\n"
    b"CARD_PAYMENT,2026-04-10 10:00:00,2026-04-11 10:00:00,Shell,-40.00,USD,COMPLETED\n")
IN_ORDER = [("2026-01-11", Decimal("-40.00"), False), ("2026-02-04", Decimal("-40.00"), False),
            ("2026-03-16", Decimal("-22.00"), False), ("2026-04-02", Decimal("-450.00"), False),
            ("2026-04-11", Decimal("-40.00"), False)]


def rows(user):
    return sorted((r.posted_on.isoformat(), r.amount, r.pending)
                  for r in Transaction.objects.filter(user=user))


def spending_matches_rows(user) -> bool:
    return current_totals(user.id) == {k: v for k, v in totals_from_rows(user.id).items()
                                       if any(v)}


def imported(user, data, name="statement.csv"):
    return import_create(user=user, data=data, filename=name, options=OPTS)


def test_the_older_file_imported_again_does_not_bring_back_the_hold(alice):
    imported(alice, JAN_MAR)
    imported(alice, FEB_APR)
    assert rows(alice) == IN_ORDER  # the newer file took the hold away

    again = imported(alice, JAN_MAR)

    assert rows(alice) == IN_ORDER and spending_matches_rows(alice)
    assert (again.created, again.duplicates) == (0, 4)  # the hold counts as already here


def test_files_imported_newest_first_end_as_if_imported_in_order(alice):
    imported(alice, FEB_APR)
    imported(alice, JAN_MAR)

    assert rows(alice) == IN_ORDER and spending_matches_rows(alice)


def test_a_pending_row_of_the_same_amount_stays_away_when_its_file_comes_again(alice):
    first = REVOLUT + (
        b"CARD_PAYMENT,2026-03-02 10:00:00,2026-03-03 10:00:00,Shell,-40.00,USD,COMPLETED\n"
        b"CARD_PAYMENT,2026-03-10 18:00:00,,Tesco,-8.00,USD,PENDING\n")
    second = REVOLUT + (
        b"CARD_PAYMENT,2026-03-02 10:00:00,2026-03-03 10:00:00,Shell,-40.00,USD,COMPLETED\n"
        b"CARD_PAYMENT,2026-03-10 18:00:00,2026-03-11 10:00:00,Tesco,-8.00,USD,COMPLETED\n")
    imported(alice, first)
    imported(alice, second)
    imported(alice, first)

    assert rows(alice) == [("2026-03-03", Decimal("-40.00"), False),
                           ("2026-03-11", Decimal("-8.00"), False)]


def test_a_second_coffee_still_pending_beside_a_first_that_posted_is_kept(alice):
    # An older export held the first coffee posted; the next holds it again, and a second
    # one, same shop, same amount, same day, still pending: two coffees.
    older = REVOLUT + (
        b"CARD_PAYMENT,2026-03-30 09:00:00,2026-03-30 09:00:05,Blue Bottle,-5.00,USD,COMPLETED\n")
    newer = REVOLUT + (
        b"CARD_PAYMENT,2026-03-30 10:05:00,,Blue Bottle,-5.00,USD,PENDING\n"
        b"CARD_PAYMENT,2026-03-30 09:00:00,2026-03-30 09:00:05,Blue Bottle,-5.00,USD,COMPLETED\n")
    imported(alice, older)
    imported(alice, newer)

    assert rows(alice) == [("2026-03-30", Decimal("-5.00"), False),
                           ("2026-03-30", Decimal("-5.00"), True)]


def test_a_pending_row_with_no_posted_row_since_is_written(alice):
    imported(alice, FEB_APR)
    later_hold = REVOLUT + b"CARD_PAYMENT,2026-04-20 18:00:00,,Marriott,-200.00,USD,PENDING\n"

    imported(alice, later_hold)  # dated after the stay posted: another hold

    assert ("2026-04-20", Decimal("-200.00"), True) in rows(alice)


def test_after_the_newer_import_is_undone_the_older_file_brings_the_hold_back(alice):
    imported(alice, JAN_MAR)
    newer = imported(alice, FEB_APR)
    import_undo(job=ImportJob.objects.get(pk=newer.pk))

    imported(alice, JAN_MAR)  # as import_undo says: the earlier file restores it

    assert ("2026-03-30", Decimal("-200.00"), True) in rows(alice)
    assert ("2026-04-02", Decimal("-450.00"), False) not in rows(alice)
    assert spending_matches_rows(alice)

"""A provider that re-sends every transaction still pending (the demo bank, Plaid-style)
says from which day its answer covers (``Statement.window_start``): a stored pending row
of one of its accounts dated from then on that it no longer sends is gone at the bank (a
hold released, a charge that posted with a tip added) and leaves, spending and all."""

import uuid
from datetime import date
from decimal import Decimal

import pytest
from django.db import transaction

from accounts.providers import AccountRecord, Statement
from budgets.services.recompute import current_totals, totals_from_rows
from tests.factories import ConnectionFactory
from tests.test_ingest import tx
from transactions.models import RawDump, Transaction
from transactions.services.ingest import transactions_ingest

pytestmark = pytest.mark.django_db


def refresh(user, connection, records, window_start, accounts=("chk",)):
    dump = RawDump.objects.create(user=user, connection=connection,
                                  key=f"k/{uuid.uuid4().hex}", media_type="application/json",
                                  size=1, sha256="0")
    statement = Statement(accounts=[AccountRecord(external_id=a, name=a) for a in accounts],
                          transactions=records, cursor="x", window_start=window_start)
    with transaction.atomic():
        return transactions_ingest(user=user, connection=connection, statement=statement,
                                   dump=dump)


def stored(user):
    return sorted(Transaction.objects.filter(user=user).values_list("external_id", "pending",
                                                                    "amount"))


def test_a_hold_the_bank_stopped_sending_leaves_with_its_spending(alice):
    connection = ConnectionFactory(user=alice)
    refresh(alice, connection, [tx("P1", amount="-80.00", day=date(2026, 3, 10), pending=True),
                                tx("T0", amount="-5.00", day=date(2026, 3, 1))],
            window_start=date(2026, 3, 1))

    result = refresh(alice, connection, [tx("T0", amount="-5.00", day=date(2026, 3, 1))],
                     window_start=date(2026, 3, 5))

    assert result.expired_pending == 1
    assert stored(alice) == [("T0", False, Decimal("-5.00"))]
    assert current_totals(alice.id) == totals_from_rows(alice.id)


def test_a_charge_that_posted_with_a_tip_replaces_its_pending_row(alice):
    connection = ConnectionFactory(user=alice)
    refresh(alice, connection, [tx("P1", amount="-50.00", day=date(2026, 3, 10), pending=True)],
            window_start=date(2026, 3, 1))

    refresh(alice, connection, [tx("T1", amount="-60.00", day=date(2026, 3, 11))],
            window_start=date(2026, 3, 5))

    assert stored(alice) == [("T1", False, Decimal("-60.00"))]  # not both: 110.00 spent


def test_what_the_answer_does_not_cover_stays(alice):
    connection = ConnectionFactory(user=alice)
    refresh(alice, connection, [
        tx("P-old", amount="-1.00", day=date(2026, 3, 1), pending=True),
        tx("P-sav", amount="-2.00", day=date(2026, 3, 10), pending=True, account="sav"),
        tx("P-kept", amount="-3.00", day=date(2026, 3, 10), pending=True),
    ], window_start=date(2026, 3, 1), accounts=("chk", "sav"))

    # from 5 March on, for the checking account only, still sending P-kept
    refresh(alice, connection, [tx("P-kept", amount="-3.00", day=date(2026, 3, 10),
                                   pending=True)],
            window_start=date(2026, 3, 5))

    assert [x for x, _, _ in stored(alice)] == ["P-kept", "P-old", "P-sav"]


def test_a_statement_that_names_no_window_takes_nothing_away(alice):
    connection = ConnectionFactory(user=alice)
    refresh(alice, connection, [tx("P1", day=date(2026, 3, 10), pending=True)],
            window_start=None)

    refresh(alice, connection, [tx("T9", amount="-9.99", day=date(2026, 3, 12))],
            window_start=None)

    assert [x for x, _, _ in stored(alice)] == ["P1", "T9"]


def test_the_demo_bank_says_which_days_it_answers_for():
    from accounts.providers import FetchContext
    from accounts.providers.sandbox import provider

    raw = provider.fetch(FetchContext(url="sandbox://demo", login="demo", password="",
                                      since="2026-03-20", attempt=1))
    statement = provider.parse(raw)

    assert statement.window_start == date(2026, 3, 10)  # the cursor less 10 days' overlap
    assert all(t.posted_on >= statement.window_start for t in statement.transactions)

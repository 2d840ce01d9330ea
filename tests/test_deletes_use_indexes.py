"""Deleting a connection, an account or a user reaches the transaction rows only through
an index that leads with the user: the table has no index on the account or the raw
dump, so a statement that found rows by those alone would scan every user's rows
(measured: 0.7 s per user deletion at 3 million rows; it grows with the table)."""

import re

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext

from accounts.services import account_unlink, financial_account_delete, user_delete
from tests.factories import ConnectionFactory
from tests.test_ingest import ingest, tx
from transactions.models import RawDump, Transaction

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("object_store")]


def statements_on_transactions(queries) -> list[str]:
    return [q["sql"] for q in queries if re.search(r'\btransactions_transaction\b', q["sql"])
            and not q["sql"].lstrip().upper().startswith(("SAVEPOINT", "RELEASE"))]


@pytest.fixture
def bank(alice, bob):
    connection = ConnectionFactory(user=alice)
    ingest(alice, connection, [tx("1"), tx("2", account="sav")])
    ingest(bob, ConnectionFactory(user=bob), [tx("1")])
    return connection


def assert_by_user(sql: list[str]) -> None:
    """Each statement's WHERE (the last one: the rows it reaches) holds the user."""
    assert sql, "no statement reached the transactions"
    for statement in sql:
        where = statement.rpartition(" WHERE ")[2]
        assert re.search(r'"?user_id"?\s*(=|IN)', where), statement


def test_unlinking_reaches_the_rows_by_user_and_keeps_the_others(alice, bob, bank):
    with CaptureQueriesContext(db) as queries:
        account_unlink(connection=bank)

    assert_by_user(statements_on_transactions(queries))
    assert not Transaction.objects.filter(user=alice).exists()
    assert Transaction.objects.filter(user=bob).count() == 1


def test_deleting_one_account_reaches_the_rows_by_user(alice, bank):
    account = bank.accounts.get(external_id="sav")

    with CaptureQueriesContext(db) as queries:
        financial_account_delete(account=account)

    assert_by_user(statements_on_transactions(queries))
    assert list(Transaction.objects.filter(user=alice).values_list("external_id", flat=True)) == ["1"]


def test_deleting_a_user_reaches_the_rows_by_user_and_not_by_dump(alice, bob, bank):
    assert RawDump.objects.filter(user=alice).exists()

    with CaptureQueriesContext(db) as queries:
        user_delete(user=alice)

    assert_by_user(statements_on_transactions(queries))
    assert not Transaction.objects.filter(user_id=alice.pk).exists()
    assert Transaction.objects.filter(user=bob).count() == 1


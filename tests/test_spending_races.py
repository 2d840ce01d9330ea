"""Monthly spending under concurrent writers of one user's rows, on real PostgreSQL.

Each test starts a second writer in the middle of the first one (a thread with its own
database session) and checks, once both are done, that the table still equals the sum
of the rows. (SQLite has one writer at a time: these races cannot happen there.)"""

import threading
from datetime import date
from decimal import Decimal
from unittest import mock

import pytest
from django.db import connection as db
from django.db import connections, transaction

from accounts.models import Connection
from accounts.services import account_unlink
from budgets.services import SpendingDelta, spending_apply
from budgets.services.recompute import current_totals, totals_from_rows
from categories.models import Category
from categories.services import transaction_categorize
from tests.factories import ConnectionFactory, ingest_statement
from transactions.models import Transaction
from transactions.services import ingest as ingest_module

from .test_spending import rec


@pytest.fixture(autouse=True)
def postgres(transactional_db, taxonomy):
    if db.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL (SQLite serialises every writer)")


class Writer(threading.Thread):
    """Runs ``fn`` in its own database session; ``join()`` re-raises its error."""

    def __init__(self, fn):
        super().__init__()
        self.fn, self.error = fn, None

    def run(self):
        try:
            self.fn()
        except Exception as exc:
            self.error = exc
        finally:
            connections.close_all()

    def start_and_let_run(self, seconds=2.0):
        """Starts it and gives it time to finish — or to block on a lock we hold."""
        self.start()
        threading.Thread.join(self, seconds)

    def join(self, timeout=30):
        super().join(timeout)
        assert not self.is_alive(), "the second writer never finished"
        if self.error:
            raise self.error


def assert_consistent(user):
    assert current_totals(user.id) == totals_from_rows(user.id)


def coffee():
    return Category.objects.get(user=None, name="Coffee Shops")


def test_a_pending_row_changed_by_hand_while_its_twin_posts(alice):
    connection = ConnectionFactory(user=alice)
    ingest_statement(alice, connection, [rec("p1", "-30.00", date(2026, 3, 8), pending=True)])
    pending = Transaction.objects.get(user=alice, external_id="p1")
    writers = []
    real = ingest_module._existing_keys

    def meanwhile(**kwargs):  # after the ingest read (and locked) the pending rows
        writers.append(Writer(lambda: transaction_categorize(
            user=alice, transaction_id=pending.id, category=coffee())))
        writers[-1].start_and_let_run()
        return real(**kwargs)

    with mock.patch.object(ingest_module, "_existing_keys", side_effect=meanwhile):
        ingest_statement(alice, connection, [rec("x9", "-30.00", date(2026, 3, 10))])
    with pytest.raises(Transaction.DoesNotExist):
        writers[0].join()  # it waited for the ingest, then found its row replaced
    assert_consistent(alice)


def test_a_category_changed_by_hand_while_the_account_is_unlinked(alice):
    connection = ConnectionFactory(user=alice)
    ingest_statement(alice, connection, [rec("a", "-30.00")])
    row = Transaction.objects.get(user=alice)
    writers = []
    real = Connection.delete

    def meanwhile(self, *args, **kwargs):
        writers.append(Writer(lambda: transaction_categorize(
            user=alice, transaction_id=row.id, category=coffee())))
        writers[-1].start_and_let_run()
        return real(self, *args, **kwargs)

    with mock.patch.object(Connection, "delete", meanwhile):
        account_unlink(connection=connection)
    with pytest.raises(Transaction.DoesNotExist):
        writers[0].join()
    assert_consistent(alice)
    assert current_totals(alice.id) == {}


def test_writers_of_many_categories_in_opposite_orders_never_deadlock(alice):
    ids = list(Category.objects.filter(parent__isnull=False).order_by("id")
               .values_list("id", flat=True)[:40])

    def write(order):
        for _ in range(150):
            delta = SpendingDelta()
            for category_id in order:
                delta.add(user_id=alice.id, posted_on=date(2026, 3, 1), category_id=category_id,
                          amount=Decimal("1"))
            with transaction.atomic():
                spending_apply(delta)

    with mock.patch("budgets.services.spending.spending_changed"):
        writers = [Writer(lambda: write(ids)), Writer(lambda: write(ids[::-1]))]
        for writer in writers:
            writer.start()
        for writer in writers:
            writer.join(120)
    totals = current_totals(alice.id)
    assert {total for total, _ in totals.values()} == {Decimal("300")}

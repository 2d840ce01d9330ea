"""Monthly spending is kept with the rows: ingest, corrections, pending → posted,
recategorisation, manual choices and unlinking all move it in the same transaction."""

import io
from datetime import date
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.providers import TransactionRecord
from accounts.services import account_unlink
from budgets.models import MonthlySpending
from budgets.services.recompute import current_totals, spending_recompute, totals_from_rows
from categories.models import Category, Rule
from categories.services import (
    rule_create,
    rule_update,
    transaction_categorize,
    transactions_recategorize_user,
)
from tests.factories import ConnectionFactory, UserFactory, ingest_statement
from transactions.models import Transaction

ingest = ingest_statement


def rec(external_id, amount, day=date(2026, 3, 10), description="SHELL OIL 12345 AUSTIN TX",
        pending=False, twin=""):
    return TransactionRecord(account_external_id="chk", external_id=external_id,
                             posted_on=day, amount=Decimal(amount), description=description,
                             pending=pending, pending_external_id=twin)


def table(user):
    return {(m.month, m.category.name): (m.total, m.count)
            for m in MonthlySpending.objects.filter(user=user).select_related("category")
            if m.total or m.count}


def assert_consistent(user):
    assert current_totals(user.id) == totals_from_rows(user.id)


def test_ingest_adds_rows_to_their_month_and_category(alice):
    connection = ConnectionFactory(user=alice)
    ingest(alice, connection, [
        rec("a", "-40.00"), rec("b", "-10.00", date(2026, 3, 31)),
        rec("c", "-5.00", date(2026, 4, 1)),
        rec("d", "2500.00", description="ACME CORP PAYROLL"),
    ])
    assert table(alice) == {
        (date(2026, 3, 1), "Gas & Fuel"): (Decimal("-50.00"), 2),
        (date(2026, 4, 1), "Gas & Fuel"): (Decimal("-5.00"), 1),
        (date(2026, 3, 1), "Paycheck"): (Decimal("2500.00"), 1),
    }


def test_a_refund_reduces_spending(alice):
    connection = ConnectionFactory(user=alice)
    ingest(alice, connection, [rec("a", "-40.00"), rec("b", "15.00")])
    assert table(alice) == {(date(2026, 3, 1), "Gas & Fuel"): (Decimal("-25.00"), 2)}


def test_a_correction_moves_the_amount_and_the_month(alice):
    connection = ConnectionFactory(user=alice)
    ingest(alice, connection, [rec("a", "-40.00")])
    ingest(alice, connection, [rec("a", "-42.50", date(2026, 4, 2))])
    assert table(alice) == {(date(2026, 4, 1), "Gas & Fuel"): (Decimal("-42.50"), 1)}
    ingest(alice, connection, [rec("a", "-42.50", date(2026, 4, 2))])  # again: no change
    assert table(alice) == {(date(2026, 4, 1), "Gas & Fuel"): (Decimal("-42.50"), 1)}


def test_a_pending_charge_that_posts_is_counted_once(alice):
    connection = ConnectionFactory(user=alice)
    ingest(alice, connection, [rec("p1", "-30.00", date(2026, 3, 8), pending=True)])
    assert table(alice) == {(date(2026, 3, 1), "Gas & Fuel"): (Decimal("-30.00"), 1)}
    ingest(alice, connection, [rec("x9", "-30.00", date(2026, 3, 10))])  # posts, new id
    assert table(alice) == {(date(2026, 3, 1), "Gas & Fuel"): (Decimal("-30.00"), 1)}
    assert_consistent(alice)


def test_recategorising_moves_money_between_categories(alice):
    connection = ConnectionFactory(user=alice)
    ingest(alice, connection, [rec("a", "-40.00"), rec("b", "-5.00")])
    tx = Transaction.objects.get(user=alice, external_id="a")
    transaction_categorize(user=alice, transaction_id=tx.id,
                           category=Category.objects.get(name="Service & Parts"))
    assert table(alice) == {
        (date(2026, 3, 1), "Gas & Fuel"): (Decimal("-5.00"), 1),
        (date(2026, 3, 1), "Service & Parts"): (Decimal("-40.00"), 1),
    }
    rule_create(user=alice, category=Category.objects.get(name="Parking"),
                description_contains="shell")
    transactions_recategorize_user(user_id=alice.id)
    assert table(alice) == {
        (date(2026, 3, 1), "Parking"): (Decimal("-5.00"), 1),
        (date(2026, 3, 1), "Service & Parts"): (Decimal("-40.00"), 1),
    }


def test_unlinking_an_account_takes_its_spending_away(alice):
    kept, gone = ConnectionFactory(user=alice), ConnectionFactory(user=alice)
    ingest(alice, kept, [rec("a", "-40.00")])
    ingest(alice, gone, [rec("b", "-5.00"), rec("c", "-7.00", date(2026, 5, 1))])
    account_unlink(connection=gone)
    assert table(alice) == {(date(2026, 3, 1), "Gas & Fuel"): (Decimal("-40.00"), 1)}


def test_one_users_rows_never_touch_anothers_spending(alice, bob):
    ingest(alice, ConnectionFactory(user=alice), [rec("a", "-40.00")])
    ingest(bob, ConnectionFactory(user=bob), [rec("a", "-1.00")])
    assert table(alice) == {(date(2026, 3, 1), "Gas & Fuel"): (Decimal("-40.00"), 1)}
    assert table(bob) == {(date(2026, 3, 1), "Gas & Fuel"): (Decimal("-1.00"), 1)}


# --- any sequence of writes leaves the table equal to the sum of the rows -----------------

DESCRIPTIONS = ["SHELL OIL 12345 AUSTIN TX", "POS PURCHASE 1234 STARBUCKS #12345 SEATTLE WA",
                "ACME CORP PAYROLL", "ZQX FLORBNIK 99", "ONLINE TRANSFER TO SAV 1234"]
amounts = st.decimals(min_value=Decimal("-500"), max_value=Decimal("500"), places=2,
                      allow_nan=False, allow_infinity=False)
days = st.dates(min_value=date(2025, 11, 1), max_value=date(2026, 3, 31))
records = st.builds(
    lambda n, amount, day, d, pending: rec(f"t{n}", str(amount), day, DESCRIPTIONS[d], pending),
    st.integers(0, 12), amounts, days, st.integers(0, len(DESCRIPTIONS) - 1), st.booleans(),
)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("ingest"), st.integers(0, 1), st.lists(records, min_size=1, max_size=6)),
        st.tuples(st.just("manual"), st.integers(0, 50), st.sampled_from(
            ["Hobbies", "Books", "Gift", "Groceries", "Paycheck"])),
        st.tuples(st.just("rule"), st.sampled_from(["shell", "zqx", "acme"]),
                  st.sampled_from(["Parking", "Books"])),
        st.tuples(st.just("unlink"), st.integers(0, 1)),
    ),
    min_size=1, max_size=8,
)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=steps)
def test_after_any_writes_the_table_equals_the_sum_of_the_rows(db, steps):
    user = UserFactory()
    connections = [ConnectionFactory(user=user), ConnectionFactory(user=user)]
    for step in steps:
        kind = step[0]
        if kind == "ingest":
            if connections[step[1]] is not None:
                ingest(user, connections[step[1]], step[2])
        elif kind == "manual":
            rows = list(Transaction.objects.filter(user=user).order_by("id"))
            if rows:
                transaction_categorize(user=user, transaction_id=rows[step[1] % len(rows)].id,
                                       category=Category.objects.get(user=None, name=step[2]))
        elif kind == "rule":
            existing = Rule.objects.filter(user=user, description_contains__iexact=step[1])
            if existing.exists():  # a twin rule is refused: change the one there is
                rule_update(rule=existing.get(),
                            category=Category.objects.get(user=None, name=step[2]))
            else:
                rule_create(user=user, category=Category.objects.get(user=None, name=step[2]),
                            description_contains=step[1])
            transactions_recategorize_user(user_id=user.id)
        elif kind == "unlink" and connections[step[1]] is not None:
            account_unlink(connection=connections[step[1]])
            connections[step[1]] = None
        assert_consistent(user)


# --- rebuilding --------------------------------------------------------------------------

def test_recompute_repairs_a_damaged_table_and_reports_it(alice):
    connection = ConnectionFactory(user=alice)
    ingest(alice, connection, [rec("a", "-40.00"), rec("b", "-5.00", date(2026, 4, 3))])
    good = table(alice)
    MonthlySpending.objects.filter(user=alice, month=date(2026, 3, 1)).update(total=Decimal("-1"))
    MonthlySpending.objects.filter(user=alice, month=date(2026, 4, 1)).delete()

    dry = spending_recompute(user_id=alice.id, dry_run=True)
    assert len(dry.differences) == 2 and not dry.written
    out = io.StringIO()
    call_command("recompute_spending", "--user", alice.email, stdout=out)

    assert table(alice) == good
    assert "1 users checked, 1 rewritten" in out.getvalue()


def test_recompute_all_walks_every_user_in_batches(alice, bob):
    ingest(alice, ConnectionFactory(user=alice), [rec("a", "-40.00")])
    ingest(bob, ConnectionFactory(user=bob), [rec("a", "-1.00")])
    MonthlySpending.objects.all().delete()
    out = io.StringIO()
    call_command("recompute_spending", "--all", "--batch-size", "1", stdout=out)
    assert table(alice) and table(bob)
    assert "2 rewritten" in out.getvalue()


@pytest.mark.parametrize("command", ["recompute_spending", "recategorize"])
@pytest.mark.parametrize(("args", "error"), [
    (["--user", ""], "give a user's email or id"),  # an unset shell variable: not everyone
    (["--user", "  "], "give a user's email or id"),
    (["--all", "--batch-size", "0"], "at least 1"),
    (["--all", "--batch-size", "-1"], "at least 1"),
    (["--all", "--batch-size", "x"], "not a whole number"),
])
def test_a_command_over_users_refuses_an_empty_user_and_a_bad_batch_size(
        alice, command, args, error):
    ingest(alice, ConnectionFactory(user=alice), [rec("a", "-40.00")])
    MonthlySpending.objects.all().delete()

    with pytest.raises(CommandError, match=error):
        call_command(command, *args, stdout=io.StringIO())

    assert not table(alice)  # nothing ran


def test_recategorize_files_old_rows_with_todays_rules_and_keeps_choices_made_by_hand(
    alice, bob
):
    # rows filed before an upgrade: an unknown deposit as Uncategorized (a refund of
    # spending, before money in with no clue became Income), and one chosen by hand
    ingest(alice, ConnectionFactory(user=alice), [rec("in", "1850.00", description="ZQX SL"),
                                                  rec("mine", "-3.00", description="ZQX SL")])
    ingest(bob, ConnectionFactory(user=bob), [rec("b", "-1.00")])
    uncategorized = Category.objects.get(user=None, name="Uncategorized")
    Transaction.objects.filter(user=alice).update(category=uncategorized, category_source="")
    Transaction.objects.filter(external_id="mine").update(category_source="manual")
    spending_recompute(user_id=alice.id)
    out = io.StringIO()

    call_command("recategorize", "--user", alice.email.upper(), stdout=out)

    row = Transaction.objects.get(user=alice, external_id="in")
    assert (row.category.name, row.category_source) == ("Income", "heuristic")
    assert Transaction.objects.get(external_id="mine").category == uncategorized
    assert "user " in out.getvalue() and "1 transactions recategorised" in out.getvalue()
    assert_consistent(alice)
    every = io.StringIO()
    call_command("recategorize", "--all", "--batch-size", "1", stdout=every)
    assert "2 users checked, 0 with transactions recategorised" in every.getvalue()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(
    st.dates(min_value=date(2025, 11, 25), max_value=date(2026, 2, 3)),
    st.sampled_from([None, 1, 2]),
    st.decimals(min_value=-1000, max_value=1000, places=2, allow_nan=False)), max_size=40))
def test_add_rows_sums_as_add_does_row_by_row(rows):
    from budgets.services.spending import SpendingDelta

    one_by_one, at_once = SpendingDelta(), SpendingDelta()
    for day, category_id, amount in rows:
        one_by_one.add(user_id=7, posted_on=day, category_id=category_id, amount=amount)
    at_once.add_rows(user_id=7, rows=rows)
    assert dict(at_once.totals) == dict(one_by_one.totals)


def test_a_call_queued_once_is_not_lost_to_a_rolled_back_savepoint(
    db, django_capture_on_commit_callbacks
):
    from django.db import transaction

    from budgets.services.spending import after_commit

    calls = []
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        after_commit(calls.append, "a", once=True)
        after_commit(calls.append, "a", once=True)  # waiting already: not again
        after_commit(calls.append, "b", once=True)  # other arguments: another call
        try:
            with transaction.atomic():
                after_commit(calls.append, "c", once=True)
                raise RuntimeError("rolled back")
        except RuntimeError:
            pass
        with transaction.atomic():
            after_commit(calls.append, "a", once=True)  # an outer one will run: skipped
            after_commit(calls.append, "d", once=True)
        after_commit(calls.append, "c", once=True)  # the first went with its savepoint
        after_commit(calls.append, "d", once=True)  # a released savepoint's: kept, run again
    assert calls == ["a", "b", "d", "c", "d"]


def test_a_commit_queues_one_budget_check_per_user_with_the_months_of_all_its_writes(
    alice, bob, django_capture_on_commit_callbacks
):
    from unittest import mock

    from django.db import transaction

    from budgets.services.spending import budgets_check_after_commit

    with (mock.patch("budgets.tasks.check_budgets.delay") as check,
          django_capture_on_commit_callbacks(execute=True), transaction.atomic()):
        budgets_check_after_commit(user_id=alice.id, months={date(2026, 3, 1)})
        budgets_check_after_commit(user_id=bob.id, months={date(2026, 3, 1)})
        with transaction.atomic():  # a savepoint: merged into the check waiting outside
            budgets_check_after_commit(user_id=alice.id, months={date(2026, 2, 1)})
        budgets_check_after_commit(user_id=alice.id)  # a refresh's own: merged too
    assert check.call_args_list == [
        mock.call(alice.id, months=["2026-02-01", "2026-03-01"]),
        mock.call(bob.id, months=["2026-03-01"]),
    ]


def test_deleting_an_own_category_moves_its_rows_and_spending_to_its_parent(alice, bob):
    from django.db import connection as db
    from django.test.utils import CaptureQueriesContext

    from accounts.services import user_delete
    from categories.services import category_create, category_delete

    march = date(2026, 3, 1)
    ingest(alice, ConnectionFactory(user=alice), [rec("a", "-40.00"), rec("b", "-10.00")])
    ingest(bob, ConnectionFactory(user=bob), [rec("a", "-7.00")])
    auto = Category.objects.get(name="Auto & Transport", user=None)
    mine = category_create(user=alice, parent=auto, name="Road trips")
    row = Transaction.objects.get(user=alice, external_id="a")
    transaction_categorize(user=alice, transaction_id=row.id, category=mine)
    assert table(alice)[(march, "Road trips")] == (Decimal("-40.00"), 1)

    with CaptureQueriesContext(db) as queries:
        category_delete(category=mine)

    row.refresh_from_db()
    assert (row.category_id, row.category_source) == (auto.id, "manual")
    assert table(alice) == {(march, "Gas & Fuel"): (Decimal("-10.00"), 1),
                            (march, "Auto & Transport"): (Decimal("-40.00"), 1)}
    assert table(bob) == {(march, "Gas & Fuel"): (Decimal("-7.00"), 1)}
    assert_consistent(alice)
    # No statement looks for the category in every user's rows (nothing indexes that).
    assert not [q["sql"] for q in queries.captured_queries
                if 'UPDATE "transactions_transaction" SET "category_id" = NULL' in q["sql"]]

    other = category_create(user=alice, parent=auto, name="Tolls")
    transaction_categorize(user=alice, transaction_id=row.id, category=other)
    with CaptureQueriesContext(db) as queries:
        user_delete(user=alice)
    assert not Transaction.objects.filter(user_id=alice.id).exists()
    assert Transaction.objects.filter(user=bob).count() == 1
    assert not [q["sql"] for q in queries.captured_queries
                if 'UPDATE "transactions_transaction" SET "category_id" = NULL' in q["sql"]]


def test_a_years_spending_is_written_in_one_statement(alice, django_assert_max_num_queries):
    """Unlinking a year of statements takes ~300 (month, category) rows away: one upsert,
    not an INSERT and an UPDATE each (embedded SQLite sent ~600 queries, ~0.6 s)."""
    from budgets.services import SpendingDelta, spending_apply
    from categories.models import Category

    categories = list(Category.objects.filter(user=None).values_list("pk", flat=True)[:25])
    delta = SpendingDelta()
    for month in range(1, 13):
        for category_id in categories:
            delta.add(user_id=alice.pk, posted_on=date(2026, month, 5),
                      category_id=category_id, amount=Decimal("-0.10"))
            delta.add(user_id=alice.pk, posted_on=date(2026, month, 6),
                      category_id=category_id, amount=Decimal("-0.20"))

    with django_assert_max_num_queries(4):  # the user's lock, the upsert (+ a savepoint)
        spending_apply(delta)
    spending_apply(delta)  # onto the stored rows

    stored = MonthlySpending.objects.filter(user=alice)
    assert stored.count() == 12 * len(categories)
    assert {(row.total, row.count) for row in stored} == {(Decimal("-0.60"), 4)}

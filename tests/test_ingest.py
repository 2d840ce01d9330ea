"""transactions_ingest directly: batches, ownership, pending twins, corrections."""

import uuid
from datetime import date
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import example, given
from hypothesis import strategies as st

from accounts.providers import AccountRecord, Statement, TransactionRecord
from categories.models import Category
from tests.factories import ConnectionFactory, FinancialAccountFactory, ingest_statement
from transactions.models import RawDump, Transaction
from transactions.services import ingest as ingest_module
from transactions.services.ingest import transactions_ingest

pytestmark = pytest.mark.django_db(transaction=True)


def tx(external_id, amount="-4.50", day=date(2026, 1, 10), account="chk", **extra):
    return TransactionRecord(account_external_id=account, external_id=external_id,
                             posted_on=day, amount=Decimal(amount),
                             description=extra.pop("description", f"SHOP {external_id}"),
                             **extra)


ingest = ingest_statement  # the pipeline's write: a dump row, then the rows, in one transaction


def test_batches_in_one_transaction_all_land_once(alice, monkeypatch):
    monkeypatch.setattr(ingest_module, "BATCH_SIZE", 7)
    connection = ConnectionFactory(user=alice)
    rows = [tx(f"t{i}", amount=f"-{i}.25") for i in range(30)]

    first = ingest(alice, connection, rows)
    second = ingest(alice, connection, rows)

    assert (first.created, second.created, second.unchanged) == (30, 0, 30)
    assert Transaction.objects.filter(user=alice).count() == 30


def test_two_statements_in_one_transaction_do_not_mix(alice):
    connection = ConnectionFactory(user=alice)
    dump = RawDump.objects.create(user=alice, connection=connection, key="k/x",
                                  media_type="application/json", size=1, sha256="0")
    with transaction.atomic():
        a = transactions_ingest(user=alice, connection=connection, dump=dump,
                                statement=Statement(accounts=[], transactions=[tx("a1"), tx("a2")]))
        b = transactions_ingest(user=alice, connection=connection, dump=dump,
                                statement=Statement(accounts=[], transactions=[tx("b1")]))

    assert (a.created, b.created) == (2, 1)
    assert sorted(Transaction.objects.values_list("external_id", flat=True)) == ["a1", "a2", "b1"]


def test_only_a_refresh_lets_its_commit_skip_the_wal_flush(alice):
    """A background refresh lost in a database crash is run again; an import the user
    was told about must be on disk when the commit returns."""
    connection = ConnectionFactory(user=alice)
    dump = RawDump.objects.create(user=alice, connection=connection, key="k/w",
                                  media_type="application/json", size=1, sha256="0")

    def synchronous_commit(**kwargs):
        with transaction.atomic():
            transactions_ingest(user=alice, connection=connection, dump=dump,
                                statement=Statement(accounts=[], transactions=[tx("w1")]),
                                **kwargs)
            with transaction.get_connection().cursor() as cursor:
                cursor.execute("SHOW synchronous_commit")
                return cursor.fetchone()[0]

    if transaction.get_connection().vendor != "postgresql":
        pytest.skip("synchronous_commit is PostgreSQL's")
    assert synchronous_commit() == "on"
    assert synchronous_commit(durable=False) == "off"


def test_rows_cannot_land_on_another_users_account(alice, bob):
    bobs = FinancialAccountFactory(connection__user=bob)
    alices = ConnectionFactory(user=alice)

    with pytest.raises(ValueError, match="not the user's"):
        ingest(alice, alices, [tx("x1")], account=bobs)

    assert not Transaction.objects.exists()


def test_a_correction_updates_amount_and_keeps_a_manual_category(alice):
    connection = ConnectionFactory(user=alice)
    ingest(alice, connection, [tx("c1", amount="-10.00")])
    coffee = Category.objects.create(name="Mine", user=alice)
    Transaction.objects.filter(external_id="c1").update(category=coffee, category_source="manual")

    result = ingest(alice, connection, [tx("c1", amount="-11.00")])

    row = Transaction.objects.get(external_id="c1")
    assert (result.updated, row.amount) == (1, Decimal("-11.00"))
    assert (row.category, row.category_source) == (coffee, "manual")


def test_an_id_a_bank_reuses_for_another_transaction_keeps_both_and_adds_nothing_again(alice):
    from budgets.models import MonthlySpending

    # a bank that numbers each month's statement from 1 again
    connection = ConnectionFactory(user=alice)
    january = [tx("1", "-4.50", date(2026, 1, 5), description="STARBUCKS"),
               tx("2", "-60.00", date(2026, 1, 10), description="SHELL OIL")]
    february = [tx("1", "-1200.00", date(2026, 2, 3), description="RENT"),
                tx("2", "-9.99", date(2026, 2, 7), description="NETFLIX"),
                tx("3", "-3.00", date(2026, 2, 8), description="PARKING")]
    ingest(alice, connection, january)

    first = ingest(alice, connection, february)
    again = ingest(alice, connection, february)
    # a correction stays a correction: the same row a few days off, or renamed
    corrected = ingest(alice, connection, [tx("1", "-4.75", date(2026, 1, 6),
                                              description="STARBUCKS")])

    rows = Transaction.objects.filter(user=alice).order_by("posted_on")
    assert [(r.description, r.amount) for r in rows] == [
        ("STARBUCKS", Decimal("-4.75")), ("SHELL OIL", Decimal("-60.00")),
        ("RENT", Decimal("-1200.00")), ("NETFLIX", Decimal("-9.99")),
        ("PARKING", Decimal("-3.00"))]
    assert (first.created, first.updated) == (3, 0)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    assert corrected.updated == 1
    spent = sum(m.total for m in MonthlySpending.objects.filter(user=alice))
    assert spent == sum(r.amount for r in rows)


def test_a_transaction_under_a_reused_id_replaces_its_pending_twin(alice):
    connection = ConnectionFactory(user=alice)
    ingest(alice, connection, [tx("1", "-4.50", date(2026, 1, 5), description="STARBUCKS"),
                               tx("P9", "-9.99", date(2026, 2, 5), description="NETFLIX",
                                  pending=True)])

    result = ingest(alice, connection, [tx("1", "-9.99", date(2026, 2, 7),
                                           description="NETFLIX.COM")])

    rows = Transaction.objects.filter(user=alice).order_by("posted_on")
    assert [(r.external_id, r.amount, r.pending) for r in rows] == [
        ("1", Decimal("-4.50"), False), ("1~2026-02-07", Decimal("-9.99"), False)]
    assert (result.created, result.replaced_pending) == (1, 1)


def test_a_reused_id_row_sent_again_leaves_another_pending_row_of_its_amount(alice):
    connection = ConnectionFactory(user=alice)
    february = [tx("1", "-9.99", date(2026, 2, 7), description="NETFLIX.COM")]
    ingest(alice, connection, [tx("1", "-4.50", date(2026, 1, 5), description="STARBUCKS")])
    ingest(alice, connection, february)  # stored as 1~2026-02-07
    ingest(alice, connection, [tx("P1", "-9.99", date(2026, 2, 4), description="SPOTIFY",
                                  pending=True)])

    again = ingest(alice, connection, february)

    assert (again.created, again.replaced_pending) == (0, 0)
    assert Transaction.objects.filter(user=alice, external_id="P1", pending=True).exists()


def test_a_pending_row_matched_by_amount_is_replaced_and_keeps_its_manual_category(alice):
    connection = ConnectionFactory(user=alice)
    ingest(alice, connection, [tx("P1", amount="-7.77", day=date(2026, 1, 10), pending=True)])
    mine = Category.objects.create(name="Treats", user=alice)
    Transaction.objects.filter(external_id="P1").update(category=mine, category_source="manual",
                                                        seller="My Renamed")

    result = ingest(alice, connection, [tx("T9", amount="-7.77", day=date(2026, 1, 12))])

    assert result.replaced_pending == 1
    posted = Transaction.objects.get(user=alice)
    assert (posted.external_id, posted.pending) == ("T9", False)
    assert (posted.category, posted.category_source, posted.seller) == (mine, "manual",
                                                                        "My Renamed")


def test_a_pending_rows_automatic_name_does_not_replace_the_posted_ones(alice):
    connection = ConnectionFactory(user=alice)
    ingest(alice, connection, [tx("P1", amount="-7.77", day=date(2026, 1, 10), pending=True,
                                  description="SQ *BLUE BOTTLE PEND")])
    mine = Category.objects.create(name="Treats", user=alice)
    Transaction.objects.filter(external_id="P1").update(category=mine, category_source="manual")

    ingest(alice, connection, [tx("T9", amount="-7.77", day=date(2026, 1, 12),
                                  description="SQ *BLUE BOTTLE COFFEE Oakland CA")])

    posted = Transaction.objects.get(user=alice)
    assert (posted.category, posted.seller) == (mine, "Blue Bottle Coffee")


def test_a_pending_row_still_pending_is_not_replaced_by_a_lookalike(alice):
    connection = ConnectionFactory(user=alice)
    ingest(alice, connection, [tx("P1", amount="-3.00", pending=True)])

    result = ingest(alice, connection, [tx("P1", amount="-3.00", pending=True),
                                        tx("T2", amount="-3.00", day=date(2026, 1, 11))])

    assert result.replaced_pending == 0
    assert Transaction.objects.filter(user=alice).count() == 2


def test_a_nul_in_the_banks_text_is_dropped_not_a_failed_write(alice):
    connection = ConnectionFactory(user=alice)

    ingest(alice, connection, [tx("n\x001", description="THI\x00NG", memo="m\x00")])

    row = Transaction.objects.get(user=alice)
    assert (row.external_id, row.description, row.memo) == ("n1", "THING", "m")


def test_text_with_tabs_newlines_and_backslashes_survives_copy(alice):
    connection = ConnectionFactory(user=alice)
    nasty = "A\\B\tC\nD  E"

    ingest(alice, connection, [tx("n\t1\\", description=nasty, memo="m\\n")])

    row = Transaction.objects.get(user=alice)
    assert row.external_id == "n\t1\\"
    assert row.description == "A\\B C D E"
    assert row.memo == "m\\n"



_TEXT = st.text(st.sampled_from("ab \\\t\n\rN.é"), max_size=8)


@given(st.lists(st.tuples(_TEXT, _TEXT, _TEXT, st.sampled_from(["USD", "E\tR", "\\N"]),
                          st.none() | st.integers(1, 9), st.booleans()), max_size=6))
@example([("x", "a\\b", "", "USD", None, True)])  # a NULL's backslash and another
@example([("x", "", "", "USD", None, True), ("y\\", "", "", "USD", 3, False)])
@example([("x", "", "", "USD", 1, False), ("y", "a\tb", "", "USD", None, True)])
def test_copy_text_is_the_escaped_text_of_every_row(values):
    """The fast path writes the batch as is only when escaping would not change it."""
    from transactions.services.ingest import _copy_line_escaped, _copy_lines

    dump = uuid.uuid4()
    rows = [[7, 8, external_id, date(2026, 1, 2), Decimal("-1.50"), currency, text, memo,
             "Seller", "seller", category, "seller", pending, None if pending else dump, ""]
            for external_id, text, memo, currency, category, pending in values]
    expected = "".join(_copy_line_escaped(r, r"\N") for r in rows)
    assert _copy_lines(rows) == expected


def test_two_source_accounts_forced_into_one_keep_one_row_per_id(alice):
    target = FinancialAccountFactory(connection__user=alice)
    same_id_twice = [tx("1", amount="-1.00", account="chk"), tx("1", amount="-2.00", account="sav")]

    result = ingest(alice, target.connection, same_id_twice, account=target)

    assert result.created == 1
    assert Transaction.objects.get(user=alice).amount == Decimal("-2.00")


def test_ingest_outside_a_transaction_is_refused(alice):
    connection = ConnectionFactory(user=alice)
    dump = RawDump.objects.create(user=alice, connection=connection, key="k/y",
                                  media_type="application/json", size=1, sha256="0")

    with pytest.raises(RuntimeError, match="atomic"):
        transactions_ingest(user=alice, connection=connection, dump=dump,
                            statement=Statement(transactions=[tx("z")]))


def test_an_ingest_after_a_rolled_back_one_on_a_fresh_connection_still_works(alice):
    # The COPY stage is a temporary table created in the first transaction of a database
    # session: when that transaction rolls back, the table goes with it.
    from django.db import connection as db

    connection = ConnectionFactory(user=alice)
    db.close()  # a new session, with no stage table yet
    with pytest.raises(RuntimeError), transaction.atomic():
        ingest_in_open_transaction(alice, connection, [tx("a1")])
        raise RuntimeError("something after the rows failed")

    result = ingest(alice, connection, [tx("a1"), tx("a2")])
    again = ingest(alice, connection, [tx("a2"), tx("a3")])

    assert (result.created, again.created) == (2, 1)


def ingest_in_open_transaction(user, connection, transactions):
    dump = RawDump.objects.create(user=user, connection=connection, key="k/rolled-back",
                                  media_type="application/json", size=1, sha256="0")
    statement = Statement(accounts=[AccountRecord(external_id="chk", name="Checking")],
                          transactions=transactions, cursor="2026-01-31")
    return transactions_ingest(user=user, connection=connection, statement=statement, dump=dump)


def test_a_pending_row_and_its_posted_twin_in_one_statement_leave_one_row(alice):
    connection = ConnectionFactory(user=alice)
    result = ingest(alice, connection, [
        tx("p1", "-30.00", day=date(2026, 1, 8), pending=True),
        tx("x9", "-30.00", day=date(2026, 1, 10), pending_external_id="p1"),
    ])
    assert result.created == 1
    assert list(Transaction.objects.filter(user=alice).values_list("external_id", flat=True)) == [
        "x9"]


def test_new_accounts_take_the_short_path_and_end_as_existing_empty_ones(alice, bob, monkeypatch,
                                                                      taxonomy):
    """A first link writes its rows without looking for stored ones (PostgreSQL): the
    rows and the monthly spending are what the full path gives for accounts that
    already existed, empty."""
    from budgets.models import MonthlySpending

    records = [
        tx("a1", "-4.50", description="POS PURCHASE STARBUCKS #1234 SEATTLE WA"),
        tx("a2", "-61.20", day=date(2026, 1, 3), description="SHELL OIL 57442 OAKLAND CA"),
        tx("a3", "2500.00", day=date(2025, 12, 31), description="ACME CORP PAYROLL"),
        tx("a4", "-12.00", day=date(2026, 1, 30), pending=True),
        tx("s1", "-7.25", account="sav", description="SQ *BLUE BOTTLE"),
        tx("s1", "-7.35", account="sav", description="SQ *BLUE BOTTLE"),  # the last wins
        tx("s2", "-9.00", account="sav", description="back\\slash\ttab"),
    ]
    accounts = [AccountRecord(external_id="chk", name="Checking"),
                AccountRecord(external_id="sav", name="Savings")]

    def write(user, statement):
        connection = ConnectionFactory(user=user)
        dump = RawDump.objects.create(user=user, connection=connection, key=f"k/{user.id}",
                                      media_type="application/json", size=1, sha256="0")
        with transaction.atomic():
            return transactions_ingest(user=user, connection=connection, dump=dump,
                                       statement=statement)

    short = []
    original = ingest_module._write_postgres_new
    monkeypatch.setattr(ingest_module, "_write_postgres_new",
                        lambda rows: short.append(len(rows)) or original(rows))
    first = write(alice, Statement(accounts=accounts, transactions=records))
    connection = ConnectionFactory(user=bob)
    dump = RawDump.objects.create(user=bob, connection=connection, key="k/bob",
                                  media_type="application/json", size=1, sha256="0")
    with transaction.atomic():  # the accounts first, with no rows
        transactions_ingest(user=bob, connection=connection, dump=dump,
                            statement=Statement(accounts=accounts, transactions=[]))
    with transaction.atomic():
        second = transactions_ingest(user=bob, connection=connection, dump=dump,
                                     statement=Statement(accounts=accounts, transactions=records))

    expected_short = [6] if transaction.get_connection().vendor == "postgresql" else []
    assert short == expected_short
    assert (first.created, second.created) == (6, 6)

    def rows(user):
        return sorted(Transaction.objects.filter(user=user).values_list(
            "account__external_id", "external_id", "posted_on", "amount", "description",
            "seller", "category_id", "category_source", "pending"))

    def spending(user):
        return sorted(MonthlySpending.objects.filter(user=user).values_list(
            "month", "category_id", "total", "count"))

    assert rows(alice) == rows(bob)
    assert spending(alice) == spending(bob)
    assert len(spending(alice)) >= 4


def test_an_account_named_after_its_number_shows_only_the_last_four_digits(alice):
    from accounts.models import FinancialAccount

    connection = ConnectionFactory(user=alice)
    ingest(alice, connection, [tx("a", account="4111111111111111"),
                               tx("b", account="123456789:000111222333"),
                               tx("c", account="Joint savings"),
                               tx("d", account="3f2a1b9c-abc1-def2-1234-567812345678")])

    shown = set(FinancialAccount.objects.filter(user=alice).values_list("name", "mask"))
    assert ("Account …1111", "1111") in shown
    assert ("Account …2333", "2333") in shown
    assert ("Joint savings", "") in shown
    assert not any("4111111111111111" in name for name, _ in shown)


def test_a_real_account_name_with_numbers_is_kept_as_the_bank_gave_it(alice):
    from accounts.models import FinancialAccount

    connection = ConnectionFactory(user=alice)
    statement_accounts = [AccountRecord(external_id="isa", name="Cash ISA 2023-24"),
                          AccountRecord(external_id="loan", name="Loan 250 000")]
    dump = RawDump.objects.create(user=alice, connection=connection, key=f"k/{uuid.uuid4()}",
                                  media_type="application/json", size=1, sha256="0")
    with transaction.atomic():
        transactions_ingest(user=alice, connection=connection, dump=dump,
                            statement=Statement(accounts=statement_accounts,
                                                transactions=[tx("a", account="isa")],
                                                cursor="x"))

    assert set(FinancialAccount.objects.filter(user=alice).values_list("name", "mask")) == {
        ("Cash ISA 2023-24", ""), ("Loan 250 000", "")}


def test_an_accounts_label_gives_its_mask_once():
    from accounts.models import FinancialAccount

    assert str(FinancialAccount(name="Checking …999", mask="999")) == "Checking …999"
    assert str(FinancialAccount(name="Checking", mask="999")) == "Checking …999"
    assert str(FinancialAccount(name="Checking", mask="")) == "Checking"

"""OFX values a reviewer found misread or let through to the database: US thousands
separators, amounts and ids too large for their columns, a namespaced OFX 2.x root in
a damaged file, and the balance kept when one file holds several statements."""

from datetime import date
from decimal import Decimal

import pytest

from accounts.models import FinancialAccount
from tests.test_api_imports import upload
from tests.test_ofx_parse import HEADER, bank_file, read, trn
from transactions.importers.errors import ImportFormatError
from transactions.importers.ofx import parse_ofx
from transactions.models import ImportJob, RawDump, Transaction

SIGNON = ("<OFX><SIGNONMSGSRSV1><SONRS><STATUS><CODE>0<SEVERITY>INFO</STATUS>"
          "<DTSERVER>20240301<LANGUAGE>ENG</SONRS></SIGNONMSGSRSV1>\r\n<BANKMSGSRSV1>\r\n")


def stmttrnrs(*, balance="100.00", as_of="20240131", fitid="F1", posted="20240110") -> str:
    """One statement of account 111:222333, with a ledger balance unless ``balance`` is
    None and an as-of date unless ``as_of`` is None."""
    dtasof = f"<DTASOF>{as_of}" if as_of else ""
    ledger = f"<LEDGERBAL><BALAMT>{balance}{dtasof}</LEDGERBAL>" if balance else ""
    return ("<STMTTRNRS><TRNUID>0<STATUS><CODE>0<SEVERITY>INFO</STATUS>\r\n"
            "<STMTRS><CURDEF>USD<BANKACCTFROM><BANKID>111<ACCTID>222333<ACCTTYPE>CHECKING"
            "</BANKACCTFROM>\r\n<BANKTRANLIST><DTSTART>20240101<DTEND>20240229\r\n"
            f"{trn(fitid=fitid, posted=posted)}</BANKTRANLIST>\r\n{ledger}\r\n"
            "</STMTRS></STMTTRNRS>\r\n")


def statements_file(*statements: str) -> bytes:
    return (HEADER + SIGNON + "".join(statements) + "</BANKMSGSRSV1></OFX>\r\n").encode()


def line_with(data: bytes, needle: str) -> int:
    return next(i for i, line in enumerate(data.decode("latin-1").splitlines(), 1)
                if needle in line)


# ------------------------------------------------------------------ thousands separators


@pytest.mark.parametrize(("raw", "expected"), [
    ("-1,234", "-1234"), ("1,234", "1234"), ("+12,345", "12345"), ("-999,000", "-999000"),
])
def test_a_comma_before_exactly_three_digits_is_a_thousands_separator(raw, expected):
    statement = parse_ofx(bank_file(trn(amount=raw)))

    assert [t.amount for t in statement.transactions] == [Decimal(expected)]


@pytest.mark.parametrize(("raw", "expected"), [
    ("-5,00", "-5.00"), ("-5,5", "-5.5"), ("-1,234.56", "-1234.56"),
    ("-1.234,56", "-1234.56"), ("0,125", "0.125"), ("1234,567", "1234.567"),
])
def test_a_comma_that_cannot_be_a_thousands_separator_stays_a_decimal_mark(raw, expected):
    statement = parse_ofx(bank_file(trn(amount=raw)))

    assert [t.amount for t in statement.transactions] == [Decimal(expected)]


# ------------------------------------------------------------------ out-of-range values


OUT_OF_RANGE = {
    "transaction amount": (
        bank_file(trn(amount="-1000000000000000")), "<TRNAMT>", "too large"),
    "amount that rounds to a trillion": (
        bank_file(trn(amount="999999999999.995")), "<TRNAMT>", "too large"),
    "balance": (
        statements_file(stmttrnrs(balance="99999999999999999")), "<BALAMT>", "too large"),
    "account number": (
        bank_file(trn()).replace(b"<ACCTID>222333", b"<ACCTID>" + b"4" * 120),
        "<ACCTID>", "at most 100"),
    "currency": (
        bank_file(trn()).replace(b"<CURDEF>USD", b"<CURDEF>EURO"), "<CURDEF>",
        "three letters"),
}


@pytest.mark.parametrize("case", OUT_OF_RANGE)
def test_a_value_too_large_for_its_column_is_refused_naming_its_line(case):
    data, tag, needle = OUT_OF_RANGE[case]

    with pytest.raises(ImportFormatError) as caught:
        parse_ofx(data)

    assert caught.value.line == line_with(data, tag)
    assert tag in str(caught.value) and needle in str(caught.value)


@pytest.mark.parametrize("case", OUT_OF_RANGE)
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("object_store")
def test_an_upload_with_a_value_too_large_for_its_column_is_a_400_and_stores_nothing(api, case):
    # given an earlier import, so that "nothing stored" is measured against real rows
    upload(api, "bank_v2.ofx")
    data, tag, _ = OUT_OF_RANGE[case]
    before = (Transaction.objects.count(), FinancialAccount.objects.count(),
              RawDump.objects.count(), ImportJob.objects.count())

    response = upload(api, "statement.ofx", data=data)

    assert response.status_code == 400, response.json()
    assert response.json()["error"]["details"]["line"] == line_with(data, tag)
    assert (Transaction.objects.count(), FinancialAccount.objects.count(),
            RawDump.objects.count(), ImportJob.objects.count()) == before


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("object_store")
def test_the_largest_amount_and_balance_that_fit_are_stored(api):
    data = statements_file(stmttrnrs(balance="999999999999.99")).replace(
        b"<TRNAMT>-1.00", b"<TRNAMT>-999999999999.99")

    response = upload(api, "statement.ofx", data=data)

    assert response.status_code == 201, response.json()
    assert Transaction.objects.get().amount == Decimal("-999999999999.99")
    assert FinancialAccount.objects.get().balance == Decimal("999999999999.99")


def test_a_lowercase_currency_code_is_read_in_capitals():
    statement = parse_ofx(bank_file(trn()).replace(b"<CURDEF>USD", b"<CURDEF>eur"))

    assert statement.accounts[0].currency == statement.transactions[0].currency == "EUR"


# ------------------------------------------------------------------ namespaced OFX 2.x


def namespaced(data: bytes) -> bytes:
    return data.replace(b"<OFX>", b'<OFX xmlns="http://ofx.net/ifx/2.0/ofx">', 1)


def cells(statement) -> list[tuple]:
    return [(t.external_id, t.posted_on, t.amount, t.description, t.memo)
            for t in statement.transactions]


@pytest.mark.parametrize("damage", [
    lambda data: data.replace(b"JOHNSON &amp; SONS", b"AT&T"),
    lambda data: data.replace(b"DIVIDEND EARNED", "DIVIDENDE ÉPARGNE".encode("cp1252")),
], ids=["raw ampersand", "cp1252 under a UTF-8 declaration"])
def test_a_damaged_xml_file_with_a_namespaced_root_reads_as_it_does_without_one(damage):
    plain = parse_ofx(damage(read("bank_v2.ofx")))

    statement = parse_ofx(namespaced(damage(read("bank_v2.ofx"))))

    assert cells(statement) == cells(plain) and len(plain.transactions) == 3
    assert statement.accounts == plain.accounts
    assert statement.institution == plain.institution == "Riverbend Credit Union"


def test_a_namespaced_ofx_root_without_an_xml_declaration_is_read():
    data = namespaced(read("bank_v2.ofx")).split(b"\n", 2)[2]

    assert cells(parse_ofx(data)) == cells(parse_ofx(read("bank_v2.ofx")))


# ------------------------------------------------------------------ balances


def test_a_file_with_january_then_february_keeps_februarys_balance():
    data = statements_file(stmttrnrs(balance="100.00", as_of="20240131", fitid="J"),
                           stmttrnrs(balance="250.00", as_of="20240229", fitid="F"))

    [account] = parse_ofx(data).accounts

    assert account.balance == Decimal("250.00")


def test_a_file_with_february_then_january_keeps_februarys_balance():
    data = statements_file(stmttrnrs(balance="250.00", as_of="20240229120000.000[-5:EST]"),
                           stmttrnrs(balance="100.00", as_of="20240131120000.000[-5:EST]"))

    [account] = parse_ofx(data).accounts

    assert account.balance == Decimal("250.00")


def test_a_later_statement_without_a_balance_does_not_erase_the_earlier_one():
    data = statements_file(stmttrnrs(balance="100.00", fitid="J"),
                           stmttrnrs(balance=None, fitid="F"))

    [account] = parse_ofx(data).accounts

    assert account.balance == Decimal("100.00")


def test_a_dated_balance_wins_over_one_without_a_date():
    data = statements_file(stmttrnrs(balance="250.00", as_of="20240229"),
                           stmttrnrs(balance="100.00", as_of=None))

    [account] = parse_ofx(data).accounts

    assert account.balance == Decimal("250.00")


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("object_store")
def test_an_upload_of_january_then_february_leaves_februarys_balance_on_the_account(api):
    data = statements_file(stmttrnrs(balance="100.00", as_of="20240131", fitid="J"),
                           stmttrnrs(balance="250.00", as_of="20240229", fitid="F"))

    response = upload(api, "two_months.ofx", data=data)

    assert response.status_code == 201, response.json()
    assert FinancialAccount.objects.get().balance == Decimal("250.00")
    assert Transaction.objects.count() == 2


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("object_store")
def test_an_older_statement_imported_after_a_newer_one_keeps_the_newer_balance(api):
    february = statements_file(stmttrnrs(balance="250.00", as_of="20240229", fitid="F"))
    january = statements_file(stmttrnrs(balance="100.00", as_of="20240131", fitid="J"))
    march = statements_file(stmttrnrs(balance="75.00", as_of="20240331", fitid="M"))

    upload(api, "feb.ofx", data=february)
    upload(api, "jan.ofx", data=january)
    account = FinancialAccount.objects.get()
    assert (account.balance, account.balance_at.date()) == (Decimal("250.00"), date(2024, 2, 29))

    upload(api, "mar.ofx", data=march)
    account.refresh_from_db()
    assert (account.balance, account.balance_at.date()) == (Decimal("75.00"), date(2024, 3, 31))
    assert Transaction.objects.count() == 3

    # the same balance a month later, then the month between with another one
    may = statements_file(stmttrnrs(balance="75.00", as_of="20240531", fitid="Y"))
    april = statements_file(stmttrnrs(balance="60.00", as_of="20240430", fitid="A"))
    upload(api, "may.ofx", data=may)
    upload(api, "apr.ofx", data=april)
    account.refresh_from_db()
    assert (account.balance, account.balance_at.date()) == (Decimal("75.00"), date(2024, 5, 31))


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("object_store")
def test_a_quiet_months_statement_without_transactions_still_brings_its_balance(api):
    february = statements_file(stmttrnrs(balance="250.00", as_of="20240229", fitid="F"))
    quiet_march = statements_file(
        stmttrnrs(balance="240.00", as_of="20240331").replace(trn(fitid="F1"), ""))

    upload(api, "feb.ofx", data=february)
    response = upload(api, "mar.ofx", data=quiet_march)

    assert response.status_code == 201, response.json()
    assert response.json()["created"] == 0
    assert FinancialAccount.objects.get().balance == Decimal("240.00")
    # with nothing in it at all, still refused
    empty = statements_file(stmttrnrs(balance=None).replace(trn(fitid="F1"), ""))
    assert upload(api, "empty.ofx", data=empty).status_code == 400


def months_under_one_fitid() -> tuple[str, str]:
    """January's and February's statements of a bank that numbers each from 1 again."""
    january = stmttrnrs(fitid="1", posted="20240110", balance=None)
    february = stmttrnrs(fitid="1", posted="20240215", balance=None).replace(
        "<NAME>", "<NAME>RENT ")
    return january, february


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("object_store")
def test_a_reused_fitid_gets_one_id_whether_its_months_come_in_one_file_or_two(api):
    january, february = months_under_one_fitid()

    both = upload(api, "jan-feb.ofx", data=statements_file(january, february))
    again = upload(api, "feb.ofx", data=statements_file(february))

    assert both.json()["created"] == 2
    assert (again.json()["created"], again.json()["duplicates"]) == (0, 1)
    assert sorted(Transaction.objects.values_list("external_id", flat=True)) == [
        "1", "1~2024-02-15"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("object_store")
def test_a_reused_fitid_in_a_file_listed_newest_first_finds_the_month_stored_before(api):
    january, february = months_under_one_fitid()

    upload(api, "jan.ofx", data=statements_file(january))
    newest_first = upload(api, "feb-jan.ofx", data=statements_file(february, january))
    oldest_first = upload(api, "jan-feb.ofx", data=statements_file(january, february))

    assert newest_first.json()["created"] == 1 and oldest_first.json()["created"] == 0
    assert sorted(Transaction.objects.values_list("external_id", flat=True)) == [
        "1", "1~2024-02-15"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("object_store")
def test_a_later_statement_of_the_same_day_brings_its_balance(api):
    morning = statements_file(stmttrnrs(balance="100.00", as_of="20240229", fitid="A"))
    evening = statements_file(stmttrnrs(balance="80.00", as_of="20240229", fitid="B"))

    upload(api, "morning.ofx", data=morning)
    upload(api, "evening.ofx", data=evening)

    assert FinancialAccount.objects.get().balance == Decimal("80.00")

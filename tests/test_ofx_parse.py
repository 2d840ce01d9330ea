"""OFX/QFX files to a Statement: the dialects banks send, their damage, and refusals."""

import contextlib
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ofxtools.Parser import OFXTree

from transactions.importers.errors import ImportFormatError
from transactions.importers.ofx import ofx_account_infos, ofx_signon_status, parse_ofx

FIXTURES = Path(__file__).parent / "fixtures" / "ofx"

HEADER = (
    "OFXHEADER:100\r\nDATA:OFXSGML\r\nVERSION:102\r\nSECURITY:NONE\r\nENCODING:USASCII\r\n"
    "CHARSET:1252\r\nCOMPRESSION:NONE\r\nOLDFILEUID:NONE\r\nNEWFILEUID:NONE\r\n\r\n"
)


def read(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def line_of(name: str, needle: str) -> int:
    text = read(name).decode("latin-1")
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def bank_file(transactions: str, header: str = HEADER, encoding: str = "cp1252") -> bytes:
    """A minimal one-account SGML statement around the given <STMTTRN> markup."""
    body = (
        "<OFX><SIGNONMSGSRSV1><SONRS><STATUS><CODE>0<SEVERITY>INFO</STATUS>"
        "<DTSERVER>20240201<LANGUAGE>ENG</SONRS></SIGNONMSGSRSV1>\r\n"
        "<BANKMSGSRSV1><STMTTRNRS><TRNUID>0<STATUS><CODE>0<SEVERITY>INFO</STATUS>\r\n"
        "<STMTRS><CURDEF>USD<BANKACCTFROM><BANKID>111<ACCTID>222333<ACCTTYPE>CHECKING"
        "</BANKACCTFROM>\r\n<BANKTRANLIST><DTSTART>20240101<DTEND>20240131\r\n"
        f"{transactions}\r\n</BANKTRANLIST></STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>\r\n"
    )
    return (header + body).encode(encoding)


def trn(amount="-1.00", posted="20240110", fitid="F1", name="SHOP") -> str:
    fitid_tag = f"<FITID>{fitid}" if fitid else ""
    return (f"<STMTTRN><TRNTYPE>DEBIT<DTPOSTED>{posted}<TRNAMT>{amount}"
            f"{fitid_tag}<NAME>{name}</STMTTRN>\r\n")


def amounts(statement) -> list[Decimal]:
    return [t.amount for t in statement.transactions]


# ----------------------------------------------------------------- well-formed files


def test_sgml_bank_statement_in_cp1252_with_crlf_is_read():
    statement = parse_ofx(read("bank_sgml_cp1252.ofx"))

    [account] = statement.accounts
    assert account.external_id == "011000138:00004417723"
    assert (account.kind, account.mask, account.currency) == ("checking", "7723", "USD")
    assert account.balance == Decimal("3817.52")
    assert amounts(statement) == [Decimal("2450.00"), Decimal("-4.85"), Decimal("-1200.00"),
                                  Decimal("-12.00"), Decimal("0.37")]
    cafe = statement.transactions[1]
    assert cafe.description == "CAFÉ LUMIÈRE BOSTON MA"
    assert cafe.memo == "POS PURCHASE CARD 4417"
    assert cafe.external_id == "202401040001"
    assert cafe.posted_on == date(2024, 1, 4)
    assert {t.account_external_id for t in statement.transactions} == {account.external_id}
    assert statement.cursor == "2024-01-31"
    assert statement.institution == "Harbor Community Bank"


def test_credit_card_statement_is_read_with_purchases_negative_and_payments_positive():
    statement = parse_ofx(read("creditcard_sgml.ofx"))

    [card] = statement.accounts
    assert (card.external_id, card.kind, card.mask) == ("4000001234567899", "credit_card", "7899")
    assert card.balance == Decimal("-1023.77")
    assert amounts(statement) == [Decimal("-6.40"), Decimal("-132.18"), Decimal("25.00"),
                                  Decimal("450.00")]
    assert statement.transactions[0].description == "PANADERÍA ROSA SEATTLE WA"
    assert [t.posted_on for t in statement.transactions] == [
        date(2024, 2, 3), date(2024, 2, 10), date(2024, 2, 15), date(2024, 2, 26)]
    assert statement.cursor == "2024-02-29"


def test_ofx_2_xml_statement_is_read():
    statement = parse_ofx(read("bank_v2.ofx"))

    [account] = statement.accounts
    assert (account.external_id, account.kind) == ("253177049:7730019925", "savings")
    assert amounts(statement) == [Decimal("500.00"), Decimal("-75.00"), Decimal("18.42")]
    plumber = statement.transactions[1]
    assert (plumber.description, plumber.memo) == ("JOHNSON & SONS PLUMBING", "ONLINE TRANSFER")
    assert statement.institution == "Riverbend Credit Union"
    assert statement.cursor == "2024-03-31"


def test_file_with_a_checking_account_and_a_card_yields_both():
    statement = parse_ofx(read("two_accounts.ofx"))

    assert [(a.external_id, a.kind) for a in statement.accounts] == [
        ("071000013:5550001111", "checking"), ("5424000000004321", "credit_card")]
    by_account = {a.external_id: [t.amount for t in statement.transactions
                                  if t.account_external_id == a.external_id]
                  for a in statement.accounts}
    assert by_account == {
        "071000013:5550001111": [Decimal("1875.40"), Decimal("-88.19"), Decimal("-300.00")],
        "5424000000004321": [Decimal("-54.10"), Decimal("300.00")],
    }
    assert statement.cursor == "2024-06-03"


def test_quicken_qfx_with_intuit_tags_and_out_of_order_elements_is_read():
    statement = parse_ofx(read("quicken.qfx"))

    [account] = statement.accounts
    assert (account.external_id, account.kind) == ("122105155:889900112233", "savings")
    assert [t.external_id for t in statement.transactions] == ["MF240603A", "MF240611A",
                                                               "MF240630A"]
    assert amounts(statement) == [Decimal("1000.00"), Decimal("-60.00"), Decimal("-2.50")]
    assert statement.institution == "Mesa Federal"


@pytest.mark.parametrize("name", ["bank_sgml_cp1252.ofx", "creditcard_sgml.ofx",
                                  "bank_v2.ofx", "two_accounts.ofx"])
def test_strictly_valid_fixtures_read_the_same_as_with_ofxtools(name):
    """ofxtools, which follows the spec to the letter, is the reference for clean files."""
    tree = OFXTree()
    tree.parse(str(FIXTURES / name))
    reference = [(t.fitid, t.trnamt, t.name) for s in tree.convert().statements
                 for t in s.transactions]

    statement = parse_ofx(read(name))

    assert [(t.external_id, t.amount, t.description) for t in statement.transactions] == reference


# ----------------------------------------------------------------- what banks get wrong


def test_file_with_unclosed_aggregates_and_odd_values_is_still_read():
    statement = parse_ofx(read("broken_bank.ofx"))

    [account] = statement.accounts
    assert account.external_id == "026009593:000987654321"
    assert (account.currency, account.balance) == ("USD", Decimal("4321.09"))
    assert amounts(statement) == [Decimal("-1234.56"), Decimal("12.50"), Decimal("-12.50"),
                                  Decimal("-12.50"), Decimal("-3.00")]
    long_name, att, coffee1, coffee2, wire = statement.transactions
    assert long_name.description == (
        "AMERICAN EXPRESS ACH PMT M1234 WEB ID: 2005032111 LONG DESCRIPTION")
    assert long_name.posted_on == date(2024, 1, 3)
    assert (att.description, att.memo) == ("AT&T REFUND", "courtesy credit")
    assert coffee1.external_id != coffee2.external_id
    assert (wire.description, wire.memo) == ("WIRE FEE", "WIRE FEE")
    assert statement.cursor == "2024-01-15"


def test_transactions_without_fitid_get_ids_that_are_stable_across_imports():
    first, second = parse_ofx(read("broken_bank.ofx")), parse_ofx(read("broken_bank.ofx"))

    ids = [t.external_id for t in first.transactions if t.description == "COFFEE CART"]
    assert ids == [t.external_id for t in second.transactions if t.description == "COFFEE CART"]
    assert len(set(ids)) == 2


@pytest.mark.parametrize(("raw", "expected"), [
    ("+12.50", "12.50"), ("-12,50", "-12.50"), ("1,234.56", "1234.56"),
    ("-1.234,56", "-1234.56"), ("  -3.00  ", "-3.00"), ("12", "12"), (".5", "0.5"),
    ("1,234,567", "1234567"),
])
def test_amounts_are_read_in_the_forms_banks_write_them(raw, expected):
    statement = parse_ofx(bank_file(trn(amount=raw)))

    assert amounts(statement) == [Decimal(expected)]


def test_evening_transaction_keeps_the_date_the_bank_gave_it():
    statement = parse_ofx(bank_file(trn(posted="20240115233000.000[-5:EST]")))

    assert statement.transactions[0].posted_on == date(2024, 1, 15)


def test_header_claiming_utf8_over_cp1252_bytes_is_decoded_as_cp1252():
    header = HEADER.replace("ENCODING:USASCII", "ENCODING:UTF-8").replace("CHARSET:1252",
                                                                         "CHARSET:NONE")
    statement = parse_ofx(bank_file(trn(name="CRÈME BRÛLÉE"), header=header))

    assert statement.transactions[0].description == "CRÈME BRÛLÉE"


def test_file_without_an_ofx_header_is_read_when_it_starts_with_ofx():
    statement = parse_ofx(bank_file(trn(), header="\r\n"))

    assert len(statement.transactions) == 1


def test_xml_with_a_raw_ampersand_is_read_by_the_tolerant_parser():
    data = read("bank_v2.ofx").replace(b"JOHNSON &amp; SONS", b"JOHNSON & SONS")

    statement = parse_ofx(data)

    assert statement.transactions[1].description == "JOHNSON & SONS PLUMBING"


def test_xml_declaring_an_unknown_encoding_is_read_by_the_tolerant_parser():
    # found by the damaged-copies property test: "UTF-8" cut to "TF-8"
    good = parse_ofx(read("bank_v2.ofx"))
    data = read("bank_v2.ofx").replace(b'encoding="UTF-8"', b'encoding="TF-8"')

    statement = parse_ofx(data)

    assert [t.amount for t in statement.transactions] == [t.amount for t in good.transactions]


def test_repeated_transaction_is_kept_once_and_a_reused_fitid_is_renamed():
    data = bank_file(trn(fitid="A", name="ONE") + trn(fitid="A", name="ONE")
                     + trn(fitid="A", name="OTHER"))

    statement = parse_ofx(data)

    assert [(t.external_id, t.description) for t in statement.transactions] == [
        ("A", "ONE"), ("A~2024-01-10", "OTHER")]


def test_empty_name_falls_back_to_the_check_number():
    data = bank_file("<STMTTRN><TRNTYPE>CHECK<DTPOSTED>20240110<TRNAMT>-50.00<FITID>C1"
                     "<CHECKNUM>1043<NAME></NAME></STMTTRN>")

    assert parse_ofx(data).transactions[0].description == "Check 1043"


# ----------------------------------------------------------------- refusals


@pytest.mark.parametrize(("name", "needles"), [
    ("empty.ofx", ["empty"]),
    ("not_ofx.ofx", ["not an OFX", "OFXHEADER"]),
    ("truncated.ofx", ["truncated", "</OFX>"]),
    ("entity_bomb.ofx", ["DTD"]),
    ("external_entity.ofx", ["DTD"]),
    ("signon_refused.ofx", ["15500", "Invalid user ID or password"]),
])
def test_unreadable_files_are_refused_with_a_message_saying_why(name, needles):
    with pytest.raises(ImportFormatError) as caught:
        parse_ofx(read(name))

    for needle in needles:
        assert needle in str(caught.value)


def test_amount_that_is_not_a_number_is_refused_naming_the_line_and_tag():
    with pytest.raises(ImportFormatError) as caught:
        parse_ofx(read("bad_amount.ofx"))

    line = line_of("bad_amount.ofx", "<TRNAMT>12,3x")
    assert str(caught.value) == f"line {line}: <TRNAMT> '12,3x' is not an amount"
    assert caught.value.line == line


@pytest.mark.parametrize(
    ("account_markup", "kind"),
    [
        ("", "checking"),  # no <BANKACCTFROM> at all
        ("<BANKACCTFROM><BANKID>111<ACCTID><ACCTTYPE>SAVINGS</BANKACCTFROM>", "savings"),
    ],
)
def test_a_statement_that_names_no_account_is_read_only_into_a_chosen_account(
    account_markup, kind
):
    data = bank_file(trn(fitid="A") + trn(fitid="B")).replace(
        b"<BANKACCTFROM><BANKID>111<ACCTID>222333<ACCTTYPE>CHECKING</BANKACCTFROM>",
        account_markup.encode())

    with pytest.raises(ImportFormatError) as caught:
        parse_ofx(data)
    statement = parse_ofx(data, unnamed_accounts=True)

    assert "names no account" in str(caught.value)
    assert "choose the account to import it into" in str(caught.value)
    [account] = statement.accounts
    assert (account.external_id, account.name, account.kind) == ("ofx-1", "Imported OFX", kind)
    assert [t.account_external_id for t in statement.transactions] == ["ofx-1", "ofx-1"]


def test_transaction_without_dtposted_is_refused_naming_its_line():
    with pytest.raises(ImportFormatError) as caught:
        parse_ofx(read("missing_dtposted.ofx"))

    assert "<STMTTRN> has no <DTPOSTED>" in str(caught.value)
    assert caught.value.line == line_of("missing_dtposted.ofx", "<TRNTYPE>DIRECTDEBIT") - 1


def test_truncated_file_names_the_last_line_read():
    with pytest.raises(ImportFormatError) as caught:
        parse_ofx(read("truncated.ofx"))

    assert caught.value.line == len(read("truncated.ofx").splitlines())


def test_date_that_is_not_a_date_is_refused():
    with pytest.raises(ImportFormatError, match=r"<DTPOSTED> '2024-13-45' is not a date"):
        parse_ofx(bank_file(trn(posted="2024-13-45")))


def test_statement_answered_with_an_error_status_is_refused_with_that_status():
    data = (HEADER + "<OFX><SIGNONMSGSRSV1><SONRS><STATUS><CODE>0<SEVERITY>INFO</STATUS>"
            "</SONRS></SIGNONMSGSRSV1><BANKMSGSRSV1><STMTTRNRS><TRNUID>1<STATUS><CODE>2003"
            "<SEVERITY>ERROR</STATUS></STMTTRNRS></BANKMSGSRSV1></OFX>").encode()

    with pytest.raises(ImportFormatError, match=r"status 2003 \(account not found\)"):
        parse_ofx(data)


def test_signon_status_is_exposed_for_the_provider():
    assert ofx_signon_status(read("signon_refused.ofx")) == (15500, "Invalid user ID or password")
    assert ofx_signon_status(read("bank_v2.ofx")) == (0, "")


def test_non_bytes_input_is_a_programming_error():
    with pytest.raises(TypeError):
        parse_ofx("<OFX>")


# ----------------------------------------------------------------- robustness


TAGS = ["<OFX>", "</OFX>", "<SONRS>", "<STATUS>", "<CODE>", "</STATUS>", "<STMTRS>",
        "</STMTRS>", "<CCSTMTRS>", "<BANKACCTFROM>", "<CCACCTFROM>", "<ACCTID>", "<BANKID>",
        "<BANKTRANLIST>", "</BANKTRANLIST>", "<STMTTRN>", "</STMTTRN>", "<DTPOSTED>",
        "<TRNAMT>", "<FITID>", "<NAME>", "</NAME>", "<MEMO>", "<LEDGERBAL>", "<BALAMT>",
        "<DTEND>", "<!DOCTYPE x>", "<!-- c -->", "&amp;", "&#0;", "&#x110000;", "<", ">"]
tag_soup = st.lists(st.one_of(st.sampled_from(TAGS), st.text(max_size=12)), max_size=60).map(
    lambda parts: ("OFXHEADER:100\r\n\r\n" + "".join(parts)).encode("utf-8", "surrogatepass"))


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.one_of(st.binary(max_size=400), tag_soup))
def test_arbitrary_input_either_parses_or_raises_import_format_error(data):
    with contextlib.suppress(ImportFormatError):
        parse_ofx(data)


@settings(max_examples=300)
@given(name=st.sampled_from(["bank_sgml_cp1252.ofx", "bank_v2.ofx", "two_accounts.ofx",
                             "broken_bank.ofx"]),
       cut=st.integers(min_value=0, max_value=4000), length=st.integers(0, 40))
def test_damaged_copies_of_real_files_never_fail_with_anything_else(name, cut, length):
    original = read(name)
    damaged = original[:cut] + original[cut + length:]
    with contextlib.suppress(ImportFormatError):
        parse_ofx(damaged)


def test_account_discovery_skips_accounts_without_statement_download():
    def acctinfo(desc, acctid, status="ACTIVE", suptxdl="Y"):
        return (f"<ACCTINFO><DESC>{desc}<BANKACCTINFO><BANKACCTFROM><BANKID>111"
                f"<ACCTID>{acctid}<ACCTTYPE>SAVINGS</BANKACCTFROM><SUPTXDL>{suptxdl}"
                f"<XFERSRC>N<XFERDEST>N<SVCSTATUS>{status}</BANKACCTINFO></ACCTINFO>")

    data = (HEADER + "<OFX><SIGNONMSGSRSV1><SONRS><STATUS><CODE>0<SEVERITY>INFO</STATUS>"
            "</SONRS></SIGNONMSGSRSV1><SIGNUPMSGSRSV1><ACCTINFOTRNRS><TRNUID>1<STATUS>"
            "<CODE>0<SEVERITY>INFO</STATUS><ACCTINFORS><DTACCTUP>20240101"
            + acctinfo("Rainy Day", "9001") + acctinfo("Closed", "9002", status="PEND")
            + acctinfo("No download", "9003", suptxdl="N")
            + "<ACCTINFO><DESC>Visa<CCACCTINFO><CCACCTFROM><ACCTID>4111</CCACCTFROM>"
            "<SUPTXDL>Y<XFERSRC>N<XFERDEST>N<SVCSTATUS>ACTIVE</CCACCTINFO></ACCTINFO>"
            "</ACCTINFORS></ACCTINFOTRNRS></SIGNUPMSGSRSV1></OFX>").encode()

    infos = ofx_account_infos(data)

    assert [(i.external_id, i.kind, i.accttype, i.description) for i in infos] == [
        ("111:9001", "savings", "SAVINGS", "Rainy Day"), ("4111", "credit_card", "", "Visa")]


def test_header_written_on_one_line_is_read():
    header = HEADER.replace("\r\n", " ", 8)

    statement = parse_ofx(bank_file(trn(name="CAFÉ"), header=header))

    assert statement.transactions[0].description == "CAFÉ"


def test_a_utf8_body_under_a_cp1252_header_is_read_as_utf8():
    """Banks declare CHARSET:1252 and send UTF-8 (seen in Banco do Brasil exports):
    strict UTF-8 is tried first, since accented cp1252 text is almost never valid UTF-8."""
    data = bank_file(trn(name="DOC CRÉDITO"))
    utf8 = data.decode("cp1252").encode("utf-8")

    statement = parse_ofx(utf8)

    assert statement.transactions[0].description == "DOC CRÉDITO"

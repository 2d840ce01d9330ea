"""File importers: concrete files in the shapes banks, Quicken and Mint write them.

Pure parsers: no database. Fixtures live in tests/fixtures/imports/ and are modelled on
public export formats with made-up rows.
"""

from __future__ import annotations

import csv
import re
import sys
import types
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from accounts.providers.base import Statement
from transactions.importers import FORMATS, ImportFormatError, detect_format, parse_file
from transactions.importers._fields import FieldError, parse_amount, parse_date
from transactions.importers._text import decode_text, head_text

FIXTURES = Path(__file__).parent / "fixtures" / "imports"
SPARKASSE = {"date": "Buchungstag", "amount": "Betrag (EUR)",
             "description": "Auftraggeber/Empfänger", "memo": "Verwendungszweck",
             "day_first": True}


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def parse_fixture(name: str, **options) -> Statement:
    return parse_file(fixture(name), filename=name, options=options or None)


def amounts(statement: Statement) -> list[Decimal]:
    return [t.amount for t in statement.transactions]


def csv_bytes(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode()


# ---------------------------------------------------------------------------- detection


@pytest.mark.parametrize(
    ("data", "filename", "expected"),
    [
        (b"OFXHEADER:100\nDATA:OFXSGML\n<OFX><SIGNONMSGSRSV1>", "", "ofx"),
        (b'<?xml version="1.0"?>\n<?OFX OFXHEADER="200" VERSION="220"?>\n<OFX>', "", "ofx"),
        (b"anything", "Statement.QFX", "ofx"),
        (b"\xef\xbb\xbf!Type:Bank\nD1/15'24\n", "export.txt", "qif"),
        (b"!Option:AutoSwitch\n!Account\n", "", "qif"),
        (b"", "money.qif", "qif"),
        (b"Date,Description,Amount\n2024-01-15,X,1\n", "", "csv"),
        (b"Buchungstag;Betrag\n", "", "csv"),
    ],
)
def test_format_is_detected_from_content_then_file_name(data, filename, expected):
    assert detect_format(data, filename=filename) == expected


def test_mint_export_is_recognised_even_when_renamed():
    assert detect_format(fixture("mint_export.csv"), filename="transactions.csv") == "mint"
    assert detect_format(fixture("mint_export.csv"), filename="whatever.txt") == "mint"


def test_every_fixture_is_detected_as_its_format():
    expected = {".qif": "qif", ".csv": "csv"}
    for path in FIXTURES.iterdir():
        want = "mint" if path.name.startswith("mint") else expected[path.suffix]
        assert detect_format(path.read_bytes(), filename=path.name) == want, path.name


def test_unknown_content_is_refused_with_the_supported_formats_listed():
    with pytest.raises(ImportFormatError) as caught:
        detect_format(b"hello world", filename="notes")
    message = str(caught.value)
    assert "OFX" in message and "QIF" in message and "Mint" in message
    assert all(fmt in message for fmt in FORMATS)


def test_a_binary_file_is_refused_as_not_text_instead_of_read_as_a_csv():
    import random

    rng = random.Random(7)
    noise = bytes(rng.randrange(256) for _ in range(3000)) + b",a,b\n"
    with pytest.raises(ImportFormatError) as caught:
        detect_format(noise, filename="statement.csv")
    assert str(caught.value).startswith("this is not a text file")
    # a text export with a stray form feed or NBSP, vertical tabs in cells (FileMaker's
    # line breaks) or a DOS end-of-file mark is still text
    assert detect_format(b"Date,Amount,Description\n\x0c2024-01-02,-3.00,CAFE\xa0X\n") == "csv"
    cells = b"".join(b"2024-01-02,-3.00,LINE\x0bBREAK\n" for _ in range(30))
    assert detect_format(b"Date,Amount,Description\n" + cells + b"\x1a") == "csv"


def test_a_pdf_statement_is_refused_with_a_helpful_message():
    with pytest.raises(ImportFormatError, match="PDF"):
        detect_format(b"%PDF-1.7\n...", filename="statement.csv")


def test_unknown_format_name_is_refused():
    with pytest.raises(ImportFormatError, match="unknown format 'xls'"):
        parse_file(b"Date,Amount\n", format="xls")


def test_a_mistyped_option_is_refused_not_ignored():
    with pytest.raises(ImportFormatError, match="delimeter"):
        parse_fixture("chase_checking.csv", delimeter=";")


def test_ofx_is_handed_to_the_ofx_parser_without_options(monkeypatch):
    seen = []
    fake = types.ModuleType("transactions.importers.ofx")
    fake.parse_ofx = lambda data, **kw: seen.append((data, kw)) or Statement(institution="fake")
    monkeypatch.setitem(sys.modules, "transactions.importers.ofx", fake)

    statement = parse_file(b"OFXHEADER:100\n<OFX>", options={"amount": "Amount"})
    parse_file(b"OFXHEADER:100\n<OFX>", into_account=True)

    assert statement.institution == "fake"
    assert seen == [(b"OFXHEADER:100\n<OFX>", {"unnamed_accounts": False}),
                    (b"OFXHEADER:100\n<OFX>", {"unnamed_accounts": True})]


@pytest.mark.parametrize(("name", "options"), [
    ("bank_v2.ofx", {"day_first": True}),
    ("bank_v2.ofx", {"date_format": "%d/%m/%Y"}),
    ("bank_v2.ofx", {"decimal": ","}),
])
def test_an_option_that_changes_how_values_read_is_refused_where_it_does_not_apply(
        name, options):
    with pytest.raises(ImportFormatError, match=r"does not apply to an OFX/QFX file"):
        parse_file((FIXTURES.parent / "ofx" / name).read_bytes(), options=options)
    with pytest.raises(ImportFormatError, match=r"does not apply to Mint's CSV export, which "
                                                 r"writes its signs its own way"):
        parse_file(fixture("mint_export.csv"), options={"negate": True})


def test_negate_flips_an_ofx_card_file_that_writes_purchases_as_positive():
    data = (FIXTURES.parent / "ofx" / "bank_v2.ofx").read_bytes()
    plain = parse_file(data).transactions
    flipped = parse_file(data, options={"negate": True}).transactions
    assert [t.amount for t in flipped] == [-t.amount for t in plain]
    assert parse_file(data, options={"negate": "false"}).transactions == plain


# ----------------------------------------------------------------------------- decoding


def test_text_is_decoded_as_utf8_then_cp1252_with_line_ends_normalised():
    assert decode_text(b"\xef\xbb\xbfCaf\xc3\xa9\r\nx\ry\n") == "Café\nx\ny\n"
    assert decode_text("Café €5\r\n".encode("cp1252")) == "Café €5\n"
    assert decode_text(b"undefined in cp1252: \x81") == "undefined in cp1252: \x81"
    assert decode_text("Date,Amount\r\n".encode("utf-16")) == "Date,Amount\n"


def test_detection_survives_a_multibyte_character_cut_at_the_sniffing_limit():
    data = b"Date,Description\n" + "é".encode() * 5000
    assert "é" in head_text(data)


# ---------------------------------------------------------------------------------- CSV


def test_chase_checking_export_is_read_without_a_mapping():
    statement = parse_fixture("chase_checking.csv")

    assert [a.external_id for a in statement.accounts] == ["csv"]
    assert statement.accounts[0].name == "Imported CSV"
    assert amounts(statement) == [Decimal("2000.00"), Decimal("-4.75"), Decimal("-4.75"),
                                  Decimal("-120.00"), Decimal("-23.99")]
    assert all(isinstance(a, Decimal) for a in amounts(statement))
    assert statement.transactions[1].posted_on == date(2024, 1, 16)
    assert statement.transactions[1].description == "STARBUCKS STORE 12345 SEATTLE WA"
    assert statement.cursor == "2024-01-18"


def test_the_running_balance_of_the_newest_row_is_the_accounts_balance():
    oldest_first = parse_fixture("chase_checking.csv")
    text = fixture("chase_checking.csv").decode().splitlines()
    newest_first = parse_file("\n".join([text[0], *reversed(text[1:])]).encode())
    one_day = parse_file(b"Date,Description,Amount,Balance\n2024-01-16,A,-1.00,9.00\n"
                         b"2024-01-16,B,-1.00,8.00\n")

    for statement in (oldest_first, newest_first):
        [account] = statement.accounts
        assert (account.balance, account.balance_as_of) == (Decimal("2846.51"), date(2024, 1, 18))
    assert one_day.accounts[0].balance is None  # which row came last cannot be told


def test_account_name_option_names_the_single_csv_account():
    statement = parse_fixture("chase_checking.csv", account_name="Chase Total Checking")
    assert statement.accounts[0].name == "Chase Total Checking"


def test_files_imported_under_other_account_names_go_to_other_accounts():
    # the same $45 Zelle in two banks' exports is two transactions, not one
    row = b"Date,Description,Amount\n01/05/2024,ZELLE TO JOHN,-45.00\n"
    chase = parse_file(row, options={"account_name": "Chase Checking"})
    bofa = parse_file(row, options={"account_name": "BofA Checking"})
    again = parse_file(row, options={"account_name": "Chase Checking"})
    qif_chase = parse_file(b"!Type:Bank\nD01/05/2024\nT-45.00\nPZELLE\n^\n",
                           options={"account_name": "Chase Checking"})

    typed_again = parse_file(row, options={"account_name": " chase  CHECKING "})

    assert chase.accounts[0].external_id != bofa.accounts[0].external_id
    assert chase.transactions[0].external_id != bofa.transactions[0].external_id
    assert again.transactions == chase.transactions  # a re-import adds nothing
    # the name typed again in other capitals or spacing is the same account
    assert typed_again.transactions == chase.transactions
    assert qif_chase.accounts[0].external_id == chase.accounts[0].external_id


STARLING = (b"Date,Counter Party,Reference,Type,Amount (GBP)\n"
            b"01/01/2024,Tesco,TESCO STORES 1234,CONTACTLESS,-12.50\n"
            b"03/01/2024,Tesco,TESCO STORES 1234,CONTACTLESS,-8.20\n"
            b"05/01/2024,John Smith,RENT,FASTER PAYMENT,-800.00\n")
STARLING_OPTIONS = {"amount": "Amount (GBP)", "description": "Counter Party", "day_first": True}


def test_a_reference_column_that_repeats_is_not_read_as_ids():
    statement = parse_file(STARLING, options=STARLING_OPTIONS)

    ids = [t.external_id for t in statement.transactions]
    assert len(set(ids)) == 3 and "TESCO STORES 1234" not in ids
    # the same file again gives the same ids: a re-import adds nothing
    assert [t.external_id for t in parse_file(STARLING, options=STARLING_OPTIONS).transactions] == ids
    # nor one whose values are unique in this file but are references, not ids: next
    # month's file says RENT again, and would replace this month's rent
    january = b"Date,Description,Amount,Reference\n03/01/2024,LANDLORD LTD,-800.00,RENT\n"
    february = b"Date,Description,Amount,Reference\n01/02/2024,LANDLORD LTD,-800.00,RENT\n"
    assert {parse_file(f, options={"day_first": True}).transactions[0].external_id
            for f in (january, february)} != {"RENT"}
    # a reference column of one id per row (Amex's) is the id
    amex = (b"Date,Description,Amount,Reference\n01/15/2024,DELTA,412.60,'320240150000001'\n"
            b"01/16/2024,FEE,1.00,'320240160000002'\n")
    assert [t.external_id for t in parse_file(amex).transactions] == [
        "320240150000001", "320240160000002"]


def test_a_reference_that_recurs_every_month_is_one_transaction_a_month():
    # a standing order's reference, the same in every monthly file
    january = b"Date,Description,Amount,Reference\n03/01/2024,MORTGAGE,-900.00,MTG12345678\n"
    february = january.replace(b"03/01/2024", b"03/02/2024")
    ids = {parse_file(f, options={"day_first": True}).transactions[0].external_id
           for f in (january, february)}
    assert ids == {"MTG12345678~2024-01-03", "MTG12345678~2024-02-03"}
    # two equal payments under one reference on one day are two
    twice = january + b"03/01/2024,MORTGAGE,-900.00,MTG12345678\n"
    assert len({t.external_id for t in parse_file(twice, options={"day_first": True})
                .transactions}) == 2


def test_an_id_column_that_repeats_an_id_keeps_every_transaction_and_each_id_it_can():
    a = b"Date,Description,Amount,Transaction ID\n2024-01-01,SHELL,-40.00,T1\n2024-01-02,TESCO,-9.00,T2\n"
    # b: a's rows again, then two transactions the bank gave one id, and a row pasted twice
    b = a + (b"2024-01-03,ALDI,-5.00,T3\n2024-01-04,LIDL,-6.00,T3\n"
             b"2024-01-02,TESCO,-9.00,T2\n")

    ids = [(t.description, t.external_id) for t in parse_file(b).transactions]

    assert ids == [("SHELL", "T1"), ("TESCO", "T2"), ("ALDI", "T3"), ("LIDL", "T3~2024-01-04")]
    assert [t.external_id for t in parse_file(a).transactions] == ["T1", "T2"]  # as in b


def test_an_id_column_named_by_the_user_that_repeats_is_refused_with_both_lines():
    with pytest.raises(ImportFormatError,
                       match=r"^line 3: the id column 'Reference' holds 'TESCO STORES 1234' on "
                             r"lines 2 and 3"):
        parse_file(STARLING, options={**STARLING_OPTIONS, "id": "Reference"})


def test_revolut_reads_the_completed_date_and_a_pending_row_its_started_date():
    data = (b"Type,Product,Started Date,Completed Date,Description,Amount,Fee,Currency,"
            b"State,Balance\n"
            b"CARD_PAYMENT,Current,2024-01-14 10:01:02,2024-01-15 09:00:00,Pret A Manger,"
            b"-4.50,0.00,GBP,COMPLETED,95.50\n"
            b"CARD_PAYMENT,Current,2024-01-16 18:30:00,,Tesco,-12.00,0.00,GBP,PENDING,\n")

    statement = parse_file(data)

    assert [(t.posted_on, t.amount, t.currency, t.pending) for t in statement.transactions] == [
        (date(2024, 1, 15), Decimal("-4.50"), "GBP", False),
        (date(2024, 1, 16), Decimal("-12.00"), "GBP", True)]  # no posting date: pending


def test_wells_fargo_csv_has_no_header_and_is_read_by_its_shape():
    data = (b'"01/15/2024","-4.75","*","","PURCHASE AUTHORIZED ON 01/14 STARBUCKS STORE 123"\r\n'
            b'"01/16/2024","2000.00","*","","ACME CORP PAYROLL"\r\n'
            b'"01/17/2024","-120.00","*","1042","CHECK # 1042"\r\n')

    statement = parse_file(data, filename="Checking1.csv")

    assert [(t.posted_on, t.amount, t.description[:20]) for t in statement.transactions] == [
        (date(2024, 1, 15), Decimal("-4.75"), "PURCHASE AUTHORIZED "),
        (date(2024, 1, 16), Decimal("2000.00"), "ACME CORP PAYROLL"),
        (date(2024, 1, 17), Decimal("-120.00"), "CHECK # 1042")]
    # a file of another shape without a header still says which headers it found
    with pytest.raises(ImportFormatError, match=r"headers found: '01/15/2024', '-4.75'"):
        parse_file(b"01/15/2024,-4.75,STARBUCKS\n", format="csv")


def test_apple_card_reads_its_clearing_date():
    data = (b"Transaction Date,Clearing Date,Description,Merchant,Category,Type,Amount (USD),"
            b"Purchased By\n"
            b"01/14/2024,01/15/2024,UBER *TRIP,Uber,Transportation,Purchase,12.30,Jane\n")
    [row] = parse_file(data, options={"negate": True}).transactions
    assert (row.posted_on, row.amount) == (date(2024, 1, 15), Decimal("-12.30"))


def test_dates_that_could_be_read_day_first_too_are_read_month_first_and_said_so():
    from transactions.importers.csv_import import DAY_FIRST_NOTE

    monzo = b"Date,Description,Amount\n05/01/2024,TESCO,-4.00\n06/01/2024,PRET,-3.00\n"

    read = parse_file(monzo)

    assert [t.posted_on for t in read.transactions] == [date(2024, 5, 1), date(2024, 6, 1)]
    assert read.notes == [DAY_FIRST_NOTE]
    assert parse_file(monzo, options={"day_first": True}).notes == []
    for clear in (b"Date,Description,Amount\n01/15/2024,A,-1.00\n05/01/2024,B,-1.00\n",
                  b"Date,Description,Amount\n2024-05-01,A,-1.00\n",
                  b"Date,Description,Amount\n05/05/2024,A,-1.00\n"):
        assert parse_file(clear).notes == []


def test_a_dos_end_of_file_mark_ends_the_file():
    data = fixture("chase_checking.csv") + b"\x1a"
    assert parse_file(data).transactions == parse_fixture("chase_checking.csv").transactions
    assert len(parse_file(b"!Type:Bank\nD01/05/2024\nT-45.00\nPZELLE\n^\n\x1a").transactions) == 1


def test_an_amount_that_rounds_past_the_largest_one_stored_is_refused():
    with pytest.raises(ImportFormatError, match=r"^line 2: amount '999999999999.999' is too large"):
        parse_file(b"Date,Description,Amount\n2024-01-05,X,999999999999.999\n")


def test_chase_card_export_uses_the_posting_date_and_keeps_category_and_memo():
    statement = parse_fixture("chase_card.csv")

    first, second = statement.transactions[:2]
    assert first.posted_on == date(2024, 1, 15)  # Post Date, not Transaction Date
    assert first.source_category == "Food & Drink"
    assert second.memo == "fill-up"
    assert amounts(statement) == [Decimal("-6.50"), Decimal("-41.20"), Decimal("250.00"),
                                  Decimal("18.99")]


def test_capital_one_debit_and_credit_columns_become_signed_amounts():
    statement = parse_fixture("capital_one.csv")
    assert amounts(statement) == [Decimal("-54.12"), Decimal("300.00"), Decimal("-15.49")]
    assert statement.transactions[0].posted_on == date(2024, 1, 15)


def test_a_currency_column_gives_each_row_its_currency():
    data = csv_bytes("Date,Description,Amount,Currency", "2024-01-02,CAFE,-3.00,eur",
                     "2024-01-03,SHOP,-5.00,", "2024-01-04,STORE,-7.00,USD")
    assert [t.currency for t in parse_file(data, format="csv").transactions] == [
        "EUR", "", "USD"]  # empty: the account's currency

    all_eur = csv_bytes("Date,Description,Amount,Currency", "2024-01-02,CAFE,-3.00,EUR",
                        "2024-01-03,SHOP,-5.00,eur")
    assert [a.currency for a in parse_file(all_eur, format="csv").accounts] == ["EUR"]
    # a column found by its header holding symbols is not read; one the user named is
    symbols = csv_bytes("Date,Description,Amount,Currency", "2024-01-02,CAFE,-3.00,€")
    assert [t.currency for t in parse_file(symbols, format="csv").transactions] == [""]
    bad = csv_bytes("Date,Description,Amount,Cur", "2024-01-02,CAFE,-3.00,euro")
    with pytest.raises(ImportFormatError) as caught:
        parse_file(bad, format="csv", options={"currency": "Cur"})
    assert "line 2" in str(caught.value) and "three-letter currency code" in str(caught.value)


def test_debit_written_negative_is_still_money_out():
    data = csv_bytes("Date,Description,Debit,Credit", "2024-01-02,FEE,-3.00,")
    assert amounts(parse_file(data, format="csv")) == [Decimal("-3.00")]


def test_amex_purchases_written_positive_are_negated_on_request():
    statement = parse_fixture("amex.csv", negate=True)
    assert amounts(statement) == [Decimal("-412.60"), Decimal("500.00"), Decimal("-1023.45")]


def test_bank_of_america_summary_block_is_skipped_and_its_header_found():
    statement = parse_fixture("bofa_checking.csv")

    assert amounts(statement) == [Decimal("2000.00"), Decimal("-4.75"), Decimal("-120.00")]
    assert statement.transactions[0].posted_on == date(2024, 1, 15)


def test_skip_rows_points_at_the_header_explicitly():
    statement = parse_fixture("bofa_checking.csv", skip_rows=6)
    assert len(statement.transactions) == 3


def test_amount_spellings_of_a_credit_union_export():
    statement = parse_fixture("credit_union.csv")

    assert amounts(statement) == [Decimal("-12.50"), Decimal("1234.56"), Decimal("-40.00"),
                                  Decimal("-3.00"), Decimal("0.42")]
    assert statement.transactions[0].memo == "breakfast, with a comma"


def test_latin1_semicolon_file_with_decimal_commas_and_day_first_dates():
    statement = parse_fixture("sparkasse_latin1.csv", **SPARKASSE)

    assert amounts(statement) == [Decimal("-4.50"), Decimal("1234.56"), Decimal("-3.20"),
                                  Decimal("-1050.00")]
    assert statement.transactions[0].description == "Café Müller"
    assert statement.transactions[2].memo == "Brötchen für 2 €"
    assert statement.transactions[0].posted_on == date(2024, 1, 15)


def test_column_names_match_headers_case_insensitively():
    options = {key: value.upper() if isinstance(value, str) else value
               for key, value in SPARKASSE.items()}
    assert len(parse_fixture("sparkasse_latin1.csv", **options).transactions) == 4


def test_explicit_decimal_and_delimiter_options():
    data = csv_bytes("Datum|Text|Betrag", "02.01.2024|Kaffee|-2,80")
    statement = parse_file(data, format="csv", options={
        "date": "Datum", "description": "Text", "amount": "Betrag", "delimiter": "|",
        "decimal": ",", "date_format": "%d.%m.%Y"})
    assert amounts(statement) == [Decimal("-2.80")]


def test_tab_separated_file_is_sniffed():
    data = csv_bytes("Date\tDescription\tAmount", "2024-01-02\tBOOKSHOP\t-12.00")
    assert amounts(parse_file(data, format="csv")) == [Decimal("-12.00")]


def test_utf8_bom_and_crlf_do_not_disturb_the_header():
    statement = parse_fixture("excel_bom_crlf.csv")
    assert statement.transactions[0].description == "Crème Brûlée Café"
    assert amounts(statement) == [Decimal("-7.25"), Decimal("1500.00")]


def test_bad_amount_is_reported_with_its_physical_line_after_crlf_and_bom():
    data = fixture("excel_bom_crlf.csv") + b"2024-02-03,BAD ROW,not-a-number\r\n"
    with pytest.raises(ImportFormatError) as caught:
        parse_file(data, filename="excel.csv")
    assert caught.value.line == 4
    assert str(caught.value).startswith("line 4: expected an amount like 1,234.56")
    assert "'not-a-number'" in str(caught.value) and "'Amount'" in str(caught.value)


def test_line_numbers_count_physical_lines_of_multiline_records():
    data = fixture("credit_union.csv") + b"01/10/2024,Broken,abc,\n"
    with pytest.raises(ImportFormatError, match=r"^line 8: "):
        parse_file(data, filename="cu.csv")


def test_bad_date_says_which_format_was_expected():
    # (a file whose dates all read day first, and some only so, is read day first: this
    # one's first date reads only month first)
    data = csv_bytes("Date,Description,Amount", "01/15/2024,OK,1.00", "13/01/2024,X,1.00")
    # in the words of the import form ("Dates are written: Day first") and of the API
    with pytest.raises(ImportFormatError, match=r"^line 3: .*Dates are written: Day first.*day_first"):
        parse_file(data, format="csv")


def test_day_first_reads_ambiguous_dates_the_european_way():
    data = csv_bytes("Date,Description,Amount", "02/01/2024,X,1.00")
    assert parse_file(data, format="csv").transactions[0].posted_on == date(2024, 2, 1)
    assert parse_file(data, format="csv", options={"day_first": True}).transactions[
        0].posted_on == date(2024, 1, 2)


def test_date_format_option_is_applied_strictly():
    data = csv_bytes("Date,Description,Amount", "Jan-02-2024,X,1.00")
    statement = parse_file(data, format="csv", options={"date_format": "%b-%d-%Y"})
    assert statement.transactions[0].posted_on == date(2024, 1, 2)
    with pytest.raises(ImportFormatError, match="'%d/%m/%Y'"):
        parse_file(data, format="csv", options={"date_format": "%d/%m/%Y"})


def test_decimal_comma_file_read_with_a_point_fails_loudly_instead_of_x100():
    with pytest.raises(ImportFormatError, match="decimal=','"):
        parse_fixture("sparkasse_latin1.csv", decimal=".", **SPARKASSE)


def test_missing_mapped_column_names_the_column_and_the_headers_found():
    with pytest.raises(ImportFormatError) as caught:
        parse_fixture("chase_checking.csv", amount="Betrag")
    message = str(caught.value)
    assert "'Betrag'" in message and "option 'amount'" in message
    assert "'Posting Date'" in message and "'Description'" in message
    assert caught.value.line == 1


def test_unrecognised_headers_say_which_option_to_pass():
    data = csv_bytes("Buchungstag;Text;Betrag", "15.01.2024;Kaffee;-2,50")
    with pytest.raises(ImportFormatError) as caught:
        parse_file(data, format="csv")
    message = str(caught.value)
    assert "date=" in message and "amount=" in message and "description=" in message
    assert "'Buchungstag'" in message


def test_short_row_is_an_error_when_a_required_cell_is_missing():
    data = csv_bytes("Date,Amount,Description", "2024-01-02")
    with pytest.raises(ImportFormatError, match=r"^line 2: expected an amount"):
        parse_file(data, format="csv")


def test_id_column_is_used_as_the_external_id():
    data = csv_bytes("Date,Description,Amount,Reference",
                     "01/15/2024,DELTA,-412.60,'320240150000001'", "01/16/2024,FEE,-1.00,")
    first, second = parse_file(data, format="csv").transactions
    assert first.external_id == "320240150000001"
    assert second.external_id.startswith("h:")


def test_account_column_splits_rows_into_accounts():
    data = csv_bytes("Date,Account,Description,Amount", "2024-01-02,Checking,A,-1.00",
                     "2024-01-02,Savings,B,5.00", "2024-01-03,Checking,C,-2.00")
    statement = parse_file(data, format="csv")
    assert [a.external_id for a in statement.accounts] == ["Checking", "Savings"]
    assert [t.account_external_id for t in statement.transactions] == [
        "Checking", "Savings", "Checking"]


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"decimal": ";"}, "decimal"),
        ({"skip_rows": -1}, "skip_rows"),
        ({"negate": "maybe"}, "negate"),
        ({"delimiter": "ab"}, "delimiter"),
        ({"amount": 3}, "amount"),
    ],
)
def test_invalid_option_values_are_refused(options, fragment):
    with pytest.raises(ImportFormatError, match=fragment):
        parse_fixture("chase_checking.csv", **options)


def test_options_must_be_a_mapping():
    with pytest.raises(ImportFormatError, match="options"):
        parse_file(fixture("chase_checking.csv"), format="csv", options=["date"])


# ---------------------------------------------------------------------------------- ids


def test_reparsing_a_file_gives_identical_ids():
    for name, options in [("chase_checking.csv", {}), ("sparkasse_latin1.csv", SPARKASSE),
                          ("mint_export.csv", {}), ("quicken_multi.qif", {})]:
        first = parse_fixture(name, **options)
        second = parse_fixture(name, **options)
        assert [t.external_id for t in first.transactions] == [
            t.external_id for t in second.transactions], name


def test_two_identical_coffees_on_one_day_stay_two_transactions():
    statement = parse_fixture("chase_checking.csv")
    coffees = [t for t in statement.transactions if "STARBUCKS" in t.description]
    assert len(coffees) == 2
    assert coffees[0].external_id != coffees[1].external_id


def test_an_overlapping_later_export_reuses_the_ids_of_the_shared_rows():
    lines = fixture("chase_checking.csv").decode().splitlines()
    later = "\n".join([lines[0], *lines[2:], "DEBIT,01/19/2024,NEW ROW,-1.00,DEBIT_CARD,0,,"])
    earlier_ids = {t.external_id for t in parse_fixture("chase_checking.csv").transactions}
    later_ids = {t.external_id for t in parse_file(later.encode(), format="csv").transactions}
    assert len(later_ids & earlier_ids) == 4  # all but the payroll row, which is not in it


def test_ids_ignore_case_and_spacing_of_the_description():
    a = parse_file(csv_bytes("Date,Description,Amount", "2024-01-02,Corner  Bakery,-1.5"),
                   format="csv")
    b = parse_file(csv_bytes("Date,Description,Amount", "2024-01-02,CORNER BAKERY,-1.50"),
                   format="csv")
    assert a.transactions[0].external_id == b.transactions[0].external_id


# ---------------------------------------------------------------------------- Mint CSV


def test_mint_export_keeps_categories_and_splits_accounts_by_name():
    statement = parse_fixture("mint_export.csv")

    assert [(a.external_id, a.name, a.kind) for a in statement.accounts] == [
        ("Everyday Checking", "Everyday Checking", "checking"),
        ("Rewards Visa Signature", "Rewards Visa Signature", "credit_card"),
        ("High Yield Savings", "High Yield Savings", "savings"),
    ]
    by_category = {t.source_category: t for t in statement.transactions}
    assert by_category["Coffee Shops"].amount == Decimal("-4.75")
    assert by_category["Paycheck"].amount == Decimal("2000.00")
    assert by_category["Groceries"].account_external_id == "Rewards Visa Signature"
    assert statement.cursor == "2024-01-22"


def test_mint_description_prefers_the_original_and_notes_become_the_memo():
    statement = parse_fixture("mint_export.csv")
    by_category = {t.source_category: t for t in statement.transactions}

    assert by_category["Coffee Shops"].description == "STARBUCKS STORE 12345 SEATTLE WA"
    assert by_category["Credit Card Payment"].description == "Payment"  # no original
    assert by_category["Paycheck"].memo == "January pay"
    assert by_category["Groceries"].memo == "split with roommate [labels: Reimbursable]"


def test_mint_description_is_kept_as_the_name_unless_it_is_the_banks_text_again():
    statement = parse_fixture("mint_export.csv")
    by_category = {t.source_category: t for t in statement.transactions}

    assert by_category["Paycheck"].source_name == "Acme Corp"
    assert by_category["Credit Card Payment"].source_name == ""  # no original: the same
    data = fixture("mint_export.csv").replace(b'"Shell","SHELL OIL 57444"',
                                              b'"shell oil  57444","SHELL OIL 57444"')
    shell = next(t for t in parse_file(data).transactions if t.source_category == "Gas & Fuel")
    assert shell.source_name == ""


def test_mint_duplicate_rows_are_kept_as_two():
    coffees = [t for t in parse_fixture("mint_export.csv").transactions
               if t.source_category == "Coffee Shops"]
    assert len({t.external_id for t in coffees}) == 2


def test_mint_row_with_an_unknown_transaction_type_is_refused_with_its_line():
    data = fixture("mint_export.csv").replace(b'"credit","Paycheck"', b'"refund","Paycheck"')
    with pytest.raises(ImportFormatError, match=r"^line 4: expected Transaction Type"):
        parse_file(data)


def test_mint_format_forced_on_another_csv_says_which_header_was_expected():
    with pytest.raises(ImportFormatError, match=r"^line 1: expected Mint's export header"):
        parse_file(fixture("chase_checking.csv"), format="mint")


def test_mint_dates_are_month_first():
    data = fixture("mint_export.csv").replace(b'"1/22/2024"', b'"22/1/2024"', 1)
    with pytest.raises(ImportFormatError, match=r"^line 2: expected a date like .*01/15/2024"):
        parse_file(data)


def test_a_mint_export_re_saved_by_a_spreadsheet_imports_as_mint_wrote_it():
    original = parse_file(fixture("mint_export.csv"))
    text = fixture("mint_export.csv").decode()
    header, *rows = text.splitlines()
    # Excel in a European locale: ";" between cells, two-digit years, empty trailing
    # cells dropped
    resaved = "\n".join(
        [header.replace('","', '";"'),
         *(re.sub(r"/20(\d\d)\b", r"/\1", ";".join(next(csv.reader([row]))).rstrip(";"))
           for row in rows)])
    again = parse_file(resaved.encode())
    day_first = re.sub(r"\b(\d{1,2})/(\d{1,2})/(\d\d)\b", r"\2/\1/\3", resaved)
    assert [(t.posted_on, t.amount, t.source_category) for t in again.transactions] == [
        (t.posted_on, t.amount, t.source_category) for t in original.transactions]
    assert [t.posted_on for t in parse_file(day_first.encode(),
                                            options={"day_first": True}).transactions] == [
        t.posted_on for t in original.transactions]
    # with decimal commas too (a European Excel writes 4,75)
    commas = re.sub(r";(\d+)\.(\d\d);", r";\1,\2;", resaved)
    assert ";4,75;" in commas
    assert [t.amount for t in parse_file(commas.encode()).transactions] == [
        t.amount for t in original.transactions]


# --------------------------------------------------------------------------------- QIF


def test_quicken_export_with_several_accounts():
    statement = parse_fixture("quicken_multi.qif")

    assert [(a.external_id, a.kind) for a in statement.accounts] == [
        ("Everyday Checking", "checking"), ("Rewards Visa", "credit_card")]
    accounts = [t.account_external_id for t in statement.transactions]
    assert accounts == ["Everyday Checking"] * 4 + ["Rewards Visa"] * 2
    assert amounts(statement) == [Decimal("2000.00"), Decimal("-4.75"), Decimal("-120.00"),
                                  Decimal("-500.00"), Decimal("-54.30"), Decimal("500.00")]
    assert statement.cursor == "2024-01-20"


def test_qif_category_leaf_is_kept_and_transfers_are_named_so():
    statement = parse_fixture("quicken_multi.qif")
    categories = [t.source_category for t in statement.transactions]
    assert categories == ["Paycheck", "Coffee Shops", "Water", "Transfer", "Groceries",
                          "Transfer"]


def test_qif_memo_and_check_number():
    water = parse_fixture("quicken_multi.qif").transactions[2]
    assert water.description == "CITY WATER DEPT"
    assert water.memo == "Check 1042"
    assert parse_fixture("quicken_multi.qif").transactions[1].memo == "Latte"


def test_qif_without_account_block_uses_one_default_account_and_quicken_dates():
    statement = parse_fixture("bank_simple.qif")

    assert [a.external_id for a in statement.accounts] == ["qif"]
    assert [t.posted_on for t in statement.transactions] == [
        date(2004, 1, 5), date(1999, 12, 31), date(2024, 3, 1), date(2024, 3, 2),
        date(2024, 3, 3)]
    assert statement.transactions[3].description == "Bank fee"  # memo stands in
    assert statement.transactions[4].description == "Check 1043"


def test_qif_card_section_types_the_default_account():
    data = b"!Type:CCard\nD1/2/2024\nT-3.00\nPKIOSK\n^\n"
    statement = parse_file(data, options={"account_name": "My Card"})
    assert statement.accounts[0].kind == "credit_card"
    assert statement.accounts[0].name == "My Card"


def test_qif_day_first_option():
    data = b"!Type:Bank\nD15/01/2024\nT-1.00\nPX\n^\n"
    with pytest.raises(ImportFormatError, match=r"^line 2: .*day_first"):
        parse_file(data, format="qif")
    statement = parse_file(data, format="qif", options={"day_first": True})
    assert statement.transactions[0].posted_on == date(2024, 1, 15)


def test_qif_decimal_comma_and_crlf_and_cp1252():
    data = "!Type:Bank\r\nD15.01.2024\r\nT-1.234,50\r\nPCafé\r\n^\r\n".encode("cp1252")
    statement = parse_file(data, options={"day_first": True, "decimal": ","})
    assert statement.transactions[0].amount == Decimal("-1234.50")
    assert statement.transactions[0].description == "Café"


def test_qif_last_record_without_closing_caret_is_kept():
    data = b"!Type:Bank\nD1/2/2024\nT-1.00\nPA\n^\nD1/3/2024\nT-2.00\nPB\n"
    assert amounts(parse_file(data, format="qif")) == [Decimal("-1.00"), Decimal("-2.00")]


def test_qif_list_sections_are_skipped():
    data = b"!Type:Cat\nNFood\nE\n^\n!Type:Bank\nD1/2/2024\nT-1.00\nPA\n^\n"
    assert len(parse_file(data, format="qif").transactions) == 1


def test_investment_qif_is_refused():
    data = b"!Account\nNBrokerage\nTInvst\n^\n!Type:Invst\nD1/2/2024\nNBuy\nYACME\n^\n"
    with pytest.raises(ImportFormatError, match=r"^line 5: investment QIF .* not supported"):
        parse_file(data)


def test_qif_transaction_without_date_names_the_record_line():
    data = b"!Type:Bank\nD1/2/2024\nT-1.00\n^\nT-2.00\nPNO DATE\n^\n"
    with pytest.raises(ImportFormatError, match=r"^line 5: expected a date \(a D line\)"):
        parse_file(data, format="qif")


def test_qif_bad_amount_names_its_line():
    data = b"!Type:Bank\nD1/2/2024\nTabc\n^\n"
    with pytest.raises(ImportFormatError, match=r"^line 3: expected an amount"):
        parse_file(data, format="qif")


def test_qif_records_before_any_header_are_refused():
    with pytest.raises(ImportFormatError, match=r"^line 1: expected a QIF header"):
        parse_file(b"D1/2/2024\nT-1.00\n^\n", format="qif")


def test_qif_unsupported_header_is_refused():
    with pytest.raises(ImportFormatError, match=r"^line 1: unsupported QIF header"):
        parse_file(b"!Type:Spaceship\n", format="qif")


def test_qif_account_without_name_is_refused():
    with pytest.raises(ImportFormatError, match=r"^line 2: expected an account name"):
        parse_file(b"!Account\nTBank\n^\n", format="qif")


# ------------------------------------------------------------------------ field parsers


@pytest.mark.parametrize(
    ("text", "decimal", "expected"),
    [
        ("$1,234.56", ".", "1234.56"),
        ("(12.50)", ".", "-12.50"),
        ("-12.50", ".", "-12.50"),
        ("12.50-", ".", "-12.50"),
        ("-$12.50", ".", "-12.50"),
        ("$(12.50)", ".", "-12.50"),
        (" 1 234.56 ", ".", "1234.56"),
        ("1.234,56", ",", "1234.56"),
        ("-1.234,56", ",", "-1234.56"),
        ("€ 12,50", ",", "12.50"),
        ("USD 7", ".", "7"),
        ("\u22123.10", ".", "-3.10"),
        ("-0.00", ".", "0.00"),
    ],
)
def test_amount_spellings(text, decimal, expected):
    value = parse_amount(text, decimal=decimal)
    assert value == Decimal(expected) and isinstance(value, Decimal)
    assert str(value) == expected  # exact: no float ever rounded it


@pytest.mark.parametrize("text", ["", "abc", "1,23.45", "--1", "(-1)", "NaN", "Infinity",
                                  "1e5", "99999999999999", "12.50 CR"])
def test_not_amounts(text):
    with pytest.raises(FieldError):
        parse_amount(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2024-01-15", date(2024, 1, 15)), ("1/15/2024", date(2024, 1, 15)),
     ("01/15/24", date(2024, 1, 15)), ("01-15-2024", date(2024, 1, 15)),
     ("Jan 15, 2024", date(2024, 1, 15)), ("15 Jan 2024", date(2024, 1, 15)),
     ("2024-01-15T10:30:00Z", date(2024, 1, 15)), ("01/15/2024 10:32 AM", date(2024, 1, 15)),
     ("20240115", date(2024, 1, 15))],
)
def test_date_spellings(text, expected):
    assert parse_date(text) == expected


# ------------------------------------------------------------------------- more quirks


def test_excel_sep_line_names_the_delimiter_and_keeps_line_numbers():
    data = csv_bytes("sep=;", "Date;Description;Amount", "2024-01-02;A,B;-1.00", "x;y;z")
    with pytest.raises(ImportFormatError, match=r"^line 4: "):
        parse_file(data, format="csv")
    statement = parse_file(data.rsplit(b"x;y;z", 1)[0], format="csv")
    assert statement.transactions[0].description == "A,B"


def test_discover_headers_are_recognised():
    data = csv_bytes("Trans. Date,Post Date,Description,Amount,Category",
                     "01/02/2024,01/03/2024,SHELL OIL,41.20,Gasoline")
    statement = parse_file(data, format="csv", options={"negate": True})
    assert statement.transactions[0].amount == Decimal("-41.20")
    assert statement.transactions[0].posted_on == date(2024, 1, 3)


def test_a_text_column_mapped_as_amount_is_not_read_as_a_number():
    with pytest.raises(FieldError):
        parse_amount("ABC12")


def test_a_bank_id_too_long_for_the_column_is_hashed_not_cut():
    long_id = "X" * 200
    data = csv_bytes("Date,Description,Amount,Transaction ID",
                     f"2024-01-02,A,-1.00,{long_id}1", f"2024-01-02,A,-1.00,{long_id}2")
    first, second = parse_file(data, format="csv").transactions
    assert len(first.external_id) <= 120 and first.external_id != second.external_id


@pytest.mark.parametrize(("data", "options", "fragment"), [
    (b"", None, "empty"),
    (b"\xef\xbb\xbf\r\n\r\n", None, "empty"),
    (b"Date,Description,Amount\n", {"skip_rows": 5}, "skipping 5 lines"),
])
def test_empty_csv_is_refused_plainly(data, options, fragment):
    with pytest.raises(ImportFormatError, match=fragment):
        parse_file(data, format="csv", options=options)


def test_header_only_csv_gives_an_empty_statement():
    statement = parse_file(b"Date,Description,Amount\n", format="csv")
    assert statement.transactions == [] and statement.cursor == ""


def test_qif_accounts_listed_without_transactions_are_not_created():
    data = (b"!Option:AutoSwitch\n!Account\nNChecking\nTBank\n^\nNBrokerage\nTInvst\n^\n"
            b"NOld Card\nTCCard\n^\n!Clear:AutoSwitch\n"
            b"!Account\nNUntyped Card\n^\n!Type:CCard\nD1/2/2024\nT-1.00\nPA\n^\n")
    statement = parse_file(data)
    assert [(a.external_id, a.kind) for a in statement.accounts] == [
        ("Untyped Card", "credit_card")]


def test_a_file_whose_accounts_share_an_id_is_refused_into_one_chosen_account():
    """Banks number transactions per account: into one chosen account, the card's row
    would have replaced the checking account's with the same id, and been counted
    instead of it, without a word."""
    two = (FIXTURES.parent / "ofx" / "two_accounts.ofx").read_bytes()
    data = two.replace(b"LN-CC-0511-1", b"LN-CHK-0515-1")

    apart = parse_file(data, filename="two.ofx")
    assert len({(r.account_external_id, r.external_id) for r in apart.transactions}) == 5
    with pytest.raises(ImportFormatError, match=r"holds 2 accounts .* 'LN-CHK-0515-1'.*"
                                                r"without choosing an account"):
        parse_file(data, filename="two.ofx", into_account=True)
    # Ids that do not meet go into one account as before.
    merged = parse_file(two, filename="two.ofx", into_account=True)
    assert len(merged.transactions) == 5

"""Bank CSV quirks a tester brought in: card exports that write purchases as positive,
total lines at the end of a file, dates only a day-first reading can make sense of, and
a quote that never closes.

Pure parsers: no database. Rows are made up, in the shapes the exports have.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from transactions.importers import ImportFormatError, parse_file
from transactions.importers.csv_import import CARD_SIGN_NOTE, DAY_FIRST_NOTE

FIXTURES = Path(__file__).parent / "fixtures" / "imports"


def csv_bytes(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def amounts(statement) -> list[Decimal]:
    return [t.amount for t in statement.transactions]


# ------------------------------------------------------------ card exports' own signs

# American Express's "Download your activity" CSV with "Include all additional
# transaction details": Extended Details and the address are quoted over several lines,
# the reference carries an apostrophe for Excel's sake.
AMEX_FULL = (
    b"Date,Description,Card Member,Account #,Amount,Extended Details,"
    b"Appears On Your Statement As,Address,City/State,Zip Code,Country,Reference,Category\r\n"
    b'01/15/2024,DELTA AIR LINES ATLANTA,JANE DOE,-41004,412.60,"0060123456789 30301\r\n'
    b'DELTA AIR LINES\r\nATLANTA\r\nGA\r\nAIRLINE TICKET",DELTA AIR LINES ATLANTA,'
    b'"1030 DELTA BLVD\r\nATLANTA\r\nGA",ATLANTA GA,30354,UNITED STATES,'
    b"'320240150000001',Travel-Airline\r\n"
    b"01/17/2024,AUTOPAY PAYMENT - THANK YOU,JANE DOE,-41004,-500.00,,"
    b"AUTOPAY PAYMENT - THANK YOU,,,,,'320240170000002',\r\n"
    b'01/18/2024,WHOLEFDS MKT 10234,JOHN DOE,-41012,"1,023.45","WHOLE FOODS MARKET\r\n'
    b'GROCERY",WHOLEFDS MKT 10234,"525 N LAMAR BLVD",AUSTIN TX,78703,UNITED STATES,'
    b"'320240180000003',Merchandise & Supplies-Groceries\r\n"
    b"01/19/2024,AMAZON MARKETPLACE RETURN,JANE DOE,-41004,-23.99,,"
    b"AMZN MKTP US,,,,,'320240190000004',Merchandise & Supplies-Internet Purchase\r\n"
)
# The same without card members (a card with one), and the short download without the
# additional details.
AMEX_ONE_MEMBER = (
    b"Date,Description,Amount,Extended Details,Appears On Your Statement As,Address,"
    b"City/State,Zip Code,Country,Reference,Category\n"
    b'01/15/2024,DELTA AIR LINES ATLANTA,412.60,"0060123456789 30301\nDELTA AIR LINES",'
    b"DELTA AIR LINES ATLANTA,,,,UNITED STATES,'320240150000001',Travel-Airline\n"
    b"01/17/2024,AUTOPAY PAYMENT - THANK YOU,-500.00,,AUTOPAY PAYMENT - THANK YOU,,,,,"
    b"'320240170000002',\n"
)
AMEX_SHORT = (b"Date,Description,Card Member,Account #,Amount\n"
              b"01/15/2024,DELTA AIR LINES ATLANTA,JANE DOE,-41004,412.60\n"
              b"01/17/2024,AUTOPAY PAYMENT - THANK YOU,JANE DOE,-41004,-500.00\n")
APPLE_CARD = (
    b"Transaction Date,Clearing Date,Description,Merchant,Category,Type,Amount (USD),"
    b"Purchased By\n"
    b"01/14/2024,01/15/2024,UBER *TRIP HELP.UBER.COM,Uber,Transportation,Purchase,12.30,"
    b"Jane Doe\n"
    b"01/16/2024,01/16/2024,ACH DEPOSIT INTERNET TRANSFER FROM ACCOUNT ENDING IN 1234,"
    b"Ach Deposit Internet Transfer From Account Ending In 1234,Payment,Payment,-300.00,"
    b"Jane Doe\n"
    b"01/17/2024,01/18/2024,DAILY CASH ADJUSTMENT,Daily Cash Adjustment,Other,Credit,-0.25,"
    b"Jane Doe\n"
)


def test_amex_export_is_recognised_by_its_header_and_its_signs_flipped_with_a_note():
    statement = parse_file(AMEX_FULL, filename="activity.csv")

    assert [(t.posted_on, t.amount, t.description) for t in statement.transactions] == [
        (date(2024, 1, 15), Decimal("-412.60"), "DELTA AIR LINES ATLANTA"),  # a charge
        (date(2024, 1, 17), Decimal("500.00"), "AUTOPAY PAYMENT - THANK YOU"),  # a payment
        (date(2024, 1, 18), Decimal("-1023.45"), "WHOLEFDS MKT 10234"),
        (date(2024, 1, 19), Decimal("23.99"), "AMAZON MARKETPLACE RETURN")]  # a refund
    assert [t.external_id for t in statement.transactions][:2] == [
        "320240150000001", "320240170000002"]
    assert statement.notes == [CARD_SIGN_NOTE.format(card="American Express")]


@pytest.mark.parametrize("data", [AMEX_ONE_MEMBER, AMEX_SHORT], ids=["one member", "short"])
def test_amex_exports_of_other_columns_are_flipped_too(data):
    statement = parse_file(data, format="csv")
    assert amounts(statement) == [Decimal("-412.60"), Decimal("500.00")]
    assert statement.notes == [CARD_SIGN_NOTE.format(card="American Express")]


def test_apple_card_export_is_recognised_by_its_header_and_its_signs_flipped():
    statement = parse_file(APPLE_CARD)

    assert [(t.posted_on, t.amount) for t in statement.transactions] == [
        (date(2024, 1, 15), Decimal("-12.30")), (date(2024, 1, 16), Decimal("300.00")),
        (date(2024, 1, 18), Decimal("0.25"))]
    assert statement.notes == [CARD_SIGN_NOTE.format(card="Apple Card")]


@pytest.mark.parametrize("data", [AMEX_FULL, AMEX_SHORT, APPLE_CARD])
def test_the_negate_option_given_is_the_users_choice_whatever_the_header(data):
    as_read = parse_file(data)
    for given in (True, "true", "yes"):
        negated = parse_file(data, options={"negate": given})
        assert amounts(negated) == amounts(as_read) and negated.notes == []
    for given in (False, "false", "0"):
        kept = parse_file(data, options={"negate": given})
        assert amounts(kept) == [-a for a in amounts(as_read)] and kept.notes == []


def test_a_plain_date_description_amount_header_is_not_taken_for_amex():
    # The old Amex fixture's three columns are every bank's: no flip without the option.
    data = (FIXTURES / "amex.csv").read_bytes()
    statement = parse_file(data)
    assert amounts(statement) == [Decimal("412.60"), Decimal("-500.00"), Decimal("1023.45")]
    assert statement.notes == []


# ---------------------------------------------------------------------- footer lines


def test_a_total_line_at_the_end_is_skipped_with_a_note():
    data = csv_bytes("Date,Description,Amount", "01/15/2024,SHELL,-20.00",
                     "01/16/2024,TESCO,-26.00", "Total,,-46.00")

    statement = parse_file(data)

    assert amounts(statement) == [Decimal("-20.00"), Decimal("-26.00")]
    assert statement.notes == ["Line 4, the last of the file ('Total,,-46.00'), is a total "
                               "or a balance, not a transaction: it was not imported."]


@pytest.mark.parametrize(("footer", "said"), [
    (("Totals,,-46.00", "", ""), "Line 4,"),  # blank lines after it
    (("TOTAL:,,-46.00", "Ending balance,,954.00"), "Lines 4 and 5,"),
    (("Ending Balance,,954.00", "", "Summary,,"), "Lines 4 and 6,"),
    ((",Total,-46.00",), "Line 4,"),  # the word in the description, the date cell empty
    (("Grand total,,-46.00", "End of statement"), "Lines 4 and 5,"),
])
def test_footer_lines_of_other_words_are_skipped_too(footer, said):
    data = csv_bytes("Date,Description,Amount", "2024-01-15,SHELL,-20.00",
                     "2024-01-16,TESCO,-26.00", *footer)
    statement = parse_file(data, format="csv")
    assert amounts(statement) == [Decimal("-20.00"), Decimal("-26.00")]
    assert statement.notes[0].startswith(said)


def test_a_row_without_a_date_whose_first_cell_is_no_footer_word_is_still_an_error():
    data = csv_bytes("Date,Description,Amount", "2024-01-15,SHELL,-20.00", ",TESCO,-26.00")
    with pytest.raises(ImportFormatError, match=r"^line 3: expected a date, found nothing"):
        parse_file(data)


def test_a_total_line_in_the_middle_of_the_file_is_still_an_error():
    data = csv_bytes("Date,Description,Amount", "01/15/2024,SHELL,-20.00", "Total,,-20.00",
                     "01/16/2024,TESCO,-26.00")
    with pytest.raises(ImportFormatError, match=r"^line 3: expected a date .*'Total'"):
        parse_file(data)


def test_a_footer_of_a_file_that_needs_a_mapping_is_skipped_as_well():
    data = csv_bytes("Buchungstag;Text;Betrag", "15.01.2024;Kaffee;-2,50",
                     "16.01.2024;Brot;-3,10", "Summe;;-5,60")
    options = {"date": "Buchungstag", "description": "Text", "amount": "Betrag",
               "day_first": True}
    with pytest.raises(ImportFormatError, match=r"^line 4: .*'Summe'"):
        parse_file(data, format="csv", options=options)  # "Summe" is no English footer
    statement = parse_file(data.replace(b"Summe", b"Total"), format="csv", options=options)
    assert amounts(statement) == [Decimal("-2.50"), Decimal("-3.10")]


# ----------------------------------------------------------------------- day-first dates


def test_dates_that_only_read_day_first_are_read_day_first_with_a_note():
    data = csv_bytes("Date,Description,Amount", "13/03/2024,SHELL,-20.00",
                     "05/03/2024,TESCO,-26.00", "2024-03-01,RENT,-800.00")

    statement = parse_file(data)

    assert [t.posted_on for t in statement.transactions] == [
        date(2024, 3, 13), date(2024, 3, 5), date(2024, 3, 1)]
    assert len(statement.notes) == 1 and DAY_FIRST_NOTE not in statement.notes
    assert "day first" in statement.notes[0] and "'13/03/2024'" in statement.notes[0]
    # the option says the same without a note
    assert parse_file(data, options={"day_first": True}).notes == []


def test_dates_that_need_both_readings_stay_an_error():
    data = csv_bytes("Date,Description,Amount", "01/15/2024,SHELL,-20.00",
                     "13/03/2024,TESCO,-26.00")
    with pytest.raises(ImportFormatError, match=r"^line 3: expected a date .*'13/03/2024'"):
        parse_file(data)


def test_a_date_format_or_day_first_given_is_not_second_guessed():
    data = csv_bytes("Date,Description,Amount", "13/03/2024,SHELL,-20.00")
    with pytest.raises(ImportFormatError, match=r"^line 2: .*'%m/%d/%Y'"):
        parse_file(data, options={"date_format": "%m/%d/%Y"})
    for month_first in (False, "false"):
        with pytest.raises(ImportFormatError, match=r"^line 2: expected a date .*'13/03/2024'"):
            parse_file(data, options={"day_first": month_first})


def test_a_mint_export_re_saved_day_first_is_read_day_first_with_a_note():
    original = parse_file((FIXTURES / "mint_export.csv").read_bytes())
    text = (FIXTURES / "mint_export.csv").read_text()
    day_first = re.sub(r'"(\d{1,2})/(\d{1,2})/(\d{4})"', r'"\2/\1/\3"', text)
    assert '"22/1/2024"' in day_first

    statement = parse_file(day_first.encode())

    assert [t.posted_on for t in statement.transactions] == [
        t.posted_on for t in original.transactions]
    assert len(statement.notes) == 1 and "'22/1/2024'" in statement.notes[0]
    assert original.notes == []


# ------------------------------------------------------------------------ unclosed quotes


def test_a_quote_that_never_closes_is_named_with_its_line():
    data = csv_bytes("Date,Description,Amount", "01/15/2024,SHELL,-20.00",
                     '01/16/2024,"TESCO,-26.00', "01/17/2024,PRET,-4.00")
    with pytest.raises(ImportFormatError,
                       match=r"^line 3: a quote opened on line 3 never closes"):
        parse_file(data)


def test_an_unclosed_quote_in_the_last_column_does_not_swallow_the_file_silently():
    # The row has all its columns: the rest of the file would have become one memo.
    data = csv_bytes("Date,Amount,Description", '01/15/2024,-20.00,"SHELL',
                     "01/16/2024,-26.00,TESCO", "01/17/2024,-4.00,PRET")
    with pytest.raises(ImportFormatError, match=r"a quote opened on line 2 never closes"):
        parse_file(data)


def test_the_line_of_an_unclosed_quote_counts_lines_of_fields_before_it():
    data = csv_bytes("Date,Description,Amount,Memo", '01/15/2024,"SHELL', 'OIL",-20.00,"fuel',
                     "01/16/2024,TESCO,-26.00,")
    with pytest.raises(ImportFormatError, match=r"^line 2: a quote opened on line 3 never"):
        parse_file(data)


def test_a_quoted_field_over_several_lines_at_the_end_of_the_file_is_fine():
    data = csv_bytes("Date,Description,Amount,Memo", '01/15/2024,SHELL,-20.00,"fuel',
                     'and snacks"')
    assert parse_file(data).transactions[0].memo == "fuel\nand snacks"
    # and one that swallows only the file's last line end reads as before
    assert parse_file(b'Date,Description,Amount\n01/15/2024,SHELL,"-20.00\n').transactions


def test_an_unclosed_quote_in_a_mint_export_is_named_too():
    header = (FIXTURES / "mint_export.csv").read_text().split("\n")[0]
    # re-saved without quotes but one, which never closes: Whole Foods would have been
    # Acme's notes
    data = "\n".join([
        header,
        '1/19/2024,Acme Corp,ACME CORP PAYROLL PPD,2000.00,credit,Paycheck,Checking,,"pay',
        "1/18/2024,Whole Foods,WHOLEFDS MKT 10234,54.30,debit,Groceries,Visa,,", ""])
    with pytest.raises(ImportFormatError, match=r"^line 2: a quote opened on line 2 never"):
        parse_file(data.encode())


def test_a_quote_left_open_in_a_quoted_file_says_which_rows_it_joined():
    # Mint quotes every cell: the open quote pairs with the next line's first quote,
    # and the two rows read as one of 17 cells.
    data = (FIXTURES / "mint_export.csv").read_bytes().replace(
        b'"January pay"', b'"January pay', 1)
    with pytest.raises(ImportFormatError,
                       match=r"^line 4: expected 9 columns as in Mint's export, found 17; "
                             r"a quote opened on line 4 does not close on its line, so lines "
                             r"4 to 5 were read as one row"):
        parse_file(data)
    # a bank CSV's row made long the same way
    data = csv_bytes("Date,Description,Amount", '"01/15/2024","SHELL,-20.00',
                     '"01/16/2024","TESCO","-26.00"', '"01/17/2024","PRET","-4.00"')
    with pytest.raises(ImportFormatError,
                       match=r"^line 2: expected an amount .*'TESCO' \(column 'Amount'\); a "
                             r"quote opened on line 2 does not close on its line, so lines 2 "
                             r"to 3 were read as one row"):
        parse_file(data)

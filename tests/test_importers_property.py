"""Properties of the file importers, checked with Hypothesis.

1. Whatever bytes arrive — random, or a valid export truncated, bit-flipped or with a
   column deleted — ``parse_file`` returns a Statement or raises ImportFormatError;
   any other exception would be a 500 for the user.
2. What a bank writes, we read back exactly: dates and Decimal amounts round-trip
   through every CSV dialect we claim to support, and through QIF.
3. Ids do not depend on row order, so a re-sorted export adds nothing.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import random
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from accounts.providers.base import Statement
from transactions.importers import ImportFormatError, detect_format, parse_file
from transactions.importers._fields import parse_amount

FIXTURES = Path(__file__).parent / "fixtures" / "imports"
# name → (options, delimiter used by the column-deleting mutation)
VALID_FILES = {
    "chase_checking.csv": ({}, ","),
    "chase_card.csv": ({}, ","),
    "capital_one.csv": ({}, ","),
    "amex.csv": ({"negate": True}, ","),
    "bofa_checking.csv": ({}, ","),
    "credit_union.csv": ({}, ","),
    "excel_bom_crlf.csv": ({}, ","),
    "sparkasse_latin1.csv": ({"date": "Buchungstag", "amount": "Betrag (EUR)",
                              "description": "Auftraggeber/Empfänger",
                              "memo": "Verwendungszweck", "day_first": True}, ";"),
    "mint_export.csv": ({}, ","),
    "quicken_multi.qif": ({}, "\n"),
    "bank_simple.qif": ({}, "\n"),
}
FAST = settings(max_examples=200, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])
HAS_OFX = importlib.util.find_spec("transactions.importers.ofx") is not None


def parses_or_refuses(data: bytes, **kwargs) -> Statement | None:
    """The contract under test: a Statement that holds together, or ImportFormatError."""
    try:
        statement = parse_file(data, **kwargs)
    except ImportFormatError as exc:
        assert str(exc)  # a person must be told something
        return None
    assert_consistent(statement)
    return statement


def assert_consistent(statement: Statement) -> None:
    accounts = {a.external_id for a in statement.accounts}
    assert all(len(a) <= 100 for a in accounts)
    keys = set()
    for record in statement.transactions:
        assert isinstance(record.amount, Decimal) and record.amount.is_finite()
        assert abs(record.amount) < Decimal(10) ** 12
        assert isinstance(record.posted_on, date)
        assert record.external_id and record.account_external_id in accounts
        keys.add((record.account_external_id, record.external_id))
    assert len(keys) == len(statement.transactions), "two rows share an id"
    if statement.transactions:
        assert statement.cursor == max(t.posted_on for t in statement.transactions).isoformat()


def not_ofx(data: bytes, filename: str) -> bool:
    """OFX belongs to its own parser, written separately; it has its own test below."""
    try:
        return detect_format(data, filename=filename) != "ofx"
    except ImportFormatError:
        return True


# ------------------------------------------------------------------ never another error


@FAST
@given(data=st.binary(max_size=3000),
       filename=st.sampled_from(["", "x.csv", "x.qif", "x.txt", "transactions.csv"]),
       fmt=st.sampled_from([None, "csv", "qif", "mint"]))
def test_arbitrary_bytes_parse_or_are_refused(data, filename, fmt):
    assume(fmt is not None or not_ofx(data, filename))
    parses_or_refuses(data, filename=filename, format=fmt)


MINT_HEADER = (FIXTURES / "mint_export.csv").read_text().split("\n")[0] + "\n"
CSV_ALPHABET = "0123456789,.;-/$()'\"\t\n abcDAT^!PNML€é"


@FAST
@given(head=st.sampled_from(["Date,Description,Amount\n", "Date;Description;Debit;Credit\n",
                             "!Type:Bank\n", "!Account\n",
                             MINT_HEADER]),
       body=st.text(alphabet=CSV_ALPHABET, max_size=400),
       options=st.sampled_from([None, {"day_first": True}, {"decimal": ","},
                                {"negate": True, "skip_rows": 0}]))
def test_plausible_text_after_a_real_header_parses_or_is_refused(head, body, options):
    data = (head + body).encode()
    assume(not_ofx(data, ""))
    parses_or_refuses(data, options=options)


@st.composite
def mutated_file(draw):
    """A valid fixture after 1 to 3 mutations: truncation, byte flips, inserted bytes,
    a deleted column, a dropped or duplicated line."""
    name = draw(st.sampled_from(sorted(VALID_FILES)))
    _, delimiter = VALID_FILES[name]
    data = (FIXTURES / name).read_bytes()
    for _ in range(draw(st.integers(1, 3))):
        data = draw(st.sampled_from(MUTATIONS))(draw, data, delimiter)
    return name, data


def truncate(draw, data: bytes, _delimiter: str) -> bytes:
    return data[: draw(st.integers(0, len(data)))]


def flip_bytes(draw, data: bytes, _delimiter: str) -> bytes:
    buffer = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        if buffer:
            buffer[draw(st.integers(0, len(buffer) - 1))] = draw(st.integers(0, 255))
    return bytes(buffer)


def insert_bytes(draw, data: bytes, _delimiter: str) -> bytes:
    at = draw(st.integers(0, len(data)))
    return data[:at] + draw(st.binary(min_size=1, max_size=8)) + data[at:]


def delete_column(draw, data: bytes, delimiter: str) -> bytes:
    """Naive on purpose: quoted delimiters get cut too, as a broken export would."""
    if delimiter == "\n":  # QIF has no columns: drop every line of one field code
        code = draw(st.sampled_from([b"D", b"T", b"P", b"N", b"^", b"!"]))
        return b"\n".join(line for line in data.split(b"\n") if not line.startswith(code))
    column = draw(st.integers(0, 6))
    sep = delimiter.encode()
    lines = [sep.join(c for i, c in enumerate(line.split(sep)) if i != column)
             for line in data.split(b"\n")]
    return b"\n".join(lines)


def drop_or_duplicate_line(draw, data: bytes, _delimiter: str) -> bytes:
    lines = data.split(b"\n")
    at = draw(st.integers(0, len(lines) - 1))
    if draw(st.booleans()):
        return b"\n".join(lines[:at] + lines[at + 1:])
    return b"\n".join(lines[: at + 1] + lines[at:])


MUTATIONS = [truncate, flip_bytes, insert_bytes, delete_column, drop_or_duplicate_line]


@FAST
@given(mutated_file(), st.booleans())
def test_damaged_valid_files_parse_or_are_refused(mutated, detect):
    name, data = mutated
    options, _ = VALID_FILES[name]
    fmt = None if detect else {"qif": "qif", "csv": "csv"}[name.rsplit(".", 1)[1]]
    if name.startswith("mint") and not detect:
        fmt = "mint"
    assume(fmt is not None or not_ofx(data, name))
    parses_or_refuses(data, filename=name, format=fmt, options=options)


@pytest.mark.skipif(not HAS_OFX, reason="transactions/importers/ofx.py not written yet")
@FAST
@given(data=st.binary(max_size=2000))
def test_ofx_arbitrary_bytes_parse_or_are_refused(data):
    parses_or_refuses(b"OFXHEADER:100\nDATA:OFXSGML\n\n<OFX>" + data, format="ofx")


# --------------------------------------------------------------------- exact round trips

DATE_STYLES = {  # style → (strftime, options)
    "iso": ("%Y-%m-%d", {}),
    "us": ("%m/%d/%Y", {}),
    "day_first": ("%d/%m/%Y", {"day_first": True}),
    "custom": ("%d.%m.%Y", {"date_format": "%d.%m.%Y"}),
}
AMOUNT_STYLES = ("plain", "grouped", "parentheses", "trailing_minus", "debit_credit",
                 "negated")

descriptions = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=30)
amounts_2dp = st.decimals(min_value=Decimal("-999999999.99"),
                          max_value=Decimal("999999999.99"), places=2)
dates = st.dates(min_value=date(1900, 1, 1), max_value=date(2099, 12, 31))


def format_amount(value: Decimal, style: str, decimal: str) -> str:
    """How banks write ``value`` in ``style``; the sign convention is the caller's."""
    grouped = f"{abs(value):,.2f}"
    if decimal == ",":
        grouped = grouped.replace(",", "_").replace(".", ",").replace("_", ".")
    plain = grouped.replace("," if decimal == "." else ".", "")
    negative = value < 0
    if style == "grouped":
        return f"-${grouped}" if negative else f"${grouped}"
    if style == "parentheses":
        return f"({grouped})" if negative else grouped
    if style == "trailing_minus":
        return f"{plain}-" if negative else plain
    return f"-{plain}" if negative else plain


def write_csv(rows, *, delimiter, decimal, date_style, amount_style, custom_headers):
    """The bytes of a bank export holding ``rows``, plus the options it needs."""
    strftime, options = DATE_STYLES[date_style]
    options = dict(options)
    names = (["When", "What", "How much", "Out", "In"] if custom_headers
             else ["Date", "Description", "Amount", "Debit", "Credit"])
    if custom_headers:
        options.update(date="When", description="What")
        options.update({"debit": "Out", "credit": "In"} if amount_style == "debit_credit"
                       else {"amount": "How much"})
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    writer.writerow(names[:2] + (names[3:5] if amount_style == "debit_credit" else names[2:3]))
    for posted_on, amount, description in rows:
        if amount_style == "debit_credit":
            text = format_amount(abs(amount), "plain", decimal)
            cells = ["", text] if amount > 0 else [text, ""]
            if amount == 0:
                cells = ["", text]
        elif amount_style == "negated":
            cells = [format_amount(-amount, "plain", decimal)]
            options["negate"] = True
        else:
            cells = [format_amount(amount, amount_style, decimal)]
        writer.writerow([posted_on.strftime(strftime), description, *cells])
    return buffer.getvalue(), options


def encode(text: str, encoding: str, crlf: bool) -> bytes:
    """Encoded as a bank would; cp1252 only where decoding cannot mistake it for UTF-8."""
    if crlf:
        text = text.replace("\n", "\r\n")
    if encoding == "cp1252":
        try:
            data = text.encode("cp1252")
            data.decode("utf-8")
        except UnicodeEncodeError:
            return text.encode("utf-8")
        except UnicodeDecodeError:
            return data
        return data if data.decode("utf-8") == text else text.encode("utf-8")
    return text.encode(encoding)


@FAST
@given(
    rows=st.lists(st.tuples(dates, amounts_2dp, descriptions), min_size=1, max_size=25),
    delimiter=st.sampled_from([",", ";", "\t"]),
    decimal=st.sampled_from([".", ","]),
    pass_decimal=st.booleans(),
    date_style=st.sampled_from(sorted(DATE_STYLES)),
    amount_style=st.sampled_from(AMOUNT_STYLES),
    custom_headers=st.booleans(),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]),
    crlf=st.booleans(),
)
def test_generated_csv_rows_round_trip_exactly(rows, delimiter, decimal, pass_decimal,
                                               date_style, amount_style, custom_headers,
                                               encoding, crlf):
    text, options = write_csv(rows, delimiter=delimiter, decimal=decimal,
                              date_style=date_style, amount_style=amount_style,
                              custom_headers=custom_headers)
    if pass_decimal:  # otherwise guessed from the amounts, which all show cents here
        options["decimal"] = decimal
    statement = parse_file(encode(text, encoding, crlf), format="csv", options=options)

    assert [t.posted_on for t in statement.transactions] == [r[0] for r in rows]
    assert [t.amount for t in statement.transactions] == [r[1] for r in rows]
    assert [t.description for t in statement.transactions] == [r[2].strip() for r in rows]
    assert_consistent(statement)


qif_payees = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")),
                     max_size=30)


@FAST
@given(rows=st.lists(st.tuples(st.dates(min_value=date(2000, 1, 1),
                                        max_value=date(2099, 12, 31)),
                               amounts_2dp, qif_payees), min_size=1, max_size=20),
       apostrophe=st.booleans(), crlf=st.booleans())
def test_generated_qif_records_round_trip_exactly(rows, apostrophe, crlf):
    lines = ["!Type:Bank"]
    for posted_on, amount, payee in rows:
        day = (f"{posted_on.month}/{posted_on.day:2d}'{posted_on.year % 100:2d}" if apostrophe
               else posted_on.strftime("%m/%d/%Y"))
        lines += [f"D{day}", f"T{amount:,.2f}", f"P{payee}", "^"]
    text = ("\r\n" if crlf else "\n").join(lines)

    statement = parse_file(text.encode(), format="qif")

    assert [t.posted_on for t in statement.transactions] == [r[0] for r in rows]
    assert [t.amount for t in statement.transactions] == [r[1] for r in rows]
    assert [t.description for t in statement.transactions] == [r[2].strip() for r in rows]
    assert_consistent(statement)


@FAST
@given(value=amounts_2dp, style=st.sampled_from(AMOUNT_STYLES[:4]),
       decimal=st.sampled_from([".", ","]))
def test_amount_spellings_round_trip(value, style, decimal):
    assert parse_amount(format_amount(value, style, decimal), decimal=decimal) == value


# ------------------------------------------------------------------------------------ ids


@FAST
@given(rows=st.lists(st.tuples(st.sampled_from([date(2024, 1, 1), date(2024, 1, 2)]),
                               st.sampled_from([Decimal("-4.75"), Decimal("10.00")]),
                               st.sampled_from(["COFFEE", "coffee ", "RENT"])),
                     min_size=1, max_size=12),
       seed=st.integers(0, 2**32 - 1))
def test_ids_do_not_depend_on_row_order(rows, seed):
    shuffled = list(rows)
    random.Random(seed).shuffle(shuffled)

    def ids(rows_) -> set[str]:
        text, options = write_csv(rows_, delimiter=",", decimal=".", date_style="iso",
                                  amount_style="plain", custom_headers=False)
        return {t.external_id for t in parse_file(text.encode(), format="csv",
                                                  options=options).transactions}

    first, second = ids(rows), ids(shuffled)
    assert first == second
    assert len(first) == len(rows)  # identical rows stay distinct

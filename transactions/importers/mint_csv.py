"""Mint's own CSV export ("transactions.csv"), the file people bring when they move here.

Its shape is fixed, so no mapping is needed::

    "Date","Description","Original Description","Amount","Transaction Type",
    "Category","Account Name","Labels","Notes"
    "1/15/2024","Starbucks","STARBUCKS STORE 12345","4.75","debit","Coffee Shops",
    "Visa Signature","","latte"

Amounts are always positive; "Transaction Type" carries the direction (debit = money
out). The category is kept (``source_category``) so years of hand-made
categorisation survive the move. Every distinct "Account Name" becomes an account.

The same file re-saved by a spreadsheet is read too: separated by ";" or tabs (Excel in
many European locales, which also write 4,75: guessed as bank CSVs' amounts are, or
``decimal``), with dates as 1/15/24 or 2024-01-15 (or day first, 15/01/2024, with
``day_first``, or without it when every date reads day first and some only so — and
the notes say so), and rows whose empty Labels and Notes cells were dropped.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from accounts.providers.base import AccountRecord, Statement, TransactionRecord

from ._fields import (
    DAY_FIRST_READ_NOTE,
    ExternalIds,
    FieldError,
    account_external_id,
    check_options,
    fail,
    guess_account_kind,
    guess_decimal,
    only_day_first,
    option_bool_given,
    option_decimal,
    option_str,
    parse_amount,
    parse_date,
    quote_hint,
    refuse_unclosed_quote,
    statement_cursor,
)
from ._text import decode_text
from .errors import ImportFormatError

COLUMNS = ("Date", "Description", "Original Description", "Amount", "Transaction Type",
           "Category", "Account Name", "Labels", "Notes")
OPTIONS = ("account_name", "day_first", "decimal")
DELIMITERS = (",", ";", "\t")
# Date to Account Name must be there; Labels and Notes may have been dropped when empty.
REQUIRED_COLUMNS = 7
DEFAULT_ACCOUNT_ID = "mint"
DEFAULT_ACCOUNT_NAME = "Mint import"
DIRECTIONS = {"debit": -1, "credit": 1}


def is_mint_header(line: str) -> bool:
    """True when ``line`` is exactly Mint's export header (quoted or not)."""
    return header_delimiter(line) is not None


def header_delimiter(line: str) -> str | None:
    """The separator with which ``line`` is exactly Mint's export header, if any."""
    for delimiter in DELIMITERS:
        cells = next(csv.reader([line], delimiter=delimiter), [])
        if tuple(cell.strip() for cell in cells) == COLUMNS:
            return delimiter
    return None


def parse_mint_csv(data: bytes, options: dict | None = None) -> Statement:
    """Mint's CSV export → Statement with one account per account name."""
    options = check_options(options, OPTIONS)
    default_name = option_str(options, "account_name") or DEFAULT_ACCOUNT_NAME
    day_first = option_bool_given(options, "day_first")
    chosen_here = day_first is None
    rows = list(_rows(decode_text(data)))
    notes = []
    if day_first is None:  # not given: a date like 15/03/2024 says so (re-saved by Excel)
        example = only_day_first(cells[0].strip() for _, cells in rows)
        day_first = example is not None
        if example is not None:
            notes.append(DAY_FIRST_READ_NOTE.format(example=example))
    # A spreadsheet in a European locale re-saves "4.75" as "4,75".
    decimal = option_decimal(options) or guess_decimal(cells[3] for _, cells in rows)
    ids = ExternalIds()
    accounts: dict[str, AccountRecord] = {}
    transactions = []
    for line, cells in rows:
        record = _record(line, cells, ids, day_first=day_first, decimal=decimal)
        name = cells[6].strip()
        if record.account_external_id not in accounts:
            accounts[record.account_external_id] = AccountRecord(
                external_id=record.account_external_id, name=name or default_name,
                kind=guess_account_kind(name))
        transactions.append(record)
    return Statement(accounts=list(accounts.values()), transactions=transactions,
                     cursor=statement_cursor(transactions), notes=notes,
                     read_with={"day_first": day_first} if chosen_here else {})


def _rows(text: str) -> Iterator[tuple[int, list[str]]]:
    """(physical line, cells) of each data row, after checking the header."""
    first = next((line for line in text.split("\n") if line.strip()), "")
    reader = csv.reader(io.StringIO(text, newline=""),
                        delimiter=header_delimiter(first) or ",")
    start, records = 1, []
    try:
        for cells in reader:
            line, start = start, reader.line_num + 1
            if any(cell.strip() for cell in cells):
                records.append((line, cells))
    except csv.Error as exc:
        raise fail(f"unreadable CSV record ({exc})", start) from exc
    if not records:
        raise ImportFormatError("the file is empty: expected Mint's export header")
    refuse_unclosed_quote(text, *records[-1])  # before a row it made short is blamed
    _check_header(*records[0])
    for line, cells in records[1:]:
        if not REQUIRED_COLUMNS <= len(cells) <= len(COLUMNS):
            raise fail(f"expected {len(COLUMNS)} columns as in Mint's export, found "
                       f"{len(cells)}{quote_hint(line, cells)}", line)
        yield line, cells + [""] * (len(COLUMNS) - len(cells))


def _check_header(line: int, cells: list[str]) -> None:
    if tuple(cell.strip() for cell in cells) != COLUMNS:
        expected = ",".join(f'"{c}"' for c in COLUMNS)
        raise fail(f"expected Mint's export header {expected}; found "
                   f"{','.join(cells)[:200]!r}", line)


def _record(line: int, cells: list[str], ids: ExternalIds, *,
            day_first: bool, decimal: str) -> TransactionRecord:
    date_text, short, original, amount_text, direction, category, account, labels, notes = (
        cell.strip() for cell in cells)
    try:
        posted_on = parse_date(date_text, day_first=day_first)  # Mint's own: 1/15/2024
        magnitude = abs(parse_amount(amount_text, decimal=decimal))
    except FieldError as exc:
        raise fail(str(exc), line) from exc
    sign = DIRECTIONS.get(direction.casefold())
    if sign is None:
        raise fail(f"expected Transaction Type 'debit' or 'credit', found {direction!r}", line)
    amount = magnitude * sign if magnitude else magnitude
    account_id = account_external_id(account) if account else DEFAULT_ACCOUNT_ID
    description = original or short
    # Mint's Description is its cleaned-up name, or the one the person gave: kept as the
    # seller's name, unless it is just the bank's text again.
    name = short if short and " ".join(short.split()).casefold() != " ".join(
        description.split()).casefold() else ""
    return TransactionRecord(
        account_external_id=account_id,
        external_id=ids.next(account=account_id, posted_on=posted_on, amount=amount,
                             description=description),
        posted_on=posted_on, amount=amount, description=description,
        source_category=category, memo=_memo(notes, labels), source_name=name[:200],
    )


def _memo(notes: str, labels: str) -> str:
    """Notes become the memo; Mint's labels have no column of their own here, so they
    ride along in it rather than being dropped."""
    if not labels:
        return notes
    return f"{notes} [labels: {labels}]" if notes else f"[labels: {labels}]"

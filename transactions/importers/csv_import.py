"""Bank CSV exports, read through a column mapping.

Every bank invents its own columns, so ``options`` says which header holds what:

    date, amount          (or debit + credit: debit is money out, credit money in)
    description           and optionally id, account, memo, category, currency (an ISO
                          code per row: EUR, USD…; default the account's, USD), balance
                          (the running balance: the newest row's is the account's)
    date_format           strftime pattern; default ISO, then MM/DD/YYYY — or DD/MM/YYYY
                          when day_first — then "Jan 15, 2024"-style dates. Without
                          day_first (or given false) and date_format, a file whose dates
                          all read day first and some only so (13/03/2024) is read day
                          first, and the notes say so
    decimal               "." or ","; default guessed from the amounts ("12,50" → ",")
    delimiter             default sniffed among , ; tab |
    negate                for card exports that write purchases as positive (Amex,
                          Discover): flips every amount to Mint's convention. Not given,
                          Amex's and Apple Card's own exports, recognised by their
                          headers, are flipped (and the notes say so); given, true or
                          false, it is the person's choice whatever the header
    skip_rows             physical lines before the header (a bank's summary block);
                          default: the header is found among the first 20 lines
    account_name          name of the single account when there is no account column;
                          files imported under one name share that account (without
                          it, every such file goes to one "Imported CSV" account)

An id column must hold each id once per account (see ``_ids``): one named with the
``id`` option that repeats an id is refused; one recognised as "Transaction ID" keeps
its ids and gives a repeat ``#2``; a "Reference" column's value is read as an id only when it
is one word with a digit (Amex's), and then with the day: a UK bank's reference text, or
a standing order's, recurs month to month (a row of another reference gets a made id).

Column names match headers case-insensitively. Without a mapping the common headers are
recognised (Chase, Capital One, Citi, Bank of America, Amex, Discover, Apple Card,
Revolut exports, and Wells Fargo's, which has no header); where two date columns are recognised, the posting one is read and the
other stands in where it is empty (a pending row).
Line numbers in errors are physical lines of the file, the first line being 1.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from itertools import islice

from accounts.providers.base import AccountRecord, Statement, TransactionRecord

from ._fields import (
    DAY_FIRST_READ_NOTE,
    NUMERIC_DATE,
    ExternalIds,
    FieldError,
    account_external_id,
    check_options,
    fail,
    guess_decimal,
    named_account_id,
    only_day_first,
    option_bool_given,
    option_decimal,
    option_str,
    parse_amount,
    parse_date,
    quote_hint,
    refuse_unclosed_quote,
    repeat_external_id,
    reused_external_id,
    short_hash,
    statement_cursor,
)
from ._text import decode_text
from .errors import ImportFormatError

COLUMNS = ("date", "amount", "debit", "credit", "description", "id", "account", "memo",
           "category", "currency", "balance")
OPTIONS = (*COLUMNS, "date_format", "day_first", "decimal", "delimiter", "negate",
           "skip_rows", "account_name")
DEFAULT_ACCOUNT_ID = "csv"
DEFAULT_ACCOUNT_NAME = "Imported CSV"
DELIMITERS = (",", ";", "\t", "|")
HEADER_SEARCH_LINES = 20
MAX_EXTERNAL_ID = 120

# Headers recognised without a mapping, best first (a posting date before a
# transaction date: Mint stores when the money moved).
KNOWN_HEADERS: dict[str, tuple[str, ...]] = {
    "date": ("date", "posted date", "post date", "posting date", "completed date",
             "clearing date", "transaction date", "trans. date", "trans date", "booking date",
             "started date"),
    "amount": ("amount", "transaction amount", "amount (usd)"),
    "debit": ("debit", "debit amount", "withdrawal", "withdrawals", "money out"),
    "credit": ("credit", "credit amount", "deposit", "deposits", "money in"),
    "description": ("description", "original description", "payee", "name", "merchant",
                    "transaction description", "memo"),
    "id": ("transaction id", "id", "fitid", *("reference", "reference number")),
    "account": ("account", "account name", "account number"),
    "memo": ("memo", "notes", "note"),
    "category": ("category",),
    "currency": ("currency", "currency code", "ccy"),
    "balance": ("balance", "running balance", "running bal.", "balance (usd)",
                "balance (gbp)", "balance (eur)"),
}
AMOUNT_KEYS = ("amount", "debit", "credit")
# Headers that name a reference, not always an id: Amex's "Reference" holds one id per
# transaction, a UK bank's the payment's reference text ("RENT", "TESCO STORES 1234"),
# the same every month. Read as ids only when every value looks like one (see _ids).
WEAK_ID_HEADERS = frozenset(["reference", "reference number"])
_ID_LIKE = re.compile(r"[^\s]*[0-9][^\s]*")
# A card network's reference number (Amex's 15 digits): one transaction's, never reused.
_CARD_REFERENCE = re.compile(r"[0-9]{12,}")
SECOND_DATE = "second date"  # not an option: see _resolve_columns
# Card issuers' own exports that write a charge as positive and a payment as negative,
# recognised by columns no bank's export shares — never by "Date,Description,Amount",
# which every bank writes. (Amex's download: with the additional details, with or
# without card members, or the short one of five columns. Apple Card's, from Wallet.)
CARD_EXPORTS: tuple[tuple[str, frozenset[str]], ...] = (
    ("American Express", frozenset(["date", "description", "amount", "extended details",
                                     "appears on your statement as"])),
    ("American Express", frozenset(["date", "description", "card member", "account #",
                                    "amount"])),
    ("Apple Card", frozenset(["transaction date", "clearing date", "merchant", "amount (usd)",
                              "purchased by"])),
)
CARD_SIGN_NOTE = (
    "This file is {card}'s own export, which writes a purchase as a positive amount and a "
    "payment as a negative one: every amount was flipped, so that money out is negative "
    "here. If its amounts were already signed that way, remove the account on the Accounts "
    "page and import the file again with negate set to false (in the API).")
BALANCE_LINE = re.compile(r"(beginning|ending|opening|closing) balance\b", re.IGNORECASE)
# What banks write after the rows in place of a date: "Total,,-46.00", "Ending balance,,
# 954.00", "Summary". Skipped only at the end of the file (see _without_footer).
FOOTER_LINE = re.compile(
    r"((grand|sub)\s*)?totals?\b|(beginning|ending|opening|closing|available|current|ledger)"
    r"\s+balance\b|balance\b|summary\b|end\s+of\s+(the\s+)?(statement|file|report|data)\b",
    re.IGNORECASE)


@dataclass(frozen=True)
class CsvSettings:
    columns: dict[str, str]  # option → header name, as given by the user
    date_format: str | None = None
    day_first: bool | None = None  # None: not given, the dates decide (only_day_first)
    decimal: str | None = None
    delimiter: str | None = None
    negate: bool | None = None  # None: not given, the header decides (CARD_EXPORTS)
    skip_rows: int | None = None
    account_name: str = DEFAULT_ACCOUNT_NAME


@dataclass
class Table:
    header_line: int
    headers: list[str]
    rows: list[tuple[int, list[str]]] = field(default_factory=list)

    def headers_found(self) -> str:
        return ", ".join(repr(h) for h in self.headers if h) or "none"


def parse_csv(data: bytes, options: dict | None = None) -> Statement:
    """A bank CSV export → Statement (one account unless an account column is mapped)."""
    settings = _settings(check_options(options, OPTIONS))
    table = _read_table(decode_text(data), settings)
    columns = _resolve_columns(table, settings)
    notes: list[str] = []
    table, footer = _without_footer(table, columns)
    if footer:
        notes.append(_footer_note(footer))
    if settings.negate is None:
        card = _card_export(table.headers)
        settings = replace(settings, negate=card is not None)
        if card is not None:
            notes.append(CARD_SIGN_NOTE.format(card=card))
    if settings.day_first is None:
        example = None if settings.date_format else only_day_first(_date_cells(table, columns))
        settings = replace(settings, day_first=example is not None)
        if example is not None:
            notes.append(DAY_FIRST_READ_NOTE.format(example=example))
    decimal = settings.decimal or guess_decimal(_amount_cells(table, columns))
    statement = _build_statement(table, columns, settings, decimal)
    statement.notes[:0] = notes
    # What was chosen here rather than given (see Statement.read_with).
    given = options or {}
    statement.read_with = {name: getattr(settings, name) for name in ("negate", "day_first")
                           if given.get(name) in (None, "")}
    return statement


def _date_cells(table: Table, columns: dict[str, int]) -> Iterator[str]:
    """Every date the rows hold (a balance line's aside: it is not read)."""
    for line, cells in table.rows:
        row = _Row(line, cells, table.headers)
        if not _is_balance_line(row, columns):
            yield row.optional(columns["date"])
            yield row.optional(columns.get(SECOND_DATE))


def _without_footer(table: Table, columns: dict[str, int]
                    ) -> tuple[Table, list[tuple[int, list[str]]]]:
    """The table without the lines at its end that are a total or a balance (a footer
    word where the date belongs, or as the first cell of a line with no date at all),
    and those lines. Such a line in the middle of the file stays an error: a row there
    is expected to be a transaction."""
    end = len(table.rows)
    while end and _is_footer(table.rows[end - 1][1], columns):
        end -= 1
    return replace(table, rows=table.rows[:end]), table.rows[end:]


def _is_footer(cells: list[str], columns: dict[str, int]) -> bool:
    def cell(index: int | None) -> str:
        return cells[index].strip() if index is not None and index < len(cells) else ""

    word = cell(columns["date"])
    if not word and not cell(columns.get(SECOND_DATE)):
        word = next((c.strip() for c in cells if c.strip()), "")
    return FOOTER_LINE.match(word) is not None


def _footer_note(footer: list[tuple[int, list[str]]]) -> str:
    lines = [str(line) for line, _ in footer]
    shown = ",".join(footer[0][1]).strip()
    shown = repr(shown if len(shown) <= 60 else shown[:57] + "...")
    if len(footer) == 1:
        return (f"Line {lines[0]}, the last of the file ({shown}), is a total or a balance, "
                "not a transaction: it was not imported.")
    return (f"Lines {', '.join(lines[:-1])} and {lines[-1]}, the last of the file ({shown} "
            "and after), are totals or balances, not transactions: they were not imported.")


def _card_export(headers: list[str]) -> str | None:
    """The card issuer whose own export has these headers (see CARD_EXPORTS), if any."""
    names = {header.casefold() for header in headers}
    return next((card for card, needed in CARD_EXPORTS if needed <= names), None)


def _amount_cells(table: Table, columns: dict[str, int]) -> Iterator[str]:
    positions = [columns[key] for key in AMOUNT_KEYS if key in columns]
    for _, cells in table.rows:
        yield from (cells[i] for i in positions if i < len(cells))


# --------------------------------------------------------------------------- settings


def _settings(options: dict) -> CsvSettings:
    columns = {key: name for key in COLUMNS if (name := option_str(options, key))}
    return CsvSettings(
        columns=columns,
        date_format=option_str(options, "date_format"),
        day_first=option_bool_given(options, "day_first"),
        decimal=option_decimal(options),
        delimiter=_delimiter_option(options),
        negate=option_bool_given(options, "negate"),
        skip_rows=_skip_rows_option(options),
        account_name=option_str(options, "account_name") or DEFAULT_ACCOUNT_NAME,
    )


def _delimiter_option(options: dict) -> str | None:
    value = options.get("delimiter")
    if value in (None, ""):
        return None
    if value in ("tab", "\\t"):
        return "\t"
    if not isinstance(value, str) or len(value) != 1 or value.isalnum() or value in "\"\r\n ":
        raise ImportFormatError(f"option 'delimiter' must be one character such as "
                                f"',', ';' or 'tab', not {value!r}")
    return value


def _skip_rows_option(options: dict) -> int | None:
    value = options.get("skip_rows")
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ImportFormatError(f"option 'skip_rows' must be a whole number ≥ 0, not {value!r}")
    return value


# ------------------------------------------------------------------------ reading rows


def _read_table(text: str, settings: CsvSettings) -> Table:
    """Finds the delimiter and the header row, then reads every non-blank row."""
    skip = settings.skip_rows or 0
    lines = text.split("\n")[skip:]
    if not any(line.strip() for line in lines):
        raise ImportFormatError(f"nothing is left after skipping {skip} lines" if skip
                                else "the file is empty: expected a header line and rows")
    settings = _excel_separator_line(lines, settings)
    body = "\n".join(lines)
    limit = 1 if settings.skip_rows is not None else HEADER_SEARCH_LINES
    delimiter, header_at = _find_header(body, settings, skip, limit)  # None: no header
    rows = list(_csv_rows(body, delimiter, skip))
    if not rows:
        raise ImportFormatError("the file is empty: expected a header line and rows")
    refuse_unclosed_quote(body, *rows[-1], text_line=skip + 1)
    if header_at is None:
        if not settings.columns and _wells_fargo_row(rows[0][1]):
            # Wells Fargo writes no header: its five columns are always these.
            return Table(header_line=rows[0][0], headers=list(WELLS_FARGO_HEADERS),
                         rows=rows)
        header_at = 0  # the column error then names what the first row holds
    header_line, headers = rows[header_at]
    return Table(header_line=header_line, headers=[h.strip() for h in headers],
                 rows=rows[header_at + 1:])


def _excel_separator_line(lines: list[str], settings: CsvSettings) -> CsvSettings:
    """Excel writes "sep=;" as the first line of some exports to name the delimiter.
    The line is blanked (not removed) so later line numbers stay physical."""
    first = lines[0].strip(" ") if lines else ""
    if len(first) != 5 or not first.lower().startswith("sep="):
        return settings
    lines[0] = ""
    return settings if settings.delimiter else replace(settings, delimiter=first[4])


def _csv_rows(body: str, delimiter: str, skipped: int) -> Iterator[tuple[int, list[str]]]:
    """(physical line where the record starts, cells) for every non-blank record."""
    reader = csv.reader(io.StringIO(body, newline=""), delimiter=delimiter)
    start = 1
    try:
        for cells in reader:
            if any(cell.strip() for cell in cells):
                yield start + skipped, cells
            start = reader.line_num + 1
    except csv.Error as exc:
        raise fail(f"unreadable CSV record ({exc})", start + skipped) from exc


def _find_header(body: str, settings: CsvSettings, skipped: int,
                 limit: int) -> tuple[str, int | None]:
    """(delimiter, index of the header among the non-blank rows).

    With a known delimiter only the header is searched. Otherwise each candidate
    delimiter is tried: the one whose split reveals a header row earliest wins (the
    widest on a tie: a description holding "a,date,amount" in a semicolon file must
    not win); failing that, the most frequent candidate on the first line and None:
    no header found (the caller takes the first row for one, so that the column error
    names what was found, unless the rows are Wells Fargo's, which has none).
    """
    candidates = (settings.delimiter,) if settings.delimiter else DELIMITERS
    found: list[tuple[int, int, int]] = []  # (-header index, width, -candidate order)
    for order, delimiter in enumerate(candidates):
        index, width = _header_position(body, delimiter, settings, skipped, limit)
        if index is not None:
            found.append((-index, width, -order))
    if found:
        minus_index, _, minus_order = max(found)
        return candidates[-minus_order], -minus_index
    return settings.delimiter or _most_frequent_delimiter(body, skipped), None


# Wells Fargo's CSV: no header, always "01/15/2024","-4.75","*","","STARBUCKS …" (date,
# amount, an asterisk, a check number, the description).
WELLS_FARGO_HEADERS = ("Date", "Amount", "*", "Check Number", "Description")
_US_DATE = re.compile(r"[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}")
_PLAIN_AMOUNT = re.compile(r"-?[0-9]+\.[0-9]{2}")


def _wells_fargo_row(cells: list[str]) -> bool:
    return (len(cells) == 5 and _US_DATE.fullmatch(cells[0].strip()) is not None
            and _PLAIN_AMOUNT.fullmatch(cells[1].strip()) is not None
            and cells[2].strip() == "*" and bool(cells[4].strip()))


def _header_position(body: str, delimiter: str, settings: CsvSettings, skipped: int,
                     limit: int) -> tuple[int | None, int]:
    """(index, width) of the first row that looks like a header when split by
    ``delimiter``, or (None, 0)."""
    try:
        head = list(islice(_csv_rows(body, delimiter, skipped), limit))
    except ImportFormatError:
        return None, 0
    for index, (_, cells) in enumerate(head):
        if _looks_like_header(cells, settings):
            return index, len(cells)
    return None, 0


def _looks_like_header(cells: list[str], settings: CsvSettings) -> bool:
    names = {cell.strip().casefold() for cell in cells}

    def has(key: str) -> bool:
        given = settings.columns.get(key)
        if given is not None:
            return given.casefold() in names
        return any(name in names for name in KNOWN_HEADERS[key])

    given_amounts = [k for k in AMOUNT_KEYS if k in settings.columns]
    amounts = all(has(k) for k in given_amounts) if given_amounts else any(
        has(k) for k in AMOUNT_KEYS)
    return has("date") and amounts


def _most_frequent_delimiter(body: str, skipped: int) -> str:
    first = next((line for line in body.split("\n") if line.strip()), "")
    counts = {d: len(next(csv.reader([first], delimiter=d), [])) - 1 for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    if counts[best] <= 0:
        raise fail("could not tell how columns are separated: the header has no comma, "
                   "semicolon or tab; pass the delimiter option", skipped + 1)
    return best


# ------------------------------------------------------------------------------ columns


def _resolve_columns(table: Table, settings: CsvSettings) -> dict[str, int]:
    """Option → column index: the mapping given, then the known headers for the rest."""
    index = {}
    for position, header in enumerate(table.headers):
        index.setdefault(header.casefold(), position)
    columns: dict[str, int] = {}
    for key, name in settings.columns.items():
        if name.casefold() not in index:
            exc = fail(f"column {name!r} (option {key!r}) is not in the header; headers "
                       f"found: {table.headers_found()}", table.header_line)
            exc.columns = True
            raise exc
        columns[key] = index[name.casefold()]
    used = set(columns.values())
    amounts_given = any(k in settings.columns for k in AMOUNT_KEYS)
    for key, names in KNOWN_HEADERS.items():
        if key in columns or (key in AMOUNT_KEYS and amounts_given):
            continue
        if key in ("debit", "credit") and "amount" in columns:
            continue
        position = next((index[n] for n in names if n in index and index[n] not in used), None)
        if position is not None:
            columns[key] = position
            used.add(position)
    _require_columns(columns, table)
    if "date" not in settings.columns:
        # A second date column found by its header stands in for the first where that one
        # is empty: a pending row has no posting date yet (Revolut's "Completed Date").
        second = next((index[n] for n in KNOWN_HEADERS["date"]
                       if n in index and index[n] != columns["date"]), None)
        if second is not None:
            columns[SECOND_DATE] = second
    return columns


def _require_columns(columns: dict[str, int], table: Table) -> None:
    missing = []
    if "date" not in columns:
        missing.append("the date (option date=<column>)")
    if not any(k in columns for k in AMOUNT_KEYS):
        missing.append("the amount (option amount=<column>, or debit= and credit=)")
    if "description" not in columns:
        missing.append("the description (option description=<column>)")
    if missing:
        exc = fail(f"could not tell which column holds {' and '.join(missing)}; "
                   f"headers found: {table.headers_found()}", table.header_line)
        exc.columns = True
        raise exc


# ------------------------------------------------------------------------------ records


def _build_statement(table: Table, columns: dict[str, int], settings: CsvSettings,
                     decimal: str) -> Statement:
    accounts: dict[str, AccountRecord] = {}
    rows: list[tuple] = []  # (line, the bank's id, then TransactionRecord's other fields)
    balances: dict[str, list[tuple[date, Decimal]]] = {}  # account → its rows' balances
    for line, cells in table.rows:
        row = _Row(line, cells, table.headers)
        if _is_balance_line(row, columns):
            continue
        account_id = _account(row, columns, settings, accounts)
        date_column, pending = columns["date"], False
        if SECOND_DATE in columns and not row.optional(date_column):
            # No posting date yet: pending, dated by the other column. When it posts,
            # its posted row replaces it (the pipeline's pending twins).
            date_column, pending = columns[SECOND_DATE], True
        posted_on = row.parse(date_column, "date", lambda v: parse_date(
            v, date_format=settings.date_format, day_first=settings.day_first))
        amount = _amount(row, columns, decimal)
        amount = -amount if settings.negate and amount else amount
        balance = _balance(row, columns, decimal, named="balance" in settings.columns)
        if balance is not None:
            balances.setdefault(account_id, []).append((posted_on, balance))
        rows.append((line, _bank_id(row.optional(columns.get("id"))), account_id, posted_on,
                     amount, row.optional(columns.get("description")),
                     row.optional(columns.get("memo")), row.optional(columns.get("category")),
                     _currency(row, columns, named="currency" in settings.columns), pending))
    formers: dict[int, str] = {}
    bank_ids = _ids(rows, table, columns, settings, formers) if "id" in columns else {}
    if None in bank_ids.values():  # exact repeats of a row under its id: one transaction
        rows = [r for i, r in enumerate(rows) if bank_ids.get(i, "") is not None]
        formers.clear()
        bank_ids = _ids(rows, table, columns, settings, formers)
    weak = "id" in columns and _weak_references(table, columns, settings)
    made = ExternalIds().for_rows([
        None if bank_ids.get(i)
        else (account_id, posted_on, amount, description, pending)
        for i, (_, _, account_id, posted_on, amount, description, *_, pending)
        in enumerate(rows)])
    former = _former_reference_ids(rows) if weak else formers
    transactions = [
        TransactionRecord(
            account_external_id=account_id, external_id=bank_ids.get(i) or made[i],
            posted_on=posted_on, amount=amount, description=description, memo=memo,
            source_category=category, currency=currency, pending=pending,
            former_external_id=former.get(i, ""),
        )
        for i, (_, _, account_id, posted_on, amount, description, memo, category, currency,
                pending) in enumerate(rows)
    ]
    for account_id, seen in balances.items():
        if (latest := _latest_balance(seen)) is not None:
            accounts[account_id] = replace(accounts[account_id], balance=latest[1],
                                           balance_as_of=latest[0])
    # An account whose rows all name one currency is in that currency.
    currencies: dict[str, set[str]] = {}
    for record in transactions:
        currencies.setdefault(record.account_external_id, set()).add(record.currency)
    for account_id, codes in currencies.items():
        if len(codes) == 1 and (code := next(iter(codes))):
            accounts[account_id] = replace(accounts[account_id], currency=code)
    notes = []
    if not settings.day_first and not settings.date_format and _dates_could_be_day_first(
            row.optional(columns["date"]) for row in (
                _Row(line, cells, table.headers) for line, cells in table.rows)):
        notes.append(DAY_FIRST_NOTE)
    return Statement(accounts=list(accounts.values()), transactions=transactions,
                     cursor=statement_cursor(transactions), notes=notes)


DAY_FIRST_NOTE = (
    "Every date in this file can also be read day first (05/01/2024: May 1, or 5 January): "
    "they were read month first, as US banks write them. If your bank writes the day "
    "first, remove the account on the Accounts page and import the file again with "
    "“Dates are written: Day first” (day_first in the API).")


def _dates_could_be_day_first(values) -> bool:
    """Whether every date was read month first but could be read day first as well (both
    numbers 12 or less) and would then differ (not 05/05): the file's own dates cannot
    tell, and the option decides — so the person is told which way they were read."""
    differs = False
    for value in values:
        if not value:
            continue
        m = NUMERIC_DATE.fullmatch(value)
        if m is None or int(m.group(1)) > 12 or int(m.group(2)) > 12:
            return False
        differs = differs or m.group(1).lstrip("0") != m.group(2).lstrip("0")
    return differs


def _balance(row: _Row, columns: dict[str, int], decimal: str, *, named: bool
             ) -> Decimal | None:
    """The row's running balance, if the file has one: a column the user named must hold
    amounts; one recognised by its header that does not is left unread."""
    if "balance" not in columns or not row.optional(columns["balance"]):
        return None
    if named:
        return row.parse(columns["balance"], "a balance",
                         lambda v: parse_amount(v, decimal=decimal))
    try:
        return parse_amount(row.optional(columns["balance"]), decimal=decimal)
    except FieldError:
        return None


def _latest_balance(seen: list[tuple[date, Decimal]]) -> tuple[date, Decimal] | None:
    """The running balance after an account's newest row: the file lists its rows newest
    first or oldest first, and among rows of the newest day the one listed last in time
    order holds it. None when the order cannot be told (every row on one day)."""
    if len(seen) == 1:
        return seen[0]
    if seen[0][0] == seen[-1][0]:
        return None
    return seen[0] if seen[0][0] > seen[-1][0] else seen[-1]


def _ids(rows: list[tuple], table: Table, columns: dict[str, int],
         settings: CsvSettings, formers: dict[int, str]) -> dict[int, str | None]:
    """Row index → the id the bank gave it, for the rows whose id is read (None: an exact
    repeat of an earlier row under that id, to drop). Two rows under one id would be one
    transaction, the later replacing the earlier, so:

    - a column named with the ``id`` option that repeats an id in an account: refused,
      naming both lines;
    - a column recognised by an id header ("Transaction ID"): a repeat that is another
      transaction gets the id with its day (``T3~2024-01-04``; pending: ``#2``, ``#3``…),
      as OFX's repeated FITIDs do; ``formers`` gets the ``#2`` it had before;
    - a reference column ("Reference"): decided row by row, so that overlapping
      exports give a row the same id whatever else they hold. A reference that is one
      word with a digit, six characters at least, is read with the day
      (``ref~2024-01-15``): a standing order's reference recurs every month, and next
      month's would replace this one's — except a card's reference number of 12 digits
      or more (Amex's), which is one transaction's. The same again in an account (two
      equal payments of a day) is ``ref~2024-01-15#2`` (``#3``…). A row whose reference
      is words ("BIRTHDAY", "TESCO STORES 1234") gets an id made from its date, amount
      and description, as a row without one.
    """
    header = table.headers[columns["id"]]
    if _weak_references(table, columns, settings):
        ids: dict[int, str | None] = {}
        seen: set[tuple[str, str]] = set()
        for i, (_, ref, account_id, posted_on, *_) in enumerate(rows):
            if not _id_like(ref):
                continue
            named = ref if _CARD_REFERENCE.fullmatch(ref) else reused_external_id(ref, posted_on)
            n, again = 1, named
            while (account_id, again) in seen:
                n += 1
                again = f"{named[:MAX_EXTERNAL_ID - len(str(n)) - 1]}#{n}"
            seen.add((account_id, again))
            ids[i] = again
        return ids
    first: dict[tuple[str, str], int] = {}  # (account, id) → the line that has it
    data: dict[tuple[str, str], tuple] = {}  # … and that row's values
    ids: dict[int, str | None] = {}
    named: set[tuple[str, str]] = set()  # (account, the name a repeat was given)
    for i, (line, bank_id, account_id, *values) in enumerate(rows):
        if not bank_id:
            continue
        key = (account_id, bank_id)
        if key not in first:
            first[key], data[key] = line, tuple(values)
            ids[i] = bank_id
            continue
        if data[key] == tuple(values) and "id" not in settings.columns:
            ids[i] = None  # the same row twice (overlapping exports pasted together)
            continue
        if "id" in settings.columns:
            raise fail(f"the id column {header!r} holds {bank_id!r} on lines {first[key]} and "
                       f"{line}: each transaction needs its own id (leave the id option out "
                       "to have ids made from date, amount and description)", line)
        n = 2
        while (account_id, f"{bank_id}#{n}") in first:
            n += 1
        numbered = f"{bank_id}#{n}"  # the name a repeat had before (formers)
        first[(account_id, numbered)] = line
        if values[-1]:  # pending: numbered, as OFX's
            ids[i] = numbered
            continue
        ids[i] = repeat_external_id(bank_id, values[0],
                                    lambda name, a=account_id: (a, name) in named)
        named.add((account_id, ids[i]))
        formers[i] = numbered
    return ids


def _weak_references(table: Table, columns: dict[str, int], settings: CsvSettings) -> bool:
    """Whether the id column is a reference column found by its header (see _ids)."""
    return ("id" not in settings.columns
            and table.headers[columns["id"]].casefold() in WEAK_ID_HEADERS)


def _id_like(ref: str) -> bool:
    return bool(ref) and len(ref) >= 6 and _ID_LIKE.fullmatch(ref) is not None


def _former_reference_ids(rows: list[tuple]) -> dict[int, str]:
    """Row index → the id a reference column's row was given before references were
    read row by row (December 2026), where it was another: a file with one reference
    that was no id, or one id-like reference twice in an account, had every row take an
    id made from its date, amount and description, counted in the file's order. The
    ingest finds rows stored so (a file imported again adds nothing)."""
    refs = [(r[2], r[1] if _CARD_REFERENCE.fullmatch(r[1]) else reused_external_id(r[1], r[3]))
            for r in rows if r[1]]
    if all(map(_id_like, (r[1] for r in rows if r[1]))) and len(set(refs)) == len(refs):
        return {}  # every reference was read as an id then, as it is now
    made = ExternalIds()
    return {i: made.next(account=account_id, posted_on=posted_on, amount=amount,
                         description=description)
            for i, (_, _, account_id, posted_on, amount, description, *_) in enumerate(rows)}


def _currency(row: _Row, columns: dict[str, int], *, named: bool) -> str:
    """A currency column's ISO 4217 code ("EUR"); empty: the account's (USD by default).
    A column found by its header that holds something else ("$", "€") is not read (the
    file imported before the column was); one the user named must hold codes."""
    code = row.optional(columns.get("currency")).upper()
    if code and not (len(code) == 3 and code.isascii() and code.isalpha()):
        if not named:
            return ""
        raise fail(f"expected a three-letter currency code such as USD or EUR, not {code!r} "
                   f"(column {row._name(columns['currency'])!r})", row.line)
    return code


def _bank_id(value: str) -> str:
    """The bank's own id. Amex quotes it with an apostrophe so Excel keeps it as text;
    one longer than Transaction.external_id (120) is hashed rather than cut, since two
    cut ids could collide."""
    value = value.strip("'").strip()
    return value if len(value) <= MAX_EXTERNAL_ID else short_hash("id", value)


class _Row:
    """One record's cells with the line number every error must carry."""

    def __init__(self, line: int, cells: list[str], headers: list[str]):
        self.line, self.cells, self.headers = line, cells, headers

    def required(self, index: int, what: str) -> str:
        if index >= len(self.cells):
            raise fail(f"expected {what} in column {self._name(index)!r}, but the row has "
                       f"only {len(self.cells)} of the header's {len(self.headers)} columns"
                       f"{quote_hint(self.line, self.cells)}", self.line)
        return self.cells[index]

    def optional(self, index: int | None) -> str:
        """Exports often drop trailing empty cells: a short row means an empty value."""
        if index is None or index >= len(self.cells):
            return ""
        return self.cells[index].strip()

    def parse(self, index: int, what: str, parser):
        value = self.required(index, what)
        try:
            return parser(value)
        except FieldError as exc:
            hint = quote_hint(self.line, self.cells) if len(self.cells) != len(
                self.headers) else ""
            raise fail(f"{exc} (column {self._name(index)!r}){hint}", self.line) from exc

    def _name(self, index: int) -> str:
        return self.headers[index] if index < len(self.headers) else f"#{index + 1}"


def _is_balance_line(row: _Row, columns: dict[str, int]) -> bool:
    """Bank of America starts its rows with "Beginning balance as of 01/01/2024" and no
    amount: a balance, not a transaction. Any other row without an amount is an error."""
    if any(row.optional(columns.get(key)) for key in AMOUNT_KEYS):
        return False
    return BALANCE_LINE.match(row.optional(columns.get("description"))) is not None


def _amount(row: _Row, columns: dict[str, int], decimal: str) -> Decimal:
    """One signed amount column, or a debit (money out) and a credit (money in) column.
    Debit and credit are taken by magnitude: some banks write debits as "-12.50"."""
    if "amount" in columns:
        return row.parse(columns["amount"], "an amount",
                         lambda v: parse_amount(v, decimal=decimal))
    debit = row.optional(columns.get("debit"))
    credit = row.optional(columns.get("credit"))
    if not debit and not credit:
        names = " or ".join(repr(row.headers[columns[k]]) for k in ("debit", "credit")
                            if k in columns)
        raise fail(f"expected an amount in {names}, found none", row.line)
    value = Decimal(0)
    if credit:
        value += abs(row.parse(columns["credit"], "an amount",
                               lambda v: parse_amount(v, decimal=decimal)))
    if debit:
        value -= abs(row.parse(columns["debit"], "an amount",
                               lambda v: parse_amount(v, decimal=decimal)))
    return value


def _account(row: _Row, columns: dict[str, int], settings: CsvSettings,
             accounts: dict[str, AccountRecord]) -> str:
    """The row's account id; registers the account the first time it is seen."""
    name = row.optional(columns.get("account"))
    if name:
        external_id = account_external_id(name)
    elif settings.account_name != DEFAULT_ACCOUNT_NAME:  # the name the user gave
        external_id = named_account_id(settings.account_name)
    else:
        external_id = DEFAULT_ACCOUNT_ID
    if external_id not in accounts:
        accounts[external_id] = AccountRecord(external_id=external_id,
                                              name=name or settings.account_name)
    return external_id

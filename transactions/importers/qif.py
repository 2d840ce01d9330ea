"""Quicken Interchange Format (QIF), as Quicken, MS Money, GnuCash and many banks write it.

A QIF file is a sequence of sections, each opened by a ``!`` header line, holding
records of one-letter-coded lines ended by ``^``::

    !Account            an account record (N name, T type) that the following
    NEveryday Checking  !Type: section belongs to; files exported from Quicken list
    TBank               several, often after !Option:AutoSwitch
    ^
    !Type:Bank          transactions: D date, T (or U) amount, P payee, M memo,
    D1/15'24            N check number, L category ("Food:Groceries", "[Savings]"
    T-4.75              for a transfer), S/E/$ split lines (ignored: T is the total)
    PSTARBUCKS
    ^

Bank, CCard, Cash, Oth A and Oth L sections are imported; list sections (Cat, Class,
Memorized, Security, Prices) are skipped; investment sections are refused — their
records are trades, not cash transactions. Amounts are signed as Mint wants already.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal

from accounts.providers.base import AccountRecord, Statement, TransactionRecord

from ._fields import (
    ExternalIds,
    FieldError,
    account_external_id,
    check_options,
    fail,
    named_account_id,
    option_bool,
    option_decimal,
    option_str,
    parse_amount,
    parse_date,
    statement_cursor,
)
from ._text import decode_text
from .errors import ImportFormatError

OPTIONS = ("day_first", "date_format", "decimal", "account_name")
DEFAULT_ACCOUNT_ID = "qif"
DEFAULT_ACCOUNT_NAME = "Imported QIF"

# !Type: name (lower case) → account kind; these sections hold cash transactions.
CASH_SECTIONS = {"bank": "checking", "ccard": "credit_card", "cash": "other",
                 "oth a": "other", "oth l": "loan"}
LIST_SECTIONS = {"cat", "class", "memorized", "security", "prices", "template", "budget",
                 "invitem", "bill", "invoice"}
INVESTMENT_SECTIONS = {"invst", "port", "401k", "403b"}
ACCOUNT_KINDS = {**CASH_SECTIONS, "invst": "investment", "port": "investment",
                 "401(k)/403(b)": "investment", "mutual": "investment"}

# D lines: 1/15/2024, 01/15/24, 1/15'24, " 1/ 5' 4" (Quicken pads with spaces),
# 15.01.2024 with day_first, 2024-01-15 (GnuCash).
_QIF_DATE = re.compile(r"([0-9]{1,2})[/.\-]([0-9]{1,2})([/.\-'])([0-9]{1,4})")


@dataclass(frozen=True)
class QifSettings:
    day_first: bool = False
    date_format: str | None = None
    decimal: str = "."
    account_name: str = DEFAULT_ACCOUNT_NAME


@dataclass
class _Record:
    start: int
    fields: list[tuple[str, str, int]] = field(default_factory=list)  # code, value, line

    def first(self, *codes: str) -> tuple[str, int] | None:
        """The first value among ``codes``, in the order of ``codes`` (T before U)."""
        for code in codes:
            for found, value, line in self.fields:
                if found == code:
                    return value, line
        return None

    def text(self, code: str) -> str:
        found = self.first(code)
        return found[0].strip() if found else ""


@dataclass
class _Parser:
    """Walks the lines once; ``section`` is the current ``!`` header's meaning."""

    settings: QifSettings
    section: str | None = None  # "account", a CASH_SECTIONS key, "list", or None
    account_id: str | None = None
    accounts: dict[str, AccountRecord] = field(default_factory=dict)
    transactions: list[TransactionRecord] = field(default_factory=list)
    ids: ExternalIds = field(default_factory=ExternalIds)
    section_kinds: dict[str, str] = field(default_factory=dict)  # account → first section's
    record: _Record | None = None

    def feed(self, line_no: int, line: str) -> None:
        if not line.strip():
            return
        if line.startswith("!"):
            self.finish_record()
            self.header(line_no, line.strip())
        elif line.startswith("^"):
            self.finish_record()
        elif self.section is None:
            raise fail("expected a QIF header such as !Type:Bank before the first record",
                       line_no)
        else:
            self.record = self.record or _Record(start=line_no)
            self.record.fields.append((line[0].upper(), line[1:], line_no))

    def header(self, line_no: int, line: str) -> None:
        name, _, value = line[1:].partition(":")
        name, value = name.strip().casefold(), " ".join(value.split()).casefold()
        if name == "account":
            self.section = "account"
        elif name == "type" and value in CASH_SECTIONS:
            self.section = value
        elif name == "type" and value in LIST_SECTIONS:
            self.section = "list"
        elif name == "type" and value in INVESTMENT_SECTIONS:
            raise fail(f"investment QIF ({line}) is not supported; export the bank, card "
                       "and cash accounts only, or use OFX for investments", line_no)
        elif name in ("option", "clear"):
            return  # AutoSwitch only toggles Quicken's account-list mode
        else:
            raise fail(f"unsupported QIF header {line!r}; expected !Account or !Type: with "
                       "Bank, CCard, Cash, Oth A or Oth L", line_no)

    def finish_record(self) -> None:
        record, self.record = self.record, None
        if record is None or self.section == "list":
            return
        if self.section == "account":
            self.add_account(record)
        else:
            self.add_transaction(record)

    def add_account(self, record: _Record) -> None:
        """An account record selects the account for the sections that follow."""
        name = " ".join(record.text("N").split())
        if not name:
            raise fail("expected an account name (an N line) in this !Account record",
                       record.start)
        self.account_id = account_external_id(name)
        kind = ACCOUNT_KINDS.get(" ".join(record.text("T").split()).casefold(), "")
        self.accounts.setdefault(self.account_id, AccountRecord(
            external_id=self.account_id, name=name, kind=kind))

    def used_accounts(self) -> list[AccountRecord]:
        """Accounts that hold transactions. Quicken lists every account of the data file
        under !Option:AutoSwitch, also those exported without a single transaction;
        those would become empty accounts. An untyped account takes its section's kind."""
        return [replace(a, kind=a.kind or self.section_kinds[a.external_id])
                for a in self.accounts.values() if a.external_id in self.section_kinds]

    def add_transaction(self, record: _Record) -> None:
        account_id = self.current_account()
        self.section_kinds.setdefault(account_id, CASH_SECTIONS[self.section])
        posted_on = self.date(record)
        amount = self.amount(record)
        description = _description(record)
        self.transactions.append(TransactionRecord(
            account_external_id=account_id,
            external_id=self.ids.next(account=account_id, posted_on=posted_on, amount=amount,
                                      description=description),
            posted_on=posted_on, amount=amount, description=description,
            memo=_memo(record, description),
            source_category=_category(record.text("L")),
        ))

    def current_account(self) -> str:
        """The selected !Account, or one default account for single-account files."""
        if self.account_id is not None:
            return self.account_id
        # A name the user gave is the account's identity: files imported under one name
        # share an account, files under another name do not.
        named = self.settings.account_name != DEFAULT_ACCOUNT_NAME
        external_id = named_account_id(self.settings.account_name) if named else (
            DEFAULT_ACCOUNT_ID)
        if external_id not in self.accounts:
            self.accounts[external_id] = AccountRecord(
                external_id=external_id, name=self.settings.account_name, kind="")
        return external_id

    def date(self, record: _Record) -> date:
        found = record.first("D")
        if found is None:
            raise fail("expected a date (a D line) in this transaction", record.start)
        value, line = found
        try:
            return parse_qif_date(value, day_first=self.settings.day_first,
                                  date_format=self.settings.date_format)
        except FieldError as exc:
            raise fail(str(exc), line) from exc

    def amount(self, record: _Record) -> Decimal:
        found = record.first("T", "U")
        if found is None:
            raise fail("expected an amount (a T line) in this transaction", record.start)
        value, line = found
        try:
            return parse_amount(value, decimal=self.settings.decimal)
        except FieldError as exc:
            raise fail(str(exc), line) from exc


def parse_qif(data: bytes, options: dict | None = None) -> Statement:
    """A QIF file → Statement; several accounts when it holds !Account blocks."""
    parser = _Parser(_settings(check_options(options, OPTIONS)))
    for line_no, line in enumerate(decode_text(data).split("\n"), start=1):
        parser.feed(line_no, line)
    parser.finish_record()  # the last record may lack its closing ^
    if parser.section is None:
        raise ImportFormatError("expected a QIF file starting with !Type:Bank, !Type:CCard "
                                "or !Account; found no QIF header")
    return Statement(accounts=parser.used_accounts(),
                     transactions=parser.transactions,
                     cursor=statement_cursor(parser.transactions))


def _settings(options: dict) -> QifSettings:
    return QifSettings(
        day_first=option_bool(options, "day_first"),
        date_format=option_str(options, "date_format"),
        decimal=option_decimal(options) or ".",
        account_name=option_str(options, "account_name") or DEFAULT_ACCOUNT_NAME,
    )


def parse_qif_date(text: str, *, day_first: bool = False, date_format: str | None = None) -> date:
    """QIF dates: month first unless ``day_first``; a year after an apostrophe is in
    the 2000s (Quicken writes 1/15'24 and even 1/ 5' 4 for 2004-01-05); a two-digit
    year after a slash pivots like strftime's %y (69 to 99 → 1900s)."""
    if date_format:
        return parse_date(text, date_format=date_format)
    compact = re.sub(r"\s+", "", text)
    match = _QIF_DATE.fullmatch(compact)
    if match is None:
        return parse_date(text, day_first=day_first)  # ISO and other spelled-out forms
    first, second, separator, year_text = match.groups()
    month, day = (int(second), int(first)) if day_first else (int(first), int(second))
    year = int(year_text)
    if len(year_text) <= 2:
        year += 2000 if separator == "'" or year < 69 else 1900
    try:
        return date(year, month, day)
    except ValueError as exc:
        order = "DD/MM/YYYY" if day_first else "MM/DD/YYYY (pass day_first for DD/MM/YYYY)"
        raise FieldError(f"expected a date as {order}, found {text.strip()!r}") from exc


def _description(record: _Record) -> str:
    """The payee; a memo or the check number stand in when a bank leaves it empty."""
    number = record.text("N")
    return (record.text("P") or record.text("M")
            or (f"Check {number}" if number.isdigit() else number))


def _memo(record: _Record, description: str) -> str:
    """The memo and the check number, unless they already serve as the description."""
    number = record.text("N")
    parts = (record.text("M"), f"Check {number}" if number.isdigit() else "")
    return " · ".join(part for part in parts if part and part != description)


def _category(value: str) -> str:
    """"Food:Groceries/Business" → "Groceries" (the leaf, which is what the taxonomy
    names; the /class suffix is Quicken's tagging); "[Savings]" is a transfer."""
    category = value.split("/", 1)[0].strip()
    if category.startswith("[") and category.endswith("]"):
        return "Transfer"
    return category.rsplit(":", 1)[-1].strip()

"""Which parser reads an upload: detection by content first, then by file name.

Content wins over the name because people rename files ("export.csv" that is really
Mint's export, a ".txt" QIF); the name decides only when the content is not telling.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from accounts.providers.base import Statement

from . import csv_import, mint_csv, qif
from ._fields import check_options, option_bool, option_str
from ._text import head_text
from .errors import ImportFormatError

FORMATS = ("ofx", "qif", "csv", "mint")
SUPPORTED = "OFX/QFX, QIF, CSV (with a column mapping) or Mint's CSV export"
EXTENSIONS = {".ofx": "ofx", ".qfx": "ofx", ".qif": "qif", ".csv": "csv"}
OPTIONS = frozenset((*csv_import.OPTIONS, *qif.OPTIONS, *mint_csv.OPTIONS))
# The options each format reads. OFX carries its accounts, dates and signs itself; only
# ``negate`` applies, for card files that write purchases as positive amounts.
FORMAT_OPTIONS = {"ofx": ("negate",), "qif": qif.OPTIONS, "csv": csv_import.OPTIONS,
                  "mint": mint_csv.OPTIONS}
FORMAT_NAMES = {"ofx": "an OFX/QFX file", "qif": "a QIF file", "csv": "a bank CSV",
                "mint": "Mint's CSV export"}
# Options that change how values are read: one the format does not read is refused, not
# dropped, or a file would import with other signs or dates than the user asked for.
# (A column mapping the format has no use for is harmless and passes.)
VALUE_OPTIONS = {"negate": "its signs", "day_first": "its dates", "date_format": "its dates",
                 "decimal": "its amounts"}
# Files people upload by mistake: say what they are instead of "unknown format".
NOT_TEXT = {b"%PDF": "a PDF statement", b"PK\x03\x04": "an Excel (.xlsx) or zip file",
            b"\xd0\xcf\x11\xe0": "an old Excel (.xls) file"}


def detect_format(data: bytes, *, filename: str = "") -> str:
    """One of ``FORMATS`` for an upload, or ImportFormatError naming the supported ones."""
    for magic, what in NOT_TEXT.items():
        if data.startswith(magic):
            raise ImportFormatError(f"this looks like {what}; export {SUPPORTED} instead")
    head = head_text(data)
    if _binary(head):
        raise ImportFormatError(f"this is not a text file (a statement export is text); "
                                f"export {SUPPORTED} instead")
    found = _by_content(head) or _by_extension(filename) or _csv_like(head)
    if found is None:
        raise ImportFormatError(f"could not recognise the file format; supported: {SUPPORTED}"
                                f" (format: {', '.join(FORMATS)})")
    return found


_TEXT_CONTROLS = "\t\n\r\x0b\x0c\x1a"  # tabs, line ends, form feed, FileMaker's VT, DOS EOF


def _binary(head: str) -> bool:
    """More than 20 control characters, and more than 1 % of the first 2,000 characters
    (tabs, line ends, form feeds, vertical tabs and a DOS end-of-file mark aside): no
    bank export has them, any binary file does."""
    sample = head[:2000]
    controls = sum(1 for c in sample if (c < " " and c not in _TEXT_CONTROLS) or c == "\x7f")
    return controls > 20 and controls * 100 > len(sample)


def _by_content(head: str) -> str | None:
    upper = head.lstrip().upper()
    if upper.startswith("OFXHEADER") or "<OFX>" in upper or "<?OFX" in upper:
        return "ofx"
    if upper.startswith(("!TYPE:", "!ACCOUNT", "!OPTION:")):
        return "qif"
    first_line = next((line for line in head.split("\n") if line.strip()), "")
    if mint_csv.is_mint_header(first_line):
        return "mint"
    return None


def _by_extension(filename: str) -> str | None:
    name = (filename or "").strip().lower()
    return next((fmt for ext, fmt in EXTENSIONS.items() if name.endswith(ext)), None)


def _csv_like(head: str) -> str | None:
    """Text whose first line has a separator is worth a try as CSV: the CSV parser then
    explains which columns it could not find, which helps more than "unknown format"."""
    if "\x00" in head:
        return None
    first_line = next((line for line in head.split("\n") if line.strip()), "")
    return "csv" if any(sep in first_line for sep in (",", ";", "\t")) else None


def parse_file(
    data: bytes,
    *,
    filename: str = "",
    format: str | None = None,
    options: dict | None = None,
    into_account: bool = False,
) -> Statement:
    """Parses an upload into a Statement; every failure is an ImportFormatError.

    ``options`` is validated against every format's option names, so a typo is refused
    while one options object can still be passed whatever the format turns out to be.
    ``into_account``: the user chose the account the rows go to, so an OFX statement
    that names none is read too (see ``parse_ofx``).
    """
    options = check_options(options, OPTIONS)
    if format is not None and not isinstance(format, str):
        raise ImportFormatError(f"format must be one of {', '.join(FORMATS)}")
    fmt = (format or detect_format(data, filename=filename)).strip().lower()
    parser = _parser(fmt)
    known = FORMAT_OPTIONS[fmt]
    for name in VALUE_OPTIONS:
        given = (option_bool(options, name) if name in ("negate", "day_first")
                 else bool(option_str(options, name)))
        if given and name not in known:
            raise ImportFormatError(
                f"option {name!r} does not apply to {FORMAT_NAMES[fmt]}, which writes "
                f"{VALUE_OPTIONS[name]} its own way; "
                f"{FORMAT_NAMES[fmt]} takes: {', '.join(known)}")
    if fmt == "ofx":
        statement = parser(data, unnamed_accounts=into_account)
        if option_bool(options, "negate"):
            statement = _negated(statement)
    else:
        statement = parser(data, {k: v for k, v in options.items() if k in known})
    if into_account:
        _refuse_ids_shared_by_accounts(statement)
    return statement


def _negated(statement: Statement) -> Statement:
    """Every amount flipped, for a card file that writes purchases as positive."""
    return replace(statement, transactions=[
        replace(record, amount=-record.amount if record.amount else record.amount)
        for record in statement.transactions])


def _refuse_ids_shared_by_accounts(statement: Statement) -> None:
    """A file of several accounts goes into the one account the user chose: an id that
    two of its accounts both use (banks number transactions per account) would make one
    row replace the other there, and a transaction would be lost without a word."""
    first_account: dict[str, str] = {}
    for record in statement.transactions:
        account = first_account.setdefault(record.external_id, record.account_external_id)
        if account != record.account_external_id:
            accounts = sorted({r.account_external_id or "(no id)"
                               for r in statement.transactions})
            raise ImportFormatError(
                f"the file holds {len(accounts)} accounts ({', '.join(accounts)}) and two of "
                f"them both have a transaction with the id {record.external_id!r}: in one "
                "account, one would replace the other. Import the file without choosing an "
                "account, and each of its accounts gets its own")


def _parser(fmt: str) -> Callable[..., Statement]:
    if fmt == "ofx":
        from .ofx import parse_ofx  # lazy: written alongside, optional at import time

        return parse_ofx
    parsers = {"qif": qif.parse_qif, "csv": csv_import.parse_csv,
               "mint": mint_csv.parse_mint_csv}
    if fmt not in parsers:
        raise ImportFormatError(f"unknown format {fmt!r}; supported formats: "
                                f"{', '.join(FORMATS)}")
    return parsers[fmt]

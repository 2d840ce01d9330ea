"""Field parsers and id helpers shared by the CSV, QIF and Mint CSV importers.

Every parser here raises ``FieldError`` with a message that says what was expected; the
format parsers add the line number and turn it into an ``ImportFormatError``. Money is
parsed from text straight into ``Decimal`` — a float never holds an amount.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from hashlib import blake2b

from accounts.providers.base import Statement, TransactionRecord

from .errors import ImportFormatError

# Transaction.amount is DECIMAL(14, 2): anything this large is a misread column.
MAX_AMOUNT = Decimal(10) ** 12
# FinancialAccount.external_id is 100 characters; longer account names get a hash.
MAX_ACCOUNT_ID = 100
CENT = Decimal("0.01")


class FieldError(ValueError):
    """One value that cannot be read; the caller knows the line."""


def fail(message: str, line: int | None) -> ImportFormatError:
    return ImportFormatError(message, line=line)


def refuse_unclosed_quote(text: str, line: int, cells: list[str], *, text_line: int = 1
                          ) -> None:
    """Raises when the last record of a CSV text — ``cells``, starting on physical line
    ``line`` (``text`` starting on ``text_line``) — ends in a quote that never closes.

    Python's csv module reads such a field to the end of the file, line ends and all,
    without a word: the row then seemed short ("only 2 of the header's 3 columns"), or,
    the quote being in the last column, the rows after it became its text. The open
    field is the record's last; it swallowed lines when it holds a line end with more
    than blanks after it, and its quote never closed when the record's text holds an odd
    number of quotes (a closed field has two, a doubled quote inside it two more)."""
    last = cells[-1] if cells else ""
    if "\n" not in last or not last.split("\n", 1)[1].strip():
        return
    rest = "\n".join(text.split("\n")[line - text_line:])
    if rest.count('"') % 2 == 0:
        return
    opened = line + sum(cell.count("\n") for cell in cells[:-1])
    raise fail(f"a quote opened on line {opened} never closes: every line after it was read "
               "as part of one value. Close the quote, or remove it", line)


def quote_hint(line: int, cells: list[str]) -> str:
    """For an error on a row of the wrong number of cells: when one of its cells holds a
    line end, a quote that should have closed on its line probably did not (a quoted
    file then pairs it with the next line's first quote), which explains the count."""
    spanning = [i for i, cell in enumerate(cells) if "\n" in cell]
    if not spanning:
        return ""
    opened = line + sum(cell.count("\n") for cell in cells[:spanning[-1]])
    end = line + sum(cell.count("\n") for cell in cells)
    return (f"; a quote opened on line {opened} does not close on its line, so lines "
            f"{line} to {end} were read as one row: close it")


# ---------------------------------------------------------------------------- amounts

_SPACES = re.compile(r"[\s\u00a0\u202f\u2009]+")
# "USD 12.50", "$12.50", "US$12.50", "€ 12,50" / "12,50 €", "12.50 USD". A code must be
# set apart by a space, so a mis-mapped text column ("ABC12") is not read as 12.
_CURRENCY_PREFIX = re.compile(r"^(?:[A-Z]{3}\s+|[A-Z]{0,2}[$€£¥]\s*)")
_CURRENCY_SUFFIX = re.compile(r"(?:\s*[$€£¥]|\s+[A-Z]{3})$")
# Integer part with optional thousands grouping (by ",", "'", "." or a space), then an
# optional fraction. The grouping must be regular, so "12,50" is *not* read as 1250
# when the file uses a decimal comma and the caller assumed a point.
_NUMBER = {
    ".": re.compile(r"([0-9]{1,3}(?:,[0-9]{3})+|[0-9]{1,3}(?:'[0-9]{3})+"
                    r"|[0-9]{1,3}(?: [0-9]{3})+|[0-9]*)(?:\.([0-9]+))?"),
    ",": re.compile(r"([0-9]{1,3}(?:\.[0-9]{3})+|[0-9]{1,3}(?:'[0-9]{3})+"
                    r"|[0-9]{1,3}(?: [0-9]{3})+|[0-9]*)(?:,([0-9]+))?"),
}
_PLAIN = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_DECIMAL_HINT = re.compile(r"([.,])[0-9]{1,2}[^0-9]*$")


def parse_amount(text: str, *, decimal: str = ".") -> Decimal:
    """Reads a signed amount the way bank exports write it.

    Accepts "$1,234.56", "-12.50", "12.50-", "(12.50)" (accounting negative),
    "USD 12.50", "€ 12,50", "1.234,56" with ``decimal=","``, and stray
    spaces. The sign is returned as written; the caller applies the file's convention.
    """
    if decimal == "." and _PLAIN.fullmatch(text):  # most rows: "-12.50"; ~3x faster
        return _checked(Decimal(text), text)
    cleaned = _SPACES.sub(" ", text.replace("\u2212", "-")).strip()
    if not cleaned:
        raise FieldError("expected an amount, found nothing")
    negative, body = _split_sign(cleaned)
    body = _CURRENCY_SUFFIX.sub("", _CURRENCY_PREFIX.sub("", body)).strip()
    inner, body = _split_sign(body)  # "$-12.50", "$(12.50)"
    if inner is not None:
        if negative is not None:
            raise FieldError(f"expected an amount, found {text.strip()!r} (two signs)")
        negative = inner
    value = _number(body, decimal, original=text.strip())
    return _checked(-value if negative else value, text)


def _checked(value: Decimal, text: str) -> Decimal:
    # Compared as stored (to the cent): 999999999999.999 rounds up to the bound.
    if abs(value) >= MAX_AMOUNT or abs(value).quantize(CENT) >= MAX_AMOUNT:
        raise FieldError(f"amount {text.strip()!r} is too large to be a transaction")
    return value if value else abs(value)  # never a "-0.00"


def _split_sign(text: str) -> tuple[bool | None, str]:
    """Peels one sign marker off: parentheses, a trailing or leading +/-.
    Returns (negative, or None when unsigned; the rest)."""
    if len(text) > 1 and text.startswith("(") and text.endswith(")"):
        return True, text[1:-1].strip()
    if text.endswith(("-", "+")):
        return text.endswith("-"), text[:-1].strip()
    if text.startswith(("-", "+")):
        return text.startswith("-"), text[1:].strip()
    return None, text


def _number(body: str, decimal: str, *, original: str) -> Decimal:
    match = _NUMBER[decimal].fullmatch(body)
    if match is None or not (match.group(1) or match.group(2)):
        example = "1,234.56" if decimal == "." else "1.234,56"
        hint = ""
        found = _DECIMAL_HINT.search(body)
        if found and found.group(1) != decimal:
            other = "comma" if decimal == "." else "point"
            hint = f"; if the file uses a decimal {other}, pass decimal={found.group(1)!r}"
        raise FieldError(f"expected an amount like {example}, found {original!r}{hint}")
    whole = re.sub(r"[^0-9]", "", match.group(1)) or "0"
    fraction = match.group(2)
    return Decimal(f"{whole}.{fraction}" if fraction else whole)


def guess_decimal(values: Iterable[str]) -> str:
    """"," when the amounts look European ("12,50", "1.234,56") and none looks like
    "12.50"; "." otherwise. "1,234" alone is ambiguous and counts for neither."""
    comma = point = 0
    for value in values:
        found = _DECIMAL_HINT.search(value.strip())
        if found is None:
            continue
        if found.group(1) == ",":
            comma += 1
        else:
            point += 1
    return "," if comma and not point else "."


# ------------------------------------------------------------------------------ dates

_ISO = ("%Y-%m-%d", "%Y/%m/%d")
_MONTH_FIRST = ("%m/%d/%Y", "%m/%d/%y", "%m-%d-%Y", "%m-%d-%y")
_DAY_FIRST = ("%d/%m/%Y", "%d/%m/%y", "%d.%m.%Y", "%d.%m.%y", "%d-%m-%Y", "%d-%m-%y")
_NAMED = ("%d %b %Y", "%d-%b-%Y", "%d-%b-%y", "%d %B %Y", "%b %d, %Y", "%b %d %Y",
          "%B %d, %Y", "%B %d %Y")
_TIME_SUFFIX = re.compile(r"(?:T|\s+)[0-9]{1,2}:[0-9]{2}.*$")


def parse_date(text: str, *, date_format: str | None = None, day_first: bool = False) -> date:
    """Reads a date: with ``date_format`` exactly that strftime pattern, otherwise ISO,
    then MM/DD/YYYY (US banks) — or DD/MM/YYYY instead when ``day_first`` — then
    spelled-out months. "01/02/2024" is never guessed: the option decides."""
    return _parse_date(" ".join(text.split()), date_format, day_first)


# A statement repeats a few hundred distinct dates over thousands of rows, and strptime
# costs ~20 µs a try: caching cuts a 150,000-row file from ~12 s to ~5 s.
@lru_cache(maxsize=4096)
def _parse_date(value: str, date_format: str | None, day_first: bool) -> date:
    if not value:
        raise FieldError("expected a date, found nothing")
    if date_format:
        found = _strptime(value, (date_format,)) or _strptime(_TIME_SUFFIX.sub("", value),
                                                             (date_format,))
        if found is None:
            raise FieldError(f"expected a date in the format {date_format!r}, found {value!r}")
        return found
    formats = (*_ISO, *(_DAY_FIRST if day_first else _MONTH_FIRST), *_NAMED)
    found = _strptime(value, formats) or _strptime(_TIME_SUFFIX.sub("", value), formats)
    if found is None and re.fullmatch(r"[0-9]{8}", value):
        found = _strptime(value, ("%Y%m%d",))
    if found is None:
        # Said for both faces: the import form's "Dates are written" choice, and the
        # API's day_first and date_format options.
        if day_first:
            raise FieldError(f"expected a date like 2024-01-15 or 15/01/2024, found {value!r} "
                             "(dates written another way need their format: date_format "
                             "in the API)")
        raise FieldError(f"expected a date like 2024-01-15 or 01/15/2024, found {value!r} (a "
                         "file that writes the day first, as 15/01/2024, needs \"Dates are "
                         "written: Day first\", day_first in the API)")
    return found


# A date of numbers only, day and month in either order: 05/03/2024, 13.03.24 10:30.
NUMERIC_DATE = re.compile(r"\s*([0-9]{1,2})[/.-]([0-9]{1,2})[/.-][0-9]{2,4}\b.*")
DAY_FIRST_READ_NOTE = (
    "The dates were read day first (05/03/2024: 5 March): some, such as {example!r}, can "
    "only be read that way, and every date of the file can.")


def only_day_first(values: Iterable[str]) -> str | None:
    """For a file read without ``day_first`` or a format: the first of its dates that
    only reads day first (13/03/2024), when every one of its dates reads day first too;
    else None — no evidence, or evidence both ways (01/15/2024 and 13/03/2024), where the
    error on the date that does not read month first is the clearer answer."""
    values = [value for value in values if value]
    example = next((value for value in values if (m := NUMERIC_DATE.fullmatch(value))
                    and int(m.group(1)) > 12), None)
    if example is None:
        return None
    for value in values:
        try:
            parse_date(value, day_first=True)
        except FieldError:
            return None
    return " ".join(example.split())


def _strptime(value: str, formats: Iterable[str]) -> date | None:
    for fmt in formats:
        try:
            return datetime.strptime(value, fmt).date()
        except (ValueError, OverflowError):
            continue
    return None


# -------------------------------------------------------------------------------- ids


def normalise_text(text: str) -> str:
    """Case and runs of whitespace do not make two descriptions different."""
    return " ".join(text.split()).casefold()


def short_hash(*parts: str) -> str:
    key = "\x1f".join(parts).encode("utf-8", errors="surrogatepass")
    return "h:" + blake2b(key, digest_size=10).hexdigest()


class ExternalIds:
    """Deterministic ids for rows of formats that carry none (CSV, QIF, Mint CSV).

    The id hashes (account, date, amount, description) and the row's occurrence index
    among identical rows of the same file: re-importing a file — or an export of an
    overlapping period — yields the same ids, hence no new rows, while two real
    identical coffees on one day stay two transactions.
    """

    def __init__(self) -> None:
        self._seen: Counter[str] = Counter()

    def next(self, *, account: str, posted_on: date, amount: Decimal, description: str) -> str:
        key = "\x1f".join((account, posted_on.isoformat(), f"{amount.quantize(CENT)}",
                           normalise_text(description)))
        occurrence = self._seen[key]
        self._seen[key] += 1
        return short_hash(key, str(occurrence))

    def for_rows(self, rows: list[tuple[str, date, Decimal, str, bool] | None]
                 ) -> list[str | None]:
        """The ids of a file's rows, given as (account, date, amount, description,
        pending), None for a row that has an id of its own. The posted rows are counted
        first, then the pending ones: counted in the file's order, a posted coffee listed
        below an equal pending one (an export newest first) took the number the pending
        one leaves when it posts on a later day, and the next export stored that coffee
        twice. A file with no pending row listed above an equal posted one (all but
        those) gets the ids it got before."""
        ids: list[str | None] = [None] * len(rows)
        for pending in (False, True):
            for i, row in enumerate(rows):
                if row is not None and row[4] is pending:
                    ids[i] = self.next(account=row[0], posted_on=row[1], amount=row[2],
                                       description=row[3])
        return ids


# A posted row sent again under its id, more than this many days away from its stored
# date and with another description, is another transaction under a reused id (banks
# that number each statement's rows from 1 again), not a correction of the stored one.
REUSED_ID_DAYS = 7


def is_reused_id(*, old_day: date, old_text: str, new_day: date, new_text: str) -> bool:
    """Whether a posted row under a stored posted row's id is another transaction."""
    return abs((new_day - old_day).days) > REUSED_ID_DAYS and old_text != new_text


def reused_external_id(external_id: str, posted_on: date) -> str:
    """The id of a transaction whose bank id was reused: the same for it in one file
    (OFX) and across files (the ingest, which writes it in SQL as ``left(id, 108) || '~'
    || to_char(day, 'YYYY-MM-DD')``), so that importing it again finds it."""
    return f"{external_id[:108]}~{posted_on.isoformat()}"


def repeat_external_id(external_id: str, posted_on: date, taken: Callable[[str], bool]) -> str:
    """The id of a posted row listed under a bank id an earlier row of the same file has
    (a buggy bank's repeat): the id with the row's day, as the ingest names a reused id
    across files (``reused_external_id``), so that the name depends on the row, not on
    which other rows the file holds (a later file that lists this row alone, under the
    plain id, finds it: see transactions_ingest). A third row of that id on that day,
    which ``taken`` says has the name already, takes ``#2``, ``#3``…"""
    name = reused_external_id(external_id, posted_on)
    n, candidate = 1, name
    while taken(candidate):
        n += 1
        candidate = f"{name[:119 - len(str(n))]}#{n}"
    return candidate


def rehome(statement: Statement, moves: dict[str, str]) -> Statement:
    """The statement with the accounts ``moves`` names (old id → new id) under their new
    ids, and the ids made for their rows (``ExternalIds``, "h:…") made again, as the file
    would have given them under the new id. The bank's own ids stay."""
    made = ExternalIds().for_rows([
        (moves[r.account_external_id], r.posted_on, r.amount, r.description, r.pending)
        if r.account_external_id in moves and r.external_id.startswith("h:") else None
        for r in statement.transactions])
    formers = ExternalIds()  # a former made id was counted in the file's order
    transactions = []
    for record, external_id in zip(statement.transactions, made, strict=True):
        new = moves.get(record.account_external_id)
        if new is None:
            transactions.append(record)
            continue
        former = record.former_external_id
        if former.startswith("h:"):
            former = formers.next(account=new, posted_on=record.posted_on,
                                  amount=record.amount, description=record.description)
        transactions.append(replace(record, account_external_id=new,
                                    external_id=external_id or record.external_id,
                                    former_external_id=former))
    accounts = [replace(a, external_id=moves.get(a.external_id, a.external_id))
                for a in statement.accounts]
    return replace(statement, accounts=accounts, transactions=transactions)


def account_external_id(name: str) -> str:
    """An account's id from its display name; hashed when it would not fit the column."""
    clean = " ".join(name.split())
    return clean if len(clean) <= MAX_ACCOUNT_ID else short_hash("account", clean)


NAMED_ACCOUNT_PREFIX = "name:"


def named_account_id(name: str) -> str:
    """The id of the account a user names for a file (``account_name``): the name in any
    case and spacing is one account ("Chase Checking", "chase checking "), as typed again
    and again in a form."""
    return account_external_id(NAMED_ACCOUNT_PREFIX + " ".join(name.split()).casefold())


def guess_account_kind(name: str) -> str:
    """Only files that name accounts without typing them (Mint CSV) need this; the kind
    decides nothing about signs, it only groups the account on the dashboard."""
    lowered = name.casefold()
    if any(word in lowered for word in ("credit", "card", "visa", "mastercard", "amex")):
        return "credit_card"
    if "saving" in lowered:
        return "savings"
    return "checking"


def statement_cursor(transactions: list[TransactionRecord]) -> str:
    """The latest posted date, ISO: what a file import covered up to."""
    if not transactions:
        return ""
    return max(t.posted_on for t in transactions).isoformat()


# ---------------------------------------------------------------------------- options

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off", ""}


def option_bool(options: dict, key: str) -> bool:
    """JSON gives booleans, HTML forms give strings; anything else is a mistake."""
    value = options.get(key, False)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise ImportFormatError(f"option {key!r} must be true or false, not {value!r}")


def option_bool_given(options: dict, key: str) -> bool | None:
    """``option_bool``, but None when the option was not given (left out, null or ""):
    for a choice the file can make itself unless the person made it."""
    if options.get(key) in (None, ""):
        return None
    return option_bool(options, key)


def option_str(options: dict, key: str) -> str | None:
    """A text option; None or "" mean "not given"."""
    value = options.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ImportFormatError(f"option {key!r} must be text, not {value!r}")
    return value.strip() or None


def option_decimal(options: dict) -> str | None:
    value = option_str(options, "decimal")
    if value not in (None, ".", ","):
        raise ImportFormatError(f"option 'decimal' must be '.' or ',', not {value!r}")
    return value


def check_options(options: object, known: Iterable[str]) -> dict:
    """Options must be a mapping of known names: a typo ("delimeter") is an error, not a
    silently ignored setting."""
    if options is None:
        return {}
    if not isinstance(options, dict):
        raise ImportFormatError("options must be an object of option names and values")
    unknown = sorted(str(key) for key in options if key not in set(known))
    if unknown:
        raise ImportFormatError(
            f"unknown option(s) {', '.join(unknown)}; known options: {', '.join(sorted(known))}"
        )
    return options

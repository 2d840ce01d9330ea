"""OFX and QFX files (and OFX Direct Connect answers) to a provider ``Statement``.

Both dialects are read into one small tree of ``_Node`` (tag, text, children, line):

- OFX 1.x is SGML: a ``KEY:VALUE`` header, then tags whose leaf elements are never
  closed. Banks add their own damage — aggregates left open, blank lines, CRLF, a
  header that lies about the character set — so the tree is built by a tolerant
  tokenizer (``_SGMLTreeBuilder``) rather than ofxtools, which refuses such files (and
  converts times to UTC, which moves an evening transaction to the next day).
- OFX 2.x is XML and goes through defusedxml with DTDs and entities forbidden: OFX never
  needs them, and they are how "billion laughs" files blow up memory. XML that is
  merely malformed (a raw ``&`` in a payee name) is retried with the tolerant tokenizer.

The mapping (``_statement``) then reads only the elements Mint needs, checking each
value and naming the line of the offending tag in every error.
"""

from __future__ import annotations

import bisect
import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal, InvalidOperation
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from accounts.providers.base import AccountRecord, Statement, TransactionRecord

from ._fields import (
    CENT,
    MAX_ACCOUNT_ID,
    MAX_AMOUNT,
    is_reused_id,
    repeat_external_id,
    reused_external_id,
)
from .errors import ImportFormatError

__all__ = [
    "AUTH_FAILURE_CODES",
    "AccountInfo",
    "name_accounts",
    "ofx_account_infos",
    "ofx_signon_status",
    "parse_ofx",
]

# Signon codes that mean "these credentials are refused" (OFX 2.2 spec, 2.5.1.6):
# 15500 signon invalid, 15501 customer account in use, 15502 USERPASS lockout,
# 15510 CLIENTUID error.
AUTH_FAILURE_CODES = frozenset({15500, 15501, 15502, 15510})

# Codes that are informational, not failures (0 success, 1 client up to date).
_OK_CODES = frozenset({0, 1})

_STATUS_TEXT = {
    2000: "general error",
    2003: "account not found",
    2019: "duplicate request",
    15000: "the user must change the password",
    15500: "signon invalid (wrong login or password)",
    15501: "customer account already in use",
    15502: "password locked out",
    15510: "CLIENTUID error",
}

_BANK_KINDS = {
    "CHECKING": "checking",
    "SAVINGS": "savings",
    "MONEYMRKT": "savings",
    "CREDITLINE": "checking",
    "CD": "savings",
}

DEFAULT_ACCOUNT_ID = "ofx"
DEFAULT_ACCOUNT_NAME = "Imported OFX"
_KIND_LABELS = {"checking": "Checking", "savings": "Savings", "credit_card": "Credit card"}

# Aggregates: elements that hold other elements. Knowing them lets the tokenizer tell an
# empty leaf (``<MEMO>`` followed by the next tag) from an aggregate that opens.
_AGGREGATES = frozenset({
    "OFX", "SIGNONMSGSRSV1", "SONRS", "STATUS", "FI", "SIGNUPMSGSRSV1", "ACCTINFOTRNRS",
    "ACCTINFORS", "ACCTINFO", "BANKACCTINFO", "CCACCTINFO", "INVACCTINFO", "BPACCTINFO",
    "BANKMSGSRSV1", "STMTTRNRS", "STMTRS", "BANKACCTFROM", "BANKACCTTO", "CCACCTFROM", "CCACCTTO",
    "BANKTRANLIST", "BANKTRANLISTP", "STMTTRN", "STMTTRNP", "LEDGERBAL", "AVAILBAL", "BALLIST",
    "BAL", "PAYEE", "CURRENCY", "ORIGCURRENCY", "CREDITCARDMSGSRSV1", "CCSTMTTRNRS", "CCSTMTRS",
    "INVSTMTMSGSRSV1", "INVSTMTTRNRS", "INVSTMTRS", "INVACCTFROM", "MSGSETLIST", "MSGSETCORE",
    "SIGNONINFOLIST", "SIGNONINFO",
})

# Where an aggregate belongs. When one opens while its parent's sibling is still open
# (the bank forgot ``</BANKTRANLIST>`` before ``<LEDGERBAL>``), the open elements are
# closed until one of these parents is on top again.
_PARENTS = {
    "STMTTRN": {"BANKTRANLIST"},
    "BANKTRANLIST": {"STMTRS", "CCSTMTRS"},
    "LEDGERBAL": {"STMTRS", "CCSTMTRS"},
    "AVAILBAL": {"STMTRS", "CCSTMTRS"},
    "BALLIST": {"STMTRS", "CCSTMTRS"},
    "BANKACCTFROM": {"STMTRS"},
    "CCACCTFROM": {"CCSTMTRS"},
    "STMTRS": {"STMTTRNRS"},
    "CCSTMTRS": {"CCSTMTTRNRS"},
    "STMTTRNRS": {"BANKMSGSRSV1"},
    "CCSTMTTRNRS": {"CREDITCARDMSGSRSV1"},
    "SONRS": {"SIGNONMSGSRSV1"},
    "SIGNONMSGSRSV1": {"OFX"},
    "BANKMSGSRSV1": {"OFX"},
    "CREDITCARDMSGSRSV1": {"OFX"},
    "SIGNUPMSGSRSV1": {"OFX"},
    "INVSTMTMSGSRSV1": {"OFX"},
    "ACCTINFO": {"ACCTINFORS"},
}


@dataclass
class _Node:
    tag: str
    line: int
    text: str = ""
    children: list[_Node] = field(default_factory=list)
    closed: bool = False

    def child(self, tag: str) -> _Node | None:
        return next((c for c in self.children if c.tag == tag), None)

    def value(self, tag: str) -> str:
        found = self.child(tag)
        return found.text if found else ""

    def find(self, path: str) -> _Node | None:
        node: _Node | None = self
        for tag in path.split("/"):
            node = node.child(tag) if node else None
        return node

    def value_path(self, path: str) -> str:
        node = self.find(path)
        return node.text if node else ""

    def iter(self, tag: str):
        """Every descendant named ``tag``, in document order, not descending into a match
        (a statement never holds another statement)."""
        for c in self.children:
            if c.tag == tag:
                yield c
            else:
                yield from c.iter(tag)


@dataclass(frozen=True, slots=True)
class AccountInfo:
    """One account from an ACCTINFO answer: what to ask statements for, and its name."""

    external_id: str
    kind: str
    acctid: str
    bankid: str = ""
    accttype: str = ""
    description: str = ""


# --------------------------------------------------------------------------- public


def parse_ofx(data: bytes, *, unnamed_accounts: bool = False) -> Statement:
    """The accounts and transactions of every bank and card statement in an OFX file.

    Raises ImportFormatError for anything that is not a readable OFX statement,
    including a signon refused by the bank. A statement that names no account (no
    ``<ACCTID>``) is refused, unless ``unnamed_accounts`` (an import into an account the
    user chose, where the rows go anyway): it then gets an account of its own, "ofx-1",
    "ofx-2"… in the order of the file."""
    root = _read(data)
    _raise_for_signon(root)
    statement = _statement(root, unnamed_accounts=unnamed_accounts)
    if not statement.accounts:
        raise _no_statement_error(root)
    return statement


def ofx_signon_status(data: bytes) -> tuple[int, str]:
    """(code, message) of the signon answer; (0, "") or (1, …) mean success.

    The provider uses it to tell refused credentials (``AUTH_FAILURE_CODES``) from other
    failures before parsing statements."""
    return _signon_status(_read(data))


def ofx_account_infos(data: bytes) -> list[AccountInfo]:
    """The accounts listed in an ACCTINFO answer (account discovery), bank and card."""
    root = _read(data)
    _raise_for_signon(root)
    infos = []
    for info in root.iter("ACCTINFO"):
        description = _clean(info.value("DESC"))
        bank_info, card_info = info.child("BANKACCTINFO"), info.child("CCACCTINFO")
        if not _downloadable(bank_info or card_info):
            continue
        bank = bank_info.child("BANKACCTFROM") if bank_info else None
        card = card_info.child("CCACCTFROM") if card_info else None
        if bank is not None and bank.value("ACCTID"):
            accttype = bank.value("ACCTTYPE").upper()
            infos.append(AccountInfo(
                external_id=_bank_external_id(bank), acctid=bank.value("ACCTID"),
                bankid=bank.value("BANKID"), accttype=accttype,
                kind=_BANK_KINDS.get(accttype, "checking"), description=description,
            ))
        elif card is not None and card.value("ACCTID"):
            infos.append(AccountInfo(
                external_id=card.value("ACCTID"), acctid=card.value("ACCTID"),
                kind="credit_card", description=description,
            ))
    return infos


def name_accounts(statement: Statement, infos: list[AccountInfo]) -> Statement:
    """The statement with each account named after its ACCTINFO description, when the
    bank gave one (statements themselves carry no account name)."""
    names = {i.external_id: i.description for i in infos if i.description}
    statement.accounts = [
        replace(a, name=names[a.external_id]) if a.external_id in names else a
        for a in statement.accounts
    ]
    return statement


# --------------------------------------------------------------------------- reading


def _read(data: bytes) -> _Node:
    if not isinstance(data, bytes | bytearray):
        raise TypeError("parse_ofx takes bytes")
    data = bytes(data).removeprefix(b"\xef\xbb\xbf")
    if not data.strip():
        raise ImportFormatError("the file is empty")
    head = data.lstrip()[:4096].upper()
    if head.startswith(b"<?XML") or head.startswith(b"<?OFX"):
        return _read_xml(data)
    return _read_sgml(data)


def _read_sgml(data: bytes) -> _Node:
    header, body_start = _sgml_header(data)
    if "OFXHEADER" not in header and not _OFX_START.search(data[:65536]):
        raise ImportFormatError(
            "this is not an OFX or QFX file: expected an 'OFXHEADER:100' header "
            "or an <OFX> element at the start"
        )
    text = _decode(data[body_start:], header)
    first_line = data[:body_start].count(b"\n") + 1
    return _SGMLTreeBuilder(text, first_line).build()


def _sgml_header(data: bytes) -> tuple[dict[str, str], int]:
    """The ``KEY:VALUE`` pairs before the first tag, and where the body starts. Pairs are
    split on any whitespace: some banks put the whole header on one line."""
    end = data.find(b"<")
    if end < 0:
        end = len(data)
    pairs = re.findall(r"([A-Za-z]+):(\S*)", data[:end].decode("latin-1"))
    return {key.upper(): value.upper() for key, value in pairs}, end


def _decode(body: bytes, header: dict[str, str]) -> str:
    """Text of the body. Headers lie both ways (UTF-8 declared and cp1252 sent, or
    CHARSET:1252 declared over UTF-8), so strict UTF-8 is tried first whatever the
    header says — non-ASCII cp1252 text is almost never valid UTF-8 — then cp1252, and
    cp1252's five undefined bytes fall back to Latin-1 rather than failing the file."""
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return body.decode("cp1252")
    except UnicodeDecodeError:
        return body.decode("latin-1")


def _read_xml(data: bytes) -> _Node:
    builder = _XMLNodeBuilder()
    parser = DefusedXMLParser(target=builder, forbid_dtd=True)
    builder.expat = parser.parser
    try:
        parser.feed(data)
        parser.close()
    except DefusedXmlException:
        raise ImportFormatError(
            "the file declares a DTD or XML entities; OFX files never need them, so it is "
            "refused (it could be crafted to exhaust memory)", line=parser.parser.CurrentLineNumber,
        ) from None
    except ParseError:
        return _read_sgml_after_xml(data)
    except LookupError as exc:  # an unknown declared encoding; not a bug's KeyError
        if isinstance(exc, (KeyError, IndexError)):
            raise
        return _read_sgml_after_xml(data)
    root = builder.root
    if root is None or root.tag != "OFX":
        raise ImportFormatError("this XML file is not OFX: expected an <OFX> root element")
    return root


def _read_sgml_after_xml(data: bytes) -> _Node:
    """Malformed OFX 2.x (e.g. a raw ``&`` in a payee) read with the tolerant tokenizer.
    The XML parser has already refused any DTD it reached; refuse one it did not reach."""
    if re.search(rb"<!\s*(DOCTYPE|ENTITY)", data, re.IGNORECASE):
        raise ImportFormatError("the file declares a DTD or XML entities; it is refused")
    found = _OFX_START.search(data)
    if found is None:
        raise ImportFormatError("this XML file is not OFX: no <OFX> element found")
    start = found.start()
    declared = re.search(rb"encoding=[\"']([A-Za-z0-9_-]+)", data[:start])
    header = {"ENCODING": declared.group(1).decode().upper()} if declared else {}
    text = _decode(data[start:], header)
    return _SGMLTreeBuilder(text, data[:start].count(b"\n") + 1).build()


class _XMLNodeBuilder:
    """ElementTree parser target that builds ``_Node`` with expat's line numbers."""

    def __init__(self):
        self.expat = None
        self.root: _Node | None = None
        self._stack: list[_Node] = []
        self._text: list[str] = []

    def start(self, tag, attrib):
        node = _Node(tag.rpartition("}")[2].upper(), self.expat.CurrentLineNumber)
        if self._stack:
            self._stack[-1].children.append(node)
        else:
            self.root = node
        self._stack.append(node)
        self._text = []

    def data(self, text):
        self._text.append(text)

    def end(self, tag):
        node = self._stack.pop()
        if not node.children:
            node.text = "".join(self._text).strip()
        node.closed = True
        self._text = []

    def close(self):
        return self.root


# The root of OFX 2.x may carry attributes (``<OFX xmlns="http://ofx.net/ifx/2.0/ofx">``).
_OFX_START = re.compile(rb"<OFX[\s>]", re.IGNORECASE)
# A tag, with XML attributes allowed (name="value"); a value stops at "<" or ">", so an
# unclosed quote cannot make one tag swallow the rest of the file.
_TOKEN = re.compile(
    r"""<\s*(/?)\s*([A-Za-z][A-Za-z0-9._]*)(?:\s+[A-Za-z_:][\w:.-]*\s*=\s*"""
    r"""(?:"[^"<>]*"|'[^'<>]*'))*\s*>|<!--.*?-->|<![^>]*>""",
    re.DOTALL,
)
_ENTITY = re.compile(r"&(amp|lt|gt|quot|apos|nbsp|#\d{1,7}|#x[0-9a-fA-F]{1,6});")
_ENTITY_TEXT = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'", "nbsp": " "}


def _unescape(text: str) -> str:
    """Only the five XML entities, &nbsp; and character references: a payee like
    ``AT&T`` or ``B&Q`` stays as written."""

    def one(match: re.Match) -> str:
        name = match.group(1)
        if name.startswith("#"):
            code = int(name[2:], 16) if name[1] in "xX" else int(name[1:])
            return chr(code) if 0 < code < 0x110000 else match.group(0)
        return _ENTITY_TEXT[name]

    return _ENTITY.sub(one, text)


class _SGMLTreeBuilder:
    """Builds the tree from SGML (or XML-ish) OFX, forgiving what banks get wrong.

    Rules, in order: a tag followed by text is a leaf (its own closing tag, if any, is
    skipped); a known aggregate opens, first closing any open element of the same name
    and climbing to its usual parent; a closing tag closes everything open down to its
    element and is ignored if that element is not open; an unknown tag with no text is
    an aggregate until proven otherwise — if it is closed implicitly and has no text, it
    was an empty leaf and its "children" move back up to its parent."""

    def __init__(self, text: str, first_line: int):
        self._text = text
        self._first_line = first_line
        self._newlines = [m.start() for m in re.finditer("\n", text)]
        self._root = _Node("#document", first_line)
        self._stack = [self._root]
        self._last: _Node | None = None

    def _line(self, offset: int) -> int:
        return self._first_line + bisect.bisect_right(self._newlines, offset)

    def build(self) -> _Node:
        tokens = list(_TOKEN.finditer(self._text))
        skip_close: str | None = None
        for i, match in enumerate(tokens):
            if not match.group(2):
                self._reject_declaration(match)
                continue
            closing, tag = match.group(1), match.group(2).upper()
            end = tokens[i + 1].start() if i + 1 < len(tokens) else len(self._text)
            text = _unescape(self._text[match.end():end]).strip()
            line = self._line(match.start())
            if closing:
                if tag != skip_close:
                    self._close(tag)
                skip_close = None
                continue
            skip_close = None
            if tag not in _AGGREGATES and text:
                self._append(_Node(tag, line, text, closed=True))
                skip_close = tag
            elif tag not in _AGGREGATES and self._next_closes(tokens, i, tag):
                self._append(_Node(tag, line, "", closed=True))
                skip_close = tag
            else:
                self._open(_Node(tag, line))
        return self._finish()

    def _reject_declaration(self, match: re.Match) -> None:
        if re.match(r"<!\s*(DOCTYPE|ENTITY)", match.group(0), re.IGNORECASE):
            raise ImportFormatError(
                "the file declares a DTD or entities; OFX never needs them, so it is refused",
                line=self._line(match.start()),
            )

    @staticmethod
    def _next_closes(tokens, i, tag) -> bool:
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        return bool(nxt and nxt.group(1) and (nxt.group(2) or "").upper() == tag)

    def _append(self, node: _Node) -> None:
        self._stack[-1].children.append(node)
        self._last = node

    def _open(self, node: _Node) -> None:
        if any(n.tag == node.tag for n in self._stack[1:]):
            self._close(node.tag, implicit=True)
        parents = _PARENTS.get(node.tag)
        if parents and any(n.tag in parents for n in self._stack):
            while self._stack[-1].tag not in parents:
                self._pop(explicit=False)
        self._append(node)
        self._stack.append(node)

    def _close(self, tag: str, implicit: bool = False) -> None:
        if not any(n.tag == tag for n in self._stack[1:]):
            return
        while self._stack[-1].tag != tag:
            self._pop(explicit=False)
        self._pop(explicit=not implicit)

    def _pop(self, explicit: bool) -> None:
        node = self._stack.pop()
        node.closed = explicit
        if not explicit and node.tag not in _AGGREGATES and not node.text:
            parent = self._stack[-1]
            parent.children.extend(node.children)
            node.children = []

    def _finish(self) -> _Node:
        ofx = self._root.child("OFX")
        if ofx is None:
            raise ImportFormatError("no <OFX> element found; this is not an OFX file")
        if not ofx.closed:
            last = self._last or ofx
            raise ImportFormatError(
                f"the file ends before </OFX> (the last element read is <{last.tag}>): it "
                "looks truncated; download it again from the bank", line=last.line,
            )
        return ofx


# --------------------------------------------------------------------------- mapping


def _signon_status(root: _Node) -> tuple[int, str]:
    sonrs = root.find("SIGNONMSGSRSV1/SONRS") or next(root.iter("SONRS"), None)
    if sonrs is None:
        raise ImportFormatError("the OFX answer has no signon response (<SONRS>)")
    return _status(sonrs)


def _status(aggregate: _Node) -> tuple[int, str]:
    status = aggregate.child("STATUS")
    if status is None:
        return 0, ""
    raw = status.value("CODE")
    try:
        code = int(raw)
    except ValueError:
        raise ImportFormatError(f"<CODE> {raw!r} is not a status code", line=status.line) from None
    message = _clean(status.value("MESSAGE")) or _STATUS_TEXT.get(code, "")
    return code, message


def _raise_for_signon(root: _Node) -> None:
    if root.find("SIGNONMSGSRSV1/SONRS") is None and next(root.iter("SONRS"), None) is None:
        return
    code, message = _signon_status(root)
    if code not in _OK_CODES:
        raise ImportFormatError(
            f"the bank refused the sign-on (status {code}{': ' + message if message else ''})"
        )


def _no_statement_error(root: _Node) -> ImportFormatError:
    """Why a document holds no statement. ``status_codes`` on the error: every status
    the bank answered instead of one (a Direct Connect refresh retries a bank that is
    busy, as at the sign-on)."""
    failed = [(wrapper, *_status(wrapper))
              for wrapper in (*root.iter("STMTTRNRS"), *root.iter("CCSTMTTRNRS"))]
    failed = [(wrapper, code, message) for wrapper, code, message in failed
              if code not in _OK_CODES]
    if failed:
        wrapper, code, message = failed[0]
        detail = f" ({message})" if message else ""
        error = ImportFormatError(
            f"the bank answered status {code}{detail} instead of a statement",
            line=wrapper.line,
        )
        error.status_codes = frozenset(code for _, code, _ in failed)
        return error
    return ImportFormatError(
        "the file holds no bank or credit-card statement (expected <STMTRS> or <CCSTMTRS>); "
        "investment statements are not supported"
    )


def _statement(root: _Node, *, unnamed_accounts: bool = False) -> Statement:
    statement = Statement(institution=_clean(root.value_path("SIGNONMSGSRSV1/SONRS/FI/ORG")))
    seen: dict[str, AccountRecord] = {}
    ends: list[date] = []
    unnamed = 0
    for stmtrs in (*root.iter("STMTRS"), *root.iter("CCSTMTRS")):
        account = _account(stmtrs)
        if account is None:
            if not unnamed_accounts:
                tag = "CCACCTFROM" if stmtrs.tag == "CCSTMTRS" else "BANKACCTFROM"
                raise ImportFormatError(
                    f"<{stmtrs.tag}> names no account (no <{tag}> with an <ACCTID>): "
                    "choose the account to import it into", line=stmtrs.line)
            unnamed += 1
            account = _unnamed_account(stmtrs, unnamed)
        _keep_latest_balance(seen, account)
        statement.transactions.extend(_transactions(stmtrs, account))
        end = _statement_end(stmtrs)
        if end:
            ends.append(end)
    statement.accounts = list(seen.values())
    statement.transactions = _dedupe(statement.transactions)
    if not ends:
        ends = [t.posted_on for t in statement.transactions]
    statement.cursor = max(ends).isoformat() if ends else ""
    return statement


def _keep_latest_balance(seen: dict[str, AccountRecord], account: AccountRecord) -> None:
    """Records ``account`` in ``seen``, or, when an earlier statement of the file named it
    already, takes this statement's balance if it is the later one: a file may hold
    January's statement and then February's, in either order. A balance without a date
    counts as older than any dated one; between equal dates the later statement wins."""
    known = seen.get(account.external_id)
    if known is None:
        seen[account.external_id] = account
        return
    if account.balance is None:
        return
    if known.balance is None or _date_key(account.balance_as_of) >= _date_key(
            known.balance_as_of):
        seen[account.external_id] = replace(known, balance=account.balance,
                                            balance_as_of=account.balance_as_of)


def _date_key(day: date | None) -> tuple[bool, date]:
    return (day is not None, day or date.min)


def _downloadable(service: _Node | None) -> bool:
    """Accounts whose statements the server will give: asking for the others (closed,
    pending enrolment, no download service) fails the whole request at some banks."""
    if service is None:
        return False
    status = service.value("SVCSTATUS").upper()
    return service.value("SUPTXDL").upper() != "N" and status in ("", "ACTIVE")


def _bank_external_id(bankacctfrom: _Node) -> str:
    bankid, acctid = bankacctfrom.value("BANKID"), bankacctfrom.value("ACCTID")
    return f"{bankid}:{acctid}" if bankid else acctid


def _unnamed_account(stmtrs: _Node, n: int) -> AccountRecord:
    """The n-th statement of a file that names no account (some exports, Actual's test
    files), imported into an account the user chose."""
    card = stmtrs.tag == "CCSTMTRS"
    acct = stmtrs.child("CCACCTFROM" if card else "BANKACCTFROM")
    kind = "credit_card" if card else _BANK_KINDS.get(
        acct.value("ACCTTYPE").upper() if acct is not None else "", "checking")
    return AccountRecord(external_id=f"{DEFAULT_ACCOUNT_ID}-{n}", name=DEFAULT_ACCOUNT_NAME,
                         kind=kind, currency=_currency(stmtrs), balance=_balance(stmtrs),
                         balance_as_of=_balance_date(stmtrs))


def _account(stmtrs: _Node) -> AccountRecord | None:
    """The statement's account, None when it names none (no <ACCTID>)."""
    currency = _currency(stmtrs)
    balance = _balance(stmtrs)
    card = stmtrs.tag == "CCSTMTRS"
    acct = stmtrs.child("CCACCTFROM" if card else "BANKACCTFROM")
    acctid = acct.value("ACCTID") if acct is not None else ""
    if not acctid:
        return None
    if card:
        external_id, kind = acctid, "credit_card"
    else:
        external_id = _bank_external_id(acct)
        kind = _BANK_KINDS.get(acct.value("ACCTTYPE").upper(), "checking")
    if len(external_id) > MAX_ACCOUNT_ID:
        what = "<ACCTID> has" if card else "<BANKID> and <ACCTID> together have"
        raise ImportFormatError(
            f"the account number is too long: {what} {len(external_id)} characters, and "
            f"an account id holds at most {MAX_ACCOUNT_ID}", line=acct.child("ACCTID").line)
    mask = re.sub(r"\W", "", acctid)[-4:]
    return AccountRecord(
        external_id=external_id, name=f"{_KIND_LABELS[kind]} …{mask}", kind=kind,
        mask=mask, currency=currency, balance=balance,
        balance_as_of=_balance_date(stmtrs) if balance is not None else None,
    )


def _currency(stmtrs: _Node) -> str:
    """The statement's <CURDEF>, USD when absent. Accounts and transactions store a
    three-letter ISO 4217 code, so anything else is refused rather than cut."""
    node = stmtrs.child("CURDEF")
    if node is None or not node.text:
        return "USD"
    code = node.text.upper()
    if not re.fullmatch(r"[A-Z]{3}", code):
        raise ImportFormatError(
            f"<CURDEF> {node.text!r} is not a currency code: expected three letters, such as "
            "USD or EUR", line=node.line)
    return code


def _balance(stmtrs: _Node) -> Decimal | None:
    node = stmtrs.find("LEDGERBAL/BALAMT")
    return _amount(node) if node and node.text else None


def _balance_date(stmtrs: _Node) -> date | None:
    """The <DTASOF> of the ledger balance. It only orders balances, so an unreadable one
    counts as missing instead of refusing a file that imported before it was read."""
    node = stmtrs.find("LEDGERBAL/DTASOF")
    if node is None or not node.text:
        return None
    try:
        return _date(node)
    except ImportFormatError:
        return None


def _statement_end(stmtrs: _Node) -> date | None:
    node = stmtrs.find("BANKTRANLIST/DTEND")
    return _date(node) if node and node.text else None


def _transactions(stmtrs: _Node, account: AccountRecord) -> list[TransactionRecord]:
    records = []
    occurrences: Counter = Counter()
    for trn in stmtrs.iter("STMTTRN"):
        posted_on = _date(_required(trn, "DTPOSTED"))
        amount = _amount(_required(trn, "TRNAMT"))
        name, memo = _clean(trn.value("NAME") or trn.value_path("PAYEE/NAME")), _clean(trn.value("MEMO"))
        description = name or memo or _fallback_description(trn)
        fitid = trn.value("FITID")
        if not fitid:
            key = (posted_on, amount, description)
            fitid = _synthetic_id(account.external_id, *key, occurrences[key])
            occurrences[key] += 1
        records.append(TransactionRecord(
            account_external_id=account.external_id, external_id=fitid, posted_on=posted_on,
            amount=amount, description=description, currency=account.currency, memo=memo,
        ))
    return records


def _fallback_description(trn: _Node) -> str:
    check = trn.value("CHECKNUM")
    if check:
        return f"Check {check}"
    return (trn.value("TRNTYPE") or "Transaction").capitalize()


def _synthetic_id(account_id: str, posted_on: date, amount: Decimal, name: str, index: int) -> str:
    """A stable id for a bank that sends no FITID: the same file re-imported gives the
    same ids, and two identical coffees on one day stay two transactions."""
    key = f"{account_id}|{posted_on.isoformat()}|{amount}|{name}|{index}"
    return "nofitid-" + hashlib.sha256(key.encode()).hexdigest()[:24]


def _dedupe(records: list[TransactionRecord]) -> list[TransactionRecord]:
    """Drops exact repeats (one file holding overlapping statements) and renames a FITID
    that a buggy bank reused for a different transaction, so neither is lost: a posted
    repeat by its day (``repeat_external_id``), a pending one ``#2`` (``#3``…). A name
    the reader gave before (``#2`` for repeats days apart) is kept as the record's former
    id, so that a file stored then adds nothing when imported again."""
    kept: dict[tuple[str, str], TransactionRecord] = {}
    before: set[tuple[str, str]] = set()  # the names the earlier reader gave
    result = []
    for record in records:
        key = (record.account_external_id, record.external_id)
        if key not in kept:
            kept[key] = record
            before.add(key)
            result.append(record)
            continue
        if kept[key] == record:
            continue
        first = kept[key]
        account, fitid = key
        numbered = f"{fitid}#{_next_number(before, account, fitid)}"
        earlier = reused_external_id(fitid, record.posted_on)
        if (first.pending or record.pending or (account, earlier) in before
                or not is_reused_id(old_day=first.posted_on, old_text=first.description,
                                    new_day=record.posted_on, new_text=record.description)):
            earlier = numbered
        before.add((account, earlier))
        renamed = numbered if first.pending or record.pending else repeat_external_id(
            fitid, record.posted_on, lambda name, account=account: (account, name) in kept)
        record = replace(record, external_id=renamed,
                         former_external_id=earlier if earlier != renamed else "")
        kept[(account, renamed)] = record
        result.append(record)
    return result


def _next_number(taken: set[tuple[str, str]], account: str, fitid: str) -> int:
    n = 2
    while (account, f"{fitid}#{n}") in taken:
        n += 1
    return n


def _required(parent: _Node, tag: str) -> _Node:
    node = parent.child(tag)
    if node is None or (tag not in _AGGREGATES and not node.text):
        raise ImportFormatError(f"<{parent.tag}> has no <{tag}>", line=parent.line)
    return node


_DATE = re.compile(r"\s*(\d{4})(\d{2})(\d{2})")


def _date(node: _Node) -> date:
    """The calendar date as the bank wrote it. The time and zone
    (``20240115120000.000[-5:EST]``) are ignored on purpose: converting to UTC would
    move an evening purchase to the next day."""
    match = _DATE.match(node.text)
    try:
        if not match:
            raise ValueError
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        raise ImportFormatError(
            f"<{node.tag}> {node.text!r} is not a date (expected YYYYMMDD, optionally "
            "followed by a time)", line=node.line,
        ) from None


_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
# "-1,234": one comma after a 1–3 digit group (not a lone 0) and before exactly three
# digits is how US banks write whole dollars. "-5,00" and "0,125" keep a decimal comma.
_WHOLE_THOUSANDS = re.compile(r"[+-]?[1-9]\d{0,2},\d{3}")


def _amount(node: _Node) -> Decimal:
    """An OFX amount. The spec allows a comma as the decimal mark; banks also send
    ``+12.50``, spaces, and thousands separators (``1,234.56``, ``-1,234``).

    Refused when it would not fit Transaction.amount, DECIMAL(14, 2), once rounded to
    the cent; balances get the same bound (their column is wider)."""
    raw = node.text
    text = re.sub(r"\s", "", raw)
    if "," in text and "." in text:
        thousands = "," if text.rfind(",") < text.rfind(".") else "."
        text = text.replace(thousands, "").replace(",", ".")
    elif text.count(",") > 1 or _WHOLE_THOUSANDS.fullmatch(text):
        text = text.replace(",", "")
    else:
        text = text.replace(",", ".")
    if not _NUMBER.fullmatch(text):
        raise ImportFormatError(f"<{node.tag}> {raw!r} is not an amount", line=node.line)
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ImportFormatError(f"<{node.tag}> {raw!r} is not an amount", line=node.line) from None
    # The first test keeps quantize() from failing on more than 28 digits.
    if abs(value) >= MAX_AMOUNT or abs(value.quantize(CENT)) >= MAX_AMOUNT:
        raise ImportFormatError(
            f"<{node.tag}> {raw.strip()!r} is too large to be an amount (the most that can "
            f"be stored is {MAX_AMOUNT - CENT:,}); the file may be damaged", line=node.line)
    return value


def _clean(text: str) -> str:
    return " ".join(text.split())

"""Real-world statement files from public projects' test suites import correctly.

The files under ``tests/fixtures/real/`` are copies of the sample statements that
permissively licensed open-source parsers ship as test fixtures (see SOURCES.md there:
repository, path, commit, licence and what each file is). They come from many banks
and card issuers, in OFX 1.x SGML, OFX 2.x XML, QFX, QIF and CSV, in ASCII, cp1252,
Latin-1 and UTF-8.

Every file is checked against oracles that do not use Mint's parser:

- the transaction count is written by hand in ``CASES`` (read off the file) and must also
  equal a mechanical count: ``<STMTTRN>`` opening tags for OFX, non-empty ``^``-ended
  records of cash sections for QIF, non-empty data rows for CSV. No OFX file here repeats
  a FITID (checked below), so the importer's de-duplication must not drop anything;
- the sum of the amounts must equal the sum of the raw ``<TRNAMT>`` values / QIF ``T``
  lines / CSV amount column, and for OFX every ``<DTPOSTED>`` date must come out as is.

A file our parser refuses stays here as a strict xfail carrying the exact error, so the
day the parser accepts it the xfail turns into a failure and the case is promoted.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from transactions.importers import FORMATS, ImportFormatError, detect_format, parse_file
from transactions.models import Transaction

REAL = Path(__file__).parent / "fixtures" / "real"
EARLIEST, LATEST = date(1990, 1, 1), date(2030, 12, 31)


@dataclass(frozen=True)
class Case:
    path: str  # under tests/fixtures/real/
    fmt: str  # what detect_format must answer
    count: int  # transactions in the file, counted by hand
    why: str  # what the file is and what makes it hard
    accounts: int = 1
    options: dict = field(default_factory=dict)
    csv_amount: str = ""  # CSV only: the amount column, for the sum oracle
    csv_encoding: str = "utf-8-sig"
    rejected: str = ""  # exact ImportFormatError text when our parser refuses the file

    def __str__(self) -> str:
        return self.path


CASES = [
    # --- jseutter/ofxparse (MIT) ------------------------------------------------------
    Case("ofxparse/bank_medium.ofx", "ofx", 3,
         "Canadian bank (CAD, INTU.BID 00024), OFX 1.0.2 SGML: leaves never closed, a whole "
         "transaction per line, '[-5:EST]' time zones"),
    Case("ofxparse/chase_cc.qfx", "ofx", 1,
         "Chase credit-card QFX: blank first line, declares USASCII but holds the cp1252 "
         "byte 0xA6 in a payee"),
    Case("ofxparse/multiple_accounts.ofx", "ofx", 5,
         "French bank (BANKID 18206), two checking accounts in two STMTTRNRS: 4 + 1",
         accounts=2),
    Case("ofxparse/ofx-v102-empty-tags.ofx", "ofx", 1,
         "Australian building society (BANKID NPBS): 12 blank lines before the header, "
         "SGML with closing tags, empty <FITID>, <NAME>, <CURDEF> and <BALAMT>"),
    # --- asgrim/ofxparser (MIT) -------------------------------------------------------
    Case("asgrim/ofxdata.ofx", "ofx", 3,
         "OFX 1.0.3 SGML sample (MYBANK savings): indented, blank lines inside the header"),
    Case("asgrim/ofxdata-xml.ofx", "ofx", 3,
         "the same statement as OFX 2.0 XML"),
    Case("asgrim/ofxdata-bb.ofx", "ofx", 1,
         "Banco do Brasil checking (BRL), cp1252 'CRÉDITO', closed and unclosed leaves "
         "mixed, <MKTGINFO> after the balance"),
    Case("asgrim/ofxdata-bb-two-stmtrs.ofx", "ofx", 36,
         "Banco do Brasil, CRLF, two STMTRS inside one STMTTRNRS (the first without "
         "transactions), trailing spaces after every value: 0 + 36", accounts=2),
    Case("asgrim/ofxdata-bpbfc.ofx", "ofx", 6,
         "Banque Populaire BFC (EUR): closing tags on the account leaves only"),
    Case("asgrim/ofxdata-cmfr.ofx", "ofx", 42,
         "Crédit Mutuel (EUR): tab-indented, FITIDs with '@', '%' and '$'"),
    Case("asgrim/ofxdata-credit-card.ofx", "ofx", 1,
         "UK credit card (GBP) OFX 1.0.2 SGML"),
    Case("asgrim/ofxdata-memoWithAmpersand.ofx", "ofx", 16,
         "Brazilian credit card (BRL, UUID FITIDs): raw '&' and quotes in MEMO, amounts "
         "like '-140' and '-33.3', blank lines between transactions"),
    Case("asgrim/ofxdata-oneline.ofx", "ofx", 8,
         "French bank (EUR): the whole OFX body on one line"),
    Case("asgrim/ofx-multiple-accounts-xml.ofx", "ofx", 3,
         "UK bank OFX 2.0 XML, three accounts (the first with an empty transaction "
         "list): 0 + 2 + 1, no final newline", accounts=3),
    # --- actualbudget/actual (MIT) ----------------------------------------------------
    Case("actual/8859-1.qfx", "ofx", 1,
         "Canadian bank QFX (CAD, LANGUAGE FRA) in Latin-1: 'prépayée'"),
    Case("actual/1252.qfx", "ofx", 1,
         "the same bank in cp1252: '€' and '—' (bytes 0x80 and 0x97)"),
    Case("actual/utf-8.qfx", "ofx", 1,
         "the same bank with ENCODING:UTF-8, CHARSET:NONE"),
    Case("actual/html-vals.qfx", "ofx", 2,
         "Canadian bank (CAD, INTU.BID 00005): HTML entities inside values "
         "('&amp;', '&amp;lt;')"),
    Case("actual/data-payee-memo.ofx", "ofx", 4,
         "NAME and MEMO, NAME only, MEMO only, neither"),
    Case("actual/data-multi-decimal.ofx", "ofx", 2,
         "Bank of America checking: amounts with 3 and 5 decimals ('-30.000', '-3.77000')"),
    Case("actual/tracking-number.ofx", "ofx", 2,
         "Actual's minimal synthetic fixture: no signon and no <BANKACCTFROM> at all "
         "(imported only into a chosen account, see test_ofx_parse)",
         rejected="line 15: <STMTRS> names no account (no <BANKACCTFROM> with an <ACCTID>): "
                  "choose the account to import it into"),
    # --- leonardomelosantos/ofxparser.net (MIT) ---------------------------------------
    Case("ofxparser-net/comma_decimal_extract.ofx", "ofx", 1,
         "headerless OFX (starts at <OFX>), no signon, no CURDEF, BANKID 237 (Bradesco)"),
    Case("ofxparser-net/complete_extract.ofx", "ofx", 3,
         "Banco do Brasil style statement with BRANCHID and CHECKNUM"),
    # --- Fabiopf02/ofx-data-extractor (MIT) -------------------------------------------
    Case("ofx-data-extractor/example.ofx", "ofx", 20,
         "Brazilian payment account (BANKID 364) + credit card: SGML header glued to an "
         "XML declaration, closed and unclosed leaves mixed, several transactions on one "
         "line, decimal commas ('74,40') next to points: 18 + 2", accounts=2),
    Case("ofx-data-extractor/example3.ofx", "ofx", 1,
         "credit card OFX 2.1.1 XML, whitespace-only lines, no final newline"),
    # --- QIF: actualbudget/actual (MIT) -----------------------------------------------
    Case("actual/data-payee-memo.qif", "qif", 4, "payee and memo combinations"),
    Case("actual/qif-account.qif", "qif", 1,
         "an !Account block (its '^' is not a transaction) before !Type:Bank"),
    Case("actual/data-with-categories.qif", "qif", 3, "L categories, 2-digit years"),
    Case("actual/qif-category.qif", "qif", 2, "T before P, categories and memos"),
    Case("actual/tracking-number.qif", "qif", 2, "N check number"),
    # --- QIF: jemmyw/Qif (MIT) --------------------------------------------------------
    Case("qif-ruby/quicken_non_investement_account.qif", "qif", 3,
         "the Quicken QIF spec's bank example: splits (S/E/$), cleared flag, address lines, "
         "'-1,000.00', 2-digit years"),
    Case("qif-ruby/quicken_non_investement_account_with_account_block.qif", "qif", 3,
         "the same, then a trailing !Account record and no final newline"),
    Case("qif-ruby/splits.qif", "qif", 2, "split lines before the T line"),
    Case("qif-ruby/3_records_ddmmyyyy.qif", "qif", 3,
         "DD/MM/YYYY dates (the Ruby reader is told the format too), an empty record "
         "right after !Type, no final newline", options={"day_first": True}),
    Case("qif-ruby/3_records_spaced.qif", "qif", 3,
         "Quicken's space-padded dates ('1/ 1/10')"),
    Case("qif-ruby/3_records_separator.qif", "qif", 3,
         "DD/MM/YYYY and thousands separators ('-30,020.00')", options={"day_first": True}),
    # --- CSV: actualbudget/actual (MIT) -----------------------------------------------
    Case("actual/data-payee-memo.csv", "csv", 4,
         "lower-case headers recognised without a mapping; empty payee cells",
         csv_amount="amount"),
    Case("actual/windows-1252.csv", "csv", 2,
         "cp1252 accents, quoted cells, YYYY.MM.DD dates",
         options={"date": "Date", "amount": "Amount", "description": "Payee",
                  "date_format": "%Y.%m.%d"},
         csv_amount="Amount", csv_encoding="cp1252"),
    Case("actual/utf-8-bom.csv", "csv", 2,
         "Erste Bank Hungary export layout (29 Hungarian headers) with a UTF-8 BOM",
         options={"date": "Könyvelés dátuma", "amount": "Összeg",
                  "description": "Felhasználónév", "date_format": "%Y.%m.%d"},
         csv_amount="Összeg"),
]
ACCEPTED = [case for case in CASES if not case.rejected]


def _params(cases):
    return [pytest.param(case, id=case.path, marks=[pytest.mark.xfail(
        strict=True, raises=ImportFormatError, reason=f"parser refuses it: {case.rejected}",
    )] if case.rejected else []) for case in cases]


# --------------------------------------------------------------------------- oracles


@dataclass
class Oracle:
    count: int
    total: Decimal
    posted: list[date] | None = None  # OFX only: every DTPOSTED as written


def _ofx_oracle(data: bytes, case: Case) -> Oracle:
    text = data.decode("latin-1")  # tags and numbers are ASCII whatever the charset
    amounts = re.findall(r"<TRNAMT>\s*([^<\s]+)", text, re.IGNORECASE)
    posted = re.findall(r"<DTPOSTED>\s*(\d{4})(\d{2})(\d{2})", text, re.IGNORECASE)
    fitids = [f.strip() for f in re.findall(r"<FITID>([^<\r\n]*)", text, re.IGNORECASE)]
    assert len(set(fitids)) == len(fitids), "a repeated FITID: the count needs a note"
    return Oracle(
        count=len(re.findall(r"<STMTTRN>", text, re.IGNORECASE)),
        total=sum((Decimal(a.replace(",", ".")) for a in amounts), Decimal(0)),
        posted=sorted(date(int(y), int(m), int(d)) for y, m, d in posted),
    )


_QIF_CASH = {"!type:bank", "!type:ccard", "!type:cash", "!type:oth a", "!type:oth l"}


def _qif_oracle(data: bytes, case: Case) -> Oracle:
    section, fields, count, total = "", [], 0, Decimal(0)
    for raw in data.decode("latin-1").splitlines():
        line = raw.strip()
        if line.startswith("!"):
            section, fields = line.lower(), []
        elif line == "^":
            if section in _QIF_CASH and fields:
                count += 1
                amount = next(f[1:] for code in "TU" for f in fields if f[0] == code)
                total += Decimal(amount.replace(",", ""))
            fields = []
        elif line:
            fields.append(line)
    return Oracle(count, total)


def _csv_oracle(data: bytes, case: Case) -> Oracle:
    rows = list(csv.DictReader(io.StringIO(data.decode(case.csv_encoding))))
    rows = [row for row in rows if any((v or "").strip() for v in row.values())]
    return Oracle(len(rows), sum((Decimal(r[case.csv_amount]) for r in rows), Decimal(0)))


ORACLES = {"ofx": _ofx_oracle, "qif": _qif_oracle, "csv": _csv_oracle}


def _read(case: Case) -> bytes:
    return (REAL / case.path).read_bytes()


# --------------------------------------------------------------------------- tests


def test_every_fixture_file_is_listed_and_documented():
    on_disk = {p.relative_to(REAL).as_posix() for p in REAL.rglob("*")
               if p.is_file() and p.name != "SOURCES.md"}
    assert on_disk == {case.path for case in CASES}
    sources = (REAL / "SOURCES.md").read_text(encoding="utf-8")
    assert [case.path for case in CASES if f"`{case.path}`" not in sources] == []


@pytest.mark.parametrize("case", _params(CASES))
def test_a_real_statement_imports_every_transaction(case):
    data = _read(case)
    assert detect_format(data, filename=Path(case.path).name) == case.fmt
    oracle = ORACLES[case.fmt](data, case)
    assert oracle.count == case.count, "the hand count and the mechanical count disagree"

    try:
        statement = parse_file(data, filename=Path(case.path).name, options=case.options)
    except ImportFormatError as exc:
        if case.rejected:
            assert str(exc) == case.rejected  # a different refusal is a new finding
        raise

    records = statement.transactions
    assert len(records) == case.count
    assert len(statement.accounts) == case.accounts
    assert all(type(r.amount) is Decimal and r.amount.is_finite() for r in records)
    assert sum((r.amount for r in records), Decimal(0)) == oracle.total
    assert all(type(r.posted_on) is date and EARLIEST <= r.posted_on <= LATEST
               for r in records)
    if oracle.posted is not None:
        assert sorted(r.posted_on for r in records) == oracle.posted
    assert {r.account_external_id for r in records} <= {a.external_id
                                                        for a in statement.accounts}
    assert len({(r.account_external_id, r.external_id) for r in records}) == len(records)


def _cuts(data: bytes) -> list[int]:
    """Where to truncate: 24 even steps, plus just inside the first and last record."""
    marks = [m.start() + 3 for m in re.finditer(rb"<STMTTRN>|\n\^", data, re.IGNORECASE)]
    steps = [len(data) * i // 24 for i in range(24)]
    return sorted({*steps, *marks[:1], *marks[-1:], len(data) - 1})


@pytest.mark.parametrize("case", _params(CASES))
def test_nothing_but_import_format_error_escapes(case):
    """Any format forced on the file, any options, any truncation: a Statement or an
    ImportFormatError, never another exception."""
    data, name = _read(case), Path(case.path).name
    attempts = [(data, {"filename": name, "options": case.options}),
                (data, {"filename": name}), (data, {}),
                *((data, {"format": fmt, "options": case.options}) for fmt in FORMATS),
                *((data[:cut], {"filename": name, "options": case.options})
                  for cut in _cuts(data))]
    for payload, kwargs in attempts:
        with contextlib.suppress(ImportFormatError):
            parse_file(payload, **kwargs)
    if case.rejected:  # keeps the strict xfail honest: the full file is still refused
        parse_file(data, filename=name, options=case.options)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("object_store")
def test_every_accepted_file_uploads_through_the_api(api, alice):
    """POST /api/v1/imports/ for each accepted file: 201 and ``created`` = the hand count.

    Several fixtures hold the same account and FITIDs (asgrim's SGML and XML copies of
    one statement, the QIF spec example with and without an !Account block), so alice's
    transactions are cleared before each upload to keep the counts independent."""
    got, want = {}, {}
    for case in ACCEPTED:
        Transaction.objects.filter(user=alice).delete()
        fields = {"file": SimpleUploadedFile(Path(case.path).name, _read(case))}
        if case.options:
            fields["options"] = json.dumps(case.options)
        response = api.post("/api/v1/imports/", fields, format="multipart")
        body = response.json()
        got[case.path] = (response.status_code, body.get("created", body),
                          Transaction.objects.filter(user=alice).count())
        want[case.path] = (201, case.count, case.count)
    assert got == want


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("object_store")
def test_an_ofx_file_that_names_no_account_imports_into_a_chosen_account_only(api, alice):
    """Actual's tracking-number.ofx has no <BANKACCTFROM>: into a chosen account it
    imports its 2 rows; without one it is a 400 that says to choose one, and two such
    files into two accounts never overwrite each other (their FITIDs are the bank's)."""
    from tests.factories import ConnectionFactory, FinancialAccountFactory

    data = (REAL / "actual/tracking-number.ofx").read_bytes()
    connection = ConnectionFactory(user=alice)
    first, second = (FinancialAccountFactory(connection=connection) for _ in range(2))

    def upload(**fields):
        return api.post("/api/v1/imports/", {"file": SimpleUploadedFile("t.ofx", data),
                                             **fields}, format="multipart")

    refused = upload()
    into_first, into_second = upload(account=first.pk), upload(account=second.pk)

    assert refused.status_code == 400
    assert "choose the account to import it into" in refused.json()["error"]["message"]
    assert (into_first.status_code, into_first.json()["created"]) == (201, 2)
    assert (into_second.status_code, into_second.json()["created"]) == (201, 2)
    assert Transaction.objects.filter(user=alice, account=first).count() == 2
    assert Transaction.objects.filter(user=alice, account=second).count() == 2
    # the stored files replay as they were read: monthly spending rebuilt from them agrees
    from budgets.services.recompute import spending_recompute

    assert spending_recompute(user_id=alice.id, from_raw=True, dry_run=True).differences == {}

"""OFX Direct Connect: the bank's own OFX server, reached with the user's OFX login.

The connection URL names the server and, optionally, the institution's OFX identity:
``https://ofx.bank.com/ofx?org=MYBANK&fid=1234`` (``org``/``fid`` are stripped before
posting; without them the signon carries ``MINT``/``0000``, which many servers ignore).

``fetch`` makes two round-trips, both OFX 1.03 SGML built by ofxtools' ``OFXClient``
(1.x is what most banks still accept):

1. ACCTINFORQ — which accounts this login can see;
2. STMTRQ for every bank account and CCSTMTRQ for every card, from ``since`` minus
   ``OVERLAP_DAYS`` (``HISTORY_DAYS`` back the first time).

The raw payload keeps only the server's answers — the requests carry the password and
are neither stored nor logged — in a JSON envelope, the ACCTINFO answer first::

    {"format": "mint-ofx-responses/1", "responses": ["<base64 OFX>", "<base64 OFX>"]}

``parse`` reads the envelope (or a bare OFX document) and nothing else.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.utils import timezone
from ofxtools.Client import OFXClient
from ofxtools.models import (
    ACCTINFORQ,
    ACCTINFOTRNRQ,
    BANKMSGSRQV1,
    CREDITCARDMSGSRQV1,
    OFX,
    SIGNUPMSGSRQV1,
)

from accounts import netguard
from transactions.importers.errors import ImportFormatError
from transactions.importers.ofx import (
    AUTH_FAILURE_CODES,
    AccountInfo,
    name_accounts,
    ofx_account_infos,
    ofx_signon_status,
    parse_ofx,
)

from .base import (
    AuthenticationFailed,
    FetchContext,
    ProviderError,
    ProviderInputError,
    RawFetch,
    Statement,
    TransientProviderError,
)

HISTORY_DAYS = 400
OVERLAP_DAYS = 10
ENVELOPE_FORMAT = "mint-ofx-responses/1"
ENVELOPE_MEDIA_TYPE = "application/json"
OFX_MEDIA_TYPE = "application/x-ofx"

DEFAULT_ORG = "MINT"
DEFAULT_FID = "0000"
# Quicken's identity: servers that check APPID/APPVER accept this pair most widely.
APPID, APPVER = "QWIN", "2700"
OFX_VERSION = 103
# Field limits of the OFX spec (USERID A-32, USERPASS A-171).
MAX_USERID, MAX_USERPASS = 32, 171

# ACCTINFORQ lists accounts changed since DTACCTUP; a date before OFX existed means "all".
_ALL_ACCOUNTS_SINCE = datetime(1990, 1, 1, tzinfo=UTC)

# 2000 "general error" is what servers answer while busy or in maintenance: retry it.
_TRANSIENT_STATUS = frozenset({2000})


@dataclass(frozen=True)
class Endpoint:
    url: str
    org: str
    fid: str


def endpoint_from_url(url: str) -> Endpoint:
    """Splits ``org`` and ``fid`` off the connection URL; other query parameters stay
    (some servers route on them)."""
    parts = urlsplit(url.strip())
    query = parse_qsl(parts.query, keep_blank_values=True)
    options = {k.lower(): v for k, v in query if k.lower() in ("org", "fid")}
    kept = [(k, v) for k, v in query if k.lower() not in ("org", "fid")]
    clean = urlunsplit((parts.scheme, parts.netloc, parts.path or "/", urlencode(kept), ""))
    return Endpoint(clean, options.get("org") or DEFAULT_ORG, options.get("fid") or DEFAULT_FID)


def window_start(since: str | None, today: date) -> date:
    """First day to ask for: the overlap absorbs transactions the bank posts late. Never
    further back than a first link asks (HISTORY_DAYS): a cursor that stays still (an
    account the bank lists but never answers for keeps it from moving on) would
    otherwise make every night's window, and its answer, grow without end."""
    oldest = today - timedelta(days=HISTORY_DAYS)
    if since:
        try:
            return max(date.fromisoformat(since[:10]) - timedelta(days=OVERLAP_DAYS), oldest)
        except ValueError:
            pass
    return oldest


class OFXProvider:
    name = "ofx"

    def fetch(self, ctx: FetchContext) -> RawFetch:
        endpoint = endpoint_from_url(ctx.url)
        client = _client(endpoint, ctx.login)
        accounts_answer = _exchange(endpoint.url, _accounts_request(client, ctx.password))
        infos = _account_infos(accounts_answer)
        start = window_start(ctx.since, timezone.localdate())
        statements_answer = _exchange(
            endpoint.url, _statements_request(client, ctx.password, infos, start)
        )
        return RawFetch(encode_envelope([accounts_answer, statements_answer]),
                        ENVELOPE_MEDIA_TYPE)

    def parse(self, raw: RawFetch) -> Statement:
        try:
            documents = decode_envelope(raw)
            return _statement_from_documents(documents)
        except ImportFormatError as exc:
            if not _TRANSIENT_STATUS.isdisjoint(getattr(exc, "status_codes", ())):
                # No statement came, the bank busy or in maintenance ("general error"):
                # retried as the same status at the sign-on is, not a failure for good.
                raise TransientProviderError(f"the OFX server reported an error: {exc}") from exc
            raise ProviderError(f"the OFX server's answer could not be read: {exc}") from exc


provider = OFXProvider()


def encode_envelope(responses: list[bytes]) -> bytes:
    return json.dumps({
        "format": ENVELOPE_FORMAT,
        "responses": [base64.b64encode(r).decode("ascii") for r in responses],
    }).encode()


def decode_envelope(raw: RawFetch) -> list[bytes]:
    """The OFX documents in a payload: an envelope, or one bare OFX answer (a file
    someone stored by hand)."""
    if raw.media_type != ENVELOPE_MEDIA_TYPE:
        return [raw.payload]
    try:
        envelope = json.loads(raw.payload)
        if envelope.get("format") != ENVELOPE_FORMAT:
            raise ValueError(envelope.get("format"))
        return [base64.b64decode(r, validate=True) for r in envelope["responses"]]
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error):
        raise ImportFormatError(f"not a {ENVELOPE_FORMAT} envelope") from None


def _statement_from_documents(documents: list[bytes]) -> Statement:
    """An envelope holds the ACCTINFO answer first (it names the accounts), then the
    statement answers; a single document is a statement answer on its own."""
    accounts_answer, statement_answers = (None, documents) if len(documents) == 1 else (
        documents[0], documents[1:])
    statement = Statement()
    for answer in statement_answers:
        part = parse_ofx(answer)
        statement.accounts.extend(part.accounts)
        statement.transactions.extend(part.transactions)
        statement.cursor = max(statement.cursor, part.cursor)
        statement.institution = statement.institution or part.institution
    if not statement_answers:
        raise ImportFormatError("the payload holds no statement")
    infos = ofx_account_infos(accounts_answer) if accounts_answer else []
    answered = {account.external_id for account in statement.accounts}
    if any(info.external_id not in answered for info in infos):
        # An account asked for got an error instead of its statement (the bank's card
        # system down): the cursor is the connection's, so moving it on would skip that
        # account's days for good once the error outlasts the OVERLAP_DAYS. Without a
        # cursor the saved one stays, and the next fetch asks for those days again (the
        # rows of the other accounts are simply found unchanged).
        statement.cursor = ""
    return name_accounts(statement, infos)


def _client(endpoint: Endpoint, login: str) -> OFXClient:
    return OFXClient(
        endpoint.url, userid=login, org=endpoint.org, fid=endpoint.fid,
        version=OFX_VERSION, appid=APPID, appver=APPVER, close_elements=False,
    )


def _accounts_request(client: OFXClient, password: str) -> bytes:
    trnrq = ACCTINFOTRNRQ(trnuid=client.uuid(),
                          acctinforq=ACCTINFORQ(dtacctup=_ALL_ACCOUNTS_SINCE))
    return _serialize(client, password, signupmsgsrqv1=SIGNUPMSGSRQV1(trnrq))


def _statements_request(client: OFXClient, password: str, infos: list[AccountInfo],
                        start: date) -> bytes:
    """One request for every account, each bank account with its own BANKID."""
    dtstart = datetime.combine(start, time.min, tzinfo=UTC)
    bank = [client.stmttrnrq(i.bankid, i.acctid, i.accttype or "CHECKING", dtstart=dtstart)
            for i in infos if i.kind != "credit_card"]
    cards = [client.ccstmttrnrq(i.acctid, dtstart=dtstart)
             for i in infos if i.kind == "credit_card"]
    messages = {}
    if bank:
        messages["bankmsgsrqv1"] = BANKMSGSRQV1(*bank)
    if cards:
        messages["creditcardmsgsrqv1"] = CREDITCARDMSGSRQV1(*cards)
    return _serialize(client, password, **messages)


def _serialize(client: OFXClient, password: str, **messages) -> bytes:
    """The request as OFX bytes. Built with ``serialize`` rather than ofxtools'
    ``request_*`` helpers, which log the whole request — password included — at DEBUG.
    ofxtools' own error text is not passed on for the same reason: it quotes the value."""
    if len(client.userid) > MAX_USERID or len(password) > MAX_USERPASS:
        raise ProviderInputError(
            f"OFX allows logins of at most {MAX_USERID} characters and passwords of at "
            f"most {MAX_USERPASS}"
        )
    try:
        ofx = OFX(signonmsgsrqv1=client.signon(password), **messages)
        return client.serialize(ofx, newfileuid=client.uuid())
    except ValueError:
        raise ProviderInputError(
            "the login, password or an account number cannot be written in OFX"
        ) from None


def _account_infos(answer: bytes) -> list[AccountInfo]:
    try:
        infos = ofx_account_infos(answer)
    except ImportFormatError as exc:
        raise ProviderError(f"the OFX server's account list could not be read: {exc}") from None
    if not infos:
        raise ProviderError("the OFX server lists no bank or credit-card account for this login")
    return infos


def _exchange(url: str, request: bytes) -> bytes:
    """One POST; the answer if it is OFX with an accepted signon, else the right error."""
    headers = {"Content-Type": OFX_MEDIA_TYPE, "Accept": f"{OFX_MEDIA_TYPE}, application/xml"}
    status, _headers, body = netguard.post(url, request, headers)
    _raise_for_http(status)
    if len(body) > settings.IMPORT_MAX_BYTES:
        raise ProviderError(
            f"the OFX server's answer is larger than {settings.IMPORT_MAX_BYTES} bytes"
        )
    _raise_for_signon(body)
    return body


def _raise_for_http(status: int) -> None:
    if 300 <= status < 400:
        raise ProviderInputError(
            f"the OFX server redirected the request (HTTP {status}); use the final URL"
        )
    if status >= 500 or status == 429:
        raise TransientProviderError(f"the OFX server is unavailable (HTTP {status})")
    if status >= 400:
        raise ProviderInputError(
            f"the OFX server refused the request (HTTP {status}); check the URL"
        )


def _raise_for_signon(body: bytes) -> None:
    try:
        code, message = ofx_signon_status(body)
    except ImportFormatError as exc:
        raise ProviderError(f"the server did not answer in OFX: {exc}") from None
    detail = f"status {code}{': ' + message if message else ''}"
    if code in AUTH_FAILURE_CODES:
        raise AuthenticationFailed(f"the bank refused the login ({detail})")
    if code in _TRANSIENT_STATUS:
        raise TransientProviderError(f"the OFX server reported an error ({detail})")
    if code not in (0, 1):
        raise ProviderError(f"the OFX server refused the sign-on ({detail})")

"""A small but real OFX Direct Connect server on the loopback, for provider tests.

It reads each request with ofxtools' parser (so a request that a strict OFX server
would reject fails here too) and answers OFX 1.02 SGML the way banks do: cp1252, CRLF,
unclosed leaf elements. One customer, ``alice`` / ``correct horse``, with a checking
account and a Visa card; transactions are dated relative to ``today`` and filtered by
the request's DTSTART.

Paths: ``/ofx`` answers; ``/redirect`` answers 302 to ``/ofx``; ``/error`` answers 500;
``/slow`` waits ``slow_seconds`` before answering; ``/html`` answers a 200 HTML page.
Logins: ``bad`` (or a wrong password) gets signon status 15500, ``locked`` 15502,
``busy`` 2000. Every request is recorded in ``server.requests``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BytesIO

from ofxtools.Parser import OFXTree

LOGIN, PASSWORD = "alice", "correct horse"
BANKID = "121000358"
CHECKING_ACCTID = "000123456789"
CARD_ACCTID = "4000123412349876"

# (account, days before today, amount, FITID, NAME, MEMO)
TRANSACTIONS = [
    ("checking", 2, "-4.75", "CHK-0008", "CAFÉ DU MONDE #12", "POS PURCHASE"),
    ("checking", 6, "3150.00", "CHK-0007", "ACME CORP PAYROLL", "ACH CREDIT PPD"),
    ("checking", 12, "-2150.00", "CHK-0006", "OAKWOOD PROPERTY MGMT", "ZELLE PAYMENT"),
    ("checking", 45, "-64.12", "CHK-0005", "PG&E WEB ONLINE", ""),
    ("checking", 200, "-23.10", "CHK-0004", "TRADER JOE S #123", ""),
    ("checking", 420, "-99.00", "CHK-0001", "TOO OLD TO BE ASKED FOR", ""),
    ("card", 1, "-12.49", "CC-0005", "SQ *BLUE BOTTLE COFFEE", ""),
    ("card", 8, "-89.00", "CC-0004", "AMZN MKTP US*2K4LL0", ""),
    ("card", 15, "500.00", "CC-0003", "PAYMENT THANK YOU", ""),
    ("card", 390, "-15.49", "CC-0002", "NETFLIX.COM", ""),
]

BALANCES = {"checking": Decimal("2841.17"), "card": Decimal("-604.90")}
DESCRIPTIONS = {"checking": "Everyday Checking", "card": "Cash Rewards Visa"}
AUTH_STATUS = {"bad": 15500, "locked": 15502, "busy": 2000}

HEADER = (
    "OFXHEADER:100\r\nDATA:OFXSGML\r\nVERSION:102\r\nSECURITY:NONE\r\n"
    "ENCODING:USASCII\r\nCHARSET:1252\r\nCOMPRESSION:NONE\r\n"
    "OLDFILEUID:NONE\r\nNEWFILEUID:NONE\r\n\r\n"
)


@dataclass
class ReceivedRequest:
    path: str
    content_type: str
    userid: str = ""
    userpass: str = ""
    org: str = ""
    fid: str = ""
    kinds: list[str] = field(default_factory=list)
    dtstarts: list[date] = field(default_factory=list)


def _ofx_date(day: date) -> str:
    return day.strftime("%Y%m%d") + "120000.000[-5:EST]"


def _signon(code: int, today: date) -> str:
    severity = "INFO" if code == 0 else "ERROR"
    message = "" if code == 0 else "<MESSAGE>Invalid user ID or password\r\n"
    return (
        f"<SIGNONMSGSRSV1>\r\n<SONRS>\r\n<STATUS>\r\n<CODE>{code}\r\n<SEVERITY>{severity}\r\n"
        f"{message}</STATUS>\r\n<DTSERVER>{_ofx_date(today)}\r\n<LANGUAGE>ENG\r\n"
        "<FI>\r\n<ORG>Loopback Savings Bank\r\n<FID>9999\r\n</FI>\r\n</SONRS>\r\n"
        "</SIGNONMSGSRSV1>\r\n"
    )


def _document(body: str) -> bytes:
    return (HEADER + "<OFX>\r\n" + body + "</OFX>\r\n").encode("cp1252")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class _QuietServer(ThreadingHTTPServer):
    """A client that gave up (the timeout test) makes the handler's write fail; that is
    expected, not worth a traceback in the test output."""

    daemon_threads = True

    def handle_error(self, request, client_address):
        pass


class OFXTestServer:
    def __init__(self, today: date, slow_seconds: float = 3.0):
        self.today = today
        self.slow_seconds = slow_seconds
        self.requests: list[ReceivedRequest] = []
        self._stopping = threading.Event()
        self._httpd = _QuietServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str = "/ofx", **query: str) -> str:
        params = "&".join(f"{k}={v}" for k, v in query.items())
        return f"{self.base_url}{path}{'?' + params if params else ''}"

    def start(self) -> OFXTestServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._stopping.is_set():
            return
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    # ----------------------------------------------------------------- answering

    def answer(self, path: str, content_type: str, body: bytes) -> tuple[int, dict, bytes]:
        received = ReceivedRequest(path=path, content_type=content_type)
        self.requests.append(received)
        route = path.split("?")[0]
        if route == "/redirect":
            return 302, {"Location": "/ofx"}, b""
        if route == "/error":
            return 500, {"Content-Type": "text/plain"}, b"Internal Server Error"
        if route == "/html":
            return 200, {"Content-Type": "text/html"}, b"<html><body>Log in</body></html>"
        if route == "/slow" and self._stopping.wait(self.slow_seconds):
            return 503, {}, b""
        ofx = self._read(received, body)
        return 200, {"Content-Type": "application/x-ofx"}, self._respond(received, ofx)

    @staticmethod
    def _read(received: ReceivedRequest, body: bytes):
        """The request as ofxtools reads it; its signon is noted in ``received``."""
        tree = OFXTree()
        tree.parse(BytesIO(body))
        ofx = tree.convert()
        sonrq = ofx.signonmsgsrqv1.sonrq
        received.userid, received.userpass = sonrq.userid, sonrq.userpass
        if sonrq.fi is not None:
            received.org, received.fid = sonrq.fi.org, sonrq.fi.fid
        return ofx

    def _respond(self, received: ReceivedRequest, ofx) -> bytes:
        code = AUTH_STATUS.get(received.userid, 0)
        if code == 0 and (received.userid, received.userpass) != (LOGIN, PASSWORD):
            code = 15500
        if code:
            return _document(_signon(code, self.today))
        body = _signon(0, self.today)
        if ofx.signupmsgsrqv1 is not None:
            received.kinds.append("ACCTINFO")
            body += self._acctinfo(ofx.signupmsgsrqv1[0].trnuid)
        if ofx.bankmsgsrqv1 is not None:
            body += "<BANKMSGSRSV1>\r\n"
            for trnrq in ofx.bankmsgsrqv1:
                received.kinds.append("STMT")
                body += self._bank_statement(trnrq, received)
            body += "</BANKMSGSRSV1>\r\n"
        if ofx.creditcardmsgsrqv1 is not None:
            body += "<CREDITCARDMSGSRSV1>\r\n"
            for trnrq in ofx.creditcardmsgsrqv1:
                received.kinds.append("CCSTMT")
                body += self._card_statement(trnrq, received)
            body += "</CREDITCARDMSGSRSV1>\r\n"
        return _document(body)

    def _acctinfo(self, trnuid: str) -> str:
        return (
            "<SIGNUPMSGSRSV1>\r\n<ACCTINFOTRNRS>\r\n"
            f"<TRNUID>{trnuid}\r\n<STATUS>\r\n<CODE>0\r\n<SEVERITY>INFO\r\n</STATUS>\r\n"
            f"<ACCTINFORS>\r\n<DTACCTUP>{_ofx_date(self.today)}\r\n"
            f"<ACCTINFO>\r\n<DESC>{DESCRIPTIONS['checking']}\r\n<BANKACCTINFO>\r\n"
            f"<BANKACCTFROM>\r\n<BANKID>{BANKID}\r\n<ACCTID>{CHECKING_ACCTID}\r\n"
            "<ACCTTYPE>CHECKING\r\n</BANKACCTFROM>\r\n<SUPTXDL>Y\r\n<XFERSRC>Y\r\n"
            "<XFERDEST>Y\r\n<SVCSTATUS>ACTIVE\r\n</BANKACCTINFO>\r\n</ACCTINFO>\r\n"
            f"<ACCTINFO>\r\n<DESC>{DESCRIPTIONS['card']}\r\n<CCACCTINFO>\r\n"
            f"<CCACCTFROM>\r\n<ACCTID>{CARD_ACCTID}\r\n</CCACCTFROM>\r\n<SUPTXDL>Y\r\n"
            "<XFERSRC>N\r\n<XFERDEST>N\r\n<SVCSTATUS>ACTIVE\r\n</CCACCTINFO>\r\n</ACCTINFO>\r\n"
            "</ACCTINFORS>\r\n</ACCTINFOTRNRS>\r\n</SIGNUPMSGSRSV1>\r\n"
        )

    def _bank_statement(self, trnrq, received: ReceivedRequest) -> str:
        stmtrq = trnrq.stmtrq
        if stmtrq.bankacctfrom.acctid != CHECKING_ACCTID:
            return self._not_found("STMTTRNRS", trnrq.trnuid)
        dtstart = stmtrq.inctran.dtstart.date()
        received.dtstarts.append(dtstart)
        account = (
            f"<BANKACCTFROM>\r\n<BANKID>{BANKID}\r\n<ACCTID>{CHECKING_ACCTID}\r\n"
            "<ACCTTYPE>CHECKING\r\n</BANKACCTFROM>\r\n"
        )
        return self._statement("STMTTRNRS", "STMTRS", trnrq.trnuid, account, "checking", dtstart)

    def _card_statement(self, trnrq, received: ReceivedRequest) -> str:
        stmtrq = trnrq.ccstmtrq
        if stmtrq.ccacctfrom.acctid != CARD_ACCTID:
            return self._not_found("CCSTMTTRNRS", trnrq.trnuid)
        dtstart = stmtrq.inctran.dtstart.date()
        received.dtstarts.append(dtstart)
        account = f"<CCACCTFROM>\r\n<ACCTID>{CARD_ACCTID}\r\n</CCACCTFROM>\r\n"
        return self._statement("CCSTMTTRNRS", "CCSTMTRS", trnrq.trnuid, account, "card", dtstart)

    def _statement(self, wrapper: str, stmt: str, trnuid: str, account: str, key: str,
                   dtstart: date) -> str:
        lines = [
            f"<{wrapper}>\r\n<TRNUID>{trnuid}\r\n<STATUS>\r\n<CODE>0\r\n<SEVERITY>INFO\r\n"
            f"</STATUS>\r\n<{stmt}>\r\n<CURDEF>USD\r\n{account}<BANKTRANLIST>\r\n"
            f"<DTSTART>{_ofx_date(dtstart)}\r\n<DTEND>{_ofx_date(self.today)}\r\n"
        ]
        for _account, days, amount, fitid, name, memo in self.transactions(key, dtstart):
            kind = "CREDIT" if Decimal(amount) > 0 else "DEBIT"
            posted = _ofx_date(self.today - timedelta(days=days))
            lines.append(
                f"<STMTTRN>\r\n<TRNTYPE>{kind}\r\n<DTPOSTED>{posted}\r\n<TRNAMT>{amount}\r\n"
                f"<FITID>{fitid}\r\n<NAME>{_escape(name)}\r\n"
                + (f"<MEMO>{_escape(memo)}\r\n" if memo else "")
                + "</STMTTRN>\r\n"
            )
        lines.append(
            f"</BANKTRANLIST>\r\n<LEDGERBAL>\r\n<BALAMT>{BALANCES[key]}\r\n"
            f"<DTASOF>{_ofx_date(self.today)}\r\n</LEDGERBAL>\r\n</{stmt}>\r\n</{wrapper}>\r\n"
        )
        return "".join(lines)

    def transactions(self, key: str, dtstart: date) -> list[tuple]:
        """The server's transactions of one account posted on or after ``dtstart``."""
        return [t for t in TRANSACTIONS
                if t[0] == key and self.today - timedelta(days=t[1]) >= dtstart]

    @staticmethod
    def _not_found(wrapper: str, trnuid: str) -> str:
        return (f"<{wrapper}>\r\n<TRNUID>{trnuid}\r\n<STATUS>\r\n<CODE>2003\r\n"
                f"<SEVERITY>ERROR\r\n</STATUS>\r\n</{wrapper}>\r\n")

    def _handler_class(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                status, headers, payload = server.answer(
                    self.path, self.headers.get("Content-Type", ""), body
                )
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format, *args):
                pass

        return Handler

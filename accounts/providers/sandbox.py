"""The built-in demo bank: deterministic, realistic, no network.

Everything is a pure function of (login, date), so two fetches of the same window return
the same data and tests can reason about it. What it exercises:

- ~13 months of history on the first fetch, three accounts (checking, savings, card);
- messy bank descriptions (``POS PURCHASE 4411 STARBUCKS #10233 SEATTLE WA``);
- transactions of the last ``PENDING_DAYS`` days are *pending* with their own id; once
  older they come back *posted*, with a new id and ``pending_external_id`` naming the
  pending twin they replace;
- every fetch overlaps the previous one by ``OVERLAP_DAYS`` days;
- the odd correction: a few posted transactions change amount a few days later.

Logins: ``bad`` is refused (authentication failure); ``flaky`` fails with a transient
error on the first attempt of every refresh; ``slow`` takes ``SLOW_SECONDS`` to answer
(for tests that kill a worker mid-refresh). Any password works.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone

from .base import (
    AccountRecord,
    AuthenticationFailed,
    FetchContext,
    RawFetch,
    Statement,
    TransactionRecord,
    TransientProviderError,
)

HISTORY_DAYS = 400
OVERLAP_DAYS = 10
PENDING_DAYS = 3
CORRECTION_DAYS = 5
SLOW_SECONDS = 4

ACCOUNTS = [
    ("chk", "Everyday Checking", "checking", "4821"),
    ("sav", "High-Yield Savings", "savings", "9910"),
    ("card", "Cash Rewards Visa", "credit_card", "3307"),
]

# (description template, low, high, chance per day, account)
SPENDING = [
    ("POS PURCHASE {n4} STARBUCKS #{s5} SEATTLE WA", "3.45", "8.95", 0.30, "card"),
    ("SQ *BLUE BOTTLE COFFEE Oakland CA", "4.50", "9.00", 0.08, "card"),
    ("WHOLEFDS MKT #{s5} SAN FRANCISCO CA", "18.00", "140.00", 0.12, "card"),
    ("TRADER JOE S #{s3} QPS OAKLAND CA", "22.00", "95.00", 0.10, "chk"),
    ("SAFEWAY #{s4} OAKLAND CA", "15.00", "120.00", 0.08, "chk"),
    ("AMZN Mktp US*{code} Amzn.com/bill WA", "9.99", "89.00", 0.18, "card"),
    ("TST* SHAKE SHACK {s3} NEW YORK NY", "11.00", "32.00", 0.05, "card"),
    ("CHIPOTLE {s4} BERKELEY CA", "9.50", "24.00", 0.07, "card"),
    ("MCDONALD'S F{s5} OAKLAND CA", "5.00", "15.00", 0.05, "chk"),
    ("UBER *TRIP HELP.UBER.COM CA", "8.00", "42.00", 0.09, "card"),
    ("LYFT *RIDE THU {mmdd} LYFT.COM CA", "7.00", "35.00", 0.04, "card"),
    ("SHELL OIL {n11} OAKLAND CA", "28.00", "70.00", 0.07, "card"),
    ("CHEVRON {s7} BERKELEY CA", "30.00", "75.00", 0.04, "chk"),
    ("TARGET T-{s4} EMERYVILLE CA", "12.00", "160.00", 0.06, "card"),
    ("COSTCO WHSE #{s4} RICHMOND CA", "60.00", "320.00", 0.03, "chk"),
    ("CVS/PHARMACY #{s5} OAKLAND CA", "6.00", "45.00", 0.04, "card"),
    ("WALGREENS #{s5} SAN FRANCISCO CA", "5.00", "38.00", 0.03, "card"),
    ("THE HOME DEPOT #{s4} EMERYVILLE CA", "15.00", "240.00", 0.03, "card"),
    ("PAYPAL *EBAY INC 402-935-7733 CA", "12.00", "150.00", 0.02, "card"),
    ("CHECKCARD {mmdd} AMC ONLINE #{s4} 888-440-4262 KS", "14.00", "48.00", 0.02, "chk"),
    ("APPLE.COM/BILL 866-712-7753 CA", "0.99", "14.99", 0.03, "card"),
]

# (description, amount, day of month, account)
MONTHLY = [
    ("ACH CREDIT ACME CORP PAYROLL PPD ID: 1234567890", "3150.00", 1, "chk"),
    ("ACH CREDIT ACME CORP PAYROLL PPD ID: 1234567890", "3150.00", 15, "chk"),
    ("ZELLE PAYMENT TO OAKWOOD PROPERTY MGMT RENT", "-2150.00", 2, "chk"),
    ("NETFLIX.COM NETFLIX.COM CA", "-15.49", 5, "card"),
    ("SPOTIFY USA 877-778-1161 NY", "-10.99", 7, "card"),
    ("COMCAST CABLE COMM 800-COMCAST CA", "-79.99", 9, "chk"),
    ("PGANDE WEB ONLINE PAYMENT {n6}", "-96.40", 11, "chk"),
    ("VERIZON WRLS {n5}-01 ALPHARETTA GA", "-65.00", 12, "chk"),
    ("GEICO *AUTO MACON DC", "-112.30", 14, "chk"),
    ("PLANET FITNESS CLUB FEES 844-880-7180 NH", "-24.99", 17, "card"),
    ("ONLINE TRANSFER TO SAVINGS XXXXXX9910", "-500.00", 16, "chk"),
    ("ONLINE TRANSFER FROM CHECKING XXXXXX4821", "500.00", 16, "sav"),
    ("INTEREST PAYMENT", "4.12", 28, "sav"),
    ("ONLINE PAYMENT - THANK YOU", "850.00", 20, "card"),
    ("CARDMEMBER SERV WEB PYMT {n6}", "-850.00", 20, "chk"),
    ("ATM WITHDRAWAL 000{n4} 1ST ST OAKLAND CA", "-60.00", 23, "chk"),
]


def today() -> date:
    """The bank's today; tests move it."""
    return timezone.localdate()


def _rng(*parts: object) -> random.Random:
    digest = hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=8).digest()
    return random.Random(int.from_bytes(digest, "big"))


def _fill(template: str, rng: random.Random, day: date) -> str:
    def digits(n: int) -> str:
        return "".join(rng.choice("0123456789") for _ in range(n))

    code = "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789") for _ in range(6))
    return template.format(
        n4=digits(4), n5=digits(5), n6=digits(6), n11=digits(11), s3=digits(3), s4=digits(4),
        s5=digits(5), s7=digits(7), code=code, mmdd=day.strftime("%m%d"),
    )


def _amount(rng: random.Random, low: str, high: str) -> Decimal:
    lo, hi = int(Decimal(low) * 100), int(Decimal(high) * 100)
    return Decimal(rng.randint(lo, hi)) / 100


def _day_transactions(login: str, day: date) -> list[dict]:
    """The transactions that happened on ``day``, as the bank knows them when posted."""
    out = []
    rng = _rng(login, day.isoformat())
    for index, (template, low, high, chance, account) in enumerate(SPENDING):
        if rng.random() < chance:
            out.append(
                {
                    "key": f"{day:%Y%m%d}-s{index}",
                    "account": account,
                    "amount": -_amount(rng, low, high),
                    "description": _fill(template, rng, day),
                }
            )
    for index, (template, amount, dom, account) in enumerate(MONTHLY):
        if day.day == dom:
            out.append(
                {
                    "key": f"{day:%Y%m%d}-m{index}",
                    "account": account,
                    "amount": Decimal(amount),
                    "description": _fill(template, _rng(login, day, index), day),
                }
            )
    return out


def _bank_view(login: str, start: date, end: date) -> dict:
    """What the bank's API answers for [start, end] as seen on ``end``."""
    transactions = []
    day = start
    while day <= end:
        age = (end - day).days
        for tx in _day_transactions(login, day):
            amount = tx["amount"]
            digest = hashlib.blake2b(f"{login}{tx['key']}".encode(), digest_size=4).digest()
            corrected = int.from_bytes(digest, "big") % 61 == 0
            if corrected and age >= CORRECTION_DAYS:
                amount = (amount * Decimal("1.10")).quantize(Decimal("0.01"))
            record = {
                "id": f"T{tx['key']}",
                "account": tx["account"],
                "date": day.isoformat(),
                "amount": str(amount),
                "description": tx["description"],
                "status": "posted",
            }
            if age < PENDING_DAYS and amount < 0:
                record.update(id=f"P{tx['key']}", status="pending")
            elif age < PENDING_DAYS + 30 and amount < 0:
                record["pending_transaction_id"] = f"P{tx['key']}"
            transactions.append(record)
        day += timedelta(days=1)
    balances = {"chk": "4210.55", "sav": "12850.00", "card": "-1342.18"}
    return {
        "bank": "Mint Demo Bank",
        "start": start.isoformat(),
        "as_of": end.isoformat(),
        "accounts": [
            {"id": key, "name": name, "type": kind, "mask": mask, "currency": "USD",
             "balance": balances[key]}
            for key, name, kind, mask in ACCOUNTS
        ],
        "transactions": transactions,
    }


class SandboxProvider:
    name = "sandbox"

    def fetch(self, ctx: FetchContext) -> RawFetch:
        login = ctx.login.strip().lower()
        if login == "bad":
            raise AuthenticationFailed("The demo bank refused the login and password.")
        if login == "flaky" and ctx.attempt == 1:
            raise TransientProviderError("The demo bank timed out; it will be retried.")
        if login == "slow":
            time.sleep(SLOW_SECONDS)
        end = today()
        start = end - timedelta(days=HISTORY_DAYS)
        if ctx.since:
            start = max(start, date.fromisoformat(ctx.since) - timedelta(days=OVERLAP_DAYS))
        body = _bank_view(login, start, end)
        return RawFetch(json.dumps(body, sort_keys=True).encode(), "application/json")

    def parse(self, raw: RawFetch) -> Statement:
        body = json.loads(raw.payload)
        accounts = [
            AccountRecord(
                external_id=a["id"], name=a["name"], kind=a["type"], mask=a["mask"],
                currency=a["currency"], balance=Decimal(a["balance"]),
            )
            for a in body["accounts"]
        ]
        transactions = [
            TransactionRecord(
                account_external_id=t["account"],
                external_id=t["id"],
                posted_on=date.fromisoformat(t["date"]),
                amount=Decimal(t["amount"]),
                description=t["description"],
                pending=t["status"] == "pending",
                pending_external_id=t.get("pending_transaction_id", ""),
            )
            for t in body["transactions"]
        ]
        # Every transaction still pending is in the answer (they are the last few days;
        # the window reaches further back): from "start" on, one not sent is gone.
        # (Dumps stored before the field existed have none: nothing is taken away.)
        start = body.get("start")
        return Statement(accounts, transactions, cursor=body["as_of"], institution=body["bank"],
                         window_start=date.fromisoformat(start) if start else None)


provider = SandboxProvider()

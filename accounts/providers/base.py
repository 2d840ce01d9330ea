"""The provider interface: how the pipeline talks to an institution.

Contract (every provider module follows it; ``registry.get(name)`` returns one):

``fetch(ctx) -> RawFetch``
    Talk to the institution and return its answer *unchanged* (bytes + media type).
    ``ctx.since`` is the cursor saved by the last successful refresh (``None`` the first
    time); a provider may fetch an overlapping window, the pipeline de-duplicates.
    Raise ``AuthenticationFailed`` when the credentials are refused (not retried; the
    user must fix them), ``TransientProviderError`` for anything worth retrying
    (timeouts, 5xx, maintenance windows), ``ProviderInputError`` for a URL or setting
    that can never work. Never put the credentials into the returned payload.

``parse(raw) -> Statement``
    Pure function of the raw payload: the accounts, the transactions and the cursor
    for the next fetch. The pipeline can therefore re-parse stored raw dumps later.

Sign convention, everywhere in Mint: ``amount`` is signed from the account holder's
point of view — negative is money out (a purchase, a fee, a payment made), positive is
money in (a paycheck, a refund, interest). The same holds for credit cards: a purchase
is negative, a card payment received is positive.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Protocol


class ProviderError(Exception):
    """Base of every provider failure; the message is safe to show to the user."""


class AuthenticationFailed(ProviderError):
    """The institution refused the credentials. Not retried."""


class TransientProviderError(ProviderError):
    """Worth retrying later: timeouts, 5xx, the bank being down for maintenance."""


class ProviderInputError(ProviderError):
    """The connection can never work as configured (bad URL, refused address)."""


@dataclass(frozen=True, slots=True)
class AccountRecord:
    external_id: str
    name: str
    kind: str = "checking"
    mask: str = ""
    currency: str = "USD"
    balance: Decimal | None = None
    # The day the balance is of (OFX's <DTASOF>), when the source says: an older
    # statement imported after a newer one must not put its balance back.
    balance_as_of: date | None = None


@dataclass(frozen=True, slots=True)
class TransactionRecord:
    account_external_id: str
    external_id: str
    posted_on: date
    amount: Decimal
    description: str
    currency: str = "USD"
    pending: bool = False
    # When a posted transaction says which pending one it replaces (Plaid-style).
    pending_external_id: str = ""
    # Category name path as the source gave it ("Coffee Shops"), e.g. Mint's CSV export.
    source_category: str = ""
    memo: str = ""
    # The name the source shows for it, when it is not the bank's text: Mint's cleaned-up
    # or hand-given "Description". Shown as the seller (a rule's rename still wins).
    source_name: str = ""
    # The id an earlier reader of the file gave this row, when it gave another: a row
    # stored under it, none being stored under ``external_id``, is this one (the same file
    # imported again adds nothing; see transactions_ingest).
    former_external_id: str = ""


@dataclass(slots=True)
class Statement:
    accounts: list[AccountRecord] = field(default_factory=list)
    transactions: list[TransactionRecord] = field(default_factory=list)
    cursor: str = ""
    institution: str = ""
    # The first day the answer covers, for a provider that re-sends every transaction
    # still pending from that day on (Plaid-style): a stored pending row of one of its
    # accounts, dated from then on, that it no longer sends is gone at the bank (a hold
    # released, or a charge that posted under another amount, a tip added). None (files,
    # OFX): no pending row is ever taken away for not being sent.
    window_start: date | None = None
    # A file imported into the accounts it names: for each account its rows cover the
    # days from the first to the last, and a stored pending row of that account dated
    # within them that the file no longer holds is gone at the bank (posted under another
    # amount, a tip added, or released) when the file shows why: it shows pending rows of
    # that account, or a posted row of the same seller within days after it (see
    # transactions_ingest). A file of one day's rows covers that day only. The days
    # reach back PENDING_MATCH_DAYS before the first, for a pending row the file's first
    # rows posted (a tip added): there only a posted row of its seller tells.
    expire_within_rows: bool = False
    # What the person should know about how a file was read (an import job's notes).
    notes: list[str] = field(default_factory=list)
    # The options a file's reader chose for itself where the person gave none (a card
    # issuer's export negated, dates read day first): kept with the import job, so that
    # reading the file again (recompute_spending --from-raw) reads it the same way,
    # whatever later code would choose.
    read_with: dict = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RawFetch:
    payload: bytes
    media_type: str


@dataclass(frozen=True, slots=True)
class FetchContext:
    url: str
    login: str
    # Not in the printed form: a traceback's locals or a log line that shows the context
    # must not show the password.
    password: str = field(repr=False)
    since: str | None
    attempt: int = 1  # 1 on the first try of a refresh run


class Provider(Protocol):
    name: str

    def fetch(self, ctx: FetchContext) -> RawFetch: ...

    def parse(self, raw: RawFetch) -> Statement: ...

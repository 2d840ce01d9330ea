"""The part of categorisation that needs no database: description → seller → category.

:class:`Categorizer` answers, for one raw bank description, the seller (display name and
match key), the seller dictionary's category for it, and the description heuristics'
category. ``services.categorize_records`` adds what needs the database (the user's rules,
crowd-learned defaults, the taxonomy ids) and applies the precedence:

    manual › user rule › category named by the imported file › seller dictionary
           › crowd-learned › description heuristics › Uncategorized

Heuristics come in two kinds:

- **movements of money** (transfers, card payments, payroll, ATM, interest, checks,
  deposits): such a line names no seller, so the seller dictionary and the crowd are not
  consulted — ``ONLINE TRANSFER TO SAV 1234`` must not match a shop called *Sav*;
- **keywords** (fees, rent, insurance, tax, loan): used only when no seller matched.

Everything per description is cached (statements repeat the same lines month after month,
and overlapping fetch windows re-send last night's): a hit costs one dict lookup.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .normalize import GENERIC_WORDS, _clean
from .sellers import SellerDictionary, load_sellers, match_key

__all__ = ["Categorizer", "Heuristic", "SellerMatch", "categorizer", "heuristic_for"]


@dataclass(frozen=True, slots=True)
class Heuristic:
    """A description heuristic's answer: the category path for money out and for money in
    (``None``: the heuristic says nothing for that sign)."""

    name: str
    out: str | None
    into: str | None

    def path(self, amount_sign: int) -> str | None:
        return self.into if amount_sign > 0 else self.out


@dataclass(frozen=True, slots=True)
class SellerMatch:
    seller: str  # display name ("Whole Foods Market"), "" when the line names no seller
    key: str  # match_key(seller): "whole foods market" (also for "WHOLEFDS MKT"), or ""
    path: str | None  # the dictionary's "Top › Sub", None when the seller is not in it
    heuristic: Heuristic | None


# (name, pattern, path for money out, path for money in). First match wins; patterns run
# on the upper-cased raw description. Movements of money name no seller.
_MOVEMENTS: list[tuple[str, str, str | None, str | None]] = [
    (
        "card_payment",
        r"\b(?:PAYMENT\W*(?:-\s*)?THANK\s*YOU|THANK YOU FOR (?:YOUR )?PAYMENT|PAYMENT RECEIVED"
        r"|(?:CREDIT\s*(?:CARD|CRD)|CRD|CC)\s*(?:E?PAYMENT|E?PMT|PYMT|AUTOPAY|AUTO PAY|EPAY)"
        r"|CARD (?:PAYMENT|PMT|PYMT)|AUTOPAY PAYMENT|AUTOMATIC PAYMENT - THANK)\b",
        "Transfer › Credit Card Payment",
        "Transfer › Credit Card Payment",
    ),
    (
        "payroll",
        r"\b(?:PAYROLL|PAY ?ROLL|DIR(?:ECT)? ?DEP(?:OSIT)?|SALARY|PAYCHECK|WAGES)\b",
        "Transfer",
        "Income › Paycheck",
    ),
    (
        "transfer",
        r"\b(?:TRANSFER|XFER|XFR|TFR|TRNSFR|WIRE (?:TO|FROM|IN|OUT)|(?:INCOMING|OUTGOING) WIRE"
        r"|ZELLE|VENMO|CASH APP|SQUARE CASH|POPMONEY)\b",
        "Transfer",
        "Transfer",
    ),
    (
        "atm",
        r"\b(?:ATM|CASH (?:WITHDRAWAL|WDL|WD)|CASH ADVANCE)\b",
        "Uncategorized › Cash & ATM",
        "Transfer",
    ),
    (
        "interest",
        r"\b(?:INTEREST|INT (?:EARNED|PAID|CREDIT|PAYMENT)|DIVIDEND EARNED)\b",
        "Fees & Charges › Finance Charge",
        "Income › Interest Income",
    ),
    (
        "dividend",
        r"\b(?:DIVIDENDS?|CAP(?:ITAL)? GAINS?)\b",
        "Investments",
        "Investments › Dividend & Cap Gains",
    ),
    (
        "check",
        r"^\s*(?:CHECK|CHK|CHEQUE|CK)\s*(?:#|NO\.?|NUM)?\s*\d+\b|^\s*\d{3,6}\s*$",
        "Uncategorized › Check",
        "Income",
    ),
]
_KEYWORDS: list[tuple[str, str, str | None, str | None]] = [
    ("atm_fee", r"\bATM\b.*\b(?:FEE|SURCHARGE)|NON.?\w*\s*ATM", "Fees & Charges › ATM Fee", None),
    ("late_fee", r"\bLATE (?:FEE|CHARGE|PAYMENT FEE)\b", "Fees & Charges › Late Fee", None),
    ("finance_charge", r"\b(?:FINANCE CHARGE|INTEREST CHARGE)\b",
     "Fees & Charges › Finance Charge", None),
    ("bank_fee", r"\b(?:OVERDRAFT|NSF|INSUFFICIENT FUNDS|RETURNED ITEM|MAINTENANCE FEE"
     r"|SERVICE (?:FEE|CHARGE)|MONTHLY FEE|WIRE FEE|FOREIGN TRANSACTION FEE|FOREIGN TRAN FEE"
     r"|INTL TRANSACTION FEE|ANNUAL FEE|FEE)\b",
     "Fees & Charges › Bank Fee", "Income › Reimbursement"),
    ("mortgage", r"\b(?:MORTGAGE|MTG|HOME LOAN|RENT(?:AL)? PAYMENT|RENT)\b",
     "Home › Mortgage & Rent", "Income › Rental Income"),
    ("student_loan", r"\bSTUDENT ?(?:LN|LOAN)\b", "Education › Student Loan", None),
    ("auto_loan", r"\b(?:AUTO|CAR) (?:LOAN|PMT|PAYMENT|FINANCE)\b", "Auto & Transport › Auto Payment",
     None),
    ("loan", r"\b(?:LOAN|LN PMT|LN PAYMENT)\b", "Loans › Loan Payment", "Loans"),
    ("tax", r"\b(?:IRS|TAX(?:ES)?|USATAXPYMT|TAX REF)\b", "Taxes", "Income"),
    ("insurance", r"\b(?:INSURANCE|INS PREM|INS PMT|ASSURANCE)\b", "Financial › Life Insurance",
     None),
    ("donation", r"\b(?:DONATION|CHARITY|CHARITABLE|TITHE)\b", "Gifts & Donations › Charity", None),
    ("refund", r"\b(?:REFUND|RETURN|REVERSAL)\b", None, "Income › Returned Purchase"),
    ("deposit", r"\b(?:DEPOSIT|MOBILE DEP|REMOTE DEP|BRANCH DEP)\b", None, "Income"),
]


def _compile(table):
    return [(re.compile(pattern), Heuristic(name, out, into)) for name, pattern, out, into in table]


_MOVEMENT_RES = _compile(_MOVEMENTS)
_KEYWORD_RES = _compile(_KEYWORDS)
# One cheap test before the per-pattern searches: does any heuristic word occur at all?
_ANY_MOVEMENT = re.compile("|".join(f"(?:{p})" for _, p, _, _ in _MOVEMENTS))
_ANY_KEYWORD = re.compile("|".join(f"(?:{p})" for _, p, _, _ in _KEYWORDS))


def movement_for(text: str) -> Heuristic | None:
    """The money-movement heuristic for an upper-cased description, if any."""
    if _ANY_MOVEMENT.search(text) is None:
        return None
    for pattern, heuristic in _MOVEMENT_RES:
        if pattern.search(text):
            return heuristic
    return None  # pragma: no cover - the union matched, so one part does


def heuristic_for(text: str) -> Heuristic | None:
    """Every heuristic for an upper-cased description: movements first, then keywords."""
    found = movement_for(text)
    if found is not None:
        return found
    if _ANY_KEYWORD.search(text) is None:
        return None
    for pattern, heuristic in _KEYWORD_RES:
        if pattern.search(text):
            return heuristic
    return None  # pragma: no cover


def display_name(key: str) -> str:
    """A readable name for a seller that is not in the dictionary: "blue bottle coffee" →
    "Blue Bottle Coffee"."""
    return " ".join(word[:1].upper() + word[1:] for word in key.split())


_NONE = SellerMatch("", "", None, None)


class Categorizer:
    """Seller and dictionary category for raw descriptions, with a bounded cache.

    Not thread-safe for writes to the cache in the strict sense, but a lost cache entry
    only costs a recomputation (dict operations are atomic under the GIL).
    """

    def __init__(self, dictionary: SellerDictionary | None = None, *, cache_size: int = 200_000):
        self.dictionary = dictionary if dictionary is not None else load_sellers()
        self._index = self.dictionary._index
        self._first = self.dictionary.keys_by_first_token()
        self._cache: dict[str, SellerMatch] = {}
        self._cache_size = cache_size

    def clear_cache(self) -> None:
        self._cache.clear()

    def match(self, raw: str) -> SellerMatch:
        """Seller, dictionary category and heuristic for one raw description (cached)."""
        hit = self._cache.get(raw)
        if hit is not None:
            return hit
        result = self._match(raw)
        cache = self._cache
        if len(cache) >= self._cache_size:
            cache.clear()  # a generation cache: cheaper than LRU bookkeeping per hit
        cache[raw] = result
        return result

    def classify(self, raw: str, amount_sign: int = -1) -> tuple[str, str, str, str]:
        """(seller, seller key, "Top › Sub", source) with no user data: dictionary, then
        heuristics, then Uncategorized. For the CLI and the benchmark; the pipeline uses
        ``services.categorize_records``, which adds rules and the crowd."""
        m = self.match(raw)
        if m.path is not None:
            return m.seller, m.key, m.path, "seller"
        if m.heuristic is not None:
            path = m.heuristic.path(amount_sign)
            if path is not None:
                return m.seller, m.key, path, "heuristic"
        return m.seller, m.key, "Uncategorized", ""

    def _match(self, raw: str) -> SellerMatch:
        upper = raw.upper()
        movement = movement_for(upper)
        if movement is not None:
            return SellerMatch("", "", None, movement)
        key, tokens = _clean(raw)
        entry_key = self._find(key, tokens)
        if entry_key is not None:
            seller, path = self.dictionary.lookup(entry_key)
            # The seller's identity for rules is its name's key, whatever the spelling:
            # "WHOLEFDS MKT" and "WHOLE FOODS MARKET" are both "whole foods market".
            return SellerMatch(seller, match_key(seller)[:200] or entry_key, path, None)
        heuristic = heuristic_for(upper)
        if not key or all(t in GENERIC_WORDS for t in key.split()):
            return SellerMatch("", "", None, heuristic) if heuristic else _NONE
        return SellerMatch(display_name(key)[:200], key[:200], None, heuristic)

    def _find(self, key: str, tokens: list[str]) -> str | None:
        """The dictionary key for a cleaned description: the whole key, else the longest
        run of whole tokens that is a key (most tokens; leftmost on a tie). Keys made of
        one generic word (``payment``) never match."""
        index = self._index
        if key in index:
            return key
        first = self._first
        n_tokens = len(tokens)
        best: str | None = None
        best_n = 0
        for i, tok in enumerate(tokens):
            if best_n >= n_tokens - i:
                break
            for candidate in first.get(tok, ()):
                n = candidate.count(" ") + 1
                if n <= best_n:
                    break
                if i + n <= n_tokens and " ".join(tokens[i : i + n]) == candidate:
                    best, best_n = candidate, n
                    break
            if best_n == 0 and tok in index and tok not in GENERIC_WORDS:
                best, best_n = tok, 1
        return best


_default: Categorizer | None = None


def categorizer() -> Categorizer:
    """The process-wide categorizer over the committed seller dictionary (loaded once)."""
    global _default
    if _default is None:
        _default = Categorizer()
    return _default

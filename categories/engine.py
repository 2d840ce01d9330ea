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

Two exceptions name a seller anyway. A Fedwire line (``WIRE TYPE:WIRE OUT … BNF:COINBASE
INC …``) is a movement whose other party (the beneficiary of a wire out, the originator
of a wire in) is the seller, with its dictionary category for money out when it has
one. Money in from a marketplace's payments arm (``AIRBNB PAYMENTS``, ``ETSY PAYOUT``) is
income, not a refund in the seller's category (``SellerMatch.into``).

Everything per description is cached (statements repeat the same lines month after month,
and overlapping fetch windows re-send last night's): a hit costs one dict lookup.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import defaultdict
from pathlib import Path
from typing import NamedTuple

from .normalize import GENERIC_WORDS, _clean, _key_tokens
from .sellers import SellerDictionary, kinds, load_sellers, match_key

__all__ = ["Categorizer", "Heuristic", "SellerMatch", "categorizer", "heuristic_for",
           "prepare_worker_process"]


# Answers are named tuples of strings, not dataclasses: the garbage collector stops
# tracking a tuple of atoms, and the caches hold ~10^5 answers (tracked objects there cost
# ~11 µs per new description in collector passes, measured with bench/categorize.py).


class Heuristic(NamedTuple):
    """A description heuristic's answer: the category path for money out and for money in
    (``None``: the heuristic says nothing for that sign)."""

    name: str
    out: str | None
    into: str | None

    def path(self, amount_sign: int) -> str | None:
        return self.into if amount_sign > 0 else self.out


class SellerMatch(NamedTuple):
    seller: str  # display name ("Whole Foods Market"), "" when the line names no seller
    key: str  # match_key(seller): "whole foods market" (also for "WHOLEFDS MKT"), or ""
    path: str | None  # the dictionary's "Top › Sub", None when the seller is not in it
    heuristic: Heuristic | None
    # For money in, when it is not ``path``: what a host's payout from Airbnb or a wire
    # from a company is ("Income", "Income › Paycheck", "Transfer"), not a refund.
    into: str | None = None

    def path_for(self, amount_sign: int) -> str | None:
        """The dictionary's answer for money out (-1) or in (1)."""
        return self.into if amount_sign > 0 and self.into is not None else self.path


# --- description heuristics --------------------------------------------------------------
#
# Rules on the description's words (``match_key(raw).split()``): a rule holds when one of
# its ``any`` phrases occurs, and also one of its ``also`` phrases (if given), and none of
# its ``none`` phrases. A phrase is one or more whole words. First rule that holds wins.
# Words rather than regular expressions: one pass over the words finds every phrase
# (~2 µs a line; the same rules as 24 regular expressions cost ~15 µs).


def _cross(firsts: str, seconds: str) -> list[str]:
    return [f"{a} {b}" for a in firsts.split("|") for b in seconds.split("|")]


_ISSUERS = ("chase|citi|citibank|capital one|discover|amex|american express|barclaycard|barclays"
            "|synchrony|syncb|bank of america|wells fargo|us bank|usaa|bankcard|cardmember"
            "|card serv|card services|cardservices|applecard|apple card|gs bank")
_PAY_WORDS = "pmt|payment|autopay|auto pay|epay|e payment|epayment|crcardpmt|pymt"

# (name, any, also, none, path for money out, path for money in)
_Rule = tuple[str, list[str], list[str] | None, list[str] | None, str | None, str | None]

_MOVEMENTS: list[_Rule] = [
    ("investment", ["investing", "investment", "investments", "brokerage", "ira contrib"],
     None, None, "Investments", "Investments"),
    ("atm_fee", ["atm"], ["fee", "fees", "surcharge"], None,
     "Fees & Charges › ATM Fee", "Income › Reimbursement"),
    # What the bank charges for a transfer ("WIRE TRANSFER FEE", "OUTGOING WIRE FEE") is
    # a fee, not the transfer.
    ("transfer_fee", ["fee", "fees"], ["wire", "transfer", "xfer", "xfr", "tfr", "trnsfr"],
     None, "Fees & Charges › Bank Fee", "Income › Reimbursement"),
    # A card issuer's name with a payment word: the card's bill paid from checking.
    ("card_issuer_payment", [*_ISSUERS.split("|"), "crcardpmt"], _PAY_WORDS.split("|"),
     ["loan", "ln"], "Transfer › Credit Card Payment", "Transfer › Credit Card Payment"),
    ("card_payment",
     ["payment thank you", "payment thank", "thank you for your payment",
      "thank you for payment", "payment received", "autopay payment",
      "automatic payment thank", "card payment", "card pmt", "card pymt",
      *_cross("credit card|credit crd|crd|cc",
              "payment|epayment|pmt|epmt|pymt|autopay|auto pay|epay")],
     None, None, "Transfer › Credit Card Payment", "Transfer › Credit Card Payment"),
    ("payroll",
     ["payroll", "pay roll", "salary", "paycheck", "wages", "dirdep", "directdep",
      "dirdeposit", "directdeposit", "nomina", *_cross("dir|direct", "dep|deposit")],
     None, None, "Transfer", "Income › Paycheck"),
    # Rent paid to a person by Zelle, Venmo and the like is still rent ("ZELLE PAYMENT TO
    # OAKWOOD PROPERTY MGMT RENT"): spending under Home, not a transfer. Not a bank
    # transfer ("TRANSFER TO RENT SAVINGS" is the user's own money), not the shops named
    # Rent-…, and money coming in stays a transfer (a roommate's share, not income).
    ("p2p_rent", ["rent", "rent payment", "rental payment"],
     ["zelle", "venmo", "cash app", "square cash", "popmoney"],
     ["savings", "sav", "escrow", "refund", "rent a", "runway", "split"],
     "Home › Mortgage & Rent", "Transfer"),
    ("transfer",
     ["transfer", "xfer", "xfr", "tfr", "trnsfr", "wire to", "wire from", "wire in",
      "wire out", "incoming wire", "outgoing wire", "zelle", "venmo", "cash app",
      "square cash", "popmoney", *_cross("from|to", "sav|savings|chk|checking")],
     None, None, "Transfer", "Transfer"),
    ("atm", ["atm", "cash withdrawal", "cash wdl", "cash wd", "cash advance"], None, None,
     "Uncategorized › Cash & ATM", "Transfer"),
    ("interest", ["interest", "int earned", "int paid", "int credit", "int payment",
                  "dividend earned"], None, None,
     "Fees & Charges › Finance Charge", "Income › Interest Income"),
    ("dividend", ["dividend", "dividends", "cap gain", "cap gains", "capital gain",
                  "capital gains"], None, None,
     "Investments", "Investments › Dividend & Cap Gains"),
]
_KEYWORDS: list[_Rule] = [
    ("late_fee", ["late fee", "late charge", "late payment fee"], None, None,
     "Fees & Charges › Late Fee", None),
    ("finance_charge", ["finance charge", "interest charge"], None, None,
     "Fees & Charges › Finance Charge", None),
    ("bank_fee", ["overdraft", "nsf", "insufficient funds", "returned item", "fee", "fees",
                  "service charge"], None, None,
     "Fees & Charges › Bank Fee", "Income › Reimbursement"),
    ("mortgage", ["mortgage", "mtg", "home loan", "rent payment", "rental payment", "rent"],
     None, None, "Home › Mortgage & Rent", "Income › Rental Income"),
    ("student_loan", ["student ln", "student loan", "studentloan"], None, None,
     "Education › Student Loan", None),
    ("auto_loan", _cross("auto|car", "loan|pmt|payment|finance"), None, None,
     "Auto & Transport › Auto Payment", None),
    ("loan_payment", ["loan", "ln"], ["pmt", "payment", "pymt"], None,
     "Loans › Loan Payment", "Loans"),
    ("loan", ["loan"], None, None, "Loans › Loan Payment", "Loans"),
    ("tax", ["irs", "tax", "taxes", "usataxpymt", "tax ref"], None, None, "Taxes", "Income"),
    ("insurance", ["insurance", "ins prem", "ins pmt", "assurance"], None, None,
     "Financial", None),
    ("donation", ["donation", "charity", "charitable", "tithe"], None, None,
     "Gifts & Donations › Charity", None),
    ("refund", ["refund", "return", "reversal"], None, None,
     None, "Income › Returned Purchase"),
    ("deposit", ["deposit", "mobile dep", "remote dep", "branch dep"], None, None,
     None, "Income"),
]
_CHECK = Heuristic("check", "Uncategorized › Check", "Income")
_CHECK_WORDS = frozenset(["check", "chk", "cheque", "ck"])


class _RuleSet:
    """Finds every phrase of a rule table in one pass over the words."""

    def __init__(self, table: list[_Rule]):
        self.rules = [
            (frozenset(any_), frozenset(also or ()), frozenset(none or ()),
             Heuristic(name, out, into))
            for name, any_, also, none, out, into in table
        ]
        by_first: dict[str, list[tuple[str, ...]]] = defaultdict(list)
        for any_, also, none, _ in self.rules:
            for phrase in any_ | also | none:
                words = tuple(phrase.split())
                if words not in by_first[words[0]]:
                    by_first[words[0]].append(words)
        self.by_first = dict(by_first)
        self._firsts = frozenset(self.by_first)

    def phrases(self, words: list[str]) -> set[str]:
        found: set[str] = set()
        if self._firsts.isdisjoint(words):  # most lines: one pass in C, no phrase
            return found
        by_first = self.by_first
        for i, word in enumerate(words):
            for phrase in by_first.get(word, ()):
                n = len(phrase)
                if n == 1 or tuple(words[i : i + n]) == phrase:
                    found.add(" ".join(phrase))
        return found

    def first(self, words: list[str]) -> Heuristic | None:
        found = self.phrases(words)
        if not found:
            return None
        for any_, also, none, heuristic in self.rules:
            if (not found.isdisjoint(any_) and (not also or not found.isdisjoint(also))
                    and found.isdisjoint(none)):
                return heuristic
        return None


# Last of all, below the kind-of-business words ("CITY OF SEATTLE UTILITIES" is a utility):
# a payment to a public body is most often a tax or a fee of it.
_GOVERNMENT: list[_Rule] = [
    ("government", ["city of", "county of", "town of", "village of", "state of", "dept of",
                    "department of", "treasurer", "tax collector"], None, None,
     "Taxes", "Income"),
]
# Processors whose own prefix says what was bought, whoever the seller is: Eventbrite
# prints "EB *<event>" (tickets), Yardi's resident payments "YSI*<property>" (rent).
# Looked at as the line's first word, after the keyword rules. (Added after reading the
# misses of bench/categorize.py: they make its accuracy figure optimistic.)
_PROCESSOR_KINDS = {
    "eb": Heuristic("eventbrite", "Entertainment", None),
    "ysi": Heuristic("yardi", "Home › Mortgage & Rent", None),
}
_MOVEMENT_RULES = _RuleSet(_MOVEMENTS)
_GOVERNMENT_RULES = _RuleSet(_GOVERNMENT)
_KEYWORD_RULES = _RuleSet(_KEYWORDS)


def _words(raw: str) -> list[str]:
    return _key_tokens(raw)  # match_key(raw).split(), one str.translate for ASCII text


_CAMEL_RE = re.compile(r"(?<=[a-z])(?=[A-Z])")


def _camel_words(raw: str) -> list[str]:
    """The words of the names written in camel case after a processor's ``*`` ("SQ
    *ThaiKitchen" → ["thai", "kitchen"]): Square, Toast and the like print the name as
    the seller typed it. Only there: elsewhere camel case is a product's name ("MacBook
    Repair" is no bookshop). Empty when there is none."""
    star = raw.find("*")
    if star < 0:
        return []
    tail = raw[star + 1 :]
    if _CAMEL_RE.search(tail) is None:
        return []
    return _key_tokens(" ".join(_CAMEL_RE.sub(" ", t) for t in tail.split()
                                if _CAMEL_RE.search(t)))


def movement_for(words: list[str]) -> Heuristic | None:
    """The money-movement heuristic for a description's words, if any."""
    if words and words[0] in _CHECK_WORDS and len(words) > 1 and words[1].isdigit():
        return _CHECK
    if len(words) == 1 and words[0].isdigit() and 3 <= len(words[0]) <= 6:
        return _CHECK  # a bare check number
    return _MOVEMENT_RULES.first(words)


def heuristic_for(raw: str) -> Heuristic | None:
    """Every word heuristic for a raw description: movements first, then keywords."""
    words = _words(raw)
    return movement_for(words) or _KEYWORD_RULES.first(words)


CATEGORY_WORDS_PATH = Path(__file__).resolve().parent / "data" / "category-words.tsv"


def load_category_words(path: Path = CATEGORY_WORDS_PATH) -> dict[str, str]:
    """match_key(word or two-word phrase) → "Top › Sub" (``data/category-words.tsv``)."""
    words: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        phrase, path_ = line.split("\t")
        words[match_key(phrase)] = path_.strip()
    return words


def display_name(key: str) -> str:
    """A readable name for a seller that is not in the dictionary: "blue bottle coffee" →
    "Blue Bottle Coffee"."""
    return key.title()


_NONE = SellerMatch("", "", None, None)
_DIGIT_SHAPE = str.maketrans("123456789", "000000000")
_DIGIT_SHAPE_BYTES = bytes.maketrans(b"123456789", b"000000000")
_HAS_DIGIT = re.compile(r"\d")


def _digit_shape(raw: str) -> str:
    """Every digit → 0 (``bytes.translate`` for ASCII text: ~6× faster)."""
    if raw.isascii():
        return raw.encode().translate(_DIGIT_SHAPE_BYTES).decode()
    return raw.translate(_DIGIT_SHAPE)


def _digit_free(key: str, tokens: list[str]) -> bool:
    """Whether no word that reached the dictionary lookups has a digit."""
    return _HAS_DIGIT.search(key) is None and _HAS_DIGIT.search(" ".join(tokens)) is None


_WORD_HEURISTICS: dict[str, Heuristic] = {}

# An airline ticket on a card statement: the airline's name, often cut short or glued
# ("AMERICAN0012345678901", "SOUTHWES 5262345678901"), then the ticket number, whose
# first three digits are the airline's IATA accounting code. The code tells American
# Airlines from American Express. Airline → its seller dictionary key. (Like the
# camel-case words below, added after reading a miss of bench/categorize.py: each makes
# that accuracy figure optimistic by one row.)
_TICKET_RE = re.compile(r"\b([A-Z]{4,}(?: [A-Z]{2,})?) ?(\d{3})\d{7,10}(?!\d)")
_TEN_DIGITS = re.compile(r"\d{10}")
_TEN_ZEROS = "0" * 10
_TICKET_CODES = {
    "001": "american airlines",
    "006": "delta air lines",
    "014": "air canada",
    "016": "united airlines",
    "027": "alaska airlines",
    "057": "air france",
    "074": "klm",
    "125": "british airways",
    "173": "hawaiian airlines",
    "220": "lufthansa",
    "279": "jetblue",
    "422": "frontier airlines",
    "487": "spirit airlines",
    "526": "southwest airlines",
}


def _ticket_airline(m: re.Match[str]) -> str | None:
    """The dictionary key of the airline whose ticket number ``_TICKET_RE`` found, when
    the name before the number begins that airline's name (4+ letters)."""
    key = _TICKET_CODES.get(m.group(2))
    if key is None:
        return None
    return key if key.replace(" ", "").startswith(m.group(1).replace(" ", "").lower()) else None


# A Fedwire transfer as banks print it (Chase, Wells Fargo): labelled fields,
# "WIRE TYPE:WIRE OUT DATE:230317 … ORIG:JOHN DOE ID:… BNF:COINBASE INC ID:… BNF BK:
# JPMORGAN CHASE … PMT DET:…". The other party is the beneficiary (BNF:) of a wire out
# and the originator (ORIG:) of a wire in. Without reading the fields, the banks' names
# and "PMT DET" in them read as a credit card's bill paid to that bank.
_WIRE_LABELS = (r"ORIG ID|BNF ID|ID|SND BK|RCV BK|BNF BK|ORIG BK|BNF|ORIG|PMT DET|OBI|IMAD|OMAD|TRN|SEQ"
                r"|DATE|TIME|SERVICE REF|FED REF|REF|RFB|BBI|WIRE TYPE")
_WIRE_PARTY_RE = {
    label: re.compile(rf"(?:^|\s){label}:\s*(.*?)(?=\s+(?:{_WIRE_LABELS}):|$)")
    for label in ("BNF", "ORIG")
}
_WIRE_DIRECTION_RE = re.compile(r"\b(?:WIRE|WIRE TYPE:\s*(?:[A-Z]+\s+)?)(IN|OUT)\b"
                                r"|\b(INCOMING|OUTGOING) WIRE\b")
_MASKED_RE = re.compile(r"[\sX*#\d\W]*")
_WIRE_BANK_RE = re.compile(rf"(?:^|\s)(?:SND|RCV|BNF|ORIG) BK:.*?(?=\s+(?:{_WIRE_LABELS}):|$)")
_TRANSFER = Heuristic("transfer", "Transfer", "Transfer")


def _wire_counterparty(text: str) -> str | None:
    """The other party's name in a Fedwire line (upper case), as printed; None when the
    line does not say which way the money went or masks the name."""
    direction = _WIRE_DIRECTION_RE.search(text)
    if direction is None:
        return None
    label = "BNF" if (direction.group(1) or direction.group(2)) in ("OUT", "OUTGOING") else "ORIG"
    party = _WIRE_PARTY_RE[label].search(text)
    if party is None or _MASKED_RE.fullmatch(party.group(1)):  # "ORIG:XXXXX1234"
        return None
    return party.group(1)


# Top-level categories of money moved rather than spent: money in from such a seller is
# theirs too (no refund to turn it from).
_MONEY_TOPS = frozenset(["Investments", "Transfer", "Income", "Loans"])
# Words of a loan's or a mortgage's payment; and the categories of sellers that are
# lenders already (their own category stands: a broker's "MARGIN LOAN", an insurer's).
_LENDING = frozenset(["mortgage", "mtg", "loan", "loans"])
_LENDER_TOPS = frozenset(["Loans", "Financial", "Investments", "Income"])
_LENDER_PATHS = frozenset(["Education › Student Loan", "Auto & Transport › Auto Payment",
                           "Home › Mortgage & Rent"])
# Words of a licensed practice, which no shop or place is named after: a line with one
# is that practice's, whatever shop shares its name's first word ("BURLINGTON
# VETERINARY", not the clothes shop; "TARGET DENTAL"). Matched as a word's beginning,
# for the names that banks cut or run into the city ("VETERINARBURLINGTON"); each stem
# is filed as the curated kind-of-business word beside it.
_PRACTICE_RE = re.compile(r"\b(veterinar|dentist|dental|orthodont|chiropract|optometr)")
_PRACTICE_WORDS = {"veterinar": "veterinary", "dentist": "dentist", "dental": "dental",
                   "orthodont": "orthodontics", "chiropract": "chiropractic",
                   "optometr": "optometry"}
_PAYOUT_WORDS = frozenset(["payments", "payout", "payouts"])
# Marketplaces that pay people who sell, host or drive through them (seller keys): their
# "… PAYMENTS" money in is earnings. A shop's or a processor's is a refund (AMAZON
# PAYMENTS, PAYPAL PAYMENTS).
_PAYOUT_SELLERS = frozenset(["airbnb", "vrbo", "etsy", "ebay", "shopify", "uber", "lyft",
                             "doordash", "grubhub", "instacart"])


def _word_heuristic(path: str) -> Heuristic:
    """A kind-of-business word categorises money out; money in is a refund from it,
    which belongs to the same category (it reduces that spending)."""
    found = _WORD_HEURISTICS.get(path)
    if found is None:
        found = _WORD_HEURISTICS[path] = Heuristic(f"word:{path}", path, path)
    return found


class Categorizer:
    """Seller and dictionary category for raw descriptions, with a bounded cache.

    Not thread-safe for writes to the cache in the strict sense, but a lost cache entry
    only costs a recomputation (dict operations are atomic under the GIL).
    """

    def __init__(
        self,
        dictionary: SellerDictionary | None = None,
        *,
        cache_size: int = 200_000,
        category_words: dict[str, str] | None = None,
    ):
        self.dictionary = dictionary if dictionary is not None else load_sellers()
        self._index = self.dictionary._index
        self._first = self.dictionary.keys_by_first_token()
        # Kind-of-business words: the curated list, then what the dictionary teaches
        # (categories/sellers/kinds.py, learnt when the dictionary is built).
        learnt = kinds.read()
        curated = category_words if category_words is not None else load_category_words()
        self._kinds = {**learnt, **curated}
        self._pairs: dict[str, set[str]] = defaultdict(set)
        for phrase in curated:
            first, _, second = phrase.partition(" ")
            if second:
                self._pairs[first].add(second)
        self._pairs = dict(self._pairs)
        self._sorted_words = sorted(w for w in curated if " " not in w and len(w) >= 5)
        # Every word that begins a kind-of-business word or phrase: a line with none of
        # them is checked in one pass (in C).
        self._kind_firsts = frozenset(w.partition(" ")[0] for w in self._kinds)
        # raw description → answer; and digit shape → answer, for the answers that do
        # not depend on the digits' values ("POS 4411 STARBUCKS #10233" and "POS 5123
        # STARBUCKS #20871" share the shape "POS 0000 STARBUCKS #00000").
        self._cache: dict[str, SellerMatch] = {}
        self._shapes: dict[str, SellerMatch] = {}
        self._answers: dict[SellerMatch, SellerMatch] = {}
        self._cache_size = cache_size
        self._seller_keys: dict[str, str] = {}

    def match(self, raw: str) -> SellerMatch:
        """Seller, dictionary category and heuristic for one raw description (cached)."""
        hit = self._cache.get(raw)
        if hit is not None:
            return hit
        shape = _digit_shape(raw)
        if shape != raw:
            hit = self._shapes.get(shape)
            if hit is not None:
                self._remember(self._cache, raw, hit)
                return hit
        result, digit_free = self._match(raw, shape)
        # Equal answers are one object ("AMZN Mktp US*2K4L02" and "…*9ZZQ11" are both
        # Amazon): callers may group rows by the answer's identity.
        result = self._answers.setdefault(result, result)
        if len(self._answers) > self._cache_size:
            self._answers.clear()
        self._remember(self._cache, raw, result)
        if digit_free and shape != raw:
            self._remember(self._shapes, shape, result)
        return result

    def forget(self) -> None:
        """Drops every remembered answer (the dictionary stays loaded): the state of a
        worker that has just started. bench/ingest.py calls it before each measurement,
        which would otherwise find the previous repetition's descriptions cached."""
        self._cache.clear()
        self._shapes.clear()
        self._answers.clear()
        self._seller_keys.clear()

    def _remember(self, cache: dict[str, SellerMatch], key: str, value: SellerMatch) -> None:
        if len(cache) >= self._cache_size:
            cache.clear()  # a generation cache: cheaper than LRU bookkeeping per hit
        cache[key] = value

    def classify(self, raw: str, amount_sign: int = -1) -> tuple[str, str, str, str]:
        """(seller, seller key, "Top › Sub", source) with no user data: dictionary, then
        heuristics, then Uncategorized. For the CLI and the benchmark; the pipeline uses
        ``services.categorize_records``, which adds rules and the crowd."""
        m = self.match(raw)
        if (path := m.path_for(amount_sign)) is not None:
            return m.seller, m.key, path, "seller"
        if m.heuristic is not None:
            path = m.heuristic.path(amount_sign)
            if path is not None:
                return m.seller, m.key, path, "heuristic"
        if amount_sign > 0 and m.heuristic is None:  # as services.categorize._without_rules
            return m.seller, m.key, "Income", "heuristic"
        return m.seller, m.key, "Uncategorized", ""

    def _match(self, raw: str, shape: str | None = None) -> tuple[SellerMatch, bool]:
        """The answer (``shape``: the line's ``_digit_shape``), and whether it holds for
        every description of the same digit shape: true when no word with a digit reached
        a dictionary lookup (the word rules and the normaliser look at how many digits
        there are, never at which)."""
        words = _words(raw)
        if ":" in raw and "wire" in words and (wire := self._wire(raw.upper())) is not None:
            return wire
        movement = movement_for(words)
        if movement is not None:
            return SellerMatch("", "", None, movement), True
        key, tokens = _clean(raw)
        digit_free = _digit_free(key, tokens)
        entry_key = self._find(key, tokens)
        if (
            entry_key is None
            # ten digits in a row (~3× cheaper than the full pattern; for ASCII text, a
            # substring of the digit shape: cheaper again)
            and (_TEN_ZEROS in (shape or _digit_shape(raw)) if raw.isascii()
                 else _TEN_DIGITS.search(raw) is not None)
            and (ticket := _TICKET_RE.search(raw.upper())) is not None
        ):
            entry_key = _ticket_airline(ticket)
            digit_free = False  # the answer depends on the code's digits
        if entry_key is not None:
            seller, path = self.dictionary.lookup(entry_key)
            if (path is not None and not _LENDING.isdisjoint(words)
                    and path.partition(" › ")[0] not in _LENDER_TOPS
                    and path not in _LENDER_PATHS
                    and (lent := _KEYWORD_RULES.first(words)) is not None):
                # A loan or a mortgage paid to a name that is also a shop's ("WELLS FARGO
                # HOME MTG", "FREEDOM MORTGAGE", a bank's "…AUTO LOAN PMT"): what is paid
                # is the loan, whatever the name's first word sells.
                return SellerMatch(display_name(key)[:200], key[:200], None, lent), digit_free
            if path is not None and (practice := self._practice(words)) is not None and (
                    practice.partition(" › ")[0] != path.partition(" › ")[0]):
                return (SellerMatch(display_name(key)[:200], key[:200], None,
                                    _word_heuristic(practice)), digit_free)
            # The seller's identity for rules is its name's key, whatever the spelling:
            # "WHOLEFDS MKT" and "WHOLE FOODS MARKET" are both "whole foods market".
            seller_key = self._seller_key(seller, entry_key)
            last = key.rpartition(" ")[2]
            if (last in _PAYOUT_WORDS and seller_key in _PAYOUT_SELLERS
                    and last not in entry_key.split()):
                # "AIRBNB PAYMENTS", "ETSY PAYOUT": money in from a marketplace's payments
                # arm is what it pays out (a host's, a shop's, a driver's earnings), not a
                # refund of spending with it; money out is still spending with the seller.
                return SellerMatch(seller, seller_key, path, None, "Income"), digit_free
            return SellerMatch(seller, seller_key, path, None), digit_free
        heuristic = (
            _KEYWORD_RULES.first(words)
            or (_PROCESSOR_KINDS.get(words[0]) if words else None)
            # The cleaned words, then all the line's words: ACH lines name the kind of
            # payment after the name ("WATERONE DES:UTILITY"); then the words of names
            # written in camel case ("SQ *ThaiKitchen").
            or self._kind_of_business(tokens, words, _camel_words(raw))
            or _GOVERNMENT_RULES.first(words)
        )
        if not key or GENERIC_WORDS.issuperset(key.split()):
            return (SellerMatch("", "", None, heuristic) if heuristic else _NONE), digit_free
        return SellerMatch(display_name(key)[:200], key[:200], None, heuristic), digit_free

    def _seller_key(self, seller: str, entry_key: str) -> str:
        """The key of a dictionary seller's name (remembered: a few thousand names)."""
        found = self._seller_keys.get(seller)
        if found is None:
            found = self._seller_keys[seller] = match_key(seller)[:200]
        return found or entry_key

    def _practice(self, words: list[str]) -> str | None:
        """The category of the licensed practice a line's words name, if they name one."""
        found = _PRACTICE_RE.search(" ".join(words))
        if found is None:
            return None
        return self._kinds.get(_PRACTICE_WORDS[found.group(1)])

    def _wire(self, text: str) -> tuple[SellerMatch, bool] | None:
        """A Fedwire line (upper case; None for other lines): its other party as the
        seller, with its dictionary entry when it has one (a wire to Coinbase buys
        crypto); the line's money-movement words otherwise (a payroll), read without the
        banks' names, which with "PMT DET" would make it a card's bill paid to that bank;
        else a transfer."""
        if "WIRE TYPE:" not in text and "BNF:" not in text and "ORIG:" not in text:
            return None
        movement = movement_for(_words(_WIRE_BANK_RE.sub(" ", text)))
        party = _wire_counterparty(text)
        if movement is None or (party is not None and movement.name == "transfer_fee"):
            movement = _TRANSFER  # what "PMT DET:LEGAL FEES" paid for is no bank fee
        if party is None:
            return SellerMatch("", "", None, movement), True
        key, tokens = _clean(party)
        digit_free = _digit_free(key, tokens)
        entry_key = self._find(key, tokens) if key else None
        if entry_key is not None:
            # Money out to a known seller is spending with it (a wire to Coinbase buys
            # crypto); money in from a shop is what the line's words say (a payroll,
            # else a transfer), never a refund in the shop's category. (From a broker or
            # a lender it stays theirs: a sale, a loan paid out.)
            seller, path = self.dictionary.lookup(entry_key)
            seller_key = self._seller_key(seller, entry_key)
            into = None if path is None or path.split(" › ")[0] in _MONEY_TOPS else (
                movement.path(1) or "Transfer")
            return SellerMatch(seller, seller_key, path, movement, into), digit_free
        if not key or GENERIC_WORDS.issuperset(key.split()):
            return SellerMatch("", "", None, movement), digit_free
        return SellerMatch(display_name(key)[:200], key[:200], None, movement), digit_free

    def _kind_of_business(
        self, tokens: list[str], more: list[str], camel: list[str] = ()
    ) -> Heuristic | None:
        """A word that says what kind of business the seller is ("... BARBERSHOP",
        "... CAR WASH"): two-word phrases first, then single words, left to right, in
        ``tokens``, then in ``more``, then in ``camel``; then a cut-off last word of
        ``tokens``, else of ``camel`` ("PremierBalletConserv")."""
        words = self._kinds
        pairs = self._pairs
        firsts = self._kind_firsts
        for seq in (tokens, more, camel):
            if firsts.isdisjoint(seq):
                continue
            last = len(seq) - 1
            for i, token in enumerate(seq):
                seconds = pairs.get(token)
                if seconds is not None and i < last and seq[i + 1] in seconds:
                    return _word_heuristic(words[f"{token} {seq[i + 1]}"])
            for token in seq:
                path = words.get(token)
                if path is not None:
                    return _word_heuristic(path)
        # Banks cut long names: "GOODY GOODY LIQU" — a last word of 4+ letters that
        # begins exactly one kind-of-business word of one category.
        alpha = [t for t in tokens if t.isalpha()]  # "LIQU#10D": the store code is no word
        if alpha and (found := self._cut_word(alpha[-1])) is not None:
            return found
        if camel and camel[-1].isalpha():
            return self._cut_word(camel[-1])
        return None

    def _cut_word(self, last: str) -> Heuristic | None:
        """The category of the one kind-of-business word that ``last`` (4+ letters)
        begins, if all the words it begins share one category."""
        words = self._kinds
        if len(last) >= 4:
            start = bisect_left(self._sorted_words, last)
            paths = set()
            for word in self._sorted_words[start : start + 8]:
                if not word.startswith(last):
                    break
                paths.add(words[word])
            if len(paths) == 1:
                return _word_heuristic(paths.pop())
        return None

    def _squashed(self, squashed: str) -> str | None:
        """The key whose words, run together, are ``squashed``: statements squash names
        (OFFICEDEPOT; PF CHANGS for P.F. Chang's, key "p f changs"). Walks the prefixes
        of ``squashed`` that are first words of multi-word keys (no extra index)."""
        if len(squashed) < 6:
            return None
        first = self._first
        for i in range(1, len(squashed) - 1):
            for candidate in first.get(squashed[:i], ()):
                if len(candidate) > len(squashed) and candidate.replace(" ", "") == squashed:
                    return candidate
        return None

    def _find(self, key: str, tokens: list[str]) -> str | None:
        """The dictionary key for a cleaned description: the whole key, else the longest
        run of whole tokens that is a key (most tokens; leftmost on a tie). Keys made of
        one generic word (``payment``) never match."""
        index = self._index
        if key in index:
            return key
        # Squashed names are short lines ("OFFICEDEPOT 1234", "PF CHANGS #99") or a long
        # first word; other lines skip the walk (~2 µs).
        found = None
        if key.count(" ") <= 1:
            found = self._squashed(key.replace(" ", ""))
        if found is None and len(tokens) > 1 and len(tokens[0]) >= 8:
            found = self._squashed(tokens[0])
        if found is not None:
            return found
        if " " not in key and len(key) >= 3 and key not in GENERIC_WORDS:
            # A one-word line that begins the names of one seller only: "DUNHAMS" for
            # "Dunham's Sports" (statements cut names short). Not a letter or two: "Y
            # 12345" is no Y!mobile.
            candidates = self._first.get(key, ())
            if candidates and len({index[c] for c in candidates}) == 1:
                return candidates[0]
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
            if i == 0 and best is not None:
                if best_n == 1 and (tokens[1:3] in _FAMILY_FIRM or tokens[1:2] in _FAMILY_FIRM):
                    # "JOHNSON & SONS PLUMBING", "MILLER BROS": a family's firm, the
                    # first word its surname, not the brand that has it for its name.
                    best = None
                else:
                    # What the cleaned line starts with is the seller's name; a longer key
                    # further in would be a city or a street ("SAN DIEGO", "PARK CENTRAL").
                    return best
            if i == 0:
                best_n = 1  # further in, only keys of two or more words count
        return best


_FAMILY_FIRM = [["and", "sons"], ["and", "son"], ["and", "daughters"], ["and", "daughter"],
                ["bros"], ["brothers"]]

_default: Categorizer | None = None


def categorizer() -> Categorizer:
    """The process-wide categorizer over the committed seller dictionary (loaded once)."""
    global _default
    if _default is None:
        _default = Categorizer()
    return _default


def prepare_worker_process() -> None:
    """Once per worker process, before its first task (``mint/celery.py``): loads the
    seller dictionary, then moves every object alive into the garbage collector's
    permanent generation (``gc.freeze``). The dictionary and the code loaded so far live
    as long as the process, and full collections need not walk them again. The gain in
    a worker is modest (~80,000 tracked objects at that point, the dictionary's answers
    being untracked tuples of strings); bench/ingest.py, which holds 100,000 prebuilt
    records, calls it so that those stay out of the walks too."""
    import gc

    categorizer()
    gc.collect()  # what is garbage already is not frozen
    gc.freeze()

"""Bank description normaliser: a raw statement line → the seller's match key.

Bank and card descriptions are messy (``POS PURCHASE 4411 STARBUCKS #10233 SEATTLE WA``,
``SQ *BLUE BOTTLE COFFEE Oakland CA``, ``AMZN Mktp US*2K4L02 Amzn.com/bill WA``). This
module strips what the bank, the card network and the payment processor add around the
seller's name and returns the rest in the seller dictionary's key form, then finds the
dictionary entry for it:

- :func:`clean_description` — raw text → the seller candidate, already in ``match_key``
  form (lowercase ASCII, ``&`` → ``and``, punctuation → spaces, single spaces), so
  ``match_key(clean_description(x)) == clean_description(x)``.
- :func:`seller_key` — ``match_key(clean_description(raw))``, LRU-cached (statements
  repeat the same descriptions month after month).
- :class:`SellerMatcher` — built from ``(key, payload)`` pairs; ``match(raw)`` tries the
  whole cleaned key, then the longest dictionary key found inside the description
  (token-based), with a per-matcher cache of raw → payload.

What is removed, in order: HTML entities; Chase's labelled ACH fields (of
``ORIG CO NAME:GEICO ORIG ID:… CO ENTRY DESCR:…`` only the company's name stays); leading channel and processor prefixes
(``POS PURCHASE``, ``CHECKCARD 0412``, ``PURCHASE AUTHORIZED ON 04/12``, ``ACH DEBIT``,
``DEBIT CARD PURCHASE``, ``RECURRING PAYMENT``, ``VISA DDA PUR``, ``SQ *``, ``TST*``,
``PAYPAL *``, ``PP*``, ``CARD 1234``, ``XXXX1234``, leading dates and numbers); anything
after the first ``;`` (Canadian OFX memos: ``POS MERCHANDISE;MCDONALD'S #112``);
domains (a leading ``NETFLIX.COM`` becomes ``NETFLIX``; ``HELP.UBER.COM`` and
``AMZN.COM/BILL`` tails go); street addresses, phone numbers; BofA ``DES:``/``ID:``/
``INDN:`` metadata and a mid-line ``PURCHASE`` with all after it (PNC, BofA CSV); times,
dates, store numbers (``#12345``, ``F12345``, ``T-1234``), card masks, processor
reference codes (``*2K4L02``) and every token with three or more digits; then trailing
``US``/``USA``, trailing numbers, a trailing US state code (50 states + DC) and, when
the state directly follows it, the city before it (one word, or two/three for
``SAN FRANCISCO``, ``PALO ALTO``, ``SALT LAKE CITY``).

Truncations are kept as the bank wrote them (``WHOLEFDS MKT`` → ``wholefds mkt``): the
dictionary carries them as aliases.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

try:  # the seller dictionary's own key function, when present
    from categories.sellers.keys import match_key
except ImportError:  # pragma: no cover - depends on the seller dictionary landing first
    # Private copy of categories/sellers/keys.py's rule: lowercase ASCII, & → and,
    # apostrophes dropped (McDonald's → mcdonalds), other punctuation to spaces,
    # collapsed spaces.
    _KEY_TABLE = str.maketrans(
        dict.fromkeys('!"#$%()*+,-./:;<=>?@[\\]^_{|}~', " ") | {"&": " and ", "'": None, "`": None}
    )

    def match_key(text: str) -> str:
        if not text.isascii():
            text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
        return " ".join(text.lower().translate(_KEY_TABLE).split())


__all__ = ["SellerMatcher", "clean_description", "match_key", "seller_key"]

# match_key's rule for ASCII text as one bytes.translate (the hot path; tested to agree
# with match_key; ~6× faster than str.translate with a dict table): upper case → lower,
# every other non-alphanumeric → space, apostrophes deleted; "&" → " and " before.
_ASCII_KEY_BYTES = bytes(
    ord(chr(c).lower()) if chr(c).isalnum() else ord(" ") for c in range(128)
) + bytes(range(128, 256))  # only ASCII text is translated with it


def _key_tokens(text: str) -> list[str]:
    if text.isascii():
        if "&" in text:
            text = text.replace("&", " and ")
        return text.encode().translate(_ASCII_KEY_BYTES, b"'`").decode().split()
    return match_key(text).split()


# A token that survives match_key and stands for "a phone number, domain or street
# address was here": a state code right after it has no city before it.
_MARK = "zqmarkqz"
_MARK_SP = f" {_MARK} "

# --- leading prefixes ------------------------------------------------------------------

_WORD_PREFIXES = (
    r"(?:RECURRING |RECUR )?(?:PAYMENT|PURCHASE|PURCH|PMT) AUTHORIZED ON(?: \d{1,2}/\d{1,2})?",
    r"PURCHASE RETURN AUTHORIZED ON(?: \d{1,2}/\d{1,2})?",
    # a shop's refund ("RETURN TARGET T-1234", "REFUND AMAZON.COM"), not "RETURN OF FUNDS"
    r"(?:PURCHASE )?(?:RETURN|REFUND)(?: CREDIT)?(?! (?:OF|TO|FROM|FOR)(?![A-Z0-9]))",
    r"(?:RECURRING )?(?:DEBIT|CHECK|CHK) ?CARD(?: (?:PURCHASE|PURCH|PUR|PMT|PAYMENT|DEBIT))?",
    r"CARD PURCHASE(?: WITH PIN)?",
    r"(?:DBT|DEBIT|CREDIT) CRD(?: (?:PUR|PURCHASE|PMT|DEBIT))?",
    r"(?:DIRECT|AUTOMATIC|AUTO) DEBIT",
    r"(?:ONLINE |WEB |MOBILE )?BILL ?PAY(?:MENT)?(?: TO)?",
    r"PAYMENT TO",
    r"POINT OF SALE(?: (?:PURCHASE|DEBIT|WITHDRAWAL))?",
    r"POS(?: (?:PURCHASE|PURCH|PUR|DEBIT|WITHDRAWAL|WD|MERCHANDISE|REFUND|RETURN|CREDIT|TRANSACTION"
    r"|SIGNATURE|SIG))?",
    r"ACH(?: (?:DEBIT|CREDIT|WITHDRAWAL|WD|DEPOSIT|PMT|PAYMENT|TRANSFER|ENTRY))?",
    r"RECURRING(?: (?:PAYMENT|PURCHASE|DEBIT|CHARGE|PMT))?",
    r"(?:VISA|MC|MASTERCARD) (?:DDA )?(?:PURCHASE|PUR|DEBIT|POS)",
    r"DDA (?:PURCHASE|PUR|DEBIT)",
    r"PREAUTHORIZED (?:DEBIT|PAYMENT|PMT|PURCHASE|CREDIT)",
    r"ELECTRONIC (?:PURCHASE|PAYMENT|WITHDRAWAL|DEBIT)",
    r"MISCELLANEOUS PAYMENTS",
    r"(?:PIN|SIG) PURCHASE",
    r"PURCHASE(?: WITH CASH ?BACK)?",
    r"PENDING",
    r"CARD \d{4}",
    r"DEBIT",
    r"[X*]*X{2,}[X\d]*\d[X\d]*",  # card mask XXXX1234
    r"\d{1,2}/\d{1,2}(?:/\d{2,4})?",  # 04/12
    r"\d{3,}",  # 0412, 1234 after POS PURCHASE
)
# Payment processors that put their name before the seller's: SQ *, TST*, PAYPAL *, PP*,
# SP * (Shopify), PAG* (PagSeguro), TOAST*, PY *, CKE*, EB * (Eventbrite), YSI* (Yardi).
_STAR_PREFIXES = r"(?:SQU?|TST|PAYPAL|PP|SP|PAG|PY|TOAST|CKE|EB|YSI) ?\*|\*SQ\b"
_PREFIX_RE = re.compile(
    r"^\s*(?:(?:"
    + "|".join(_WORD_PREFIXES)
    + r")(?![A-Z0-9])[\s:;\-]*|(?:"
    + _STAR_PREFIXES
    + r")\s*)+"
)

# --- domains ---------------------------------------------------------------------------

_DOMAIN_RE = re.compile(
    r"\b(?:HTTPS?://)?(?:WWW\.)?(?:[A-Z0-9-]+\.)*?([A-Z0-9-]+)"
    r"\.(?:COM|NET|ORG|IO|CO|TV|APP|AI|US|EU|ME)(?:\.[A-Z]{2})?\b(?:/\S*)?"
)


def _domain(m: re.Match[str]) -> str:
    label = m.group(1)
    before = m.string[: m.start()]
    if not before.strip():  # NETFLIX.COM … → the seller's name
        return label + " "
    if label in before or "/" in m.group(0):  # HELP.UBER.COM, AMZN.COM/BILL → a tail
        return _MARK_SP
    return f" {label}{_MARK_SP}"  # IOF DE LEUPAY.EU → keep the name


# --- token rules -----------------------------------------------------------------------

# A mid-line channel word or ACH metadata: the rest of the line is not the seller's.
_CUT_RE = re.compile(
    r"\s(?:(?:(?:PPD|WEB|CCD|CO|TEL)\s+)?ID:|(?:DES|INDN):"
    r"|(?:POS |DEBIT CARD )?PURC(?:H(?:A(?:S(?:E)?)?)?)?(?![A-Z0-9])).*"
)
# Chase's ACH lines are labelled fields: "ORIG CO NAME:GEICO ORIG ID:9876 DESC DATE:
# CO ENTRY DESCR:AUTOPAY SEC:PPD TRACE#:… IND NAME:JOHN DOE". The seller is the company
# name; the rest (the payer's own name included) is not.
_ACH_NAME_RE = re.compile(
    r"\bCO NAME:\s*(.*?)(?=\s+(?:ORIG ID|CO ID|CO ENTRY DESCR|DESC DATE|SEC|TRACE ?#|EED"
    r"|IND ID|IND NAME|ORIG CO NAME):|$)"
)
# Tokens that are a phone number: 800-123-4567, (800)123-4567, 800-COMCAST, 800-CALL-KFC,
# 8005551234.
_PHONE_RE = re.compile(r"\(?\d{3}\)?[-.]?\d{3}[-.]\d{4}|\d{3}-[A-Z]{3,}(?:-[A-Z]+)*|1?\d{10}")
# Tokens dropped outright: numbers, dates (04/12, 2024-04-12), times (10:30, 8PM), dashed
# numbers (12345-01), store numbers (#12345, #XXXXX246810, T-1234), card masks
# (XXXX1234, XXXXX1661XXXXXXXXXX7754, **1234, XXXX), any token with three or more digits
# (F12345, S586214, 2K4L02).
_DROP_RE = re.compile(
    r"\d+(?:[-/.:]\d+)*(?:[AP]M)?|#.*|[A-Z]-\d+|[X*]*X{2,}[X\d]*|\*+\d+"
    r"|(?=(?:[A-Z]*\d){3})[A-Z0-9]+"
)
# Digits glued to a name: FAIRBAN3101, SUBWAY789, PANERA_BREAD654; a state glued to a zip
# code: 99709-5454AK.
# A word glued after a long number: 98120398RENT, 0025WEST.
_GLUED_RE = re.compile(
    r"(?!XX)([A-Z_]{3,}[A-Z_']*)\d{3,}|\d+(?:-\d+)*([A-Z]{2})|\d{3,}([A-Z]{3,})"
)
# A street address starts with a number token (3905, A440, 0001234) or ONE and ends,
# at most three words later, with a street-type word.
# (Ordinals by shape, \d+(?:ST|ND|RD|TH), not by value: the categoriser caches results by
# the description's digit shape, see categories/engine.py.)
_ADDRESS_START_RE = re.compile(r"[A-Z]?\d{2,}[A-Z]?|ONE|\d+(?:ST|ND|RD|TH)")
_STREET_WORDS = frozenset(
    [
        "RD",
        "RD.",
        "ST",
        "ST.",
        "AVE",
        "AVE.",
        "AV",
        "DR",
        "DR.",
        "BLVD",
        "BLVD.",
        "WAY",
        "ROAD",
        "STREET",
        "HWY",
        "LN",
        "PKWY",
        "CT",
        "PL",
        "PIKE",
        "CIR",
        "TER",
    ]
)
_DIRECTIONS = frozenset(["N", "S", "E", "W", "NE", "NW", "SE", "SW"])
_WEEKDAYS = frozenset(["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"])
_PREFIX_STARTS = frozenset(
    [
        "PU",
        "PA",
        "DB",
        "DI",
        "AU",
        "BI",
        "ON",
        "WE",
        "MO",
        "CR",
        "PM",
        "RE",
        "DE",
        "CH",
        "CA",
        "PO",
        "AC",
        "VI",
        "MC",
        "MA",
        "DD",
        "PR",
        "EL",
        "MI",
        "PI",
        "SI",
        "PE",
        "XX",
        "X*",
        "SQ",
        "TS",
        "PP",
        "SP",
        "PY",
        "TO",
        "CK",
        "*S",
        "EB",
        "YS",
    ]
)


def _address_end(toks: list[str], i: int, n: int) -> int:
    """Index after the street address starting at ``toks[i]``, or 0."""
    for j in range(i + 1, min(i + 5, n)):
        if toks[j] in _STREET_WORDS:
            j += 1
            if j < n and toks[j] in _DIRECTIONS:
                j += 1
            return j
    return 0


def _tokens(s: str) -> list[str]:
    """Drop numbers, codes, phones and addresses token by token (markers left in)."""
    toks = s.split()
    n = len(toks)
    out: list[str] = []
    append = out.append
    i = 0
    while i < n:
        t = toks[i]
        i += 1
        if t.isalpha():
            if t == "ONE" and (end := _address_end(toks, i - 1, n)):
                append(_MARK)
                i = end
            elif t != "QPS" and not (t[:2] == "XX" and not t.strip("X")):  # XXXXXX: a mask
                append(t)
            continue
        if t.isdecimal() or (t[0] == "#" and "*" not in t):
            # The common codes, decided as the patterns below would (in their order)
            # without running them: a number starts an address (2+ digits), else is a
            # phone (10 digits, or 11 after a 1), else is dropped; "#…" is dropped.
            if t[0] != "#" and len(t) >= 2 and (end := _address_end(toks, i - 1, n)):
                append(_MARK)
                i = end
            elif t[0] != "#" and (len(t) == 10 or (len(t) == 11 and t[0] == "1")):
                append(_MARK)
            elif out and (out[-1] in _WEEKDAYS or (out[-1] == "CARD" and i == n and len(t) == 4)):
                out.pop()
            continue
        if "*" in t:  # UBER *TRIP, US*2K4L02, SF**POOL**: a code after * goes
            head, _, rest = t.partition("*")
            if head:
                append(head)
            for part in rest.split("*"):
                if part and not _DROP_RE.fullmatch(part):
                    if any(c.isdigit() for c in part):
                        continue
                    append(part)
            continue
        if _ADDRESS_START_RE.fullmatch(t) and (end := _address_end(toks, i - 1, n)):
            append(_MARK)
            i = end
            continue
        if _PHONE_RE.fullmatch(t):
            append(_MARK)
            continue
        m = _GLUED_RE.fullmatch(t)
        if m:
            append(m.group(1) or m.group(2) or m.group(3))
            if m.group(1) and (end := _address_end(toks, i - 1, n)):  # FAIRBAN3101 PEGER RD
                append(_MARK)
                i = end
            continue
        if _DROP_RE.fullmatch(t):
            # THU 0412 (a weekday before a date); CARD 3307 at the end of the line
            if out and (out[-1] in _WEEKDAYS or (out[-1] == "CARD" and i == n and len(t) == 4)):
                out.pop()
            continue
        append(t)
    return out


# --- tails -----------------------------------------------------------------------------

_STATES = frozenset(
    [
        "al",
        "ak",
        "az",
        "ar",
        "ca",
        "co",
        "ct",
        "de",
        "fl",
        "ga",
        "hi",
        "id",
        "il",
        "in",
        "ia",
        "ks",
        "ky",
        "la",
        "me",
        "md",
        "ma",
        "mi",
        "mn",
        "ms",
        "mo",
        "mt",
        "ne",
        "nv",
        "nh",
        "nj",
        "nm",
        "ny",
        "nc",
        "nd",
        "oh",
        "ok",
        "or",
        "pa",
        "ri",
        "sc",
        "sd",
        "tn",
        "tx",
        "ut",
        "vt",
        "va",
        "wa",
        "wv",
        "wi",
        "wy",
        "dc",
    ]
)
_STATES_US = frozenset(s + "us" for s in _STATES)  # POWAY CAUS
_TAIL_JUNK = frozenset((_MARK, "us", "usa", "purc", "purch", "purcha", "purchas", "purchase"))
# First words of multi-word city names (SAN FRANCISCO) and last words that need another
# before them (PALO ALTO, SALT LAKE CITY).
_CITY_FIRST = frozenset(
    [
        "san",
        "santa",
        "los",
        "las",
        "new",
        "saint",
        "st",
        "ft",
        "fort",
        "el",
        "palo",
        "salt",
        "la",
        "long",
        "port",
        "baton",
        "corpus",
        "colorado",
        "kansas",
        "oklahoma",
        "virginia",
        "sioux",
        "grand",
        "cedar",
        "mountain",
        "daytona",
        "palm",
        "west",
        "east",
        "north",
        "south",
        "beverly",
        "culver",
        "daly",
        "redwood",
        "foster",
        "union",
        "jersey",
        "elk",
        "bowling",
        "ann",
        "college",
        "round",
        "overland",
        "carson",
        "chula",
        "moreno",
        "rancho",
        "huntington",
        "newport",
        "menlo",
        "des",
        "boca",
        "coral",
        "silver",
        "glen",
        "highland",
        "oak",
        "lake",
        "mount",
        "mt",
    ]
)
_CITY_SECOND = frozenset(
    [
        "city",
        "beach",
        "park",
        "springs",
        "falls",
        "heights",
        "hills",
        "village",
        "valley",
        "grove",
        "lake",
        "lakes",
        "island",
        "junction",
        "rapids",
        "creek",
        "harbor",
        "point",
        "bluffs",
        "rock",
        "view",
        "alto",
        "cruz",
        "monica",
        "clara",
        "ana",
        "barbara",
        "rosa",
        "cucamonga",
        "vista",
    ]
)

# Single words that name no seller; a dictionary key made only of these is ignored.
GENERIC_WORDS = frozenset(
    [
        "purchase",
        "payment",
        "payments",
        "pmt",
        "debit",
        "credit",
        "pos",
        "card",
        "checkcard",
        "ach",
        "online",
        "transfer",
        "deposit",
        "withdrawal",
        "recurring",
        "fee",
        "fees",
        "check",
        "the",
        "and",
        "of",
        "inc",
        "llc",
        "co",
        "store",
        "web",
        "pending",
        "authorized",
        "on",
        "us",
        "usa",
    ]
)


# A letter or a digit of any script (str.isalnum, as one search in C).
_HAS_ALNUM = re.compile(r"[^\W_]").search


def _clean(raw: str) -> tuple[str, list[str]]:
    """(cleaned key, the tokens to scan for a dictionary key: city words kept)."""
    s = raw.upper()
    if "  " in s or "\t" in s:  # fixed-width bank exports pad with runs of spaces
        s = " ".join(s.split())
    if "&" in s and ";" in s:
        for _ in range(2):
            s = html.unescape(s)
    if ("CO NAME:" in s and (ach := _ACH_NAME_RE.search(s)) is not None
            and _HAS_ALNUM(ach.group(1)) is not None):
        s = ach.group(1)
    head = s.lstrip()[:2]
    if head in _PREFIX_STARTS or head[:1].isdigit():
        stripped = _PREFIX_RE.sub("", s, count=1)
        if stripped is not s and _HAS_ALNUM(stripped) is not None:
            s = stripped
    if ";" in s:
        head = s.split(";", 1)[0]
        if _HAS_ALNUM(head) is not None:
            s = head
    if "." in s:
        s = _DOMAIN_RE.sub(_domain, s)
    if "ID:" in s or "DES:" in s or "INDN:" in s or "PURC" in s:  # what _CUT_RE needs
        s = _CUT_RE.sub("", s)
    toks = _key_tokens(" ".join(_tokens(s)))
    # trailing junk: markers, US/USA (not TOYS R US), numbers, truncated PURCHASE
    while toks:
        t = toks[-1]
        if t in _TAIL_JUNK:
            if (t == "us" or t == "usa") and (len(toks) < 2 or toks[-2] == "r"):
                break
        elif not t.isdigit():
            break
        toks.pop()
    scan = toks
    if len(toks) >= 2 and (toks[-1] in _STATES or toks[-1] in _STATES_US):
        toks = toks[:-1]
        scan = [t for t in toks if t != _MARK] if _MARK in toks else toks[:]
        if toks[-1] != _MARK and len(toks) >= 2:
            removed = toks.pop()
            n = 1
            while n < 3 and len(toks) > 1 and (removed in _CITY_SECOND or toks[-1] in _CITY_FIRST):
                removed = toks.pop()
                n += 1
        while toks and (toks[-1] in _TAIL_JUNK or toks[-1].isdigit()) and len(toks) > 1:
            toks.pop()
    if _MARK in toks:
        toks = [t for t in toks if t != _MARK]
        if scan is not toks:
            scan = [t for t in scan if t != _MARK]
    if not toks:  # nothing but noise: keep the words the bank wrote
        toks = [t for t in _key_tokens(raw) if t.isalpha()]
        scan = toks
    return " ".join(toks), scan


def clean_description(raw: str) -> str:
    """A raw bank description → the seller candidate, in ``match_key`` form."""
    return _clean(raw)[0]


@lru_cache(maxsize=65536)
def seller_key(raw: str) -> str:
    """``match_key(clean_description(raw))`` (``clean_description`` is already a key)."""
    return _clean(raw)[0]


_MISSING: Any = object()


class SellerMatcher:
    """Finds the dictionary entry for a raw description.

    Built from ``(key, payload)`` pairs (keys are passed through ``match_key``; keys made
    only of generic words such as ``payment`` are ignored). ``match(raw)`` returns the
    payload of the whole cleaned key if it is in the dictionary, else of the longest
    dictionary key (most tokens; leftmost on a tie) found as a run of whole tokens
    inside the cleaned description (city words included), else ``None``.
    """

    def __init__(self, pairs: Iterable[tuple[str, Any]], *, cache_size: int = 65536):
        self._exact: dict[str, Any] = {}
        for key, payload in pairs:
            k = match_key(key)
            toks = k.split()
            if not toks or all(t in GENERIC_WORDS for t in toks):
                continue
            self._exact.setdefault(k, payload)
        # first token → [(n_tokens, n_chars, tokens, payload)], longest first
        index: dict[str, list[tuple[int, int, list[str], Any]]] = {}
        for k, payload in self._exact.items():
            toks = k.split()
            index.setdefault(toks[0], []).append((len(toks), len(k), toks, payload))
        for cands in index.values():
            cands.sort(key=lambda c: (-c[0], -c[1]))
        self._index = index
        self._cache: dict[str, Any] = {}
        self._cache_size = cache_size

    def __len__(self) -> int:
        return len(self._exact)

    def __contains__(self, key: str) -> bool:
        return key in self._exact

    def clear_cache(self) -> None:
        self._cache.clear()

    def match(self, raw: str) -> Any:
        hit = self._cache.get(raw, _MISSING)
        if hit is not _MISSING:
            return hit
        result = self.match_key(*_clean(raw))
        if self._cache_size:
            if len(self._cache) >= self._cache_size:
                self._cache.clear()
            self._cache[raw] = result
        return result

    def match_key(self, key: str, tokens: list[str] | None = None) -> Any:
        """The payload for an already cleaned key (``tokens``: the words to scan)."""
        hit = self._exact.get(key, _MISSING)
        if hit is not _MISSING:
            return hit
        if tokens is None:
            tokens = key.split()
        index = self._index
        best = None
        best_n = 0
        n_tokens = len(tokens)
        for i, tok in enumerate(tokens):
            if best_n >= n_tokens - i:
                break
            cands = index.get(tok)
            if cands is None:
                continue
            for n, _chars, ctoks, payload in cands:
                if n <= best_n:
                    break
                if n == 1 or tokens[i : i + n] == ctoks:
                    best, best_n = payload, n
                    break
        return best

"""The one matching rule shared by the seller dictionary, its build script and the normaliser.

``match_key(text)`` turns a seller name or a piece of a bank description into the form the
dictionary is keyed on:

- Latin script is folded to ASCII (accents dropped, ``ß`` → ``ss``, ``æ`` → ``ae``,
  ``ø`` → ``o``…; a Latin letter with no ASCII form is dropped); letters and digits of
  other scripts (Cyrillic, Greek, CJK, …) stay, lowercased, Cyrillic and Greek without
  their accents (``ПЯТЁРОЧКА`` → ``пятерочка``): a seller named in them has a key, for rules and the
  crowd, though the dictionary (Latin names only, see build.py) does not know it;
- lowercase;
- ``&`` → ``and`` (as a separate word: ``PG&E`` → ``pg and e``);
- apostrophes are removed without a gap (``McDonald's`` → ``mcdonalds``, as statements print it);
- every other non-alphanumeric character becomes a space;
- runs of spaces collapse to one, no leading or trailing space.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

__all__ = ["latin_key", "match_key"]

# Letters that NFKD does not decompose into ASCII.
_FOLD = str.maketrans(
    {
        "ß": "ss",
        "ẞ": "ss",
        "æ": "ae",
        "Æ": "ae",
        "œ": "oe",
        "Œ": "oe",
        "ø": "o",
        "Ø": "o",
        "ł": "l",
        "Ł": "l",
        "đ": "d",
        "Đ": "d",
        "ð": "d",
        "Ð": "d",
        "þ": "th",
        "Þ": "th",
        "ı": "i",
        "ħ": "h",
        "’": "'",
        "‘": "'",
        "ʼ": "'",
        "`": "'",
        "´": "'",
        "＆": "&",
    }
)
_APOSTROPHE = re.compile(r"['`]")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_NON_WORD = re.compile(r"[\W_]+")  # as _NON_ALNUM on lowercase ASCII, any script's letters kept


@lru_cache(maxsize=4096)
def _folded(ch: str) -> str:
    """One non-ASCII character as the key keeps it: a letter or digit of a script other
    than Latin stays (Cyrillic and Greek without accents), anything else is folded as
    ``latin_key`` folds it (so Latin text keys exactly as the dictionary's)."""
    name = unicodedata.name(ch, "LATIN")
    if (ch.isalpha() or ch.isdecimal()) and "LATIN" not in name:
        if name.startswith(("CYRILLIC", "GREEK")):  # Ё → е, ί → ι, as statements print them
            return "".join(c for c in unicodedata.normalize("NFKD", ch)
                           if not unicodedata.combining(c))
        return unicodedata.normalize("NFKC", ch)  # (a kana's voicing mark is no accent)
    return unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode("ascii")


def match_key(text: str) -> str:
    """Normalise ``text`` to the dictionary's key form (see module docstring)."""
    if not text or text.isascii():
        return latin_key(text)
    text = "".join(ch if ch.isascii() else _folded(ch) for ch in text.translate(_FOLD))
    if text.isascii():
        return latin_key(text)
    text = _APOSTROPHE.sub("", text.lower().replace("&", " and "))
    return _NON_WORD.sub(" ", text).strip()


def latin_key(text: str) -> str:
    """``match_key`` of the text's Latin-script part only: other scripts dropped, as
    ``match_key`` did before it kept them (December 2026). The dictionary's build
    compares names with it, so that it builds the same dictionary as then."""
    if not text:
        return ""
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text.translate(_FOLD))
        text = text.encode("ascii", "ignore").decode("ascii")
    text = _APOSTROPHE.sub("", text.lower().replace("&", " and "))
    return _NON_ALNUM.sub(" ", text).strip()

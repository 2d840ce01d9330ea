"""The one matching rule shared by the seller dictionary, its build script and the normaliser.

``match_key(text)`` turns a seller name or a piece of a bank description into the form the
dictionary is keyed on:

- Unicode is folded to ASCII (accents dropped, ``ß`` → ``ss``, ``æ`` → ``ae``, ``ø`` → ``o``…);
  characters with no ASCII form (CJK, Cyrillic, …) are dropped;
- lowercase;
- ``&`` → ``and`` (as a separate word: ``PG&E`` → ``pg and e``);
- apostrophes are removed without a gap (``McDonald's`` → ``mcdonalds``, as statements print it);
- every other non-alphanumeric character becomes a space;
- runs of spaces collapse to one, no leading or trailing space.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["match_key"]

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


def match_key(text: str) -> str:
    """Normalise ``text`` to the dictionary's key form (see module docstring)."""
    if not text:
        return ""
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text.translate(_FOLD))
        text = text.encode("ascii", "ignore").decode("ascii")
    text = text.lower().replace("&", " and ")
    text = _APOSTROPHE.sub("", text)
    return _NON_ALNUM.sub(" ", text).strip()

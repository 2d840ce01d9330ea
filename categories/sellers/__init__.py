"""The seller dictionary: match key → (seller, Mint category path).

The data is ``sellers.tsv.gz`` next to this file, built by ``build.py`` (see README.md).
Keys are in ``match_key`` form (``keys.py``), which the normaliser must use too.

Memory layout (a 50,000-entry file loads in well under 12 MB, see the tests):

- ``_index``: ``dict[str, int]`` — key → entry number. The int objects are shared: every
  key of one (seller, category) pair points at the same int object.
- ``_sellers``: ``list[str]`` — entry number → seller display name (each distinct name is
  stored once).
- ``_entry_category``: ``array('H')`` — entry number → category number (2 bytes each).
- ``_categories``: ``list[str]`` — category number → ``"Top › Sub"`` (interned, ~100).

``keys_by_first_token()`` builds (once, lazily) an index for finding multi-word seller names
inside longer descriptions: ``dict[first_token, tuple[key, ...]]`` holding only keys of two
or more tokens, the ones with most tokens first (the key strings are the same objects as in
``_index``, so the index costs only the dict, the first-token strings and the tuples). A
matcher walking the description's tokens ``t`` looks up ``t[i]`` and, for each ``key``,
takes ``n = key.count(" ") + 1`` and checks ``" ".join(t[i:i + n]) == key`` — the first hit
is the longest match starting at ``i``; ``lookup(key)`` then gives the seller. One-token
keys need no index: ``lookup(t[i])``. ``find_in(tokens)`` is a reference implementation.
"""

from __future__ import annotations

import gzip
import sys
from array import array
from collections.abc import Iterable, Iterator
from functools import lru_cache
from pathlib import Path

from categories.sellers.keys import match_key

__all__ = ["DEFAULT_PATH", "SellerDictionary", "load_sellers", "match_key"]

DEFAULT_PATH = Path(__file__).resolve().parent / "sellers.tsv.gz"


class SellerDictionary:
    """Read-only key → (seller, category) map; build it with :func:`load_sellers`."""

    __slots__ = ("_categories", "_entry_category", "_first_token", "_index", "_sellers")

    def __init__(self, rows: Iterable[tuple[str, str, str]]) -> None:
        index: dict[str, int] = {}
        sellers: list[str] = []
        entry_category = array("H")
        categories: list[str] = []
        category_no: dict[str, int] = {}
        entry_no: dict[tuple[str, int], int] = {}
        for key, seller, category in rows:
            cat = category_no.get(category)
            if cat is None:
                cat = category_no[category] = len(categories)
                categories.append(sys.intern(category))
            pair = (seller, cat)
            entry = entry_no.get(pair)
            if entry is None:
                entry = entry_no[pair] = len(sellers)
                sellers.append(seller)
                entry_category.append(cat)
            index[key] = entry
        self._index = index
        self._sellers = sellers
        self._entry_category = entry_category
        self._categories = categories
        self._first_token: dict[str, tuple[str, ...]] | None = None

    def lookup(self, key: str) -> tuple[str, str] | None:
        """(seller, "Top › Sub") for a key already in ``match_key`` form, or None."""
        entry = self._index.get(key)
        if entry is None:
            return None
        return self._sellers[entry], self._categories[self._entry_category[entry]]

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, key: object) -> bool:
        return key in self._index

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    @property
    def categories(self) -> list[str]:
        """Every category path used by the dictionary."""
        return list(self._categories)

    @property
    def seller_count(self) -> int:
        return len(set(self._sellers))

    def keys_by_first_token(self) -> dict[str, tuple[str, ...]]:
        """first token → (key, …) for multi-word keys, most tokens first.

        Built on first use and kept; the key strings are shared with the main index.
        """
        if self._first_token is None:
            groups: dict[str, list[str]] = {}
            for key in self._index:
                first, sep, _ = key.partition(" ")
                if sep:
                    groups.setdefault(first, []).append(key)
            self._first_token = {
                first: tuple(sorted(keys, key=lambda k: (-k.count(" "), k)))
                for first, keys in groups.items()
            }
        return self._first_token

    def find_in(self, tokens: list[str] | tuple[str, ...]) -> tuple[int, int, str] | None:
        """Leftmost-longest seller key inside ``tokens`` (a ``match_key(...).split()``).

        Returns (start, n_tokens, key) or None. A reference implementation for the
        normaliser, which may do its own scoring.
        """
        first_token = self.keys_by_first_token()
        index = self._index
        for i, token in enumerate(tokens):
            for key in first_token.get(token, ()):
                n = key.count(" ") + 1
                if i + n <= len(tokens) and " ".join(tokens[i : i + n]) == key:
                    return i, n, key
            if token in index:
                return i, 1, token
        return None


def read_rows(path: Path) -> Iterator[tuple[str, str, str]]:
    """(key, seller, category) rows of a ``sellers.tsv.gz`` file (header skipped)."""
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        header = fh.readline().rstrip("\n").split("\t")
        if header != ["key", "seller", "category"]:
            raise ValueError(f"{path}: unexpected header {header!r}")
        for line in fh:
            key, seller, category = line.rstrip("\n").split("\t")
            yield key, seller, category


def load_sellers(path: str | Path | None = None) -> SellerDictionary:
    """Load a seller dictionary; the committed one when ``path`` is None (cached)."""
    if path is None:
        return _default()
    return SellerDictionary(read_rows(Path(path)))


@lru_cache(maxsize=1)
def _default() -> SellerDictionary:
    return SellerDictionary(read_rows(DEFAULT_PATH))

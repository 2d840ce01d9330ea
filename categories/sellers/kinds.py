"""Kind-of-business words learnt from the seller dictionary (written by ``build.py``).

For every word of every seller name in the dictionary (at least 3 letters, not a number,
not a generic or ambiguous word), count the distinct sellers per category; keep the words
found in at least ``MIN_SELLERS`` sellers with one category holding ``MIN_SHARE`` of them
("pharmacy": 86 sellers, 99 % Health & Fitness › Pharmacy; "coffee": 120, 93 %
Coffee Shops). The categoriser uses them for sellers that are in no dictionary ("BEANS &
BREWS COFFEE") below the curated ``categories/data/category-words.tsv``.

The result is the committed ``kind-words.tsv`` (word, category, sellers, share), so the
categoriser loads ~250 lines instead of recounting 50,000 keys at start-up.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path

PATH = Path(__file__).resolve().parent / "kind-words.tsv"
MIN_SELLERS = 5
MIN_SHARE = 0.85

# Words that say nothing about the kind of business, or say it about several (NSI has
# "Rent a car" and "Self storage"): never a category on their own.
STOP = frozenset(
    ["the", "and", "of", "for", "de", "la", "le", "les", "el", "los", "das", "der", "die", "und", "company", "group", "new", "city", "home", "world", "star", "best", "express", "plus", "one", "first", "american", "national", "united", "self", "extra", "daily", "famous", "cat", "rent", "rental", "share", "bike", "pot", "ice", "big", "little", "mini", "super", "original", "real", "royal", "golden", "purchase", "payment", "payments", "pmt", "debit", "credit", "pos", "card", "checkcard", "ach", "online", "transfer", "deposit", "withdrawal", "recurring", "fee", "fees", "check", "inc", "llc", "store", "web", "pending", "authorized"]
)


def learn(rows: Iterable[tuple[str, str, str]]) -> list[tuple[str, str, int, float]]:
    """(word, category, sellers, share) from (key, seller, category) rows, by word."""
    counts: dict[str, Counter] = defaultdict(Counter)
    seen: set[tuple[str, str]] = set()
    for key, seller, category in rows:
        for token in set(key.split()):
            if len(token) < 3 or token.isdigit() or token in STOP or (token, seller) in seen:
                continue
            seen.add((token, seller))
            counts[token][category] += 1
    out = []
    for token, by_category in counts.items():
        total = sum(by_category.values())
        category, top = by_category.most_common(1)[0]
        if total >= MIN_SELLERS and top >= MIN_SHARE * total:
            out.append((token, category, total, round(top / total, 3)))
    return sorted(out)


def write(path: Path, words: list[tuple[str, str, int, float]]) -> None:
    lines = ["word\tcategory\tsellers\tshare\n"]
    lines += [f"{w}\t{c}\t{n}\t{s}\n" for w, c, n, s in words]
    path.write_text("".join(lines), encoding="utf-8")


def read(path: Path = PATH) -> dict[str, str]:
    """word → "Top › Sub"."""
    words = {}
    with path.open(encoding="utf-8") as fh:
        if fh.readline().rstrip("\n").split("\t")[:2] != ["word", "category"]:
            raise ValueError(f"{path}: unexpected header")
        for line in fh:
            word, category, *_ = line.rstrip("\n").split("\t")
            words[word] = category
    return words

"""Throughput of the normaliser + seller lookup on one core (issue #3, part 3).

100,000 synthetic messy descriptions (processor/channel prefixes, store numbers, card
masks, dates, times, phones, domains, city + state tails; templates after the shapes in
tests/test_normalize.py) over a 5,000-entry dictionary (the sellers used in the templates
plus generated two- and three-word names). Prints descriptions/s for:

- ``cold``: an empty matcher cache, every description cleaned and looked up;
- ``warm``: the same 100,000 again, now answered from the matcher's raw → payload cache;
- ``repeat``: a fresh matcher over a statement-like stream where descriptions repeat
  (``--distinct`` different lines, default 20,000), i.e. a cache that starts empty.

    .venv/bin/python bench/categorize_normalizer.py [--n 100000] [--json]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from categories.normalize import SellerMatcher, clean_description

SELLERS = [
    "STARBUCKS",
    "BLUE BOTTLE COFFEE",
    "WHOLEFDS MKT",
    "TRADER JOE S",
    "SAFEWAY",
    "SHAKE SHACK",
    "CHIPOTLE",
    "MCDONALD'S",
    "SHELL OIL",
    "CHEVRON",
    "TARGET",
    "COSTCO WHSE",
    "CVS/PHARMACY",
    "WALGREENS",
    "THE HOME DEPOT",
    "EBAY",
    "AMC",
    "WM SUPERCENTER",
    "GIANT EAGLE",
    "PANERA BREAD",
    "AMZN MKTP",
    "SPOTIFY",
    "NETFLIX",
    "UBER",
    "LYFT",
]
CITIES = [
    "SEATTLE WA",
    "SAN FRANCISCO CA",
    "OAKLAND CA",
    "NEW YORK NY",
    "AUSTIN TX",
    "PITTSBURGH PA",
    "LOS ANGELES CA",
    "CHICAGO IL",
    "FAIRBANKS AK",
    "PALO ALTO CA",
]
TEMPLATES = [
    "POS PURCHASE {n4} {s} #{n5} {city}",
    "SQ *{s} {city}",
    "TST* {s} {n3} {city}",
    "CHECKCARD {mmdd} {s} #{n4} {phone} {st}",
    "PURCHASE AUTHORIZED ON {mm}/{dd} {s} {city} S{n9} CARD {n4}",
    "DEBIT CARD PURCHASE XXXXX{n4} {s} #{n4} {city}",
    "{s} #{n5} {city}",
    "{s} F{n5} {city}",
    "PAYPAL *{s} {phone} {st}",
    "AMZN Mktp US*{code} Amzn.com/bill WA",
    "UBER *TRIP HELP.UBER.COM CA",
    "ACH DEBIT {s} WEB PMT {n9}",
    "{s} {n4} {mm}/{dd} PURCHASE {city}",
    "RECURRING PAYMENT AUTHORIZED ON {mm}/{dd} {s}.COM {st}",
    "VISA DDA PUR {n6} {s} T-{n4} {city}",
    "{s} {yyyy}-{mm}-{dd} {hh}:{mi} {city}",
]
WORDS = [
    "acme",
    "alpine",
    "apex",
    "aurora",
    "beacon",
    "birch",
    "cedar",
    "cobalt",
    "copper",
    "crest",
    "delta",
    "ember",
    "falcon",
    "fern",
    "harbor",
    "hazel",
    "iris",
    "juniper",
    "kestrel",
    "lark",
    "maple",
    "meadow",
    "nova",
    "oak",
    "orchid",
    "pine",
    "quartz",
    "raven",
    "sage",
    "sierra",
    "spruce",
    "summit",
    "tidal",
    "umber",
    "vale",
    "willow",
    "zephyr",
    "bistro",
    "market",
    "cafe",
    "grill",
    "bakery",
    "deli",
    "pharmacy",
    "books",
    "cycles",
    "outfitters",
    "tavern",
]


def build(n: int, seed: int = 7, dict_size: int = 5000):
    rng = random.Random(seed)
    d = lambda k: "".join(rng.choice("0123456789") for _ in range(k))  # noqa: E731
    names = list(SELLERS)
    seen = set(names)
    while len(names) < dict_size:
        name = " ".join(rng.choice(WORDS) for _ in range(rng.choice((2, 2, 3)))).upper()
        if name not in seen:
            seen.add(name)
            names.append(name)
    pairs = [(name, i) for i, name in enumerate(names)]

    def one() -> str:
        t = rng.choice(TEMPLATES)
        city = rng.choice(CITIES)
        return t.format(
            s=rng.choice(names) if rng.random() < 0.7 else rng.choice(SELLERS),
            city=city,
            st=city[-2:],
            n3=d(3),
            n4=d(4),
            n5=d(5),
            n6=d(6),
            n9=d(9),
            mm=f"{rng.randint(1, 12):02d}",
            dd=f"{rng.randint(1, 28):02d}",
            mmdd=f"{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}",
            yyyy="2024",
            hh=f"{rng.randint(0, 23):02d}",
            mi=f"{rng.randint(0, 59):02d}",
            phone=f"{d(3)}-{d(3)}-{d(4)}",
            code="".join(rng.choice("0123456789ABCDEFGHJK") for _ in range(6)),
        )

    return pairs, [one() for _ in range(n)], one


def rate(matcher: SellerMatcher, descs: list[str]) -> tuple[float, int]:
    match = matcher.match
    t = time.perf_counter()
    hits = 0
    for x in descs:
        if match(x) is not None:
            hits += 1
    return len(descs) / (time.perf_counter() - t), hits


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--dict-size", type=int, default=5000)
    ap.add_argument("--distinct", type=int, default=20_000)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    pairs, descs, one = build(args.n, dict_size=args.dict_size)

    t = time.perf_counter()
    for x in descs:
        clean_description(x)
    clean_only = len(descs) / (time.perf_counter() - t)

    matcher = SellerMatcher(pairs, cache_size=max(args.n, 1) * 2)
    cold, hits = rate(matcher, descs)
    warm, _ = rate(matcher, descs)
    pool = [one() for _ in range(args.distinct)]
    rng = random.Random(11)
    stream = [rng.choice(pool) for _ in range(args.n)]
    repeat, _ = rate(SellerMatcher(pairs), stream)
    out = {
        "descriptions": len(descs),
        "distinct_descriptions": len(set(descs)),
        "dictionary_entries": len(matcher),
        "matched_share": round(hits / len(descs), 4),
        "clean_only_per_s": round(clean_only),
        "cold_per_s": round(cold),
        "warm_per_s": round(warm),
        "repeat_stream_distinct": args.distinct,
        "repeat_stream_per_s": round(repeat),
    }
    if args.json:
        print(json.dumps(out))
    else:
        for k, v in out.items():
            print(f"{k:24} {v:,}" if isinstance(v, int) else f"{k:24} {v}")


if __name__ == "__main__":
    main()

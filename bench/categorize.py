"""Categorisation benchmark (issue #3): throughput on one core, dictionary memory, accuracy.

    .venv/bin/python bench/categorize.py [--json] [--n 1000000] [--repeat 3] [--verbose]

Runs on its own (no database): the categoriser is ``categories.engine.Categorizer``, the
same object the pipeline uses for the normaliser, the seller dictionary and the
description heuristics (rules and crowd defaults add one query per batch, not per row).
The process pins itself to one CPU (``sched_setaffinity``) where it can.

1. **Throughput**, descriptions/s through normaliser + dictionary lookup + heuristics,
   median of ``--repeat`` runs, each with a fresh categoriser (empty caches):

   - ``statements``: ``--n`` descriptions as banks print them. 50,000 sellers (the
     dictionary's 12,500 and generated local ones), picked by a Zipf law (s = 1.0, the
     shape of merchant popularity); each seller has 1–5 locations (store number, city,
     state, terminal id fixed per location); each line is printed in one of 10 bank
     formats (POS PURCHASE …, SQ *…, CHECKCARD mmdd …, PURCHASE AUTHORIZED ON mm/dd …) with
     that day's date and a fresh authorisation code where the format has them. Caches
     start empty, so the figure includes every first sighting.
   - ``distinct``: every description a different seller name never seen before (no
     cache can help: the cold cost of the normaliser and lookup).
   - ``warm``: the ``statements`` stream again on the warmed categoriser.

   The baseline measured in the same run: ``dict_lookup`` — one dict lookup per
   description of the same stream (the floor of any in-memory categoriser).
2. **Memory** of the seller dictionary at 50,000 entries (the committed ~15,800 keys plus
   generated ones), with ``tracemalloc``: the dictionary alone, and with the categoriser's
   indexes (first-word index, squashed names, kind-of-business words).
3. **Accuracy** on ``bench/data/labelled_descriptions.tsv`` (see bench/data/SOURCES.md):
   top-level category of the categoriser (no rules, no crowd data) against the label, for
   spending — money out whose label is not Income or Transfer — labelled by people;
   also every money-out row, and the vendor-labelled rows apart.
"""

from __future__ import annotations

import argparse
import csv
import gc
import gzip
import json
import os
import random
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from categories.engine import Categorizer  # noqa: E402
from categories.sellers import (  # noqa: E402
    DEFAULT_PATH,
    SellerDictionary,
    load_sellers,
    read_rows,
)

LABELLED = ROOT / "bench" / "data" / "labelled_descriptions.tsv"

CITIES = [
    ("SEATTLE", "WA"), ("SAN FRANCISCO", "CA"), ("OAKLAND", "CA"), ("NEW YORK", "NY"),
    ("AUSTIN", "TX"), ("PITTSBURGH", "PA"), ("LOS ANGELES", "CA"), ("CHICAGO", "IL"),
    ("DENVER", "CO"), ("ATLANTA", "GA"), ("BOSTON", "MA"), ("PORTLAND", "OR"),
    ("MIAMI", "FL"), ("PHOENIX", "AZ"), ("COLUMBUS", "OH"), ("NASHVILLE", "TN"),
]
# {s} seller, {store} store number, {city} {st}, {term} terminal id (per location);
# {mm} {dd} the day, {auth} a per-transaction code.
FORMATS = [
    "POS PURCHASE {term} {s} #{store} {city} {st}",
    "SQ *{s} {city} {st}",
    "CHECKCARD {mm}{dd} {s} #{store} {city} {st} {auth}",
    "PURCHASE AUTHORIZED ON {mm}/{dd} {s} {city} {st} S{auth} CARD {term}",
    "DEBIT CARD PURCHASE XXXXX{term} {s} #{store} {city} {st}",
    "{s} #{store} {city} {st}",
    "{s} {store} {city} {st}",
    "TST* {s} {city} {st}",
    "{s} {mm}/{dd} PURCHASE {city} {st}",
    "VISA DDA PUR {term} {s} {city} {st}",
]
WORDS = (
    "acme alpine apex aurora beacon birch cedar cobalt copper crest ember falcon fern harbor "
    "hazel iris juniper kestrel lark maple meadow nova oak orchid pine quartz raven sage "
    "sierra spruce summit tidal umber vale willow zephyr golden silver river stone bay "
    "north south east west valley ridge lake sunset hill park bridge mill garden field "
    "corner main grand union liberty pioneer frontier coastal prairie canyon mesa"
).upper().split()
KINDS = ["BISTRO", "CAFE", "GRILL", "BAKERY", "DELI", "TAVERN", "MARKET", "SALON", "AUTO", "DENTAL", "CLINIC", "BOOKS", "OUTFITTERS", "CYCLES", "HARDWARE", "LIQUOR", "PIZZA", "FITNESS", "STUDIO", "SUPPLY", "GALLERY", "TRADING", "CO", "LLC", "INC"]


def pin_one_core() -> str:
    if hasattr(os, "sched_setaffinity"):
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return f"cpu {cpu}"
    return "not pinned"


def dictionary_names() -> list[str]:
    seen, names = set(), []
    for _key, seller, _path in read_rows(DEFAULT_PATH):
        if seller not in seen and seller.isascii():
            seen.add(seller)
            names.append(seller.upper())
    return names


def generated_name(rng: random.Random) -> str:
    n = rng.choice((1, 2, 2, 3))
    return " ".join(rng.choice(WORDS) for _ in range(n)) + " " + rng.choice(KINDS)


def statement_stream(n: int, seed: int = 11) -> list[str]:
    rng = random.Random(seed)
    names = dictionary_names()
    rng.shuffle(names)
    while len(names) < 50_000:
        names.append(generated_name(rng))
    # Zipf(1.0) over 50,000 sellers by inverse-CDF sampling on the harmonic weights.
    weights = [1.0 / (rank + 1) for rank in range(len(names))]
    picks = rng.choices(range(len(names)), weights=weights, k=n)
    locations: dict[int, list[tuple]] = {}
    out = []
    for i in picks:
        locs = locations.get(i)
        if locs is None:
            locs = locations[i] = [
                (str(rng.randint(100, 99999)), *rng.choice(CITIES), f"{rng.randint(0, 9999):04d}")
                for _ in range(rng.randint(1, 5))
            ]
        store, city, st, term = rng.choice(locs)
        fmt = FORMATS[(i + len(store)) % len(FORMATS)]  # a seller's bank format is stable
        out.append(fmt.format(
            s=names[i], store=store, city=city, st=st, term=term,
            mm=f"{rng.randint(1, 12):02d}", dd=f"{rng.randint(1, 28):02d}",
            auth=f"{rng.randint(0, 10**9):09d}",
        ))
    return out


def distinct_stream(n: int, seed: int = 13) -> list[str]:
    rng = random.Random(seed)
    out, seen = [], set()
    while len(out) < n:
        # A made-up name of 2–3 random syllable words: never in the dictionary twice.
        name = " ".join(
            "".join(rng.choice("BCDFGHKLMNPRSTVZ") + rng.choice("AEIOU") for _ in range(3))
            for _ in range(rng.choice((2, 3)))
        )
        if name in seen:
            continue
        seen.add(name)
        city, st = rng.choice(CITIES)
        fmt = rng.choice(FORMATS)
        out.append(fmt.format(s=name, store=rng.randint(100, 99999), city=city, st=st,
                              term=f"{rng.randint(0, 9999):04d}", mm="04", dd="12",
                              auth=f"{rng.randint(0, 10**9):09d}"))
    return out


def rate(fn, items) -> float:
    gc.collect()
    t = time.perf_counter()
    for x in items:
        fn(x)
    return len(items) / (time.perf_counter() - t)


def throughput(n: int, repeat: int, dictionary: SellerDictionary) -> dict:
    stream = statement_stream(n)
    distinct = distinct_stream(min(n, 100_000))
    baseline: dict[str, int] = {}
    for i, x in enumerate(stream):
        baseline.setdefault(x, i)
    runs: dict[str, list[float]] = {"statements": [], "distinct": [], "warm": [],
                                    "dict_lookup": []}
    for _ in range(repeat):
        categorizer = Categorizer(dictionary, cache_size=max(n, 200_000))
        runs["statements"].append(rate(categorizer.classify, stream))
        runs["warm"].append(rate(categorizer.classify, stream))
        cold = Categorizer(dictionary, cache_size=max(n, 200_000))
        runs["distinct"].append(rate(cold.classify, distinct))
        runs["dict_lookup"].append(rate(baseline.get, stream))
    shapes = {x.translate(str.maketrans("123456789", "000000000")) for x in stream}
    result = {k: round(statistics.median(v)) for k, v in runs.items()}
    result.update({
        "n": n, "distinct_n": len(distinct), "repeat": repeat,
        "stream_distinct_lines": len(baseline), "stream_distinct_shapes": len(shapes),
        "statements_vs_dict_lookup": round(result["statements"] / result["dict_lookup"], 4),
    })
    return result


def memory(target: int = 50_000) -> dict:
    """Loads a 50,000-key file (the committed rows plus generated sellers) under
    tracemalloc, as the worker loads the committed one: every string it keeps counts."""
    rows = list(read_rows(DEFAULT_PATH))
    sellers = sorted({(seller, path) for _k, seller, path in rows})
    rng = random.Random(5)
    keys = {k for k, _s, _p in rows}
    while len(rows) < target:
        name = generated_name(rng)
        key = " ".join(name.lower().split())
        if key in keys:
            continue
        keys.add(key)
        _seller, path = rng.choice(sellers)
        rows.append((key, name.title(), path))
    rows.sort()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "sellers50k.tsv.gz"
        with gzip.open(path, "wt", encoding="utf-8") as fh:
            fh.write("key\tseller\tcategory\n")
            fh.writelines(f"{k}\t{s}\t{c}\n" for k, s, c in rows)
        del rows, keys, sellers
        gc.collect()
        tracemalloc.start()
        dictionary = load_sellers(path)
        dictionary.keys_by_first_token()
        gc.collect()
        after_dict = tracemalloc.get_traced_memory()[0]
        categorizer = Categorizer(dictionary, cache_size=0)
        gc.collect()
        after_engine, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    entries = len(categorizer.dictionary)
    mib = 1024 * 1024
    return {
        "entries": entries,
        "dictionary_mib": round(after_dict / mib, 2),
        "with_categorizer_indexes_mib": round(after_engine / mib, 2),
        "peak_mib": round(peak / mib, 2),
    }


def accuracy(dictionary: SellerDictionary, verbose: bool) -> dict:
    categorizer = Categorizer(dictionary)
    groups: dict[str, list[int]] = {}
    misses = []
    with LABELLED.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            amount = float(row["amount"]) if row["amount"] else -1.0  # only the sign is used
            sign = 1 if amount > 0 else -1
            _seller, _key, path, source = categorizer.classify(row["description"], sign)
            top = path.split(" › ")[0]
            ok = int(top == row["label_top"])
            who = row["label_source"]
            if sign < 0:
                groups.setdefault(f"{who}_money_out", []).append(ok)
                if row["label_top"] not in ("Income", "Transfer"):
                    groups.setdefault(f"{who}_spending", []).append(ok)
                    if not ok and verbose:
                        misses.append((who, row["label_top"], top, source, row["description"]))
            else:
                groups.setdefault(f"{who}_money_in", []).append(ok)
    out = {name: {"rows": len(v), "correct": sum(v), "share": round(sum(v) / len(v), 4)}
           for name, v in sorted(groups.items())}
    if verbose:
        for who, label, top, source, desc in misses:
            print(f"miss [{who}] label={label!r} got={top!r} via {source or 'none'}: {desc}",
                  file=sys.stderr)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000, help="descriptions in the stream")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--verbose", action="store_true", help="list accuracy misses on stderr")
    args = ap.parse_args()
    pinned = pin_one_core()
    dictionary = SellerDictionary(read_rows(DEFAULT_PATH))
    report = {
        "pinned": pinned,
        "throughput": throughput(args.n, args.repeat, dictionary),
        "memory": memory(),
        "accuracy": accuracy(dictionary, args.verbose),
    }
    if args.json:
        print(json.dumps(report))
        return
    t, m, a = report["throughput"], report["memory"], report["accuracy"]
    print(f"one core ({pinned}), median of {t['repeat']}:")
    print(f"  statements  {t['statements']:>10,} descriptions/s  ({t['n']:,} lines, "
          f"{t['stream_distinct_lines']:,} distinct, {t['stream_distinct_shapes']:,} digit shapes)")
    print(f"  distinct    {t['distinct']:>10,} descriptions/s  (all unseen sellers)")
    print(f"  warm        {t['warm']:>10,} descriptions/s")
    print(f"  dict lookup {t['dict_lookup']:>10,} /s baseline; statements = "
          f"{t['statements_vs_dict_lookup']:.1%} of it")
    print(f"memory at {m['entries']:,} entries: dictionary {m['dictionary_mib']} MiB, "
          f"with the categoriser's indexes {m['with_categorizer_indexes_mib']} MiB "
          f"(peak while loading {m['peak_mib']} MiB)")
    for name, g in a.items():
        print(f"accuracy {name:22} {g['correct']:>3}/{g['rows']:<3} = {g['share']:.1%}")


if __name__ == "__main__":
    main()

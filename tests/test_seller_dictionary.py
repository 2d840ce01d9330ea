"""The seller dictionary (issue #3, part 2): committed data, loader, match keys, memory."""

from __future__ import annotations

import gzip
import json
import random
import tracemalloc
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from categories.sellers import DEFAULT_PATH, SellerDictionary, load_sellers
from categories.sellers.keys import latin_key, match_key

ROOT = Path(__file__).resolve().parent.parent
TAXONOMY = ROOT / "categories" / "data" / "mint-categories.json"
MEMORY_BUDGET = 12 * 1024 * 1024


@pytest.fixture(scope="module")
def sellers() -> SellerDictionary:
    return load_sellers()


def taxonomy_paths() -> set[str]:
    tree = json.loads(TAXONOMY.read_text(encoding="utf-8"))
    paths = set(tree)
    for top, subs in tree.items():
        paths.update(f"{top} › {sub}" for sub in subs or ())
    return paths


def test_committed_file_loads_with_enough_keys(sellers):
    assert DEFAULT_PATH.exists()
    assert len(sellers) >= 15_000
    assert sellers.seller_count >= 10_000


def test_committed_file_is_sorted_and_deterministic():
    raw = DEFAULT_PATH.read_bytes()
    assert raw[4:8] == b"\0\0\0\0"  # gzip mtime 0
    lines = gzip.decompress(raw).decode("utf-8").splitlines()
    assert lines[0] == "key\tseller\tcategory"
    keys = [line.split("\t")[0] for line in lines[1:]]
    assert keys == sorted(keys)
    assert len(keys) == len(set(keys))
    assert all(match_key(k) == k for k in keys)


def test_every_category_is_in_the_taxonomy(sellers):
    assert set(sellers.categories) <= taxonomy_paths()


@pytest.mark.parametrize(
    ("text", "seller", "category"),
    [
        ("STARBUCKS", "Starbucks", "Food & Dining › Coffee Shops"),
        ("McDonald's", "McDonald's", "Food & Dining › Fast Food"),
        ("MCDONALDS", "McDonald's", "Food & Dining › Fast Food"),
        ("Shell", "Shell", "Auto & Transport › Gas & Fuel"),
        ("CHEVRON", "Chevron", "Auto & Transport › Gas & Fuel"),
        ("Walgreens", "Walgreens", "Health & Fitness › Pharmacy"),
        ("NETFLIX.COM", "Netflix", "Entertainment › Movies & DVDs"),
        ("AMAZON.COM", "Amazon", "Shopping"),
        ("AMZN MKTP", "Amazon", "Shopping"),
        ("WHOLEFDS", "Whole Foods Market", "Food & Dining › Groceries"),
        ("PGANDE", "PG&E", "Bills & Utilities › Utilities"),
        ("PG&E", "PG&E", "Bills & Utilities › Utilities"),
        ("UBER *TRIP", "Uber", "Auto & Transport › Ride Share"),
        ("VERIZON WRLS", "Verizon", "Bills & Utilities › Mobile Phone"),
        ("ATT*BILL", "AT&T", "Bills & Utilities › Mobile Phone"),
        ("GEICO", "GEICO", "Auto & Transport › Auto Insurance"),
        ("IRS USATAXPYMT", "IRS", "Taxes › Federal Tax"),
        ("SOUTHWES", "Southwest Airlines", "Travel › Air Travel"),
        ("SPOTIFY", "Spotify", "Entertainment › Music"),
        ("IKEA", "IKEA", "Home › Furnishings"),
        ("Costco", "Costco", "Food & Dining › Groceries"),
    ],
)
def test_well_known_sellers(sellers, text, seller, category):
    assert sellers.lookup(match_key(text)) == (seller, category)


def test_unknown_key(sellers):
    assert sellers.lookup("no such seller xyzzy") is None
    assert "no such seller xyzzy" not in sellers


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("McDonald's", "mcdonalds"),
        ("MCDONALD’S", "mcdonalds"),
        ("PG&E", "pg and e"),
        ("H&M", "h and m"),
        ("AMZN Mktp US*2K4L02", "amzn mktp us 2k4l02"),
        ("  7-Eleven  ", "7 eleven"),
        ("Müller", "muller"),
        ("Café Nero", "cafe nero"),
        ("Straße", "strasse"),
        ("Søstrene Grene", "sostrene grene"),
        ("APPLE.COM/BILL", "apple com bill"),
        ("スターバックス", "スターバックス"),  # other scripts stay, lowercased, accents dropped
        ("ПЯТЁРОЧКА 1234", "пятерочка 1234"),
        ("Σκλαβενίτης & Co", "σκλαβενιτης and co"),
        ("Łódź Café", "lodz cafe"),
        ("", ""),
    ],
)
def test_match_key(text, key):
    assert match_key(text) == key


@given(st.text(alphabet=st.characters(max_codepoint=0x2FF)))
def test_latin_text_keys_as_the_dictionary_was_built(text):
    # The build (Latin names only) compares names with latin_key: every text of Latin
    # script keys the same either way, so the committed dictionary stays reproducible.
    if all(c.isascii() or not c.isalpha() or "LATIN" in unicodedata.name(c, "")
           for c in text):
        assert match_key(text) == latin_key(text)


def test_multi_word_names_inside_descriptions(sellers):
    index = sellers.keys_by_first_token()
    sizes = [key.count(" ") for key in index["the"]]
    assert sizes == sorted(sizes, reverse=True)
    assert all(" " in key for first in ("the", "whole") for key in index[first])
    assert "whole foods market" in index["whole"]
    tokens = match_key("POS PURCHASE 1234 THE HOME DEPOT #6512 BERKELEY CA").split()
    start, n, key = sellers.find_in(tokens)
    assert (tokens[start], n, key) == ("the", 3, "the home depot")
    assert sellers.lookup(key) == ("The Home Depot", "Home › Home Improvement")


def write_synthetic(path: Path, entries: int) -> None:
    """``entries`` keys, about 2.5 keys per seller, realistic lengths, taxonomy categories."""
    rng = random.Random(3)
    categories = sorted(taxonomy_paths())
    letters = "abcdefghijklmnopqrstuvwxyz"
    keys: set[str] = set()
    rows = []
    while len(keys) < entries:
        words = [
            "".join(rng.choices(letters, k=rng.randint(3, 9))) for _ in range(rng.randint(1, 3))
        ]
        seller = " ".join(w.capitalize() for w in words)
        category = rng.choice(categories)
        for variant in (" ".join(words), "".join(words), f"{words[0]} {rng.randint(1, 99)}"):
            if variant not in keys and len(keys) < entries:
                keys.add(variant)
                rows.append(f"{variant}\t{seller}\t{category}\n")
    rows.sort()
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write("key\tseller\tcategory\n")
        fh.writelines(rows)


def test_fifty_thousand_entries_fit_in_twelve_megabytes(tmp_path):
    path = tmp_path / "sellers50k.tsv.gz"
    write_synthetic(path, 50_000)
    tracemalloc.start()
    try:
        loaded = load_sellers(path)
        loaded.keys_by_first_token()
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(loaded) == 50_000
    assert current <= MEMORY_BUDGET, f"{current / 2**20:.1f} MiB retained"
    assert peak <= MEMORY_BUDGET, f"{peak / 2**20:.1f} MiB peak while loading"

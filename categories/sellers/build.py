"""Build ``categories/sellers/sellers.tsv.gz`` from public data.

Sources:

1. OpenStreetMap's name-suggestion-index (NSI, BSD-3-Clause), the npm package
   ``name-suggestion-index`` — fetched with ``npm pack`` into a temporary directory; we read
   ``package/dist/json/nsi.json`` from the tarball. Only the ``brands/*`` trees are used
   (operators, transit and flags are skipped). Each brand's OSM tag (the tree path, e.g.
   ``brands/shop/supermarket``) is mapped to a Mint category with ``TAG_CATEGORIES`` below.
2. ``categories/sellers/aliases.tsv`` — hand-curated statement spellings of the sellers that
   dominate US statements (utilities, telecoms, subscriptions, airlines, processors, tax…).
   Aliases win over NSI.

Usage::

    python categories/sellers/build.py                       # npm pack the pinned version
    python categories/sellers/build.py --spec name-suggestion-index@latest
    python categories/sellers/build.py --tarball /tmp/name-suggestion-index-8.0.x.tgz

Output: gzip (mtime 0) of a sorted TSV with header ``key, seller, category``; the same
inputs always give the same bytes.
"""

from __future__ import annotations

import argparse
import collections
import gzip
import io
import json
import re
import subprocess
import sys
import tarfile
import tempfile
import unicodedata
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
if str(ROOT) not in sys.path:  # run as a plain script: make ``categories`` importable
    sys.path.insert(0, str(ROOT))

from categories.sellers import kinds  # noqa: E402
from categories.sellers.keys import latin_key, match_key  # noqa: E402

DEFAULT_SPEC = "name-suggestion-index@8.0.20260918"
TAXONOMY = ROOT / "categories" / "data" / "mint-categories.json"
ALIASES = HERE / "aliases.tsv"
OUTPUT = HERE / "sellers.tsv.gz"
SEP = " › "

# OSM tag (``key=value`` of the NSI brands tree) → Mint category. Tags not listed here are
# skipped (see README.md for the list and the reasons).
TAG_CATEGORIES: dict[str, str] = {
    # Food & Dining
    "amenity=cafe": "Food & Dining › Coffee Shops",
    "amenity=fast_food": "Food & Dining › Fast Food",
    "amenity=ice_cream": "Food & Dining › Fast Food",
    "amenity=restaurant": "Food & Dining › Restaurants",
    "amenity=bar": "Food & Dining › Alcohol & Bars",
    "amenity=pub": "Food & Dining › Alcohol & Bars",
    "shop=alcohol": "Food & Dining › Alcohol & Bars",
    "shop=wine": "Food & Dining › Alcohol & Bars",
    "shop=supermarket": "Food & Dining › Groceries",
    "shop=convenience": "Food & Dining › Groceries",
    "shop=wholesale": "Food & Dining › Groceries",
    "shop=greengrocer": "Food & Dining › Groceries",
    "shop=butcher": "Food & Dining › Groceries",
    "shop=bakery": "Food & Dining › Groceries",
    "shop=pastry": "Food & Dining › Groceries",
    "shop=deli": "Food & Dining › Groceries",
    "shop=cheese": "Food & Dining › Groceries",
    "shop=seafood": "Food & Dining › Groceries",
    "shop=frozen_food": "Food & Dining › Groceries",
    "shop=dairy": "Food & Dining › Groceries",
    "shop=health_food": "Food & Dining › Groceries",
    "shop=confectionery": "Food & Dining › Groceries",
    "shop=chocolate": "Food & Dining › Groceries",
    "shop=tea": "Food & Dining › Groceries",
    "shop=coffee": "Food & Dining › Groceries",
    "shop=nuts": "Food & Dining › Groceries",
    "shop=spices": "Food & Dining › Groceries",
    "shop=beverages": "Food & Dining › Groceries",
    "shop=bbq": "Food & Dining › Groceries",
    # Auto & Transport
    "amenity=fuel": "Auto & Transport › Gas & Fuel",
    "waterway=fuel": "Auto & Transport › Gas & Fuel",
    "highway=services": "Auto & Transport › Gas & Fuel",
    "amenity=charging_station": "Auto & Transport › Gas & Fuel",
    "man_made=charge_point": "Auto & Transport › Gas & Fuel",
    "shop=gas": "Auto & Transport › Gas & Fuel",
    "amenity=parking": "Auto & Transport › Parking",
    "amenity=bicycle_rental": "Auto & Transport › Public Transportation",
    "amenity=car_wash": "Auto & Transport › Service & Parts",
    "amenity=vehicle_inspection": "Auto & Transport › Service & Parts",
    "shop=car_repair": "Auto & Transport › Service & Parts",
    "shop=car_parts": "Auto & Transport › Service & Parts",
    "shop=tyres": "Auto & Transport › Service & Parts",
    "shop=truck_repair": "Auto & Transport › Service & Parts",
    "shop=motorcycle_repair": "Auto & Transport › Service & Parts",
    "shop=car": "Auto & Transport",
    "shop=motorcycle": "Auto & Transport",
    "shop=truck": "Auto & Transport",
    # Travel
    "amenity=car_rental": "Travel › Rental Car & Taxi",
    "amenity=car_sharing": "Travel › Rental Car & Taxi",
    "amenity=motorcycle_rental": "Travel › Rental Car & Taxi",
    "tourism=hotel": "Travel › Hotel",
    "tourism=motel": "Travel › Hotel",
    "tourism=hostel": "Travel › Hotel",
    "tourism=caravan_site": "Travel › Vacation",
    "shop=travel_agency": "Travel › Vacation",
    # Bills & Utilities
    "shop=telecommunication": "Bills & Utilities › Mobile Phone",
    "office=telecommunication": "Bills & Utilities › Mobile Phone",
    # Shopping
    "shop=clothes": "Shopping › Clothing",
    "shop=shoes": "Shopping › Clothing",
    "shop=fashion_accessories": "Shopping › Clothing",
    "shop=bag": "Shopping › Clothing",
    "shop=leather": "Shopping › Clothing",
    "shop=tailor": "Shopping › Clothing",
    "shop=jewelry": "Shopping",
    "shop=watches": "Shopping",
    "shop=electronics": "Shopping › Electronics & Software",
    "shop=computer": "Shopping › Electronics & Software",
    "shop=mobile_phone": "Shopping › Electronics & Software",
    "shop=mobile_phone_accessories": "Shopping › Electronics & Software",
    "shop=hifi": "Shopping › Electronics & Software",
    "shop=camera": "Shopping › Electronics & Software",
    "shop=video_games": "Shopping › Electronics & Software",
    "shop=appliance": "Shopping › Electronics & Software",
    "shop=vacuum_cleaner": "Shopping › Electronics & Software",
    "shop=printer_ink": "Shopping › Electronics & Software",
    "shop=books": "Shopping › Books",
    "shop=sports": "Shopping › Sporting Goods",
    "shop=outdoor": "Shopping › Sporting Goods",
    "shop=bicycle": "Shopping › Sporting Goods",
    "shop=fishing": "Shopping › Sporting Goods",
    "shop=swimming_pool": "Shopping › Sporting Goods",
    "shop=craft": "Shopping › Hobbies",
    "shop=fabric": "Shopping › Hobbies",
    "shop=art": "Shopping › Hobbies",
    "shop=model": "Shopping › Hobbies",
    "shop=anime": "Shopping › Hobbies",
    "shop=music": "Shopping › Hobbies",
    "shop=musical_instrument": "Shopping › Hobbies",
    "shop=photo": "Shopping › Hobbies",
    "shop=frame": "Shopping › Hobbies",
    "shop=pottery": "Shopping › Hobbies",
    "shop=party": "Shopping › Hobbies",
    "shop=department_store": "Shopping",
    "shop=variety_store": "Shopping",
    "shop=general": "Shopping",
    "shop=second_hand": "Shopping",
    "shop=charity": "Shopping",
    "shop=catalogue": "Shopping",
    "shop=country_store": "Shopping",
    "shop=kiosk": "Shopping",
    "shop=e-cigarette": "Shopping",
    "shop=tobacco": "Shopping",
    "shop=cannabis": "Shopping",
    "shop=erotic": "Shopping",
    "shop=pawnbroker": "Shopping",
    "shop=pyrotechnics": "Shopping",
    "shop=boat": "Shopping",
    "shop=caravan": "Shopping",
    "shop=video": "Entertainment › Movies & DVDs",
    "shop=newsagent": "Entertainment › Newspapers & Magazines",
    # Kids
    "shop=toys": "Kids › Toys",
    "shop=games": "Kids › Toys",
    "shop=baby_goods": "Kids › Baby Supplies",
    "amenity=kindergarten": "Kids › Babysitter & Daycare",
    "amenity=childcare": "Kids › Babysitter & Daycare",
    "leisure=indoor_play": "Kids › Kids Activities",
    "leisure=playground": "Kids › Kids Activities",
    # Home
    "shop=furniture": "Home › Furnishings",
    "shop=bed": "Home › Furnishings",
    "shop=interior_decoration": "Home › Furnishings",
    "shop=kitchen": "Home › Furnishings",
    "shop=household_linen": "Home › Furnishings",
    "shop=lighting": "Home › Furnishings",
    "shop=carpet": "Home › Furnishings",
    "shop=curtain": "Home › Furnishings",
    "shop=window_blind": "Home › Furnishings",
    "shop=bathroom_furnishing": "Home › Furnishings",
    "shop=candles": "Home › Furnishings",
    "shop=houseware": "Home › Home Supplies",
    "shop=doityourself": "Home › Home Improvement",
    "shop=hardware": "Home › Home Improvement",
    "shop=paint": "Home › Home Improvement",
    "shop=trade": "Home › Home Improvement",
    "shop=flooring": "Home › Home Improvement",
    "shop=tiles": "Home › Home Improvement",
    "shop=doors": "Home › Home Improvement",
    "shop=electrical": "Home › Home Improvement",
    "shop=glaziery": "Home › Home Improvement",
    "shop=power_tools": "Home › Home Improvement",
    "shop=tool_hire": "Home › Home Improvement",
    "shop=plant_hire": "Home › Home Improvement",
    "craft=window_construction": "Home › Home Improvement",
    "shop=garden_centre": "Home › Lawn & Garden",
    "shop=groundskeeping": "Home › Lawn & Garden",
    "shop=agrarian": "Home › Lawn & Garden",
    "shop=locksmith": "Home › Home Services",
    "shop=pest_control": "Home › Home Services",
    "craft=carpenter": "Home › Home Services",
    "craft=cleaning": "Home › Home Services",
    "craft=electrician": "Home › Home Services",
    "craft=glaziery": "Home › Home Services",
    "craft=painter": "Home › Home Services",
    "craft=plumber": "Home › Home Services",
    "office=moving_company": "Home › Home Services",
    "shop=storage_rental": "Home",
    "office=mortgage": "Home › Mortgage & Rent",
    # Health & Fitness
    "amenity=pharmacy": "Health & Fitness › Pharmacy",
    "shop=chemist": "Health & Fitness › Pharmacy",
    "shop=medical_supply": "Health & Fitness › Pharmacy",
    "shop=nutrition_supplements": "Health & Fitness",
    "shop=herbalist": "Health & Fitness",
    "amenity=dentist": "Health & Fitness › Dentist",
    "amenity=doctors": "Health & Fitness › Doctor",
    "amenity=clinic": "Health & Fitness › Doctor",
    "amenity=hospital": "Health & Fitness › Doctor",
    "healthcare=laboratory": "Health & Fitness › Doctor",
    "healthcare=sample_collection": "Health & Fitness › Doctor",
    "healthcare=physiotherapist": "Health & Fitness › Doctor",
    "healthcare=audiologist": "Health & Fitness › Doctor",
    "healthcare=counselling": "Health & Fitness › Doctor",
    "healthcare=dialysis": "Health & Fitness › Doctor",
    "healthcare=rehabilitation": "Health & Fitness › Doctor",
    "healthcare=alternative": "Health & Fitness › Doctor",
    "shop=hearing_aids": "Health & Fitness › Doctor",
    "shop=optician": "Health & Fitness › Eyecare",
    "leisure=fitness_centre": "Health & Fitness › Gym",
    "leisure=sports_centre": "Health & Fitness › Gym",
    "leisure=fitness_station": "Health & Fitness › Gym",
    # Personal Care
    "shop=hairdresser": "Personal Care › Hair",
    "shop=hairdresser_supply": "Personal Care › Hair",
    "shop=massage": "Personal Care › Spa & Massage",
    "leisure=sauna": "Personal Care › Spa & Massage",
    "shop=beauty": "Personal Care",
    "shop=cosmetics": "Personal Care",
    "shop=perfumery": "Personal Care",
    "shop=tattoo": "Personal Care",
    "shop=laundry": "Personal Care › Laundry",
    "shop=dry_cleaning": "Personal Care › Laundry",
    # Pets
    "shop=pet": "Pets › Pet Food & Supplies",
    "amenity=veterinary": "Pets › Veterinary",
    "amenity=animal_boarding": "Pets",
    # Entertainment
    "amenity=cinema": "Entertainment › Movies & DVDs",
    "tourism=theme_park": "Entertainment › Amusement",
    "leisure=amusement_arcade": "Entertainment › Amusement",
    "leisure=bowling_alley": "Entertainment › Amusement",
    "leisure=escape_game": "Entertainment › Amusement",
    "leisure=trampoline_park": "Entertainment › Amusement",
    "leisure=miniature_golf": "Entertainment › Amusement",
    "leisure=high_ropes_course": "Entertainment › Amusement",
    "leisure=adult_gaming_centre": "Entertainment › Amusement",
    "amenity=karaoke_box": "Entertainment › Amusement",
    "amenity=casino": "Entertainment › Amusement",
    "amenity=gambling": "Entertainment › Amusement",
    "shop=bookmaker": "Entertainment",
    "shop=lottery": "Entertainment",
    "shop=ticket": "Entertainment",
    # Education
    "amenity=prep_school": "Education › Tuition",
    "amenity=language_school": "Education › Tuition",
    "amenity=driving_school": "Education › Tuition",
    "amenity=music_school": "Education › Tuition",
    "amenity=training": "Education › Tuition",
    "amenity=college": "Education › Tuition",
    "amenity=university": "Education › Tuition",
    "amenity=school": "Education › Tuition",
    "shop=stationery": "Business Services › Office Supplies",
    # Gifts
    "shop=gift": "Gifts & Donations › Gift",
    "shop=florist": "Gifts & Donations › Gift",
    # Business Services
    "shop=copyshop": "Business Services › Printing",
    "amenity=post_office": "Business Services › Shipping",
    "amenity=post_depot": "Business Services › Shipping",
    "amenity=parcel_locker": "Business Services › Shipping",
    "office=logistics": "Business Services › Shipping",
    "office=lawyer": "Business Services › Legal",
    "office=coworking": "Business Services",
    # Financial
    "office=financial_advisor": "Financial › Financial Advisor",
    "office=insurance": "Financial",
    "office=tax_advisor": "Financial",
    "office=financial": "Financial",
    "shop=money_lender": "Loans",
}

# When one key names brands under several tags, each distinct tag is one vote for its
# category; ties go to the tag listed first here, then to the order of TAG_CATEGORIES.
# (A fuel brand's shops are also tagged convenience/car_wash/…: ``Shell`` stays Gas & Fuel;
# a grocer's filling stations do not make ``Costco`` a fuel brand.)
TIE_BREAK = (
    "shop=supermarket",
    "shop=wholesale",
    "shop=department_store",
    "shop=variety_store",
    "amenity=pharmacy",
    "amenity=fuel",
    "shop=telecommunication",
    "office=telecommunication",
)

# Brand trees deliberately left out — documented in README.md.
SKIPPED_TAGS_REASON = {
    "amenity=bank": "bank names on statements are transfers/card payments, not purchases",
    "amenity=atm": "ATM withdrawals are recognised by the description heuristics",
    "amenity=bureau_de_change": "currency exchange — not a seller",
    "amenity=money_transfer": "transfers",
    "amenity=payment_centre": "bill-payment counters (payee is someone else)",
    "amenity=payment_terminal": "payment terminals (payee is someone else)",
    "advertising=totem": "advertising structures, not sellers",
}

# Match keys too generic to stand for one seller (in any language we keep).
STOP_KEYS = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "of",
        "to",
        "in",
        "on",
        "at",
        "by",
        "for",
        "de",
        "la",
        "le",
        "les",
        "el",
        "los",
        "das",
        "der",
        "die",
        "und",
        "et",
        "y",
        "shop",
        "store",
        "stores",
        "market",
        "supermarket",
        "pharmacy",
        "cafe",
        "coffee",
        "bar",
        "pub",
        "restaurant",
        "hotel",
        "bank",
        "fuel",
        "gas",
        "station",
        "parking",
        "service",
        "services",
        "center",
        "centre",
        "express",
        "mini",
        "super",
        "food",
        "foods",
        "fast",
        "fast",
        "food",
        "grill",
        "kitchen",
        "bakery",
        "pizza",
        "burger",
        "chicken",
        "sushi",
        "kebab",
        "outlet",
        "home",
        "house",
        "city",
        "local",
        "online",
        "mobile",
        "auto",
        "car",
        "taxi",
        "bus",
        "post",
        "office",
        "school",
        "beauty",
        "salon",
        "hair",
        "fitness",
        "gym",
        "dental",
        "clinic",
        "one",
        "best",
        "first",
        "new",
        "big",
        "top",
        "plus",
        "star",
        "payment",
        "purchase",
        "debit",
        "card",
    ]
)

_PARENS = re.compile(r"\s*\([^)]*\)\s*$")
_PREFERRED_REGIONS = frozenset({"001", "019", "021", "us", "ca"})


def fetch_nsi(spec: str, workdir: Path) -> Path:
    """``npm pack`` the NSI package into ``workdir``; returns the tarball path."""
    out = subprocess.run(
        ["npm", "pack", spec, "--silent", "--pack-destination", str(workdir)],
        check=True,
        capture_output=True,
        text=True,
        cwd=workdir,
        timeout=600,
    )
    name = out.stdout.strip().splitlines()[-1]
    return workdir / name


def read_nsi(tarball: Path) -> dict:
    with tarfile.open(tarball, "r:gz") as tar:
        member = tar.extractfile("package/dist/json/nsi.json")
        if member is None:
            raise SystemExit(f"{tarball}: no package/dist/json/nsi.json")
        data = json.load(member)
        generic = tar.extractfile("package/config/genericWords.json")
        generic_words = json.load(generic)["genericWords"] if generic else []
    return {"nsi": data["nsi"], "meta": data.get("_meta", {}), "generic": generic_words}


def load_taxonomy() -> set[str]:
    tree = json.loads(TAXONOMY.read_text(encoding="utf-8"))
    paths = set(tree)
    for top, subs in tree.items():
        paths.update(f"{top}{SEP}{sub}" for sub in subs or ())
    return paths


def item_names(item: dict) -> list[tuple[str, int]]:
    """(name, strength): 2 for the item's own names, 1 for its ``matchNames``.

    ``brand`` is used only when it equals the name: sub-brands carry their parent's brand
    (``IKEA Bistro`` has brand=IKEA, a ``Shell Select`` shop brand=Shell) and would
    otherwise pull the parent's key into the wrong category.
    """
    tags = item.get("tags", {})
    names = [(_PARENS.sub("", item.get("displayName", "")), 2)]
    for tag in ("name", "name:en", "short_name", "official_name"):
        if tags.get(tag):
            names.append((tags[tag], 2))
    for tag in ("brand", "brand:en"):
        if tags.get(tag) and latin_key(tags[tag]) in {latin_key(n) for n, _ in names}:
            names.append((tags[tag], 2))
    names.extend((m, 1) for m in item.get("matchNames", []))
    return names


def is_latin(text: str) -> bool:
    """True when every letter of ``text`` is Latin script (so ``match_key`` loses none)."""
    return all(
        ch.isascii() or not ch.isalpha() or "LATIN" in unicodedata.name(ch, "") for ch in text
    )


def display_name(item: dict) -> str:
    """The seller as shown to the user: the brand's name, in Latin script when NSI has one."""
    tags = item.get("tags", {})
    for candidate in (
        _PARENS.sub("", item.get("displayName", "")),
        tags.get("brand", ""),
        tags.get("name", ""),
        tags.get("brand:en", ""),
        tags.get("name:en", ""),
    ):
        if candidate and is_latin(candidate) and match_key(candidate):
            return candidate.strip()
    return ""


def is_preferred_region(item: dict) -> bool:
    include = item.get("locationSet", {}).get("include", [])
    return any(isinstance(code, str) and code.lower() in _PREFERRED_REGIONS for code in include)


def nsi_entries(nsi: dict, generic: list[str]) -> tuple[dict[str, tuple[str, str]], dict]:
    """key → (seller, category) from the NSI brand trees, plus statistics."""
    generic_res = [re.compile(g, re.IGNORECASE) for g in generic]
    order = list(TIE_BREAK) + [t for t in TAG_CATEGORIES if t not in TIE_BREAK]
    priority = {tag: i for i, tag in enumerate(order)}
    # key → list of (strength, preferred_region, tag, seller)
    candidates: dict[str, list[tuple[int, bool, str, str]]] = collections.defaultdict(list)
    stats = collections.Counter()
    for tree_path in sorted(nsi):
        parts = tree_path.split("/")
        if parts[0] != "brands" or len(parts) != 3:
            continue
        tag = f"{parts[1]}={parts[2]}"
        items = nsi[tree_path]["items"]
        if tag not in TAG_CATEGORIES:
            stats["brands_skipped_tag"] += len(items)
            continue
        for item in items:
            seller = display_name(item)
            if not seller:
                stats["brands_no_latin_name"] += 1
                continue
            stats["brands_used"] += 1
            preferred = is_preferred_region(item)
            seen: set[str] = set()
            for name, strength in item_names(item):
                key = match_key(name)
                if (
                    not is_latin(name)
                    or key in seen
                    or len(key) < 2
                    or key.replace(" ", "").isdigit()
                    or key in STOP_KEYS
                    or any(g.match(name.strip()) or g.match(key) for g in generic_res)
                ):
                    continue
                seen.add(key)
                candidates[key].append((strength, preferred, tag, seller))
    entries: dict[str, tuple[str, str]] = {}
    for key, all_cands in candidates.items():
        strongest = max(c[0] for c in all_cands)
        cands = [(p, t, s) for st, p, t, s in all_cands if st == strongest]
        if any(p for p, _, _ in cands):
            cands = [c for c in cands if c[0]]
        votes = collections.Counter(TAG_CATEGORIES[tag] for tag in {t for _, t, _ in cands})
        best_prio: dict[str, int] = {}
        for _, tag, _ in cands:
            cat = TAG_CATEGORIES[tag]
            best_prio[cat] = min(best_prio.get(cat, 10**6), priority[tag])
        category = min(votes, key=lambda c: (-votes[c], best_prio[c], c))
        sellers = collections.Counter(s for _, t, s in cands if TAG_CATEGORIES[t] == category)
        seller = min(sellers, key=lambda s: (-sellers[s], len(s), s))
        entries[key] = (seller, category)
    return entries, dict(stats)


def read_aliases(path: Path) -> list[tuple[str, str, str]]:
    rows = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) != 3:
            raise SystemExit(f"{path}:{lineno}: expected 3 tab-separated fields: {line!r}")
        rows.append((fields[0].strip(), fields[1].strip(), fields[2].strip()))
    return rows


def write_tsv_gz(path: Path, entries: dict[str, tuple[str, str]]) -> None:
    buf = io.StringIO()
    buf.write("key\tseller\tcategory\n")
    for key in sorted(entries):
        seller, category = entries[key]
        buf.write(f"{key}\t{seller}\t{category}\n")
    raw = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz:
        gz.write(buf.getvalue().encode("utf-8"))
    path.write_bytes(raw.getvalue())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spec", default=DEFAULT_SPEC, help=f"npm spec (default {DEFAULT_SPEC})")
    parser.add_argument("--tarball", type=Path, help="use an already downloaded NSI tarball")
    parser.add_argument("--aliases", type=Path, default=ALIASES)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--kinds", type=Path, default=kinds.PATH,
                        help="where the learnt kind-of-business words go")
    args = parser.parse_args(argv)

    taxonomy = load_taxonomy()
    with tempfile.TemporaryDirectory(prefix="nsi-") as tmp:
        tarball = args.tarball or fetch_nsi(args.spec, Path(tmp))
        nsi = read_nsi(tarball)

    entries, stats = nsi_entries(nsi["nsi"], nsi["generic"])
    nsi_keys = len(entries)
    aliases = read_aliases(args.aliases)
    alias_keys = set()
    for spelling, seller, category in aliases:
        key = match_key(spelling)
        if not key:
            raise SystemExit(f"alias {spelling!r} has an empty match key")
        entries[key] = (seller, category)
        alias_keys.add(key)

    bad = sorted({cat for _, cat in entries.values()} - taxonomy)
    if bad:
        raise SystemExit(f"categories not in the taxonomy: {bad}")
    for key, (seller, _) in entries.items():
        if "\t" in seller or "\n" in seller or "\t" in key:
            raise SystemExit(f"tab or newline in {key!r} / {seller!r}")

    write_tsv_gz(args.output, entries)
    kind_words = kinds.learn((k, s, c) for k, (s, c) in entries.items())
    kinds.write(args.kinds, kind_words)
    print(
        f"NSI {nsi['meta'].get('version', '?')}: {stats} → {nsi_keys} keys; "
        f"aliases: {len(aliases)} lines, {len(alias_keys)} keys; "
        f"total {len(entries)} keys, {len({s for s, _ in entries.values()})} sellers "
        f"→ {args.output}; {len(kind_words)} kind-of-business words → {args.kinds}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

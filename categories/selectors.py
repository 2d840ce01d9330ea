import unicodedata
from functools import lru_cache

from django.db import connection as db
from django.db.models import Q, QuerySet

from .models import Category, CrowdSeller, Rule


@lru_cache(maxsize=1)
def _taxonomy_index() -> dict[str, int]:
    """Shared taxonomy by case-folded name: "coffee shops" and "food & dining › coffee
    shops" → id. ~125 entries; loaded once per process (the taxonomy only changes by
    migration)."""
    index: dict[str, int] = {}
    rows = Category.objects.filter(user=None).select_related("parent")
    for category in rows:
        if category.parent_id is None:
            index[category.name.casefold()] = category.id  # a top level beats a same-named sub
        else:
            index.setdefault(category.name.casefold(), category.id)
            index[f"{category.parent.name} › {category.name}".casefold()] = category.id
    return index


def category_id_for_path(path: str) -> int | None:
    """The shared category for "Top › Sub" or "Top" (the seller dictionary's form)."""
    return _taxonomy_index().get(path.casefold())


def uncategorized_id() -> int | None:
    return _taxonomy_index().get("uncategorized")


def category_name(name: str) -> str:
    """A category name as kept and compared: spaces collapsed, and in one Unicode form
    (NFC), so that "Café" typed with a combining accent is the "Café" that exists."""
    return unicodedata.normalize("NFC", " ".join(name.split()))


def category_id_for_name(*, user, name: str) -> int | None:
    """Maps a category name as a file gives it (Mint's CSV export) onto the taxonomy,
    then onto the user's own categories."""
    key = category_name(name).casefold()
    if not key:
        return None
    found = _taxonomy_index().get(key)
    if found is not None:
        return found
    # Compared here, not with name__iexact: SQLite folds the case of ASCII letters only
    # ("Épicerie" would not find "épicerie"). A user has a few own categories.
    own = Category.objects.filter(user=user).order_by("id").values_list("id", "name")
    return next((pk for pk, name in own if category_name(name).casefold() == key), None)


def categories_for(*, user) -> QuerySet[Category]:
    """The categories a user may file a transaction under: the shared taxonomy and their
    own."""
    return Category.objects.filter(Q(user=None) | Q(user=user))


def category_tree(*, user) -> list[dict]:
    """Top-level categories with their children (shared and the user's own), by name in
    any capitals (sorted here: SQLite orders by code point, "beans" after "Sporting")."""
    rows = sorted(categories_for(user=user).values("id", "name", "parent_id", "user_id",
                                                   "is_income", "is_transfer"),
                  key=lambda row: (row["name"].casefold(), row["id"]))
    children: dict[int, list[dict]] = {}
    for row in rows:
        if row["parent_id"] is not None:
            children.setdefault(row["parent_id"], []).append(row)

    def node(row: dict) -> dict:
        return {
            "id": row["id"], "name": row["name"], "own": row["user_id"] is not None,
            "is_income": row["is_income"], "is_transfer": row["is_transfer"],
            "children": [node(child) for child in children.get(row["id"], [])],
        }

    return [node(row) for row in rows if row["parent_id"] is None]


def rules_for(*, user) -> QuerySet[Rule]:
    return Rule.objects.filter(user=user).select_related("category", "account")


def crowd_defaults(*, keys) -> dict[str, int]:
    """seller key → crowd-learned category id, for those of ``keys`` that have one."""
    if not keys:
        return {}
    if db.vendor == "postgresql":
        # Once per ingest batch: built by the ORM it cost ~0.9 ms for 2 keys and ~1.5 ms
        # for 200 (a parameter per key), by hand with one array ~0.4 and ~0.8 ms.
        with db.cursor() as cursor:
            cursor.execute(
                f"SELECT seller_key, category_id FROM {CrowdSeller._meta.db_table} "  # noqa: S608
                "WHERE seller_key = ANY(%s) AND category_id IS NOT NULL",
                [list(keys)],
            )
            return dict(cursor.fetchall())
    return dict(
        CrowdSeller.objects.filter(seller_key__in=list(keys), category__isnull=False)
        .values_list("seller_key", "category_id")
    )

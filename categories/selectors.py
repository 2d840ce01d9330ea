from functools import lru_cache

from .models import Category


@lru_cache(maxsize=1)
def _taxonomy_index() -> dict[str, int]:
    """Shared taxonomy by lower-cased name: "coffee shops" and "food & dining › coffee
    shops" → id. ~125 entries; loaded once per process (the taxonomy only changes by
    migration)."""
    index: dict[str, int] = {}
    rows = Category.objects.filter(user=None).select_related("parent")
    for category in rows:
        index.setdefault(category.name.lower(), category.id)
        if category.parent_id:
            index[f"{category.parent.name} › {category.name}".lower()] = category.id
    return index


def category_id_for_name(*, user, name: str) -> int | None:
    """Maps a category name as a file gives it (Mint's CSV export) onto the taxonomy,
    then onto the user's own categories."""
    key = " ".join(name.split()).lower()
    if not key:
        return None
    found = _taxonomy_index().get(key)
    if found is not None:
        return found
    own = Category.objects.filter(user=user, name__iexact=key).values_list("id", flat=True)
    return next(iter(own), None)

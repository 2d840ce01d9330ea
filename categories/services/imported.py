"""Categories an imported file names (Mint's CSV export): kept, even those neither the
taxonomy nor the user has yet."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import IntegrityError

from ..models import Category
from ..selectors import category_id_for_name, category_id_for_path
from .manual import category_create

# Where a category the file names but nobody has goes: a user's own category sits under a
# top-level one of the taxonomy, and the file does not say which.
MONEY_IN_PARENT, MONEY_OUT_PARENT = "Income", "Uncategorized"
# Mint's own categories outside its published list. "Hide from Budgets & Trends" kept a
# row out of budgets and trends: under Transfer (not spending), it stays out of them here.
MINT_SPECIAL_PARENTS = {"hide from budgets & trends": "Transfer"}


def categories_from_file(*, user, records: Iterable) -> list[tuple[Category, int]]:
    """Creates, as the user's own, each category ``records`` (parsed transactions with
    ``source_category`` and ``amount``) name that neither the taxonomy nor the user has:
    under Income when most of its rows are money in, else under Uncategorized. Then the
    import files those rows under it, as in the file, instead of guessing from the seller
    (a Mint user's "Dog Walking" or "Side Gig" survives the move). Returns the new
    categories with their row counts. Call inside the import's transaction."""
    rows: Counter[str] = Counter()
    money_in: Counter[str] = Counter()
    spelled: dict[str, str] = {}
    for record in records:
        name = " ".join((record.source_category or "").split())
        if not name:
            continue
        key = name.casefold()  # as category_id_for_name and category_create compare
        spelled.setdefault(key, name)
        rows[key] += 1
        money_in[key] += record.amount > 0
    created: list[tuple[Category, int]] = []
    for key, count in rows.items():
        if len(spelled[key]) > 100 or category_id_for_name(user=user, name=key) is not None:
            continue  # (a name past the column's 100 characters could not be found again)
        parent_path = MINT_SPECIAL_PARENTS.get(key) or (
            MONEY_IN_PARENT if money_in[key] * 2 > count else MONEY_OUT_PARENT)
        parent = Category.objects.filter(pk=category_id_for_path(parent_path)).first()
        if parent is None:  # no taxonomy loaded (some tests): nothing to hang it under
            continue
        try:
            created.append((category_create(user=user, parent=parent,
                                            name=spelled[key][:100]), count))
        except (ValidationError, IntegrityError):
            continue  # made meanwhile (another import of the same user): it is there
    return created

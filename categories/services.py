"""Categorisation inside the pipeline (step 5).

For now a category is taken from the source when it names one (Mint's CSV export); the
seller dictionary, rules and crowd learning plug in here (issue #3).
"""

from accounts.providers import TransactionRecord

from .selectors import category_id_for_name


def categorize_records(*, user, records: list[TransactionRecord]) -> list[tuple[str, int | None, str]]:
    """Returns (seller, category_id, category_source) for each record, in order."""
    if not any(record.source_category for record in records):
        return [("", None, "")] * len(records)
    cache: dict[str, int | None] = {}
    out = []
    for record in records:
        if record.source_category:
            name = record.source_category
            if name not in cache:
                cache[name] = category_id_for_name(user=user, name=name)
            category_id = cache[name]
            out.append(("", category_id, "import" if category_id else ""))
        else:
            out.append(("", None, ""))
    return out

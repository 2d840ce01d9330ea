"""Support and debugging: how would a raw bank description be categorised?

    printf 'SQ *BLUE BOTTLE COFFEE Oakland CA\\nPOS PURCHASE 4411 STARBUCKS #10233\\n' \\
        | python manage.py categorize

prints ``description<TAB>seller<TAB>Top › Sub`` per line: the seller dictionary, then the
crowd-learned defaults, then the description heuristics (as for money out; ``--income``
for money in) — no user's rules. ``--source`` adds a fourth column saying which one
decided.
"""

import sys

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from categories.engine import categorizer
from categories.models import Category
from categories.selectors import category_id_for_path, crowd_defaults


class Command(BaseCommand):
    help = "Read raw bank descriptions on stdin (one per line); print description, seller, category."

    def add_arguments(self, parser):
        parser.add_argument("--income", action="store_true",
                            help="treat the lines as money in (heuristics differ by sign)")
        parser.add_argument("--source", action="store_true",
                            help="add a column: seller, crowd, heuristic or none")

    def handle(self, *args, income=False, source=False, **options):
        engine = categorizer()
        try:
            names = {c.id: str(c)
                     for c in Category.objects.filter(user=None).select_related("parent")}
        except DatabaseError as exc:
            raise CommandError(f"the database is not ready ({exc}): run "
                               "`python manage.py migrate` first") from exc
        if not names:
            raise CommandError("no categories in the database: run `python manage.py migrate`")
        sign = 1 if income else -1
        out = self.stdout
        batch: list[str] = []

        def flush():
            matches = [engine.match(line) for line in batch]
            crowd = crowd_defaults(keys={m.key for m in matches if m.key and m.path is None})
            for line, m in zip(batch, matches, strict=True):
                seller, _key, path, how = engine.classify(line, sign)
                if how != "seller" and m.key in crowd:
                    path, how = names.get(crowd[m.key], "Uncategorized"), "crowd"
                elif category_id_for_path(path) is None:
                    path = "Uncategorized"
                row = f"{line}\t{seller}\t{path}"
                out.write(f"{row}\t{how or 'none'}" if source else row)
            batch.clear()

        for raw in sys.stdin:
            line = " ".join(raw.replace("\t", " ").split())
            if not line:
                continue
            batch.append(line)
            if len(batch) >= 1000:
                flush()
        if batch:
            flush()

"""Categorise users' stored transactions again with today's dictionary, heuristics,
rules and crowd defaults (never a choice made by hand).

    python manage.py recategorize --user alice@example.com
    python manage.py recategorize --all [--batch-size 500]

For an operator after an upgrade that improves categorisation (a new seller dictionary,
new word rules): rows filed before keep their old category until something moves them.
Each batch of rows is its own transaction, and monthly spending moves with the rows.
Prints one line per user with rows that changed.
"""

from django.core.management.base import BaseCommand, CommandError

from accounts.selectors import user_ids_in_batches, user_ids_named
from categories.services.recategorize import transactions_recategorize_user_batch
from mint.commands import add_user_arguments


class Command(BaseCommand):
    help = "Categorise stored transactions again (manual choices are never touched)."

    def add_arguments(self, parser):
        add_user_arguments(parser)

    def handle(self, *args, user=None, all=False, batch_size=500, **options):
        if user is not None:
            ids = user_ids_named(user)
            if not ids:
                raise CommandError(f"no user {user!r}")
            users = iter([ids])
        else:
            users = user_ids_in_batches(batch_size)
        checked = moved = 0
        for ids in users:
            for user_id in ids:
                checked += 1
                changed, after = 0, 0
                while after is not None:
                    after, n = transactions_recategorize_user_batch(user_id=user_id,
                                                                   after_id=after)
                    changed += n
                if changed:
                    moved += 1
                    self.stdout.write(f"user {user_id}: {changed} transactions recategorised")
        self.stdout.write(f"{checked} users checked, {moved} with transactions recategorised")

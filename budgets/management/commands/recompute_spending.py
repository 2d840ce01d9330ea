"""Rebuild monthly spending from the transaction rows, or from the raw dumps.

    python manage.py recompute_spending --user alice@example.com
    python manage.py recompute_spending --all [--batch-size 500]
    python manage.py recompute_spending --user 42 --from-raw --dry-run

Prints one line per user whose table differed (and was rewritten, unless --dry-run).
``--all`` walks the users by id in batches (never all users in memory), each user in its
own transaction.
"""

from django.core.management.base import BaseCommand, CommandError

from accounts.selectors import user_ids_in_batches, user_ids_named
from budgets.services.recompute import spending_recompute
from mint.commands import add_user_arguments


class Command(BaseCommand):
    help = "Rebuild monthly spending per category from the transactions (or the raw dumps)."

    def add_arguments(self, parser):
        add_user_arguments(parser, all_help="every user, in batches")
        parser.add_argument("--from-raw", action="store_true",
                            help="replay the raw dumps in the object store instead of the rows")
        parser.add_argument("--dry-run", action="store_true",
                            help="only report the differences")

    def handle(self, *args, user=None, all=False, from_raw=False, dry_run=False,
               batch_size=500, **options):
        if user is not None:
            ids = user_ids_named(user)
            if not ids:
                raise CommandError(f"no user {user!r}")
            batches = [ids]
        else:
            batches = user_ids_in_batches(batch_size)
        users = differing = 0
        for ids in batches:
            for user_id in ids:
                result = spending_recompute(user_id=user_id, from_raw=from_raw, dry_run=dry_run)
                users += 1
                if result.differences:
                    differing += 1
                    verb = "rewritten" if result.written else "differ"
                    self.stdout.write(f"user {user_id}: {len(result.differences)} "
                                      f"(month, category) totals {verb}")
                    if options.get("verbosity", 1) > 1:
                        for (month, category), (old, new) in result.differences.items():
                            self.stdout.write(f"  {month:%Y-%m} category {category}: "
                                              f"table {old[0]} ({old[1]} rows) → {new[0]} "
                                              f"({new[1]} rows)")
                if result.unreadable_dumps:
                    self.stdout.write(
                        f"user {user_id}: not rewritten: {result.unreadable_dumps} stored "
                        "files of imports whose rows are kept are refused by today's reader "
                        "(their rows would lose their spending); recompute without --from-raw")
                if result.skipped_dumps:
                    self.stdout.write(f"user {user_id}: {result.skipped_dumps} dumps skipped "
                                      "(no connection or import job left)")
        self.stdout.write(f"{users} users checked, {differing} "
                          f"{'differ' if dry_run else 'rewritten'}")

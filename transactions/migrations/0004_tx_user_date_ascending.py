# The (user, date) index becomes ascending (read backwards for newest-first lists).
#
# On PostgreSQL the new index is built CONCURRENTLY under a temporary name, the old one
# dropped CONCURRENTLY, and the new one renamed: a plain DROP INDEX + CREATE INDEX would
# hold an ACCESS EXCLUSIVE lock on the transactions table for the whole build, stopping
# every read and write. Hence a non-atomic migration. Other databases (SQLite, embedded
# mode) drop and create it.

from django.conf import settings
from django.db import migrations, models

TABLE = "transactions_transaction"
OLD = models.Index(fields=["user", "-posted_on", "-id"], name="tx_user_date")
NEW = models.Index(fields=["user", "posted_on", "id"], name="tx_user_date")


def _swap(apps, schema_editor, *, build: str, drop: models.Index, add: models.Index):
    model = apps.get_model("transactions", "Transaction")
    if schema_editor.connection.vendor != "postgresql":
        schema_editor.remove_index(model, drop)
        schema_editor.add_index(model, add)
        return
    execute = schema_editor.execute
    execute("DROP INDEX CONCURRENTLY IF EXISTS tx_user_date_next")  # a build that failed
    execute(f"CREATE INDEX CONCURRENTLY tx_user_date_next ON {TABLE} {build}")
    execute("DROP INDEX CONCURRENTLY IF EXISTS tx_user_date")
    execute("ALTER INDEX tx_user_date_next RENAME TO tx_user_date")


def forwards(apps, schema_editor):
    _swap(apps, schema_editor, build="(user_id, posted_on, id)", drop=OLD, add=NEW)


def backwards(apps, schema_editor):
    _swap(apps, schema_editor, build="(user_id, posted_on DESC, id DESC)", drop=NEW, add=OLD)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("accounts", "0001_initial"),
        ("categories", "0003_rules_and_crowd"),
        ("transactions", "0003_transaction_seller_key"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveIndex(model_name="transaction", name="tx_user_date"),
                migrations.AddIndex(model_name="transaction", index=NEW),
            ],
            database_operations=[migrations.RunPython(forwards, backwards)],
        ),
    ]

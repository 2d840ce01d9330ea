# The requeue sweep walks the active refresh runs oldest first, a page at a time.
# Built CONCURRENTLY on PostgreSQL (see transactions.migration_ops); plainly elsewhere.

from django.db import migrations, models

from transactions.migration_ops import AddIndexConcurrentlyOnPostgres as AddIndex


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("transactions", "0016_created_at_indexes"),
    ]

    operations = [
        AddIndex(
            model_name="refreshrun",
            index=models.Index(
                condition=models.Q(("status__in", ["queued", "running", "retrying"])),
                fields=["created_at", "id"],
                name="refreshrun_active_created",
            ),
        ),
    ]

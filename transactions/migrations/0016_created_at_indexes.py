# The admin lists every refresh run and raw dump newest first (one of each per refresh).
#
# On PostgreSQL the indexes are built CONCURRENTLY: a plain CREATE INDEX holds a lock
# that stops every refresh from writing its run and dump for the whole build. Hence a
# non-atomic migration. Other databases (SQLite, embedded mode) create them plainly.

from django.db import migrations, models

from transactions.migration_ops import AddIndexConcurrentlyOnPostgres as AddIndex


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("transactions", "0015_refreshrun_retried"),
    ]

    operations = [
        AddIndex(
            model_name="rawdump",
            index=models.Index(fields=["created_at"], name="rawdump_created_at"),
        ),
        AddIndex(
            model_name="refreshrun",
            index=models.Index(fields=["created_at"], name="refreshrun_created_at"),
        ),
    ]

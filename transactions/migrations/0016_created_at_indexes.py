# The admin lists every refresh run and raw dump newest first (one of each per refresh).
#
# On PostgreSQL the indexes are built CONCURRENTLY: a plain CREATE INDEX holds a lock
# that stops every refresh from writing its run and dump for the whole build. Hence a
# non-atomic migration. Other databases (SQLite, embedded mode) create them plainly.

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class AddIndex(AddIndexConcurrently):
    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        return migrations.AddIndex.database_forwards(self, app_label, schema_editor,
                                                     from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_backwards(app_label, schema_editor, from_state, to_state)
        return migrations.AddIndex.database_backwards(self, app_label, schema_editor,
                                                      from_state, to_state)


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

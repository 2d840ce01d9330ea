from django.core.management.base import BaseCommand

from accounts.crypto import rotate_token
from accounts.models import Connection
from notifications.services import webhook_secrets_rotate


class Command(BaseCommand):
    help = (
        "Re-encrypts every stored credential and webhook secret with the first key of "
        "CREDENTIALS_KEYS. "
        "Rotate a key: put the new key first, run this, then drop the old key."
    )

    def handle(self, *args, **options):
        done = 0
        last_id = None
        while True:
            batch = Connection.objects.exclude(secret="").order_by("id")
            if last_id is not None:
                batch = batch.filter(id__gt=last_id)
            rows = list(batch.only("id", "secret")[:500])
            if not rows:
                break
            for connection in rows:
                Connection.objects.filter(pk=connection.pk, secret=connection.secret).update(
                    secret=rotate_token(connection.secret)
                )
            done += len(rows)
            last_id = rows[-1].id
        self.stdout.write(f"re-encrypted {done} credentials")
        # Webhook signing secrets are encrypted with the same keys.
        self.stdout.write(f"re-encrypted {webhook_secrets_rotate()} webhook secrets")

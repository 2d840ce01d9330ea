from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

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
        unreadable: list[int] = []  # connections no key decrypts: reported, the rest done
        while True:
            batch = Connection.objects.exclude(secret="").order_by("id")
            if last_id is not None:
                batch = batch.filter(id__gt=last_id)
            try:
                rows = list(batch.only("id", "secret")[:500])
                for connection in rows:
                    try:
                        secret = rotate_token(connection.secret)
                    except ImproperlyConfigured:
                        unreadable.append(connection.pk)
                        continue
                    Connection.objects.filter(pk=connection.pk,
                                              secret=connection.secret).update(secret=secret)
                    done += 1
            except ImproperlyConfigured as exc:  # CREDENTIALS_KEYS itself is unusable
                raise CommandError(str(exc)) from None
            if not rows:
                break
            last_id = rows[-1].id
        self.stdout.write(f"re-encrypted {done} credentials")
        # Webhook signing secrets are encrypted with the same keys.
        try:
            self.stdout.write(f"re-encrypted {webhook_secrets_rotate()} webhook secrets")
        except ImproperlyConfigured as exc:
            raise CommandError(f"webhook secrets: {exc}") from None
        if unreadable:
            shown = ", ".join(map(str, unreadable[:20])) + (" …" if len(unreadable) > 20 else "")
            raise CommandError(
                f"{len(unreadable)} credentials could not be decrypted with any key of "
                f"CREDENTIALS_KEYS (connections {shown}) and were left as they are: put back "
                "the key they were encrypted with (after the new one) and run this again")

from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import Connection, User
from accounts.services import account_connect

DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "demo-password"  # noqa: S105 - a published demo login for local use


class Command(BaseCommand):
    help = "Creates the demo user with the demo bank linked (idempotent)."

    def handle(self, *args, **options):
        with transaction.atomic():
            user, created = User.objects.get_or_create(email=DEMO_EMAIL)
            if created:
                user.set_password(DEMO_PASSWORD)
                user.save()
            if not Connection.objects.filter(user=user, provider="sandbox").exists():
                account_connect(user=user, provider="sandbox", url="sandbox://demo",
                                login="demo", password="demo")  # noqa: S106
        self.stdout.write(f"demo user {DEMO_EMAIL} / {DEMO_PASSWORD} ready")

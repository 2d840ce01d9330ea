"""Makes a support account: staff, not superuser, in the "Support" group.

    python manage.py support_staff support@example.com        # asks for a password
    DJANGO_SUPPORT_PASSWORD=… python manage.py support_staff support@example.com --noinput

The group (made or brought up to date on every run) may view every model of the app in
the admin, retry a connection's refresh, send failed deliveries again and turn a webhook
off (``SUPPORT_PERMISSIONS``); not change who is staff, a user's email or password, nor
delete anything. A superuser adds deletion rights to a person, if needed, by hand.
"""

from __future__ import annotations

import getpass
import os

from django.apps import apps
from django.contrib.auth.models import Group, Permission
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.models import User

GROUP = "Support"
APPS = ("accounts", "transactions", "categories", "budgets", "notifications")
# Beyond viewing: the admin's actions that write through a service (accounts/admin.py
# ConnectionAdmin.retry_refresh, notifications/admin.py DeliveryAdmin.retry_failed and
# WebhookAdmin's "active").
SUPPORT_PERMISSIONS = ("accounts.change_connection", "notifications.change_delivery",
                       "notifications.change_webhook")


def support_group() -> Group:
    """The "Support" group with exactly its permissions (made or brought up to date)."""
    group, _ = Group.objects.get_or_create(name=GROUP)
    views = [f"{m._meta.app_label}.view_{m._meta.model_name}"
             for label in APPS for m in apps.get_app_config(label).get_models()]
    wanted = set()
    for name in (*views, *SUPPORT_PERMISSIONS):
        app_label, codename = name.split(".")
        permission = Permission.objects.filter(content_type__app_label=app_label,
                                               codename=codename).first()
        if permission is None:
            raise CommandError(f"no permission {name}: run `manage.py migrate` first")
        wanted.add(permission)
    group.permissions.set(wanted)
    return group


class Command(BaseCommand):
    help = "Makes (or updates) a support account: staff, not superuser, in the Support group."

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--noinput", "--no-input", action="store_true",
                            help="take the password from DJANGO_SUPPORT_PASSWORD")
        parser.add_argument("--promote", action="store_true",
                            help="make an existing customer account a support account")

    def handle(self, *args, email: str, noinput: bool, promote: bool, **options):
        email = User.objects.normalize_email(email.strip()).lower()
        user = User.objects.filter(email=email).first()
        if user is not None and user.is_superuser:
            raise CommandError(f"{email} is a superuser: not made a support account")
        if user is not None and not user.is_staff and not promote:
            # A mistyped address must not give a customer every user's data to read.
            raise CommandError(f"{email} is a customer's account: add --promote to make it "
                               "a support account")
        password = None
        if user is None:
            password = self._password(noinput)
        with transaction.atomic():
            group = support_group()
            if user is None:
                user = User.objects.create_user(email=email, password=password, is_staff=True)
                made = "made"
            else:
                user.is_staff = True
                user.save(update_fields=["is_staff"])
                made = "updated (password unchanged)"
            user.groups.add(group)
        self.stdout.write(f"{email}: support account {made}; log in at /admin/")

    def _password(self, noinput: bool) -> str:
        if noinput:
            password = os.environ.get("DJANGO_SUPPORT_PASSWORD", "")
            if not password:
                raise CommandError("set DJANGO_SUPPORT_PASSWORD (with --noinput)")
        else:
            password = getpass.getpass("Password: ")
            if password != getpass.getpass("Password (again): "):
                raise CommandError("the passwords differ")
        try:
            validate_password(password)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        return password

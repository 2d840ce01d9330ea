"""Every stored email in lower case, as sign-up has always stored it: addresses the admin
saved as typed ("Jane.Doe@example.com") could not log in once log-in looked addresses up
in lower case. An address whose lower case another user already has is left as it is
(support merges or renames it)."""

from django.db import migrations
from django.db.models.functions import Lower


def lowercase(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    taken = set(User.objects.filter(email=Lower("email")).values_list("email", flat=True))
    for user in User.objects.exclude(email=Lower("email")).only("pk", "email").order_by("pk"):
        low = user.email.lower()
        if low not in taken:
            User.objects.filter(pk=user.pk).update(email=low)
            taken.add(low)


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(lowercase, migrations.RunPython.noop),
    ]

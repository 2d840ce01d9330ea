"""Accounts named after their own id (a provider that gave no name) showed a full card or
account number everywhere: such names become "Account …1234" (the rule of
``transactions.services.ingest._shown_name``, copied here as it stands today)."""

import re

from django.db import migrations

_LONG_NUMBER = re.compile(r"\d[\d -]{4,}\d")


def mask(apps, schema_editor):
    FinancialAccount = apps.get_model("accounts", "FinancialAccount")
    for account in FinancialAccount.objects.only("pk", "name", "external_id", "mask"):
        if account.name != account.external_id:
            continue
        numbers = _LONG_NUMBER.findall(account.external_id)
        if not numbers:
            continue
        last4 = re.sub(r"\D", "", numbers[-1])[-4:]
        rest = _LONG_NUMBER.sub("", account.external_id).strip(" -:…")
        FinancialAccount.objects.filter(pk=account.pk).update(
            name=f"{rest or 'Account'} …{last4}", mask=account.mask or last4)


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0002_lowercase_emails"),
    ]

    operations = [
        migrations.RunPython(mask, migrations.RunPython.noop),
    ]

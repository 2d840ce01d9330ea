"""Budgets hold from a month on: a budget set now no longer rewrites past months.

Each existing budget holds from the month it was last set (its ``updated_at``, in the
user's time zone, as ``budgets.selectors.current_month`` counts months): what earlier
months had is not known, so they follow the recommendation. Backwards, each category
keeps its latest budget set by hand (a reset to the recommendation drops it).
"""

import zoneinfo

from django.db import migrations, models


def since_last_set(apps, schema_editor):
    Budget = apps.get_model("budgets", "Budget")
    for budget in Budget.objects.select_related("user").only(
            "pk", "updated_at", "user__timezone").iterator():
        try:
            tz = zoneinfo.ZoneInfo(budget.user.timezone or "UTC")
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            tz = zoneinfo.ZoneInfo("UTC")
        month = budget.updated_at.astimezone(tz).date().replace(day=1)
        Budget.objects.filter(pk=budget.pk).update(since=month)


def latest_set_only(apps, schema_editor):
    Budget = apps.get_model("budgets", "Budget")
    latest: dict[tuple[int, int], tuple] = {}
    for pk, user_id, category_id, amount in Budget.objects.order_by("since").values_list(
            "pk", "user_id", "category_id", "amount"):
        latest[(user_id, category_id)] = (pk, amount)
    keep = [pk for pk, amount in latest.values() if amount is not None]
    Budget.objects.exclude(pk__in=keep).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("budgets", "0002_alert_budget_amount_digits"),
    ]

    operations = [
        migrations.AddField(
            model_name="budget",
            name="since",
            field=models.DateField(null=True, help_text="First day of the first month it holds for."),
        ),
        migrations.RunPython(since_last_set, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="budget",
            name="since",
            field=models.DateField(help_text="First day of the first month it holds for."),
        ),
        migrations.AlterField(
            model_name="budget",
            name="amount",
            field=models.DecimalField(blank=True, decimal_places=2, max_digits=14, null=True),
        ),
        migrations.RemoveConstraint(model_name="budget", name="budget_once"),
        migrations.RunPython(migrations.RunPython.noop, latest_set_only),
        migrations.AddConstraint(
            model_name="budget",
            constraint=models.UniqueConstraint(fields=("user", "category", "since"),
                                               name="budget_once_a_month"),
        ),
    ]

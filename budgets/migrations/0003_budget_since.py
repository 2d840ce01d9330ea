"""Budgets hold from a month on: a budget set now no longer rewrites past months.

Each existing budget holds from the month it was last set (its ``updated_at``, UTC):
what earlier months had is not known, so they follow the recommendation.
"""

from django.db import migrations, models


def since_last_set(apps, schema_editor):
    Budget = apps.get_model("budgets", "Budget")
    for budget in Budget.objects.all().only("pk", "updated_at").iterator():
        Budget.objects.filter(pk=budget.pk).update(since=budget.updated_at.date().replace(day=1))


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
        migrations.AddConstraint(
            model_name="budget",
            constraint=models.UniqueConstraint(fields=("user", "category", "since"),
                                               name="budget_once_a_month"),
        ),
    ]

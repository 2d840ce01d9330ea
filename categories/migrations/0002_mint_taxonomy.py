"""Loads Mint's classic two-level taxonomy (categories/data/mint-categories.json)."""

import json
from pathlib import Path

from django.db import migrations

DATA = Path(__file__).resolve().parent.parent / "data" / "mint-categories.json"
INCOME = {"Income"}
TRANSFER = {"Transfer", "Credit Card Payment", "Transfer for Cash Spending"}


def load(apps, schema_editor):
    Category = apps.get_model("categories", "Category")
    tree = json.loads(DATA.read_text(encoding="utf-8"))
    for top_name, children in tree.items():
        top, _ = Category.objects.get_or_create(
            user=None, parent=None, name=top_name,
            defaults={"is_income": top_name in INCOME, "is_transfer": top_name in TRANSFER},
        )
        for child in children or []:
            Category.objects.get_or_create(
                user=None, parent=top, name=child,
                defaults={"is_income": top.is_income, "is_transfer": top.is_transfer},
            )


def unload(apps, schema_editor):
    apps.get_model("categories", "Category").objects.filter(user=None).delete()


class Migration(migrations.Migration):
    dependencies = [("categories", "0001_initial")]
    operations = [migrations.RunPython(load, unload)]

import pytest

from categories.models import Category
from categories.selectors import category_id_for_name


@pytest.mark.django_db
def test_the_migration_loads_mints_two_level_taxonomy():
    tops = Category.objects.filter(user=None, parent=None)

    assert tops.count() == 23
    assert Category.objects.filter(user=None, parent__isnull=False).count() == 101
    assert tops.get(name="Income").is_income
    assert tops.get(name="Transfer").is_transfer
    assert Category.objects.get(name="Paycheck").is_income
    assert Category.objects.get(name="Coffee Shops").is_spending


@pytest.mark.django_db
def test_mint_category_names_map_onto_the_taxonomy(alice):
    coffee = category_id_for_name(user=alice, name="  coffee   SHOPS ")
    full = category_id_for_name(user=alice, name="Food & Dining › Coffee Shops")

    assert coffee == full == Category.objects.get(name="Coffee Shops").id
    assert category_id_for_name(user=alice, name="No Such Category") is None

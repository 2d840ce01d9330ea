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


@pytest.mark.django_db
def test_a_files_category_name_with_a_combining_accent_finds_the_users_own(alice):
    # given Alice's own "Café" (é one character)
    food = Category.objects.get(user=None, parent=None, name="Food & Dining")
    cafe = Category.objects.create(user=alice, parent=food, name="Caf\u00e9")

    # when a file names it with e and a combining accent (as macOS writes it)
    found = category_id_for_name(user=alice, name="CAFE\u0301")

    # then it is hers
    assert found == cafe.id

"""Review of today's changes: each test is one bug found."""

import pytest


@pytest.mark.django_db
def test_checking_a_new_category_name_against_its_siblings_costs_the_same_however_many(
        alice, food):
    # given: Alice's own categories under Food & Dining, one and then eleven
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from categories.models import Category
    from categories.services.manual import category_create

    Category.objects.create(user=alice, parent=food, name="Sibling 0")
    with CaptureQueriesContext(connection) as one_sibling:
        category_create(user=alice, parent=food, name="New 1")
    Category.objects.bulk_create([Category(user=alice, parent=food, name=f"Sibling {n}")
                                  for n in range(1, 11)])

    # when: she creates another one
    with CaptureQueriesContext(connection) as eleven_siblings:
        category_create(user=alice, parent=food, name="New 2")

    # then: the names are compared in Python, as many queries as before; the
    # @transaction.atomic meant for category_create decorated the name helper put
    # between them, so every sibling's name compared opened a savepoint (and creating a
    # category was no longer one transaction)
    assert len(eleven_siblings) == len(one_sibling), [
        q["sql"] for q in eleven_siblings.captured_queries]

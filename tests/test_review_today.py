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


@pytest.mark.django_db
def test_the_dump_sweep_passes_over_a_folder_whose_name_is_a_digit_int_refuses(
        alice, object_store):
    # given: the store holds a deleted user's dumps and a stray folder "²" (a digit to
    # str.isdigit, which int() refuses)
    from transactions.objectstore import get_store
    from transactions.services.dumps import raw_dumps_sweep

    store = get_store()
    store.put_new("raw/²/x.json", b"{}", "application/json")
    store.put_new("raw/999999/1/x.json", b"{}", "application/json")

    # when: the nightly sweep runs
    swept, _last = raw_dumps_sweep()

    # then: the deleted user's dumps went; the stray folder did not stop the sweep (a
    # ValueError ended the task, and every page after it, every night)
    assert swept == [999999]

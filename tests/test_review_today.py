"""Review of today's changes: each test is one bug found."""

from datetime import date

import pytest

from budgets.services.recompute import current_totals, totals_from_rows
from tests.test_ingest import tx
from tests.test_pending_expiry import refresh


def diner(external_id: str, amount: str, day: int, pending: bool = False):
    return tx(external_id, amount=amount, day=date(2026, 3, day), pending=pending,
              description="JOES DINER")


def refreshed_then_filed_by_hand(user, first: list, filed: str, then: list):
    """Two refreshes of one connection (windows from March 1, then March 5); between them
    ``filed`` is put by hand under the user's own Food & Dining › Business meals. Returns
    that category and the rows by external id."""
    from categories.models import Category
    from categories.services import transaction_categorize
    from tests.factories import ConnectionFactory
    from transactions.models import Transaction

    connection = ConnectionFactory(user=user)
    refresh(user, connection, first, window_start=date(2026, 3, 1))
    food = Category.objects.get(user=None, parent=None, name="Food & Dining")
    business = Category.objects.create(user=user, parent=food, name="Business meals")
    transaction_categorize(user=user, transaction_id=Transaction.objects.get(
        user=user, external_id=filed).id, category=business)
    refresh(user, connection, then, window_start=date(2026, 3, 5))
    return business, {t.external_id: t for t in Transaction.objects.filter(user=user)}


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


@pytest.mark.django_db
def test_a_pending_dinner_filed_by_hand_gives_its_choice_to_its_own_posting_not_to_an_earlier_lunch(
        alice):
    # given a lunch at the diner, posted and stored, and a dinner there the same day,
    # still pending, filed by hand under Alice's own category
    # when the next refresh (its window overlapping the last) sends the lunch again and
    # the dinner posted the next day with a tip, no longer pending
    business, posted = refreshed_then_filed_by_hand(
        alice, [diner("L1", "-12.00", 10), diner("P1", "-50.00", 10, pending=True)], "P1",
        [diner("L1", "-12.00", 10), diner("T1", "-60.00", 11)])

    # then the dinner's posting carries the choice; the lunch, stored long before and
    # never filed by hand, stays as it was
    assert (posted["T1"].category, posted["T1"].category_source) == (business, "manual")
    assert posted["L1"].category_source != "manual"
    assert current_totals(alice.id) == totals_from_rows(alice.id)


@pytest.mark.django_db
def test_a_run_that_used_up_its_attempts_on_a_bank_error_says_the_banks_error(alice, settings):
    # given: a run whose last allowed attempt ended with the bank's transient error and
    # was put back to retry (an earlier attempt's worker had been killed, so the retry
    # count lags the attempts: the cap, not the last retry, ends it)
    from django.utils import timezone

    from tests.factories import ConnectionFactory
    from transactions.models import RefreshRun
    from transactions.services.refresh import refresh_execute

    connection = ConnectionFactory(user=alice)
    attempts = settings.REFRESH_MAX_RETRIES + 1
    run = RefreshRun.objects.create(
        user=alice, connection=connection, trigger="nightly", status="retrying",
        attempts=attempts, started_at=timezone.now(),
        error="the OFX server is unavailable (HTTP 503)")

    # when: its retry's message is delivered
    refresh_execute(run_id=run.id, final_attempt=False, delivery="retry-of-the-run")

    # then: the run fails telling what went wrong, as a last retry does; it said "the
    # refresh stopped before it finished", which is what a killed worker leaves
    run.refresh_from_db()
    assert run.status == "failed"
    assert run.error == f"the OFX server is unavailable (HTTP 503) (gave up after {attempts} attempts)"


@pytest.mark.django_db
def test_renaming_a_category_to_a_name_created_at_the_same_moment_is_refused_not_a_500(
        api, alice, food, farmers_market, monkeypatch):
    # given: "Lunch" created by another device just after this rename's check looked (the
    # check passed, the row is there when the rename writes)
    from django.db import connection

    from categories.models import Category
    from categories.services import manual

    if connection.vendor != "postgresql":
        pytest.skip("the unique name constraint (NULLS NOT DISTINCT) is PostgreSQL's")
    Category.objects.create(user=alice, parent=food, name="Lunch")
    monkeypatch.setattr(manual, "_name_free", lambda **kwargs: None)

    # when: Farmers Market is renamed "Lunch"
    response = api.patch(f"/api/v1/categories/{farmers_market.id}/", {"name": "Lunch"},
                         format="json")

    # then: told the name exists, as a create racing the same way is; it was a 500 from
    # the unique constraint
    assert response.status_code == 400, response.content
    assert "already exists" in str(response.json())
    assert Category.objects.filter(user=alice, name="Farmers Market").exists()


@pytest.mark.django_db
def test_a_pending_dinner_filed_by_hand_does_not_give_its_choice_to_the_lunch_that_replaced_its_own_twin(
        alice):
    # given: a lunch and a dinner at the diner the same day, both pending, the dinner
    # filed by hand under Alice's own category
    # when: the next refresh brings the lunch posted the same day at its amount (its
    # pending twin, replaced) and the dinner posted the next day with a tip
    business, posted = refreshed_then_filed_by_hand(
        alice, [diner("P-LUNCH", "-12.00", 10, pending=True),
                diner("P-DINNER", "-50.00", 10, pending=True)], "P-DINNER",
        [diner("T-LUNCH", "-12.00", 10), diner("T-DINNER", "-60.00", 11)])

    # then: the dinner's posting carries the choice; the lunch's posting, known to be the
    # lunch's (it replaced its pending twin), is not taken for the dinner's because it
    # is a day nearer
    assert (posted["T-DINNER"].category, posted["T-DINNER"].category_source) == (
        business, "manual")
    assert posted["T-LUNCH"].category_source != "manual"
    assert current_totals(alice.id) == totals_from_rows(alice.id)

from datetime import date, timedelta

import pytest
from django.utils import timezone

from accounts.middleware import touch_last_active
from accounts.models import User
from accounts.providers import sandbox
from tests.factories import ConnectionFactory, UserFactory
from transactions.models import RefreshRun
from transactions.services.refresh import nightly_refresh_batch
from transactions.tasks import nightly_refresh

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("object_store")]


@pytest.fixture(autouse=True)
def _bank_day(monkeypatch):
    monkeypatch.setattr(sandbox, "today", lambda: date(2026, 5, 20))


def test_nightly_refreshes_only_users_active_in_the_last_30_days(settings):
    settings.NIGHTLY_BATCH_SIZE = 2
    now = timezone.now()
    active = [UserFactory(last_active_at=now - timedelta(days=d)) for d in (0, 3, 29, 10, 1)]
    idle = [UserFactory(last_active_at=now - timedelta(days=31)), UserFactory(last_active_at=None)]
    for user in active + idle:
        ConnectionFactory(user=user)

    nightly_refresh.delay()

    refreshed = set(RefreshRun.objects.values_list("user_id", flat=True))
    assert refreshed == {u.id for u in active}
    assert set(RefreshRun.objects.values_list("status", flat=True)) == {"succeeded"}
    assert set(RefreshRun.objects.values_list("trigger", flat=True)) == {"nightly"}


def test_nightly_leaves_a_login_the_bank_refused_alone():
    user = UserFactory(last_active_at=timezone.now())
    refused = ConnectionFactory(user=user, status="needs_attention")
    failing = ConnectionFactory(user=user, status="error")

    nightly_refresh_batch(after_user_id=0, batch_size=10)

    asked = set(RefreshRun.objects.values_list("connection_id", flat=True))
    assert asked == {failing.id}
    assert refused.id not in asked


def test_nightly_batches_walk_users_by_id_without_loading_all():
    now = timezone.now()
    users = [UserFactory(last_active_at=now) for _ in range(5)]

    first = nightly_refresh_batch(after_user_id=0, batch_size=2)
    second = nightly_refresh_batch(after_user_id=first, batch_size=2)
    third = nightly_refresh_batch(after_user_id=second, batch_size=2)

    assert first == users[1].id and second == users[3].id
    assert third is None


def test_last_active_is_written_at_most_once_an_hour(django_assert_num_queries):
    user = UserFactory()
    touch_last_active(user)
    first = User.objects.get(pk=user.pk).last_active_at

    with django_assert_num_queries(0):
        touch_last_active(user)

    assert first is not None
    assert User.objects.get(pk=user.pk).last_active_at == first


def test_an_authenticated_request_marks_the_user_active(alice, client):
    client.force_login(alice)

    client.get("/api/v1/me/")

    alice.refresh_from_db()
    assert alice.last_active_at is not None

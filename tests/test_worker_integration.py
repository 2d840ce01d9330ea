"""The refresh pipeline with a real Celery worker process, real Redis, real PostgreSQL
and an S3-compatible server: crashes, broker restarts and an unreachable object store.

Needs PostgreSQL and Redis (CI provides them and these tests then fail, never skip,
when one is missing)."""

from __future__ import annotations

import os
import time
from datetime import date

import boto3
import pytest
from django.conf import settings as django_settings
from django.db import connection as db

from accounts.providers import sandbox
from accounts.services import account_connect
from mint.celery import app
from tests.processes import (
    MotoServer,
    Process,
    RedisServer,
    celery_worker,
    free_port,
    wait_until,
)
from transactions.models import RawDump, RefreshRun, Transaction
from transactions.services.refresh import refresh_request, refresh_requeue_stale

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

VISIBILITY = 6  # seconds before Redis redelivers what a dead worker held


def expected_rows(login: str) -> int:
    """What the demo bank holds for a first fetch today, straight from the provider."""
    from accounts.providers import FetchContext

    raw = sandbox.provider.fetch(FetchContext(url="", login=login, password="", since=None,
                                              attempt=2))
    return len({(t.account_external_id, t.external_id) for t in sandbox.provider.parse(raw).transactions})


@pytest.fixture(autouse=True)
def real_services(settings):
    problems = []
    if db.vendor != "postgresql":
        problems.append("DATABASE_URL is not PostgreSQL")
    if not django_settings.REDIS_URL:
        problems.append("REDIS_URL is not set")
    if problems:
        if os.environ.get("CI") == "true":
            pytest.fail("integration tests need real services: " + "; ".join(problems))
        pytest.skip("; ".join(problems))
    settings.CELERY_TASK_ALWAYS_EAGER = False
    app.conf.task_always_eager = False
    yield
    Process.kill_all()
    use_broker(django_settings.REDIS_URL)


def use_broker(url: str) -> None:
    app.conf.broker_url = url
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def today(monkeypatch):
    day = date.today()
    monkeypatch.setattr(sandbox, "today", lambda: day)
    return day


def worker_env(tmp_path, *, redis_url: str, s3_endpoint: str | None = None,
               bucket: str | None = None, **extra) -> dict:
    d = db.settings_dict
    auth = d["USER"] + (f":{d['PASSWORD']}" if d.get("PASSWORD") else "")
    env = {k: v for k, v in os.environ.items() if k not in ("S3_BUCKET", "S3_ENDPOINT_URL")}
    env.update(
        DEBUG="true",
        DATABASE_URL=f"postgres://{auth}@{d['HOST'] or '127.0.0.1'}:{d['PORT'] or 5432}/{d['NAME']}",
        REDIS_URL=redis_url,
        MINT_VAR_DIR=str(tmp_path / "var"),
        CELERY_TASK_ALWAYS_EAGER="false",
        CELERY_VISIBILITY_TIMEOUT=str(VISIBILITY),
        REFRESH_RETRY_BACKOFF_MAX="2",
        CREDENTIALS_KEYS=",".join(django_settings.CREDENTIALS_KEYS),
        SECRET_KEY=django_settings.SECRET_KEY,
    )
    if bucket:
        env.update(S3_BUCKET=bucket, S3_ENDPOINT_URL=s3_endpoint or "")
    env.update({k: str(v) for k, v in extra.items()})
    return env


@pytest.fixture
def folder_store(settings, tmp_path):
    """The worker and this process share one folder object store."""
    from transactions.objectstore import _store

    settings.S3_BUCKET = ""
    settings.OBJECT_STORE_DIR = tmp_path / "var" / "objects"
    _store.cache_clear()
    yield
    _store.cache_clear()


def run_of(connection) -> RefreshRun:
    return RefreshRun.objects.filter(connection=connection).order_by("-created_at").first()


def status_is(connection, *statuses):
    return lambda: (run := run_of(connection)) is not None and run.status in statuses and run


def assert_complete_and_unique(connection, login):
    rows = Transaction.objects.filter(account__connection=connection)
    keys = list(rows.values_list("account_id", "external_id"))
    assert len(keys) == len(set(keys))
    assert len(keys) == expected_rows(login)
    assert not rows.filter(dump__isnull=True).exists()


def test_a_real_worker_runs_the_refresh_after_link(alice, tmp_path, today, folder_store):
    worker = celery_worker(worker_env(tmp_path, redis_url=django_settings.REDIS_URL),
                           tmp_path / "worker.log").start()
    try:
        connection, _ = account_connect(user=alice, provider="sandbox", url="sandbox://demo",
                                     login="demo", password="pw")
        run = wait_until(status_is(connection, "succeeded", "failed"), 60, "the refresh")
        assert run.status == "succeeded", run.error
        assert_complete_and_unique(connection, "demo")

        again = refresh_request(connection=connection, trigger="manual")
        again = wait_until(status_is(connection, "succeeded", "failed"), 60, "second refresh")
        assert again.created == 0
        assert_complete_and_unique(connection, "demo")
    finally:
        worker.stop()


def test_a_worker_killed_mid_refresh_loses_nothing_and_duplicates_nothing(
    alice, tmp_path, today, folder_store
):
    env = worker_env(tmp_path, redis_url=django_settings.REDIS_URL)
    first = celery_worker(env, tmp_path / "worker-1.log").start()
    connection, _ = account_connect(user=alice, provider="sandbox", url="sandbox://slow",
                                 login="slow", password="pw")
    try:
        wait_until(status_is(connection, "running"), 60, "the worker to pick the run up")
    finally:
        first.kill()  # SIGKILL in the middle of the (4 s) fetch
    assert run_of(connection).status == "running"
    assert not Transaction.objects.filter(account__connection=connection).exists()

    # The message was never acknowledged: Redis gives it to the next worker once the
    # visibility timeout has passed; the run re-claims its own lease.
    import time

    time.sleep(VISIBILITY + 1)
    second = celery_worker(env, tmp_path / "worker-2.log").start()
    try:
        run = wait_until(status_is(connection, "succeeded", "failed"), 90, "the redelivered run")
    finally:
        second.stop()
    assert run.status == "succeeded", run.error
    assert run.attempts == 2
    assert_complete_and_unique(connection, "slow")


def test_redis_restarted_during_and_down_before_a_refresh_loses_nothing(
    alice, tmp_path, today, folder_store
):
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    redis = RedisServer(port, tmp_path).start()
    use_broker(url)
    worker = celery_worker(worker_env(tmp_path, redis_url=url), tmp_path / "worker.log").start()
    try:
        connection, _ = account_connect(user=alice, provider="sandbox", url="sandbox://slow",
                                     login="slow", password="pw")
        wait_until(status_is(connection, "running"), 60, "the worker to pick the run up")
        redis.kill()  # Redis dies while the worker is fetching; it keeps nothing on disk
        redis = RedisServer(port, tmp_path).start()
        run = wait_until(status_is(connection, "succeeded", "failed"), 60, "the refresh")
        assert run.status == "succeeded", run.error

        # Broker down when the user asks: the request still succeeds, the run waits.
        redis.kill()
        queued = refresh_request(connection=connection, trigger="manual")
        queued.refresh_from_db()
        assert queued.status == "queued"

        # Broker back: the requeue sweep (beat, every 15 min) publishes it again.
        redis = RedisServer(port, tmp_path).start()
        assert refresh_requeue_stale(older_than_seconds=0) == (1, None)
        queued = wait_until(
            lambda: (r := RefreshRun.objects.get(pk=queued.pk)).is_finished and r, 90,
            "the requeued run",
        )
        assert queued.status == "succeeded", queued.error
        assert_complete_and_unique(connection, "slow")
    finally:
        worker.stop()
        redis.stop()


def test_object_store_unreachable_is_retried_and_no_row_exists_without_its_dump(
    alice, tmp_path, today, settings
):
    from transactions.objectstore import _store

    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    env = worker_env(tmp_path, redis_url=django_settings.REDIS_URL, s3_endpoint=endpoint,
                     bucket="mint-it", REFRESH_MAX_RETRIES=30,
                     AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test")
    worker = celery_worker(env, tmp_path / "worker.log").start()
    moto = None
    try:
        connection, _ = account_connect(user=alice, provider="sandbox", url="sandbox://demo",
                                     login="demo", password="pw")
        wait_until(status_is(connection, "retrying"), 60, "a retry after the store failed")
        assert not Transaction.objects.filter(account__connection=connection).exists()

        moto = MotoServer(port, tmp_path / "moto.log").start()
        time.sleep(3)  # the store answers, without the bucket yet: still a retry
        boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                     aws_access_key_id="test", aws_secret_access_key="test",
                     ).create_bucket(Bucket="mint-it")
        run = wait_until(status_is(connection, "succeeded", "failed"), 90, "the refresh")
        assert run.status == "succeeded", run.error
        assert run.attempts >= 2
        assert_complete_and_unique(connection, "demo")

        settings.S3_BUCKET, settings.S3_ENDPOINT_URL = "mint-it", endpoint
        settings.AWS_ACCESS_KEY_ID = settings.AWS_SECRET_ACCESS_KEY = "test"
        _store.cache_clear()
        from transactions.objectstore import get_store

        dump = RawDump.objects.get(connection=connection)
        assert len(get_store().get(dump.key)) == dump.size
    finally:
        _store.cache_clear()
        worker.stop()
        if moto:
            moto.stop()


class _Receiver:
    """A webhook receiver on loopback that records what it is sent."""

    def __init__(self):
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append(body)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


def test_a_month_crossing_80_and_100_percent_alerts_twice_on_every_channel_with_real_workers(
    alice, tmp_path, taxonomy
):
    import json
    import time
    from decimal import Decimal

    from accounts.providers import TransactionRecord
    from budgets.models import BudgetAlert
    from budgets.services import budget_set
    from budgets.tasks import check_budgets
    from categories.models import Category
    from notifications.models import Delivery, Notification
    from notifications.services.preferences import DEFAULTS, preferences_set
    from notifications.services.webhooks import webhook_create
    from tests.factories import ConnectionFactory, ingest_statement

    receiver = _Receiver()
    matrix = {kind: {str(k): v for k, v in row.items()} for kind, row in DEFAULTS.items()}
    matrix["budget_approaching"]["email"] = True
    preferences_set(user=alice, matrix=matrix)
    webhook_create(user=alice, url=receiver.url)
    budget_set(user=alice, category=Category.objects.get(user=None, name="Food & Dining"),
               amount=Decimal("100.00"))
    connection = ConnectionFactory(user=alice)
    day = date.today()

    def groceries(n, amount):
        return TransactionRecord(account_external_id="chk", external_id=f"g{n}", posted_on=day,
                                 amount=Decimal(amount),
                                 description="WHOLEFDS MKT 10234 PALO ALTO CA")

    env = worker_env(tmp_path, redis_url=django_settings.REDIS_URL, ALLOW_PRIVATE_OUTBOUND="true")
    workers = [celery_worker(env, tmp_path / f"worker-{i}.log").start() for i in range(2)]

    def settle(expected_sent):
        wait_until(lambda: Delivery.objects.filter(user=alice, status="sent").count()
                   >= expected_sent, 60, f"{expected_sent} deliveries")
        time.sleep(3)  # anything still queued would add more now

    try:
        # 85 % of the budget, refreshed three times, checked a dozen times on two workers.
        for _ in range(3):
            ingest_statement(alice, connection, [groceries(1, "-85.00")])
        for _ in range(12):
            check_budgets.delay(alice.id)
        settle(2)
        # Then 120 %, the same again.
        for _ in range(3):
            ingest_statement(alice, connection, [groceries(1, "-85.00"),
                                                 groceries(2, "-35.00")])
        for _ in range(12):
            check_budgets.delay(alice.id)
        settle(4)
    finally:
        for worker in workers:
            worker.stop()
        receiver.close()

    assert sorted(BudgetAlert.objects.filter(user=alice).values_list("threshold", flat=True)) == [
        "approaching", "exceeded"]
    budget_kinds = sorted(Notification.objects.filter(user=alice, kind__startswith="budget")
                          .values_list("kind", flat=True))
    assert budget_kinds == ["budget_approaching", "budget_exceeded"]
    by_channel = {}
    for channel, status in Delivery.objects.filter(
        user=alice, notification__kind__startswith="budget"
    ).values_list("channel", "status"):
        by_channel.setdefault(channel, []).append(status)
    assert by_channel == {"email": ["sent", "sent"], "webhook": ["sent", "sent"]}
    kinds = sorted(json.loads(body)["kind"] for body in receiver.received)
    assert kinds == ["budget_approaching", "budget_exceeded"]

"""The refresh pipeline on the demo bank, tasks run inline (eager)."""

import itertools
import os
import uuid
from datetime import date, timedelta

import pytest
from django.db import connection as db
from django.db.transaction import on_commit as transaction_on_commit

from accounts.models import Connection
from accounts.providers import sandbox
from accounts.services import account_connect
from notifications.models import Notification
from transactions.models import RawDump, RefreshRun, Transaction
from transactions.objectstore import StorageUnavailable, get_store
from transactions.services.refresh import refresh_execute, refresh_request

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("object_store")]


@pytest.fixture
def bank_today(monkeypatch):
    """Moves the demo bank's calendar."""
    state = {"today": date(2026, 3, 10)}
    monkeypatch.setattr(sandbox, "today", lambda: state["today"])
    return state


@pytest.fixture
def eager_retries():
    """Celery runs an eager retry only when eager exceptions do not propagate."""
    from mint.celery import app

    app.conf.task_eager_propagates = False
    yield
    app.conf.task_eager_propagates = True


def link(user, login="demo"):
    connection, _created = account_connect(user=user, provider="sandbox", url="sandbox://demo",
                                           login=login, password="s3cret-pw")
    return connection


def test_linking_the_demo_bank_imports_a_year_of_transactions(alice, bank_today):
    connection = link(alice)

    run = RefreshRun.objects.get(connection=connection)
    assert run.status == "succeeded"
    assert run.trigger == "link"
    oldest = Transaction.objects.filter(user=alice).order_by("posted_on").first().posted_on
    assert oldest <= bank_today["today"] - timedelta(days=365)
    assert run.created == Transaction.objects.filter(user=alice).count() > 800
    connection.refresh_from_db()
    assert connection.status == "active"
    assert connection.cursor == "2026-03-10"
    assert {a.kind for a in connection.accounts.all()} == {"checking", "savings", "credit_card"}
    assert Notification.objects.filter(user=alice, kind="refresh_finished").count() == 1


def test_running_the_same_refresh_twice_adds_no_rows(alice, bank_today):
    connection = link(alice)
    before = Transaction.objects.filter(user=alice).count()

    second = refresh_request(connection=connection, trigger="manual")

    second.refresh_from_db()
    assert second.status == "succeeded"
    assert second.created == 0
    assert second.unchanged > 0
    assert Transaction.objects.filter(user=alice).count() == before
    # Nothing new: no "Refresh finished: 0 new" (every night, for every connection).
    assert Notification.objects.filter(user=alice, kind="refresh_finished").count() == 1


def test_a_refresh_with_news_or_back_from_failing_tells_the_user(alice, bank_today):
    connection = link(alice)
    bank_today["today"] += timedelta(days=5)  # new rows, and pending ones posted
    refresh_request(connection=connection, trigger="manual")
    assert Notification.objects.filter(user=alice, kind="refresh_finished").count() == 2

    Connection.objects.filter(pk=connection.pk).update(status="error", last_error="down")
    refresh_request(connection=connection, trigger="manual")  # nothing new, but working again

    told = Notification.objects.filter(user=alice, kind="refresh_finished").order_by("id")
    assert told.count() == 3 and told.last().title == "Refresh finished: 0 new"


def test_a_finished_run_executed_again_changes_nothing(alice, bank_today):
    connection = link(alice)
    run = RefreshRun.objects.get(connection=connection)
    count = Transaction.objects.count()

    refresh_execute(run_id=run.id)  # a redelivered message

    assert Transaction.objects.count() == count
    assert RawDump.objects.filter(connection=connection).count() == 1


def test_pending_transaction_is_replaced_when_it_posts(alice, bank_today):
    connection = link(alice)
    pending = list(Transaction.objects.filter(user=alice, pending=True))
    assert pending, "the demo bank shows the last days as pending"

    bank_today["today"] += timedelta(days=5)
    run = refresh_request(connection=connection, trigger="manual")

    run.refresh_from_db()
    assert run.replaced_pending >= len(pending)
    pending_ids = {t.external_id for t in pending}
    assert not Transaction.objects.filter(external_id__in=pending_ids).exists()
    for tx in pending:
        posted = Transaction.objects.get(account=tx.account, external_id="T" + tx.external_id[1:])
        assert posted.amount == tx.amount and not posted.pending


def test_overlapping_fetch_windows_create_no_duplicates(alice, bank_today):
    connection = link(alice)
    for _ in range(3):
        bank_today["today"] += timedelta(days=2)
        refresh_request(connection=connection, trigger="manual")

    keys = list(Transaction.objects.values_list("account_id", "external_id"))
    assert len(keys) == len(set(keys))
    # Every pending row has no posted twin stored next to it.
    for tx in Transaction.objects.filter(pending=True):
        assert not Transaction.objects.filter(
            account=tx.account, external_id="T" + tx.external_id[1:]
        ).exists()


@pytest.mark.parametrize("gaps", [(1, 1, 1, 1), (2, 3, 1, 4), (5, 1, 6, 2), (12, 1, 1)])
def test_after_refreshes_the_stored_rows_are_the_banks_view_of_the_last_window(
    alice, bank_today, gaps
):
    from budgets.services.recompute import current_totals, totals_from_rows

    connection = link(alice)
    for gap in gaps:
        bank_today["today"] += timedelta(days=gap)
        refresh_request(connection=connection, trigger="manual")

    # what the bank shows now for the days the last refresh asked about
    end = bank_today["today"]
    start = end - timedelta(days=sandbox.OVERLAP_DAYS + gaps[-1])
    view = sandbox._bank_view("demo", start, end)["transactions"]
    expected = {(t["account"], t["id"], t["status"] == "pending") for t in view}
    stored = {(a, x, p) for a, x, p in Transaction.objects.filter(
        user=alice, posted_on__gte=start).values_list("account__external_id", "external_id",
                                                      "pending")}
    assert stored == expected  # no pending row left behind, none lost
    assert not Transaction.objects.filter(user=alice, pending=True,
                                          posted_on__lt=start).exists()
    assert current_totals(alice.id) == totals_from_rows(alice.id)


def test_a_correction_updates_the_row_in_place(alice, bank_today):
    connection = link(alice)
    bank_today["today"] += timedelta(days=8)

    run = refresh_request(connection=connection, trigger="manual")

    run.refresh_from_db()
    assert run.updated >= 0
    keys = list(Transaction.objects.values_list("account_id", "external_id"))
    assert len(keys) == len(set(keys))


def test_the_database_holds_no_plaintext_password(alice, bank_today):
    link(alice)

    with db.cursor() as cursor:
        cursor.execute("SELECT secret, url, last_error FROM accounts_connection")
        rows = cursor.fetchall()
    assert rows
    for row in rows:
        assert "s3cret-pw" not in " ".join(str(v) for v in row)


def test_raw_dump_is_stored_unchanged_and_holds_no_credentials(alice, bank_today):
    connection = link(alice)
    dump = RawDump.objects.get(connection=connection)

    payload = get_store().get(dump.key)

    assert b"s3cret-pw" not in payload
    assert len(payload) == dump.size
    assert dump.key.startswith(f"raw/{alice.id}/{connection.id}/")
    assert not Transaction.objects.filter(dump__isnull=True).exists()


def test_refused_credentials_fail_at_once_and_tell_the_user(alice, bank_today):
    connection = link(alice, login="bad")

    run = RefreshRun.objects.get(connection=connection)
    assert run.status == "failed"
    assert run.attempts == 1
    connection.refresh_from_db()
    assert connection.status == Connection.Status.NEEDS_ATTENTION
    assert "refused" in connection.last_error
    [told] = Notification.objects.filter(user=alice, kind="refresh_failing")
    assert told.body.startswith("Mint Demo Bank: the bank refused the login. Link it again "
                                "with the same login")
    assert told.body.endswith(f"current password. (Detail: {connection.last_error})")
    assert "history" not in told.body  # a first link: there is none to keep
    assert not Transaction.objects.exists()


def test_a_login_refused_after_working_is_told_its_history_stays(alice, bank_today,
                                                                 monkeypatch):
    connection = link(alice)

    def refused(ctx):
        raise sandbox.AuthenticationFailed("The demo bank refused the login and password.")

    monkeypatch.setattr(sandbox.provider, "fetch", refused)
    refresh_request(connection=connection, trigger="manual")

    [told] = Notification.objects.filter(user=alice, kind="refresh_failing")
    assert "current password; your history stays. (Detail:" in told.body


def test_a_refresh_whose_account_is_deleted_as_it_commits_ends_quietly(alice, bank_today,
                                                                      monkeypatch):
    from accounts.services import user_delete
    from transactions.services import refresh as pipeline

    connection = link(alice)
    real_ingest = pipeline.transactions_ingest

    def then_deleted(**kwargs):
        result = real_ingest(**kwargs)
        transaction_on_commit(lambda: user_delete(user=alice))
        return result

    monkeypatch.setattr(pipeline, "transactions_ingest", then_deleted)
    bank_today["today"] += timedelta(days=2)

    run = refresh_request(connection=connection, trigger="manual")  # runs eagerly

    assert not RefreshRun.objects.filter(pk=run.pk).exists()
    assert not Transaction.objects.filter(user_id=alice.pk).exists()


def test_a_refused_login_is_told_once_until_its_password_is_replaced(alice, bank_today):
    connection = link(alice, login="bad")
    for _ in range(2):  # the person presses "refresh", twice
        refresh_request(connection=connection, trigger="manual")

    assert RefreshRun.objects.filter(connection=connection, status="failed").count() == 3
    assert Notification.objects.filter(user=alice, kind="refresh_failing").count() == 1

    account_connect(user=alice, provider="sandbox", url="sandbox://demo", login="bad",
                    password="another-pw")  # linked again: still refused, and told so

    assert Notification.objects.filter(user=alice, kind="refresh_failing").count() == 2


def test_a_bank_that_stays_down_is_told_once_per_episode(alice, bank_today, monkeypatch,
                                                        eager_retries):
    connection = link(alice)
    real_fetch = sandbox.provider.fetch

    def down(ctx):
        raise sandbox.TransientProviderError("The demo bank is down for maintenance.")

    monkeypatch.setattr(sandbox.provider, "fetch", down)
    for _ in range(3):  # three nights
        refresh_request(connection=connection, trigger="nightly")
    assert Notification.objects.filter(user=alice, kind="refresh_failing").count() == 1

    monkeypatch.setattr(sandbox.provider, "fetch", real_fetch)
    refresh_request(connection=connection, trigger="nightly")  # back up
    monkeypatch.setattr(sandbox.provider, "fetch", down)
    refresh_request(connection=connection, trigger="nightly")  # down again: a new episode

    assert Notification.objects.filter(user=alice, kind="refresh_failing").count() == 2


def test_a_transient_failure_is_retried_and_then_succeeds(alice, bank_today, eager_retries):
    connection = link(alice, login="flaky")

    run = RefreshRun.objects.get(connection=connection)
    assert run.status == "succeeded"
    assert run.attempts == 2
    assert Transaction.objects.filter(user=alice).exists()
    # support still sees why the first attempt failed
    assert [r["attempt"] for r in run.retried] == [1] and run.retried[0]["error"]
    assert run.error == ""


def test_after_the_last_retry_the_connection_shows_the_error(alice, bank_today, monkeypatch,
                                                             eager_retries):
    def down(ctx):
        raise sandbox.TransientProviderError("The demo bank is down for maintenance.")

    monkeypatch.setattr(sandbox.provider, "fetch", down)
    connection = link(alice)

    run = RefreshRun.objects.get(connection=connection)
    assert run.status == "failed"
    assert "maintenance" in run.error
    assert [r["attempt"] for r in run.retried] == list(range(1, run.attempts))
    connection.refresh_from_db()
    assert connection.status == "error"
    [told] = Notification.objects.filter(user=alice, kind="refresh_failing")
    assert told.body == ("Mint Demo Bank: we couldn't get your latest transactions. We'll "
                         "try again tonight; you can also refresh it now. (Detail: The demo "
                         "bank is down for maintenance. (gave up after 6 attempts))")


def test_object_store_unreachable_retries_and_writes_no_row_without_its_dump(
    alice, bank_today, monkeypatch, eager_retries
):
    store = get_store()
    real_put = store.put_new
    calls = {"n": 0}

    def flaky_put(key, data, content_type):
        calls["n"] += 1
        if calls["n"] == 1:
            raise StorageUnavailable("object store unreachable")
        return real_put(key, data, content_type)

    monkeypatch.setattr(store, "put_new", flaky_put)
    connection = link(alice)

    run = RefreshRun.objects.get(connection=connection)
    assert run.status == "succeeded"
    assert run.attempts == 2
    assert RawDump.objects.filter(connection=connection).count() == 1
    assert not Transaction.objects.filter(dump__isnull=True).exists()


def test_a_second_refresh_request_joins_the_active_run(alice, bank_today):
    connection = link(alice)
    queued = RefreshRun.objects.create(user=alice, connection=connection, trigger="manual")

    again = refresh_request(connection=connection, trigger="manual")

    assert again.pk == queued.pk


def run_on_a_connection_claimed_by_another(user) -> RefreshRun:
    """A linked connection whose lease another run holds for 5 more minutes, and a
    second run of it waiting."""
    from django.utils import timezone

    connection = link(user)
    run = RefreshRun.objects.create(user=user, connection=connection, trigger="manual")
    Connection.objects.filter(pk=connection.pk).update(
        claimed_by="00000000-0000-0000-0000-000000000001",
        claimed_until=timezone.now() + timedelta(minutes=5),
    )
    return run


def test_a_claimed_connection_is_not_refreshed_by_another_run(alice, bank_today):
    from transactions.services.refresh import RefreshRetry

    other = run_on_a_connection_claimed_by_another(alice)

    with pytest.raises(RefreshRetry):
        refresh_execute(run_id=other.id, final_attempt=False)


def test_a_bug_fails_the_run_visibly_instead_of_leaving_it_running(alice, bank_today,
                                                                   monkeypatch, eager_retries):
    def broken(raw):
        raise KeyError("accounts")

    monkeypatch.setattr(sandbox.provider, "parse", broken)
    connection = link(alice)

    run = RefreshRun.objects.get(connection=connection)
    assert run.status == "failed"
    assert "internal error (KeyError)" in run.error
    connection.refresh_from_db()
    assert connection.claimed_by is None


def test_the_last_attempt_on_a_busy_connection_fails_the_run(alice, bank_today):
    other = run_on_a_connection_claimed_by_another(alice)

    run = refresh_execute(run_id=other.id, final_attempt=True)

    assert run.status == "failed"
    assert "busy" in run.error


def test_monthly_spending_rebuilt_from_the_raw_dumps_matches_the_rows(alice, bank_today,
                                                                      taxonomy):
    # Several refreshes: pending charges post, windows overlap, corrections arrive.
    from budgets.models import MonthlySpending
    from budgets.services.recompute import current_totals, spending_recompute, totals_from_rows

    connection = link(alice)
    for day in (12, 15, 19):
        bank_today["today"] = date(2026, 3, day)
        refresh_execute(run_id=refresh_request(connection=connection, trigger="manual").id)
    truth = totals_from_rows(alice.id)
    assert current_totals(alice.id) == truth  # kept in step by the pipeline
    MonthlySpending.objects.filter(user=alice).delete()

    result = spending_recompute(user_id=alice.id, from_raw=True)

    assert result.written and result.skipped_dumps == 0
    assert current_totals(alice.id) == truth


def test_a_dump_whose_rows_were_never_written_is_not_replayed(alice, bank_today, taxonomy):
    # A run that stored its dump and then failed (or is still running) wrote no rows:
    # rebuilding the spending from the dumps must not count it.
    from accounts.providers import FetchContext
    from budgets.services.recompute import current_totals, spending_recompute, totals_from_rows
    from transactions.services.dumps import raw_dump_store

    connection = link(alice)
    bank_today["today"] = date(2026, 3, 25)
    raw = sandbox.provider.fetch(FetchContext(url="", login="demo", password="", since=None))
    raw_dump_store(user=alice, connection=connection, source_id=uuid.uuid4(),
                   payload=raw.payload, media_type=raw.media_type)

    result = spending_recompute(user_id=alice.id, from_raw=True, dry_run=True)

    assert result.differences == {}
    assert current_totals(alice.id) == totals_from_rows(alice.id)


def test_a_dump_record_does_not_wait_for_the_wal_flush_but_leaves_a_callers_commit_alone(
    alice,
):
    """Outside a transaction the dump's row commits without waiting for the WAL flush
    (what points at it commits later, and WAL replays in order); inside a caller's
    transaction it changes nothing about that transaction's commit."""
    from django.db import transaction
    from django.test.utils import CaptureQueriesContext

    from transactions.services.dumps import raw_dump_store

    if db.vendor != "postgresql":
        pytest.skip("synchronous_commit is PostgreSQL's")

    def store():
        with CaptureQueriesContext(db) as queries:
            dump = raw_dump_store(user=alice, source_id=uuid.uuid4(), payload=b"{}",
                                  media_type="application/json")
        return dump, [q["sql"] for q in queries.captured_queries]

    dump, sql = store()
    assert "SET LOCAL synchronous_commit TO OFF" in sql
    assert RawDump.objects.filter(pk=dump.pk).exists()
    with transaction.atomic():
        _, sql = store()
    assert not any("synchronous_commit" in s for s in sql)


def synced_all_above(root, folder):
    return [str(folder), *(str(p) for p in folder.parents if p == root or root in p.parents)]


def test_the_folder_store_makes_a_new_object_durable_with_its_folders(tmp_path, monkeypatch):
    """Embedded mode: the object's bytes, then its name (the folder), then (when it made
    folders) every folder up to the store's root are synced before put_new returns."""
    import os

    from transactions.objectstore import FolderStore

    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(os.readlink(f"/proc/self/fd/{fd}")),
                                                 real_fsync(fd)))
    store = FolderStore(tmp_path)

    store.put_new("raw/1/2/2026/12/07/a.json", b"{}", "application/json")
    day = tmp_path / "raw/1/2/2026/12/07"
    assert synced == [str(day / "a.json.part"), str(day), str(day.parent), str(day.parent.parent),
                      str(tmp_path / "raw/1/2"), str(tmp_path / "raw/1"), str(tmp_path / "raw"),
                      str(tmp_path)]
    synced.clear()
    store.put_new("raw/1/2/2026/12/07/b.json", b"{}", "application/json")
    assert synced == [str(day / "b.json.part"), str(day)]  # its folder existed already
    assert store.get("raw/1/2/2026/12/07/b.json") == b"{}"
    synced.clear()
    store.put_new("raw/1/2/2026/12/08/c.json", b"{}", "application/json")
    # a new day: every folder up to the root (one above may have just been made by
    # another writer that has not synced it yet)
    assert synced == [str(day.parent / "08/c.json.part"), str(day.parent / "08"),
                      *synced_all_above(tmp_path, day.parent)]


def test_a_refresh_queues_one_budget_check_and_one_cache_invalidation(alice, bank_today):
    from unittest import mock

    with (mock.patch("budgets.tasks.check_budgets.delay") as check,
          mock.patch("budgets.cache.summary_invalidate") as invalidate):
        link(alice)
    assert Transaction.objects.filter(user=alice).exists()
    # with the months the rows fell in (the check looks at the one before the current
    # month only if it is among them)
    months = sorted({f"{day:%Y-%m}-01" for day in Transaction.objects.filter(user=alice)
                     .values_list("posted_on", flat=True)})
    assert check.call_args_list == [mock.call(alice.id, months=months)]
    assert invalidate.call_args_list == [mock.call(alice.id)]


def test_deleting_a_user_deletes_their_raw_statements_and_no_one_elses(alice, bob,
                                                                        bank_today):
    from accounts.services import user_delete

    link(alice)
    link(bob)
    alices = list(RawDump.objects.filter(user=alice).values_list("key", flat=True))
    bobs = list(RawDump.objects.filter(user=bob).values_list("key", flat=True))
    store = get_store()
    assert alices and bobs and all(store.get(key) for key in alices)

    user_delete(user=alice)  # committed: the deletion of the objects is enqueued then

    from botocore.exceptions import ClientError

    for key in alices:
        with pytest.raises((FileNotFoundError, ClientError)):  # gone (folder or S3)
            store.get(key)
    assert all(store.get(key) for key in bobs)
    assert store.delete_prefix(f"raw/{alice.pk}/") == 0  # idempotent


def test_an_s3_delete_that_keeps_some_objects_is_an_error_to_retry():
    """DeleteObjects answers 200 with the keys it kept (no permission, object lock): the
    deletion of a user's dumps must retry, not count them as gone."""
    from transactions.objectstore import S3Store

    class Client:
        def list_objects_v2(self, **kwargs):
            return {"Contents": [{"Key": "raw/7/a"}, {"Key": "raw/7/b"}], "IsTruncated": False}

        def delete_objects(self, **kwargs):
            return {"Errors": [{"Key": "raw/7/b", "Code": "AccessDenied", "Message": "no"}]}

    store = S3Store.__new__(S3Store)
    store.bucket, store.client = "b", Client()

    with pytest.raises(StorageUnavailable, match="kept 1 of 2 objects under raw/7/"):
        store.delete_prefix("raw/7/")


def test_an_s3_bucket_not_there_yet_is_an_error_to_retry():
    """A bucket still being created (or recreated after a reset) is the store not being
    ready: the refresh waits and retries instead of failing as an internal error."""
    from botocore.exceptions import ClientError

    from transactions.objectstore import S3Store

    class Client:
        def put_object(self, **kwargs):
            raise ClientError({"Error": {"Code": "NoSuchBucket", "Message": "no bucket"},
                               "ResponseMetadata": {"HTTPStatusCode": 404}}, "PutObject")

        def get_object(self, **kwargs):
            raise ClientError({"Error": {"Code": "NoSuchKey", "Message": "no key"},
                               "ResponseMetadata": {"HTTPStatusCode": 404}}, "GetObject")

    store = S3Store.__new__(S3Store)
    store.bucket, store.client = "b", Client()

    with pytest.raises(StorageUnavailable, match="NoSuchBucket"):
        store.put_new("raw/7/a", b"{}", "application/json")
    with pytest.raises(ClientError):  # a missing object stays what it is
        store.get("raw/7/a")


def test_the_nightly_sweep_deletes_the_dumps_of_users_deleted_without_them(
    alice, bob, bank_today, monkeypatch, tmp_path
):
    # A folder store of this test's own: on an S3 bucket shared with tests running in
    # parallel (other databases, the same user ids) a sweep would take their dumps.
    from transactions.objectstore import FolderStore
    from transactions.services import dumps

    store = FolderStore(tmp_path / "own-store")
    monkeypatch.setattr(dumps, "get_store", lambda: store)
    link(alice)
    link(bob)
    store.put_new("raw/999999/late/x.json", b"{}", "application/json")  # a deleted user's
    alices = list(RawDump.objects.filter(user=alice).values_list("key", flat=True))

    swept = dumps.raw_dumps_sweep()

    assert swept == ([999999], None)
    assert store.folders("raw/") == sorted([str(alice.pk), str(bob.pk)], key=lambda n: n + "/")
    assert all(store.get(key) for key in alices)


def _sweep_store(store, alive: list[int], deleted: list[int]) -> None:
    for user_id in [*alive, *deleted]:
        store.put_new(f"raw/{user_id}/1/2026/12/07/x.json", b"{}", "application/json")


def test_the_nightly_sweep_goes_through_the_folders_a_page_per_task(alice, monkeypatch, tmp_path):
    # given: a store with the folders of Alice and of eight deleted users, "12", "120"
    # and "1200" among them (12/ sorts before 120/), and pages of 3 folders
    from transactions import tasks
    from transactions.objectstore import FolderStore
    from transactions.services import dumps

    store = FolderStore(tmp_path / "own-store")
    monkeypatch.setattr(dumps, "get_store", lambda: store)
    monkeypatch.setattr(tasks, "SWEEP_PAGE", 3)
    deleted = [900_001, 900_012, 900_120, 9_001_200, 900_007, 900_005, 900_003, 900_099]
    _sweep_store(store, [alice.pk], deleted)
    pages = []
    real = dumps.raw_dumps_sweep
    monkeypatch.setattr(tasks, "raw_dumps_sweep",
                        lambda **kw: pages.append(kw["after"]) or real(**kw))

    # when: the nightly task runs (each page queues the next: eager here)
    tasks.raw_dumps_sweep_task.delay()

    # then: every deleted user's dumps went, Alice's stayed, three folders a task (nine
    # folders: a fourth task finds the last page full was the end)
    assert store.folders("raw/") == [str(alice.pk)]
    assert len(pages) == 4 and pages[0] == ""
    assert all(a + "/" < b + "/" for a, b in itertools.pairwise(pages))


def test_a_page_of_folders_starts_right_after_the_last_one_on_s3():
    # "raw/12/…" keys sort before "raw/120" and after "raw/12": listing after "raw/120"
    # skips folder 12 whole and starts with 120
    from transactions.objectstore import S3Store

    calls = []

    class Client:
        def list_objects_v2(self, **kwargs):
            calls.append(kwargs)
            return {"CommonPrefixes": [{"Prefix": "raw/120/"}, {"Prefix": "raw/13/"}],
                    "IsTruncated": True, "NextContinuationToken": "t"}

    store = S3Store.__new__(S3Store)
    store.bucket, store.client = "b", Client()

    assert store.folders("raw/", after="12", limit=2) == ["120", "13"]
    assert calls == [{"Bucket": "b", "Prefix": "raw/", "Delimiter": "/", "MaxKeys": 2,
                      "StartAfter": "raw/120"}]


@pytest.mark.skipif(not os.environ.get("S3_BUCKET"), reason="the suite has no S3 server")
def test_paging_through_folders_of_a_real_s3_bucket_misses_none_and_repeats_none(settings):
    # given: a bucket of this test's own on the suite's S3-compatible server, holding the
    # folders 1, 12, 120, 1200, 13, 2 and 7
    from transactions.objectstore import S3Store

    store = S3Store(bucket=f"mint-sweep-{uuid.uuid4().hex[:12]}",
                    endpoint_url=settings.S3_ENDPOINT_URL, region=settings.AWS_REGION)
    store.client.create_bucket(Bucket=store.bucket)
    names = ["1", "12", "120", "1200", "13", "2", "7"]
    for name in names:
        store.put_new(f"raw/{name}/a/x.json", b"{}", "application/json")
        store.put_new(f"raw/{name}/b/y.json", b"{}", "application/json")

    # when: read two folders at a time
    seen, after = [], ""
    while page := store.folders("raw/", after=after, limit=2):
        seen += page
        after = page[-1]

    # then: each folder once, in the bucket's order
    assert seen == sorted(names, key=lambda n: n + "/")
    assert store.folders("raw/") == seen


def test_s3_folders_are_the_common_prefixes_of_every_page():
    from transactions.objectstore import S3Store

    pages = [{"CommonPrefixes": [{"Prefix": "raw/7/"}, {"Prefix": "raw/12/"}],
              "IsTruncated": True, "NextContinuationToken": "t"},
             {"CommonPrefixes": [{"Prefix": "raw/3/"}], "IsTruncated": False}]
    calls = []

    class Client:
        def list_objects_v2(self, **kwargs):
            calls.append(kwargs)
            return pages[len(calls) - 1]

    store = S3Store.__new__(S3Store)
    store.bucket, store.client = "b", Client()

    assert store.folders("raw/") == ["12", "3", "7"]
    assert [c.get("ContinuationToken") for c in calls] == [None, "t"]
    assert all(c["Delimiter"] == "/" and c["Prefix"] == "raw/" for c in calls)


@pytest.mark.parametrize("then", ["answers", "refuses the login", "is down"])
def test_unlinking_while_the_bank_answers_ends_the_refresh_quietly(alice, bank_today,
                                                                   monkeypatch, then):
    """The person unlinks the connection while its refresh waits for the bank: whatever
    the bank answers then, nothing is stored and nobody is told a refresh failed."""
    from accounts.services import account_unlink

    real_fetch = sandbox.provider.fetch
    connection = link(alice)
    before = Notification.objects.filter(user=alice).count()

    def fetch_while_unlinked(ctx):
        account_unlink(connection=connection)
        if then == "refuses the login":
            raise sandbox.AuthenticationFailed("The bank refused the login.")
        if then == "is down":
            raise sandbox.TransientProviderError("The demo bank is down for maintenance.")
        return real_fetch(ctx)

    monkeypatch.setattr(sandbox.provider, "fetch", fetch_while_unlinked)
    run = RefreshRun.objects.create(user=alice, connection=connection, trigger="manual")

    assert refresh_execute(run_id=run.id, final_attempt=True) is None
    assert not Connection.objects.filter(pk=connection.pk).exists()
    assert not RefreshRun.objects.filter(connection_id=connection.pk).exists()
    assert not Transaction.objects.filter(user=alice).exists()
    assert Notification.objects.filter(user=alice).count() == before


def test_unlinking_before_the_claim_ends_the_last_attempt_quietly(alice, bank_today, monkeypatch):
    from accounts.services import account_unlink
    from transactions.services import refresh

    connection = link(alice)
    before = Notification.objects.filter(user=alice).count()
    run = RefreshRun.objects.create(user=alice, connection=connection, trigger="manual")

    def claim_lost_to_an_unlink(connection_id, run_id, token):
        account_unlink(connection=connection)
        return False

    monkeypatch.setattr(refresh, "_claim", claim_lost_to_an_unlink)

    assert refresh_execute(run_id=run.id, final_attempt=True) is None
    assert Notification.objects.filter(user=alice).count() == before


def test_a_bug_after_an_unlink_is_still_logged_with_its_traceback(alice, bank_today,
                                                                  monkeypatch, caplog):
    from accounts.services import account_unlink

    connection = link(alice)

    def broken(raw):
        account_unlink(connection=connection)
        raise KeyError("accounts")

    monkeypatch.setattr(sandbox.provider, "parse", broken)
    run = RefreshRun.objects.create(user=alice, connection=connection, trigger="manual")

    with caplog.at_level("INFO", logger="transactions.services.refresh"):
        assert refresh_execute(run_id=run.id, final_attempt=True) is None

    [record] = [r for r in caplog.records if r.levelname == "ERROR"]
    assert "unlinked" in record.getMessage() and record.exc_info[0] is KeyError

"""Review of the refresh pipeline and its providers: each test is one bug found."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from accounts.models import Connection
from accounts.services import account_connect
from tests import ofx_server as server_module
from tests.factories import ConnectionFactory
from tests.ofx_server import CARD_ACCTID, LOGIN, PASSWORD, OFXTestServer
from transactions.models import RefreshRun, Transaction
from transactions.services.refresh import refresh_request

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("object_store")]


@pytest.fixture
def ofx_server():
    server = OFXTestServer(today=timezone.localdate()).start()
    yield server
    server.stop()


def card_statement_fails(server, monkeypatch, code=2000):
    """The server answers the card's statement request with an error status (the bank's
    card system is down), the checking account's as usual."""

    def failing(trnrq, received):
        return (f"<CCSTMTTRNRS>\r\n<TRNUID>{trnrq.trnuid}\r\n<STATUS>\r\n<CODE>{code}\r\n"
                "<SEVERITY>ERROR\r\n</STATUS>\r\n</CCSTMTTRNRS>\r\n")

    monkeypatch.setattr(server, "_card_statement", failing)


def test_a_card_whose_statement_failed_gets_its_transactions_at_a_later_refresh(
        alice, ofx_server, monkeypatch):
    # given: a card charge 20 days old, and an OFX server whose card statements fail at
    # the first refresh (the checking account's come through)
    day_zero = ofx_server.today
    monkeypatch.setattr(server_module, "TRANSACTIONS", [
        ("checking", 2, "-4.75", "CHK-1", "CAFE", ""),
        ("card", 20, "-89.00", "CC-LATE", "AMZN MKTP US*2K4LL0", ""),
    ])
    with monkeypatch.context() as failing:
        card_statement_fails(ofx_server, failing)
        connection, _ = account_connect(user=alice, provider="ofx", url=ofx_server.url(),
                                        login=LOGIN, password=PASSWORD)
    assert not Transaction.objects.filter(external_id="CC-LATE").exists()

    # when: a month later the card's statements come through again
    ofx_server.today = day_zero + timedelta(days=30)
    monkeypatch.setattr(server_module, "TRANSACTIONS", [
        ("checking", 32, "-4.75", "CHK-1", "CAFE", ""),
        ("card", 50, "-89.00", "CC-LATE", "AMZN MKTP US*2K4LL0", ""),
    ])
    run = refresh_request(connection=connection, trigger=RefreshRun.Trigger.MANUAL)

    # then: the charge the failed statement held is fetched, not skipped for good
    run.refresh_from_db()
    assert run.status == "succeeded"
    card = Transaction.objects.filter(user=alice, account__external_id=CARD_ACCTID)
    assert list(card.values_list("external_id", flat=True)) == ["CC-LATE"]


def test_a_run_whose_worker_died_in_every_attempt_ends_failed_instead_of_looping(
        alice, monkeypatch, settings):
    # given: a run that was taken up as many times as a run may be tried, its worker
    # killed each time (out of memory on this statement: the message comes back at once
    # with task_reject_on_worker_lost, or with the requeue sweep); its lease has expired
    from accounts.providers import sandbox
    from notifications.models import Notification
    from transactions.services.refresh import refresh_execute

    connection = ConnectionFactory(user=alice)
    attempts = settings.REFRESH_MAX_RETRIES + 1
    run = RefreshRun.objects.create(user=alice, connection=connection, trigger="nightly",
                                    status="running", attempts=attempts,
                                    started_at=timezone.now() - timedelta(hours=2))
    Connection.objects.filter(pk=connection.pk).update(
        claimed_by=run.pk, claimed_until=timezone.now() - timedelta(minutes=1))
    asked = []
    monkeypatch.setattr(sandbox.provider, "fetch", lambda ctx: asked.append(ctx) or 1 / 0)

    # when: its message is delivered once more
    refresh_execute(run_id=run.id, final_attempt=False)

    # then: the run ends failed, the claim is released and the person is told; the bank
    # is not asked a 7th, 8th, … time (every redelivery tried it again, for ever, the
    # run "running" and every later refresh joining it)
    run.refresh_from_db()
    assert run.status == "failed", run.status
    assert f"after {attempts} attempts" in run.error
    assert asked == []
    connection.refresh_from_db()
    assert connection.claimed_by is None and connection.status == "error"
    assert Notification.objects.filter(user=alice, kind="refresh_failing").count() == 1


@pytest.fixture
def eager_retries():
    """Celery runs an eager retry only when eager exceptions do not propagate."""
    from mint.celery import app

    app.conf.task_eager_propagates = False
    yield
    app.conf.task_eager_propagates = True


def test_a_database_blip_during_the_nightly_fan_out_does_not_skip_the_remaining_users(
        settings, monkeypatch, eager_retries):
    # given: three active users with a linked bank, one per batch, and a database that
    # drops the connection once, as the second batch reads its users
    from django.db import OperationalError

    from accounts.providers import sandbox
    from tests.factories import UserFactory
    from transactions import tasks
    from transactions.services import refresh as refresh_service

    monkeypatch.setattr(sandbox, "today", lambda: date(2026, 5, 20))
    settings.NIGHTLY_BATCH_SIZE = 1
    users = [UserFactory(last_active_at=timezone.now()) for _ in range(3)]
    for user in users:
        ConnectionFactory(user=user)
    real_batch, calls = refresh_service.nightly_refresh_batch, []

    def blip_once(**kwargs):
        calls.append(kwargs)
        if len(calls) == 2:
            raise OperationalError("server closed the connection unexpectedly")
        return real_batch(**kwargs)

    monkeypatch.setattr(tasks, "nightly_refresh_batch", blip_once)

    # when: the beat starts the night's fan-out
    tasks.nightly_refresh.delay()

    # then: the batch is tried again and every active user is refreshed (the chain of
    # batches ended at the error: everyone after the first batch waited a whole night)
    refreshed = set(RefreshRun.objects.values_list("user_id", flat=True))
    assert refreshed == {u.id for u in users}


@pytest.mark.parametrize("host", ["[fec0::1]", "[fec0:0:0:1::10]", "[feff::1]"])
def test_an_ofx_url_at_an_ipv6_site_local_address_is_refused(settings, host):
    # given: private addresses refused, as in production
    from accounts.netguard import check_outbound_url
    from accounts.providers import ProviderInputError

    settings.ALLOW_PRIVATE_OUTBOUND = False

    # when / then: fec0::/10 is IPv6's site-local range (RFC 3513, deprecated by RFC
    # 3879 but still configured on internal networks): Python calls it global
    with pytest.raises(ProviderInputError, match="private or local address"):
        check_outbound_url(f"https://{host}/ofx")


class S3WhoseFirstAnswerIsLost:
    """An S3 client whose first PutObject lands but whose answer is lost (a read timeout,
    a 503 from a proxy): botocore sends it again, and the IfNoneMatch="*" retry is
    answered 412, the object being there: the writer's own object."""

    def __init__(self):
        self.objects: dict[str, bytes] = {}
        self.answers_to_lose = 1

    def put_object(self, *, Bucket, Key, Body, ContentType, IfNoneMatch):
        from botocore.exceptions import ClientError

        if Key not in self.objects:
            self.objects[Key] = Body
            if not self.answers_to_lose:
                return {}
            self.answers_to_lose -= 1  # … and botocore's retry of it:
        raise ClientError({"Error": {"Code": "PreconditionFailed", "Message": "exists"},
                               "ResponseMetadata": {"HTTPStatusCode": 412}}, "PutObject")

    def get_object(self, *, Bucket, Key):
        import io

        return {"Body": io.BytesIO(self.objects[Key])}


def test_a_dump_write_whose_answer_was_lost_and_retried_does_not_fail_the_refresh(
        alice, monkeypatch):
    # given: the object store takes the raw dump, but its answer is lost and botocore's
    # retry of the conditional write is refused as "exists"
    from accounts.providers import sandbox
    from transactions.objectstore import S3Store
    from transactions.services import dumps

    monkeypatch.setattr(sandbox, "today", lambda: date(2026, 3, 10))
    store = S3Store.__new__(S3Store)
    store.bucket, store.client = "b", S3WhoseFirstAnswerIsLost()
    monkeypatch.setattr(dumps, "get_store", lambda: store)

    # when: the person links the demo bank
    connection, _ = account_connect(user=alice, provider="sandbox", url="sandbox://demo",
                                    login="demo", password="pw")

    # then: the refresh succeeds with the dump it wrote (it failed as an "internal error
    # (ObjectExists)", the person told their account failed to refresh)
    run = RefreshRun.objects.get(connection=connection)
    assert run.status == "succeeded", run.error
    assert run.dump is not None and store.client.objects[run.dump.key]
    assert Transaction.objects.filter(user=alice).exists()


@pytest.mark.parametrize(("name", "value", "says"), [
    # A lease that ends while its worker still runs (the hard time limit is 360 s): the
    # requeue sweep sends the run again, and the second worker re-claims the run's own
    # lease, two refreshes of one account at once.
    ("REFRESH_LEASE_SECONDS", "300", "REFRESH_LEASE_SECONDS"),
    # No user is ever in a batch of 0: the fan-out failed every night (IndexError).
    ("NIGHTLY_BATCH_SIZE", "0", "NIGHTLY_BATCH_SIZE"),
    # Two OFX exchanges of up to 2 × 20 s to connect and 120 s each: 320 s, past the
    # tasks' 300 s soft limit (the refresh would be cut off as taking too long).
    ("OUTBOUND_DEADLINE_SECONDS", "120", "OUTBOUND_DEADLINE_SECONDS"),
])
@pytest.mark.django_db(transaction=False)
def test_production_refuses_to_start_with_a_refresh_setting_that_cannot_work(name, value, says):
    from tests.test_settings import PROD, start

    result = start({**PROD, name: value})

    assert result.returncode != 0, f"{name}={value} was accepted"
    assert says in result.stderr


def http_server(answer):
    """A one-thread HTTP server on the loopback: ``answer(conn, stop)`` writes each
    answer on the raw socket. Yields its URL."""
    import socket
    import threading

    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            with conn:
                conn.recv(65536)
                answer(conn, stop)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/ofx"
    stop.set()
    thread.join(timeout=5)
    listener.close()


@pytest.fixture
def dripping_server():
    """Answers a 200 of 1,000 bytes one byte every 0.2 s: each read gets something well
    within any read timeout; the whole answer would take 200 s (it gives up after 10 s,
    to end the test)."""
    import time

    def drip(conn, stop):
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
        started = time.monotonic()
        while not stop.is_set() and time.monotonic() - started < 10:
            try:
                conn.sendall(b"x")
            except OSError:
                break
            time.sleep(0.2)

    yield from http_server(drip)


@pytest.fixture
def cut_off_server():
    """Answers a 200 announcing 1,000 bytes, sends 10 and closes the connection."""

    def cut(conn, stop):
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n<OFX>12345")

    yield from http_server(cut)


def test_a_server_that_drips_its_answer_is_given_up_at_the_deadline(settings,
                                                                     dripping_server):
    # given: a read timeout of 1 s, a deadline of 2 s for the whole exchange
    import time

    from accounts import netguard
    from accounts.providers import TransientProviderError

    settings.OUTBOUND_TIMEOUT_SECONDS = 1.0
    settings.OUTBOUND_DEADLINE_SECONDS = 2.0
    started = time.monotonic()

    # when / then: a user's OFX URL (or webhook) that answers a byte at a time is given up
    # as a transient failure at the deadline; it held the worker until the task's time
    # limit (300 s), for every refresh of every such connection
    with pytest.raises(TransientProviderError, match="did not answer within"):
        netguard.post(dripping_server, b"<OFX>", {"Content-Type": "application/x-ofx"})
    assert time.monotonic() - started < 5


def test_an_answer_cut_off_before_its_content_length_is_a_transient_failure(cut_off_server):
    from accounts import netguard
    from accounts.providers import TransientProviderError

    # when / then: the connection dropped mid-answer is worth retrying; its first bytes
    # were returned as the whole answer (read(n) does not check the length), and the
    # refresh failed for good on "the file ends before </OFX>"
    with pytest.raises(TransientProviderError, match="could not reach"):
        netguard.post(cut_off_server, b"<OFX>", {"Content-Type": "application/x-ofx"})


@pytest.mark.parametrize("final_attempt", [False, True])
def test_a_second_message_of_a_run_being_worked_on_does_not_fetch_alongside_it(
        alice, monkeypatch, final_attempt):
    # given: a run a worker is fetching right now under its message "first" (its lease
    # held for 5 more minutes)
    from accounts.providers import sandbox
    from notifications.models import Notification
    from transactions.services.refresh import refresh_execute

    connection = ConnectionFactory(user=alice)
    run = RefreshRun.objects.create(user=alice, connection=connection, trigger="nightly",
                                    status="running", attempts=1,
                                    started_at=timezone.now())
    Connection.objects.filter(pk=connection.pk).update(
        claimed_by=run.pk, claim_token="first",
        claimed_until=timezone.now() + timedelta(minutes=5))
    asked = []
    monkeypatch.setattr(sandbox.provider, "fetch", lambda ctx: asked.append(ctx) or 1 / 0)

    # when: another message of the same run (the requeue sweep's copy) is delivered
    refresh_execute(run_id=run.id, final_attempt=final_attempt, delivery="sweep-copy")

    # then: the bank is not asked a second time at once; the run is left to the first,
    # neither failed nor told as "busy", its lease untouched
    assert asked == []
    run.refresh_from_db()
    connection.refresh_from_db()
    assert (run.status, run.attempts) == ("running", 1)
    assert (str(connection.claimed_by), connection.claim_token) == (str(run.pk), "first")
    assert not Notification.objects.filter(user=alice).exists()


def test_the_same_message_delivered_again_after_its_worker_died_resumes_at_once(alice):
    # given: a run whose worker was killed while it held the lease (4 more minutes) under
    # its message "m-1"
    from transactions.services.refresh import refresh_execute

    connection = ConnectionFactory(user=alice)
    run = RefreshRun.objects.create(user=alice, connection=connection, trigger="link",
                                    status="running", attempts=1, started_at=timezone.now())
    Connection.objects.filter(pk=connection.pk).update(
        claimed_by=run.pk, claim_token="m-1",
        claimed_until=timezone.now() + timedelta(minutes=4))

    # when: the broker delivers that message again (task_reject_on_worker_lost)
    refresh_execute(run_id=run.id, final_attempt=False, delivery="m-1")

    # then: it runs to the end without waiting for the lease, and frees it
    run.refresh_from_db()
    connection.refresh_from_db()
    assert (run.status, run.attempts) == ("succeeded", 2)
    assert run.created > 0
    assert (connection.claimed_by, connection.claim_token) == (None, "")


def test_a_name_server_that_fails_for_a_moment_makes_the_refresh_retry(alice, monkeypatch,
                                                                       eager_retries):
    # given: an OFX connection, and a name server that answers "try again" (EAI_AGAIN)
    # the first time the worker looks the bank's host up
    import socket

    from accounts.crypto import encrypt_credentials
    from accounts.models import Connection

    connection = Connection.objects.create(
        user=alice, provider="ofx", url="https://ofx.bank.example/ofx",
        secret=encrypt_credentials(login=LOGIN, password=PASSWORD))
    real_getaddrinfo, looked_up = socket.getaddrinfo, []

    def flaky_dns(host, *args, **kwargs):
        if host == "ofx.bank.example":
            looked_up.append(host)
            raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", flaky_dns)

    # when: it is refreshed
    run = refresh_request(connection=connection, trigger=RefreshRun.Trigger.NIGHTLY)

    # then: the failure is taken as transient and retried (it failed at once, as if the
    # host did not exist: "the host does not resolve", the person told)
    run.refresh_from_db()
    assert len(looked_up) > 1, run.error
    assert [r["attempt"] for r in run.retried][:1] == [1]


def test_a_late_copy_of_a_run_that_finished_meanwhile_leaves_it_as_it_ended(
        alice, monkeypatch):
    # given: a queued run whose copy a worker has read, and that another worker finishes
    # (5 new rows) just before this copy claims the connection
    from accounts.providers import sandbox
    from transactions.services import refresh as module

    connection = ConnectionFactory(user=alice)
    run = RefreshRun.objects.create(user=alice, connection=connection, trigger="nightly")
    claim = module._claim

    def finished_first(connection_id, run_id, token):
        RefreshRun.objects.filter(pk=run_id).update(
            status="succeeded", created=5, finished_at=timezone.now())
        return claim(connection_id, run_id, token)

    monkeypatch.setattr(module, "_claim", finished_first)
    asked = []
    monkeypatch.setattr(sandbox.provider, "fetch", lambda ctx: asked.append(ctx) or 1 / 0)

    # when: the late copy goes on
    module.refresh_execute(run_id=run.id, final_attempt=True)

    # then: the bank is not asked again, the run keeps its end and counts, the claim is free
    run.refresh_from_db()
    assert (asked, run.status, run.created, run.attempts) == ([], "succeeded", 5, 0)
    connection.refresh_from_db()
    assert connection.claimed_by is None


def test_a_refresh_failed_by_our_database_tells_the_person_without_our_hosts(
        alice, monkeypatch, caplog):
    # given: a refresh whose database write fails with the driver's text, which names
    # our database host and address
    from django.db import OperationalError

    from notifications.models import Notification
    from transactions.services import refresh as module

    connection = ConnectionFactory(user=alice)
    run = RefreshRun.objects.create(user=alice, connection=connection, trigger="manual")
    leak = 'connection to server at "db-primary.internal" (10.2.0.7), port 5432 failed'

    def down(**kwargs):
        raise OperationalError(leak)

    monkeypatch.setattr(module, "transactions_ingest", down)

    # when: its last attempt fails so
    module.refresh_execute(run_id=run.id, final_attempt=True)

    # then: the run, the connection and the notification say it was on our side, without
    # the detail; the log keeps it for support
    run.refresh_from_db()
    connection.refresh_from_db()
    told = Notification.objects.get(user=alice, kind="refresh_failing").body
    assert run.status == "failed"
    for text in (run.error, connection.last_error, told):
        assert "our database was unavailable" in text
        assert "db-primary" not in text and "10.2.0.7" not in text
    assert leak in caplog.text


def test_the_requeue_sweep_sends_every_lost_run_once_a_page_per_task(alice, monkeypatch):
    # given: seven runs whose messages the broker lost, four of them created at the same
    # instant, one run still within its countdown, and one a worker holds
    from transactions import tasks
    from transactions.services import refresh as module

    old = timezone.now() - timedelta(hours=3)
    lost = []
    for i in range(7):
        run = RefreshRun.objects.create(user=alice, connection=ConnectionFactory(user=alice),
                                        trigger="nightly")
        lost.append(run)
        RefreshRun.objects.filter(pk=run.pk).update(
            created_at=old if i < 4 else old + timedelta(minutes=i))
    RefreshRun.objects.create(user=alice, connection=ConnectionFactory(user=alice),
                              trigger="nightly")  # just created: its message is due
    held = RefreshRun.objects.create(user=alice, connection=ConnectionFactory(user=alice),
                                     trigger="nightly", status="running")
    RefreshRun.objects.filter(pk=held.pk).update(created_at=old)
    Connection.objects.filter(pk=held.connection_id).update(
        claimed_by=held.pk, claimed_until=timezone.now() + timedelta(minutes=5))
    sent, pages = [], []
    monkeypatch.setattr(module, "_enqueue", lambda task, run_id: sent.append(run_id))
    real = module.refresh_requeue_stale
    monkeypatch.setattr(tasks, "refresh_requeue_stale",
                        lambda **kw: pages.append(kw["after"]) or real(**kw, limit=3))

    # when: the beat's sweep runs (each page queues the next: eager here)
    tasks.requeue_stale_runs.delay()

    # then: each lost run is sent once, oldest first, three a task; the others are not
    assert sorted(sent) == sorted(str(run.pk) for run in lost)
    assert len(sent) == len(set(sent)) == 7
    assert len(pages) == 3 and pages[0] is None


def test_a_run_the_sweep_sent_is_not_sent_again_until_its_message_could_have_been_taken(
        alice, monkeypatch):
    # given: a run whose message was lost, sent again by the sweep a moment ago
    from transactions.services import refresh as module

    run = RefreshRun.objects.create(user=alice, connection=ConnectionFactory(user=alice),
                                    trigger="nightly")
    RefreshRun.objects.filter(pk=run.pk).update(created_at=timezone.now() - timedelta(hours=3))
    sent = []
    monkeypatch.setattr(module, "_enqueue", lambda task, run_id: sent.append(run_id))
    assert module.refresh_requeue_stale(older_than_seconds=1200) == (1, None)

    # when: the next sweeps run, 15 minutes later, then 25 minutes later (still queued)
    later = module.refresh_requeue_stale(older_than_seconds=1200)
    RefreshRun.objects.filter(pk=run.pk).update(
        requeued_at=timezone.now() - timedelta(minutes=25))
    much_later = module.refresh_requeue_stale(older_than_seconds=1200)

    # then: it is not sent while its message may still wait in the queue, then once more
    assert (later, much_later) == ((0, None), (1, None))
    assert sent == [str(run.pk)] * 2


@pytest.mark.parametrize(("code", "retried"), [(2000, True), (2003, False)])
def test_a_bank_that_answers_every_statement_with_a_general_error_is_retried(
        alice, ofx_server, monkeypatch, eager_retries, settings, code, retried):
    # given: an OFX server whose statements all fail with one status, the sign-on fine;
    # a refresh tried twice at most
    from transactions.tasks import refresh_connection

    settings.REFRESH_MAX_RETRIES = 1
    monkeypatch.setattr(refresh_connection, "max_retries", 1)

    def failing(wrapper):
        def answer(trnrq, received):
            return (f"<{wrapper}>\r\n<TRNUID>{trnrq.trnuid}\r\n<STATUS>\r\n<CODE>{code}\r\n"
                    f"<SEVERITY>ERROR\r\n</STATUS>\r\n</{wrapper}>\r\n")
        return answer

    monkeypatch.setattr(ofx_server, "_bank_statement", failing("STMTTRNRS"))
    monkeypatch.setattr(ofx_server, "_card_statement", failing("CCSTMTTRNRS"))

    # when: the account is linked (its first refresh runs)
    connection, _ = account_connect(user=alice, provider="ofx", url=ofx_server.url(),
                                    login=LOGIN, password=PASSWORD)

    # then: "general error" (busy, maintenance) is retried, as at the sign-on; "account
    # not found" fails at once
    run = RefreshRun.objects.get(connection=connection)
    assert run.status == "failed"
    assert (run.attempts, bool(run.retried)) == ((2, True) if retried else (1, False))
    assert f"status {code}" in run.error


def test_a_refresh_stopped_at_the_time_limit_says_so(alice, monkeypatch, settings):
    # given: a refresh whose ingest runs into the task's soft time limit
    from celery.exceptions import SoftTimeLimitExceeded

    from transactions.services import refresh as module

    connection = ConnectionFactory(user=alice)
    run = RefreshRun.objects.create(user=alice, connection=connection, trigger="manual")

    def slow(**kwargs):
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(module, "transactions_ingest", slow)

    # when: it runs
    with pytest.raises(SoftTimeLimitExceeded):
        module.refresh_execute(run_id=run.id, final_attempt=False)

    # then: the run and the connection say it took too long, not "internal error"
    run.refresh_from_db()
    connection.refresh_from_db()
    limit = settings.CELERY_TASK_SOFT_TIME_LIMIT
    assert run.status == "failed"
    assert run.error == connection.last_error == (
        f"the refresh took longer than {limit} s and was stopped; support has been told")


@pytest.mark.parametrize("delivery", ["sweep-copy", None])
def test_a_copy_of_a_run_on_its_last_attempt_neither_fails_it_nor_undoes_its_success(
        alice, monkeypatch, settings, delivery):
    # given: a run on its last attempt (as many as a run may have), its lease held by
    # the delivery "last" that is still working on it
    from transactions.services import refresh as module

    connection = ConnectionFactory(user=alice)
    run = RefreshRun.objects.create(user=alice, connection=connection, trigger="nightly",
                                    status="running",
                                    attempts=settings.REFRESH_MAX_RETRIES + 1)
    Connection.objects.filter(pk=connection.pk).update(
        claimed_by=run.pk, claim_token="last", claimed_until=timezone.now() + timedelta(minutes=5))

    # when: a copy of the run arrives meanwhile; then the holder finishes it (and frees
    # the lease) just before another late copy claims
    module.refresh_execute(run_id=run.id, final_attempt=True, delivery=delivery)
    run.refresh_from_db()
    assert (run.status, Connection.objects.get(pk=connection.pk).claim_token) == (
        "running", "last")
    claim = module._claim

    def finished_first(connection_id, run_id, token):
        RefreshRun.objects.filter(pk=run_id).update(status="succeeded", created=3,
                                                    finished_at=timezone.now())
        Connection.objects.filter(pk=connection_id).update(
            claimed_by=None, claimed_until=None, claim_token="")
        return claim(connection_id, run_id, token)

    monkeypatch.setattr(module, "_claim", finished_first)
    module.refresh_execute(run_id=run.id, final_attempt=True, delivery="late-copy")

    # then: the run ended as its holder ended it, and the connection is free
    run.refresh_from_db()
    connection.refresh_from_db()
    assert (run.status, run.created, run.error) == ("succeeded", 3, "")
    assert (connection.claimed_by, connection.last_error) == (None, "")


def test_a_cursor_that_stays_still_does_not_make_the_fetch_window_grow_without_end():
    # given: a connection whose cursor has not moved for two years (an account the bank
    # lists but never answers for keeps it still)
    from datetime import date

    from accounts.providers.ofx import HISTORY_DAYS, OVERLAP_DAYS, window_start

    today = date(2026, 12, 7)

    # when: the next fetch's first day is worked out
    stuck = window_start("2024-12-01", today)
    recent = window_start("2026-12-01", today)

    # then: it asks no further back than a first link does; a recent cursor as before
    assert stuck == today - timedelta(days=HISTORY_DAYS) == window_start(None, today)
    assert recent == date(2026, 12, 1) - timedelta(days=OVERLAP_DAYS)

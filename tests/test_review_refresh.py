"""Review of the refresh pipeline and its providers: each test is one bug found."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.services import account_connect
from tests import ofx_server as server_module
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

"""The OFX Direct Connect provider against a real OFX server on the loopback."""

import base64
import json
import logging
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.providers import get_provider
from accounts.providers.base import (
    AuthenticationFailed,
    FetchContext,
    ProviderError,
    ProviderInputError,
    RawFetch,
    TransientProviderError,
)
from accounts.providers.ofx import endpoint_from_url, provider
from tests.ofx_server import (
    BANKID,
    CARD_ACCTID,
    CHECKING_ACCTID,
    LOGIN,
    PASSWORD,
    OFXTestServer,
)

CHECKING = f"{BANKID}:{CHECKING_ACCTID}"


@pytest.fixture
def ofx_server():
    server = OFXTestServer(today=timezone.localdate(), slow_seconds=5).start()
    yield server
    server.stop()


def context(url, login=LOGIN, password=PASSWORD, since=None):
    return FetchContext(url=url, login=login, password=password, since=since)


def by_account(statement):
    result = {}
    for t in statement.transactions:
        result.setdefault(t.account_external_id, []).append(t)
    return result


def test_fetch_then_parse_gives_the_accounts_and_their_transactions(ofx_server):
    today = ofx_server.today

    statement = provider.parse(provider.fetch(context(ofx_server.url())))

    assert [(a.external_id, a.name, a.kind, a.mask) for a in statement.accounts] == [
        (CHECKING, "Everyday Checking", "checking", "6789"),
        (CARD_ACCTID, "Cash Rewards Visa", "credit_card", "9876"),
    ]
    assert [a.balance for a in statement.accounts] == [Decimal("2841.17"), Decimal("-604.90")]
    transactions = by_account(statement)
    assert [t.external_id for t in transactions[CHECKING]] == [
        "CHK-0008", "CHK-0007", "CHK-0006", "CHK-0005", "CHK-0004"]
    assert [t.amount for t in transactions[CARD_ACCTID]] == [
        Decimal("-12.49"), Decimal("-89.00"), Decimal("500.00"), Decimal("-15.49")]
    cafe = transactions[CHECKING][0]
    assert (cafe.description, cafe.memo) == ("CAFÉ DU MONDE #12", "POS PURCHASE")
    assert cafe.posted_on == today - timedelta(days=2)
    assert transactions[CHECKING][3].description == "PG&E WEB ONLINE"
    assert statement.cursor == today.isoformat()
    assert statement.institution == "Loopback Savings Bank"


def test_first_fetch_asks_for_400_days_of_every_account_in_two_ofx_posts(ofx_server):
    provider.fetch(context(ofx_server.url()))

    accounts_request, statements_request = ofx_server.requests
    assert accounts_request.kinds == ["ACCTINFO"]
    assert statements_request.kinds == ["STMT", "CCSTMT"]
    assert {r.content_type for r in ofx_server.requests} == {"application/x-ofx"}
    assert statements_request.dtstarts == [ofx_server.today - timedelta(days=400)] * 2


def test_since_cursor_narrows_the_window_with_ten_days_of_overlap(ofx_server):
    since = ofx_server.today - timedelta(days=20)

    statement = provider.parse(provider.fetch(context(ofx_server.url(),
                                                      since=since.isoformat())))

    assert ofx_server.requests[-1].dtstarts == [since - timedelta(days=10)] * 2
    transactions = by_account(statement)
    assert [t.external_id for t in transactions[CHECKING]] == ["CHK-0008", "CHK-0007",
                                                               "CHK-0006"]
    assert [t.external_id for t in transactions[CARD_ACCTID]] == ["CC-0005", "CC-0004",
                                                                  "CC-0003"]


def test_org_and_fid_in_the_url_go_into_the_signon_not_the_request_path(ofx_server):
    provider.fetch(context(ofx_server.url(org="LOOPBANK", fid="4242")))

    request = ofx_server.requests[0]
    assert (request.path, request.org, request.fid) == ("/ofx", "LOOPBANK", "4242")
    assert (request.userid, request.userpass) == (LOGIN, PASSWORD)


def test_signon_defaults_to_mint_when_the_url_names_no_institution(ofx_server):
    provider.fetch(context(ofx_server.url()))

    assert (ofx_server.requests[0].org, ofx_server.requests[0].fid) == ("MINT", "0000")


def test_raw_payload_holds_the_server_answers_but_never_the_password(ofx_server):
    raw = provider.fetch(context(ofx_server.url()))

    assert raw.media_type == "application/json"
    documents = [base64.b64decode(r) for r in json.loads(raw.payload)["responses"]]
    assert len(documents) == 2
    assert all(d.startswith(b"OFXHEADER:100") for d in documents)
    for blob in (raw.payload, *documents):
        assert PASSWORD.encode() not in blob
        assert b"USERPASS" not in blob


def test_parse_is_a_pure_function_of_the_stored_payload(ofx_server):
    raw = provider.fetch(context(ofx_server.url()))
    ofx_server.stop()

    stored = RawFetch(payload=bytes(raw.payload), media_type=raw.media_type)

    assert provider.parse(stored) == provider.parse(raw)


@pytest.mark.parametrize("login", ["bad", "locked"])
def test_refused_login_is_an_authentication_failure(ofx_server, login):
    with pytest.raises(AuthenticationFailed, match="refused the login"):
        provider.fetch(context(ofx_server.url(), login=login))


def test_wrong_password_is_an_authentication_failure(ofx_server):
    with pytest.raises(AuthenticationFailed, match="15500"):
        provider.fetch(context(ofx_server.url(), password="wrong"))


def test_general_error_status_is_worth_retrying(ofx_server):
    with pytest.raises(TransientProviderError, match="2000"):
        provider.fetch(context(ofx_server.url(), login="busy"))


def test_server_error_is_transient(ofx_server):
    with pytest.raises(TransientProviderError, match="HTTP 500"):
        provider.fetch(context(ofx_server.url("/error")))


def test_redirect_is_refused_and_not_followed(ofx_server):
    with pytest.raises(ProviderInputError, match=r"redirected.*use the final URL"):
        provider.fetch(context(ofx_server.url("/redirect")))

    assert [r.path for r in ofx_server.requests] == ["/redirect"]


def test_loopback_server_is_refused_when_private_addresses_are_not_allowed(ofx_server, settings):
    settings.ALLOW_PRIVATE_OUTBOUND = False

    with pytest.raises(ProviderInputError, match="private or local address"):
        provider.fetch(context(ofx_server.url()))

    assert ofx_server.requests == []


def test_server_that_does_not_answer_in_time_is_transient(ofx_server, settings):
    settings.OUTBOUND_TIMEOUT_SECONDS = 0.3

    with pytest.raises(TransientProviderError):
        provider.fetch(context(ofx_server.url("/slow")))


def test_answer_that_is_not_ofx_is_a_provider_error(ofx_server):
    with pytest.raises(ProviderError, match="did not answer in OFX") as caught:
        provider.fetch(context(ofx_server.url("/html")))

    assert not isinstance(caught.value, AuthenticationFailed | TransientProviderError)


def test_unreadable_payload_is_a_provider_error():
    with pytest.raises(ProviderError, match="could not be read"):
        provider.parse(RawFetch(payload=b'{"responses": "nope"}', media_type="application/json"))


def test_a_bare_ofx_file_can_be_parsed_as_a_payload():
    from tests.test_ofx_parse import read

    statement = provider.parse(RawFetch(payload=read("two_accounts.ofx"),
                                        media_type="application/x-ofx"))

    assert len(statement.accounts) == 2


def test_endpoint_keeps_other_query_parameters():
    endpoint = endpoint_from_url("https://ofx.bank.test/cgi/ofx?ORG=AB&FID=12&route=x")

    assert (endpoint.url, endpoint.org, endpoint.fid) == (
        "https://ofx.bank.test/cgi/ofx?route=x", "AB", "12")


def test_registry_returns_this_provider():
    assert get_provider("ofx") is provider
    assert provider.name == "ofx"


def test_login_longer_than_ofx_allows_is_refused_without_echoing_the_password(ofx_server):
    secret = "p" * 200

    with pytest.raises(ProviderInputError, match="at most 171") as caught:
        provider.fetch(context(ofx_server.url(), password=secret))

    assert secret not in str(caught.value)
    assert ofx_server.requests == []


def test_password_is_not_logged_even_at_debug_level(ofx_server, caplog):
    """Only the provider's side counts: the test server, in its own threads, logs what it
    parses."""
    caplog.set_level(logging.DEBUG)

    provider.fetch(context(ofx_server.url()))

    ours = [r.getMessage() for r in caplog.records if r.threadName == "MainThread"]
    assert ours
    assert not [m for m in ours if PASSWORD in m]

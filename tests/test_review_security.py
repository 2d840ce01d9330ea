"""Security review: findings, each as a given/when/then test."""

import pytest

from accounts.crypto import encrypt_credentials
from accounts.management.commands.support_staff import support_group
from notifications.models import Webhook
from tests.conftest import api_client_for


@pytest.fixture
def support_client(client, charlie):
    """Charlie as ``manage.py support_staff`` makes him: staff in the Support group."""
    charlie.groups.add(support_group())
    client.force_login(charlie)
    client.raise_request_exception = False
    return client


def test_support_cannot_switch_back_on_a_webhook_its_owner_switched_off(alice, support_client):
    # Given Alice switched her webhook off (the URL was handed on, the chat room closed)
    webhook = Webhook.objects.create(user=alice, url="https://hooks.example.com/mint/T0KEN",
                                     secret=encrypt_credentials(login="-", password="whsec"))
    response = api_client_for(alice).patch(f"/api/v1/webhooks/{webhook.pk}/",
                                           {"active": False}, format="json")
    assert response.status_code == 200

    # When support staff, whose right is to turn a webhook *off*, tick "active" and save
    support_client.post(f"/admin/notifications/webhook/{webhook.pk}/change/",
                        {"active": "on"})

    # Then it stays off: her notifications do not go to that URL again
    webhook.refresh_from_db()
    assert webhook.active is False


@pytest.mark.parametrize("url", ["http://[::1", "https://[fe80::1/ofx"])
def test_an_ofx_url_with_an_unclosed_ipv6_bracket_is_a_400_not_a_crash(alice, url):
    # Given an OFX server URL whose IPv6 host is not closed (urlsplit raises ValueError)
    client = api_client_for(alice)
    client.raise_request_exception = False

    # When Alice links it
    response = client.post("/api/v1/accounts/", {
        "provider": "ofx", "account_url": url, "account_login": "l", "account_password": "pw",
    }, format="json")

    # Then the URL guard refuses it in words (a 400), as any other bad URL, not a 500
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_account"


def test_a_url_written_with_letters_beyond_ascii_is_sent_percent_encoded_not_a_crash(settings):
    # given a receiver on loopback that records the request line it gets
    import http.server
    import threading

    from accounts import netguard

    settings.ALLOW_PRIVATE_OUTBOUND = True
    seen = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            seen.append(self.path)
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        # when a URL with "café" in its path and query, and an escape already made, is
        # posted to (a webhook or an OFX server as a person typed it)
        port = server.server_address[1]
        status, _headers, body = netguard.post(
            f"http://127.0.0.1:{port}/hooks/café%20x?room=équipe", b"{}",
            {"Content-Type": "application/json"})
    finally:
        server.shutdown()
        server.server_close()

    # then it goes, in UTF-8 percent-encoding, the escape kept (it was a UnicodeEncodeError,
    # retried until the delivery or the refresh gave up)
    assert (status, body) == (200, b"ok")
    assert seen == ["/hooks/caf%C3%A9%20x?room=%C3%A9quipe"]


def test_the_fetch_context_printed_shows_no_password():
    # given what a provider is handed for one fetch
    from accounts.providers import FetchContext

    ctx = FetchContext(url="https://bank.example/ofx", login="alice", password="hunter2-s3cret",
                       since=None)

    # when it is printed (a log line, a traceback's locals)
    shown = f"{ctx!r} {ctx!s}"

    # then the password is not in it
    assert "hunter2-s3cret" not in shown and "alice" in shown

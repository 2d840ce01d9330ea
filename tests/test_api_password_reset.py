"""POST /api/v1/auth/password-reset/: the dashboard's "Forgot your password?" for the
apps: the same email with the same link, the same limit, and one answer whoever asks."""

import re

import pytest
from django.core import mail

from accounts import login
from tests.conftest import api_client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock(monkeypatch):
    """The limit's clock, five minutes into an hour: the counts stay in one window."""
    monkeypatch.setattr(login, "_now", lambda: 1_800_000_000 + 300)  # a multiple of 3600


def ask(email, address="10.0.2.1"):
    return api_client_for(None).post("/api/v1/auth/password-reset/", {"email": email},
                                     format="json", REMOTE_ADDR=address)


def without_link(body: str) -> str:
    return re.sub(r"/accounts/reset/\S+", "/accounts/reset/…", body)


def test_the_api_sends_the_dashboards_reset_email_and_its_link_sets_a_new_password(
        client, alice):
    # given the email the dashboard's page sends
    client.post("/accounts/password_reset/", {"email": "alice@example.com"})
    (dashboards,) = mail.outbox
    mail.outbox.clear()

    # when an app asks for a reset of the same address
    answer = ask("Alice@Example.com")

    # then it is accepted, and the same email is sent
    assert answer.status_code == 202 and answer.content == b""
    (email,) = mail.outbox
    assert email.to == ["alice@example.com"]
    assert email.subject == dashboards.subject == "Reset your Mint password"
    assert without_link(email.body) == without_link(dashboards.body)
    # and its link sets a new password on the dashboard's pages
    link = re.search(r"http://testserver(/accounts/reset/\S+)", email.body).group(1)
    form = client.get(link, follow=True)
    assert form.status_code == 200
    done = client.post(form.redirect_chain[-1][0], {
        "new_password1": "a-new-long-passphrase", "new_password2": "a-new-long-passphrase"})
    assert done.status_code == 302
    alice.refresh_from_db()
    assert alice.check_password("a-new-long-passphrase")


def test_an_address_nobody_has_gets_the_same_answer_and_no_email(alice):
    answer = ask("nobody@example.com")

    assert answer.status_code == 202 and answer.content == b""
    assert mail.outbox == []


def test_a_malformed_address_is_a_400_naming_the_field():
    answer = ask("not an address")

    assert answer.status_code == 400
    assert list(answer.json()["error"]["details"]) == ["email"]


def test_the_api_shares_the_dashboards_limit_of_reset_emails(client, alice, clock):
    # given five reset emails asked for in the hour, three on the page and two in the app
    for number in range(3):
        assert client.post("/accounts/password_reset/", {"email": "alice@example.com"},
                           REMOTE_ADDR=f"10.0.3.{number}").status_code == 302
    for number in range(2):
        assert ask("alice@example.com", address=f"10.0.4.{number}").status_code == 202

    # when the app asks for a sixth
    flood = ask("alice@example.com", address="10.0.5.1")

    # then it is refused until the hour ends, and no email goes
    assert flood.status_code == 429 and int(flood["Retry-After"]) > 0
    assert flood.json()["error"]["code"] == "throttled"
    assert len(mail.outbox) == 5
    assert ask("nobody@example.com", address="10.0.5.2").status_code == 202


def test_the_email_is_sent_by_the_worker_so_both_answers_take_as_long(alice, clock,
                                                                      monkeypatch):
    """Sent inside the request, an address with an account answered a mail server's time
    later than one without: the email goes to the worker, whose message holds no token."""
    from accounts import tasks

    queued = []
    monkeypatch.setattr(tasks.send_password_reset_email, "delay",
                        lambda **kwargs: queued.append(kwargs))

    known, unknown = ask(alice.email), ask("nobody@example.com", address="10.0.2.2")

    assert known.status_code == unknown.status_code == 202
    assert mail.outbox == []  # nothing sent in the request
    assert [q["user_id"] for q in queued] == [alice.pk]
    assert not any("token" in key for key in queued[0])

    # the worker's task sends it; a user deleted meanwhile gets none
    tasks.send_password_reset_email(**queued[0])
    assert [m.to for m in mail.outbox] == [[alice.email]]
    assert "/accounts/reset/" in mail.outbox[0].body
    alice.delete()
    tasks.send_password_reset_email(**queued[0])
    assert len(mail.outbox) == 1

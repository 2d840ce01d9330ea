"""Wrong passwords at the browser log-in and the admin's: 10 a minute per client address
and per email address (the API token endpoint's figure), then 429 without checking the
password until the window ends (accounts/login.py)."""

import logging

import pytest
from django.contrib.auth import SESSION_KEY
from django.contrib.auth import forms as auth_forms

from accounts import login

PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory's
WINDOW_START = 1_800_000_000  # a multiple of 60: the clock at the start of a minute

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock(monkeypatch):
    """The throttle's clock, 5 s into a minute; tests move it with ``clock.now = …``."""

    class Clock:
        now = WINDOW_START + 5

    clock = Clock()
    monkeypatch.setattr(login, "_now", lambda: clock.now)
    return clock


def log_in(client, email, password, address="10.0.0.1", url="/accounts/login/", **headers):
    return client.post(url, {"username": email, "password": password},
                       REMOTE_ADDR=address, **headers)


def fail(client, times, email="alice@example.com", **kwargs):
    for _ in range(times):
        response = log_in(client, email, "wrong", **kwargs)
        assert response.status_code == 200  # the form again, with its error


def test_ten_wrong_passwords_then_the_right_one_is_refused_without_checking_it(
    client, alice, clock, monkeypatch
):
    # Given ten wrong passwords for alice from one address within a minute,
    fail(client, 10)

    # when the right one comes, the password is not even checked:
    def authenticate(*args, **kwargs):
        raise AssertionError("the password was checked")

    monkeypatch.setattr(auth_forms, "authenticate", authenticate)
    response = log_in(client, "alice@example.com", PASSWORD)

    # then it is refused with 429 and how long to wait (55 s of the minute left).
    assert response.status_code == 429
    assert response["Retry-After"] == "55"
    assert "Too many attempts; try again in 55 seconds." in response.content.decode()
    assert SESSION_KEY not in client.session


def test_nine_wrong_passwords_still_let_the_right_one_in(client, alice, clock):
    fail(client, 9)

    response = log_in(client, "alice@example.com", PASSWORD)

    assert response.status_code == 302 and response["Location"] == "/"


def test_a_wrong_password_is_said_plainly_and_the_email_case_does_not_matter(
        client, alice, clock):
    wrong = log_in(client, "alice@example.com", "wrong").content.decode()
    shouted = log_in(client, "ALICE@Example.COM", PASSWORD)

    assert ("That email and password do not match an account. The password is "
            "case-sensitive.") in wrong
    assert "may be case-sensitive" not in wrong
    assert shouted.status_code == 302


def test_the_right_password_works_again_once_the_window_has_passed(client, alice, clock):
    # Given a locked address and email, and more attempts while locked,
    fail(client, 10)
    clock.now = WINDOW_START + 59
    refused = log_in(client, "alice@example.com", "wrong")
    last_second = log_in(client, "alice@example.com", PASSWORD)

    # when the minute has ended,
    clock.now = WINDOW_START + 60
    response = log_in(client, "alice@example.com", PASSWORD)

    # then the refused attempts did not extend the lock: the right password logs in.
    assert refused.status_code == last_second.status_code == 429
    assert "try again in 1 second." in last_second.content.decode()
    assert response.status_code == 302 and client.session[SESSION_KEY] == str(alice.pk)


def test_another_address_is_not_blocked_by_the_per_address_counter(client, alice, bob, clock):
    # Given one address that guessed at ten accounts (one wrong password each),
    for number in range(10):
        fail(client, 1, email=f"someone{number}@example.com", address="10.0.0.1")

    # then that address is refused, even for an account it did not guess at,
    same_address = log_in(client, "bob@example.com", PASSWORD, address="10.0.0.1")
    # while alice, from her own address, logs in.
    elsewhere = log_in(client, "alice@example.com", PASSWORD, address="10.0.0.2")

    assert same_address.status_code == 429
    assert elsewhere.status_code == 302 and client.session[SESSION_KEY] == str(alice.pk)


def test_many_addresses_cannot_guess_one_email_past_the_limit(client, alice, bob, clock):
    # Given ten wrong passwords for alice from ten addresses, her address typed any way,
    for number in range(10):
        email = "Alice@Example.com " if number % 2 else "alice@example.com"
        fail(client, 1, email=email, address=f"10.0.1.{number}")

    # then an eleventh address is refused for alice, and not for bob.
    alice_refused = log_in(client, "alice@example.com", PASSWORD, address="10.0.2.1")
    bob_in = log_in(client, "bob@example.com", PASSWORD, address="10.0.2.1")

    assert alice_refused.status_code == 429
    assert bob_in.status_code == 302 and client.session[SESSION_KEY] == str(bob.pk)


def test_x_forwarded_for_does_not_make_a_new_address(client, alice, clock):
    for number in range(10):
        fail(client, 1, email=f"someone{number}@example.com",
             HTTP_X_FORWARDED_FOR=f"192.0.2.{number}")

    response = log_in(client, "alice@example.com", PASSWORD, HTTP_X_FORWARDED_FOR="192.0.2.99")

    assert response.status_code == 429


def test_the_limit_is_the_api_token_endpoints_login_rate(client, alice, clock, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {
        **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "login": "2/hour"}}
    fail(client, 2)

    response = log_in(client, "alice@example.com", PASSWORD)

    assert response.status_code == 429 and response["Retry-After"] == str(3600 - 5)
    assert "try again in 60 minutes." in response.content.decode()  # past 2 min: minutes


def test_the_admin_login_is_limited_too(client, charlie, clock):
    # Given ten wrong passwords at the admin's log-in,
    fail(client, 10, email="charlie@example.com", url="/admin/login/")

    # the right one is refused on the admin's own page,
    refused = log_in(client, "charlie@example.com", PASSWORD, url="/admin/login/")
    # and works once the minute has ended.
    clock.now = WINDOW_START + 60
    response = log_in(client, "charlie@example.com", PASSWORD, url="/admin/login/")

    assert refused.status_code == 429 and refused["Retry-After"] == "55"
    assert "Too many attempts; try again in 55 seconds." in refused.content.decode()
    assert "admin/login.html" in [t.name for t in refused.templates]
    assert response.status_code == 302 and client.session[SESSION_KEY] == str(charlie.pk)


def test_the_admin_and_the_dashboard_share_the_counters(client, charlie, clock):
    fail(client, 5, email="charlie@example.com", url="/admin/login/")
    fail(client, 5, email="charlie@example.com")

    response = log_in(client, "charlie@example.com", PASSWORD, url="/admin/login/")

    assert response.status_code == 429


class CacheDown:
    """A cache whose server cannot be reached: every call raises, as Redis's client does."""

    def __getattr__(self, name):
        def down(*args, **kwargs):
            raise ConnectionError("Error 111 connecting to 127.0.0.1:6379")

        return down


def test_a_cache_outage_lets_log_in_through_and_is_logged(client, alice, clock, monkeypatch,
                                                          caplog):
    monkeypatch.setattr(login, "cache", CacheDown())

    with caplog.at_level(logging.WARNING, logger="accounts.login"):
        fail(client, 11)
        response = log_in(client, "alice@example.com", PASSWORD)

    assert response.status_code == 302 and client.session[SESSION_KEY] == str(alice.pk)
    assert "the cache cannot be used (ConnectionError('Error 111" in caplog.text
    assert "log-in is not limited" in caplog.text


def test_a_cache_outage_lets_api_sign_up_and_log_in_through(client, alice, monkeypatch,
                                                            caplog):
    """As the pages: unlimited, with a warning, not a 500 for everyone."""
    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setattr(login, "cache", CacheDown())
    monkeypatch.setattr(SimpleRateThrottle, "cache", CacheDown())

    with caplog.at_level(logging.WARNING):
        signed_up = client.post("/api/v1/auth/register/", {
            "email": "dora@example.com", "password": "a-long-passphrase-9"},
            content_type="application/json")
        token = client.post("/api/v1/auth/token/", {
            "email": "alice@example.com", "password": PASSWORD},
            content_type="application/json")

    assert (signed_up.status_code, token.status_code) == (201, 200)
    assert "access" in token.json()
    assert "rate limit cache unavailable" in caplog.text


def test_attempts_sent_together_cannot_pass_the_limit_between_read_and_count(
    client, alice, clock, monkeypatch
):
    # Ten wrong passwords whose checks all overlap: each is counted before its password
    # is checked, so an eleventh that arrives meanwhile is refused, as it would be
    # after them.
    attempts = [login.LoginAttempt.of(None, "alice@example.com") for _ in range(10)]
    assert all(attempt.begin() for attempt in attempts)  # none finished yet

    def authenticate(*args, **kwargs):
        raise AssertionError("the password was checked")

    monkeypatch.setattr(auth_forms, "authenticate", authenticate)
    assert log_in(client, "alice@example.com", PASSWORD).status_code == 429


def test_a_right_password_takes_its_attempt_back(client, alice, clock):
    for _ in range(20):  # twenty successful log-ins in a minute do not lock anyone out
        assert log_in(client, "alice@example.com", PASSWORD).status_code == 302
        client.logout()
    fail(client, 9)
    assert log_in(client, "alice@example.com", PASSWORD).status_code == 302


def test_the_login_page_links_to_password_reset(client):
    page = client.get("/accounts/login/").content.decode()

    assert '<a href="/accounts/password_reset/">Forgot your password?</a>' in page
    assert client.get("/accounts/password_reset/").status_code == 200


def test_behind_a_trusted_proxy_the_address_it_saw_is_counted(client, alice, bob, clock,
                                                               settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    # Every request comes from the proxy (one REMOTE_ADDR), which appends the client's
    # address to what the client wrote.
    for number in range(10):
        fail(client, 1, email=f"someone{number}@example.com", address="10.9.9.9",
             HTTP_X_FORWARDED_FOR=f"forged-{number}, 192.0.2.1")

    guesser = log_in(client, "alice@example.com", PASSWORD, address="10.9.9.9",
                     HTTP_X_FORWARDED_FOR="forged-new, 192.0.2.1")
    someone_else = log_in(client, "bob@example.com", PASSWORD, address="10.9.9.9",
                          HTTP_X_FORWARDED_FOR="192.0.2.7")

    assert guesser.status_code == 429  # what the client wrote does not make it new
    assert someone_else.status_code == 302  # nor is everybody behind the proxy one


def test_the_api_token_endpoint_counts_wrong_passwords_per_email_with_the_pages(
    client, alice, clock
):
    from tests.conftest import api_client_for

    api = api_client_for(None)
    # five wrong passwords on the page and five on the API, each from another address
    for number in range(5):
        fail(client, 1, address=f"10.1.0.{number}")
        wrong = api.post("/api/v1/auth/token/", {"email": "Alice@example.com",
                                                 "password": "wrong"},
                         format="json", REMOTE_ADDR=f"10.2.0.{number}")
        assert wrong.status_code == 401

    refused = api.post("/api/v1/auth/token/", {"email": "alice@example.com",
                                               "password": PASSWORD},
                       format="json", REMOTE_ADDR="10.3.0.1")

    assert refused.status_code == 429 and refused["Retry-After"] == "55"
    assert refused.json()["error"] == {
        "code": "throttled", "message": "Too many attempts; try again in 55 seconds.",
        "details": {}}
    clock.now += 60
    assert api.post("/api/v1/auth/token/", {"email": "alice@example.com",
                                            "password": PASSWORD},
                    format="json", REMOTE_ADDR="10.3.0.1").status_code == 200


def test_a_wrong_old_password_counts_and_the_change_page_keeps_the_limit(client, alice, clock):
    client.force_login(alice)
    for _ in range(10):
        wrong = client.post("/accounts/password_change/", {
            "old_password": "guess", "new_password1": "a-new-long-passphrase",
            "new_password2": "a-new-long-passphrase"}, REMOTE_ADDR="10.0.0.1")
        assert wrong.status_code == 200

    right = client.post("/accounts/password_change/", {
        "old_password": PASSWORD, "new_password1": "a-new-long-passphrase",
        "new_password2": "a-new-long-passphrase"}, REMOTE_ADDR="10.0.0.2")
    logged_in = log_in(client, "alice@example.com", PASSWORD, address="10.0.0.3")

    assert right.status_code == 429  # the counter is alice's, from any address
    assert "Too many attempts; try again in 55 seconds." in right.content.decode()
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)
    assert logged_in.status_code == 429  # and the log-in page shares it


def test_reset_emails_are_limited_per_address_and_per_email(client, alice, clock, settings):
    from django.core import mail

    for number in range(5):
        sent = client.post("/accounts/password_reset/", {"email": "alice@example.com"},
                           REMOTE_ADDR=f"10.0.1.{number}")
        assert sent.status_code == 302
    flood = client.post("/accounts/password_reset/", {"email": "alice@example.com"},
                        REMOTE_ADDR="10.0.1.99")
    other = client.post("/accounts/password_reset/", {"email": "nobody@example.com"},
                        REMOTE_ADDR="10.0.1.98")

    assert len(mail.outbox) == 5
    assert flood.status_code == 429 and "Too many attempts; try again in 60 minutes." in (
        flood.content.decode())
    assert other.status_code == 302

"""POST /api/v1/me/password/: the apps' password change. The old password is asked again
and counted as a log-in attempt; the new one passes the password validators; every
token and browser session issued before ends, and the device that asked gets new
tokens."""

import pytest
from django.core.cache import cache

from tests.conftest import api_client_for

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory's
NEW = "a-new-long-passphrase"


def sign_in(email="alice@example.com", password=PASSWORD) -> dict:
    """A device's log-in: its {"access", "refresh"}."""
    response = api_client_for(None).post("/api/v1/auth/token/", {
        "email": email, "password": password}, format="json")
    assert response.status_code == 200, response.json()
    return response.json()


def device(tokens: dict):
    client = api_client_for(None)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    return client


def refresh(tokens: dict):
    return api_client_for(None).post("/api/v1/auth/token/refresh/",
                                     {"refresh": tokens["refresh"]}, format="json")


def test_a_password_change_gives_this_phone_new_tokens_and_ends_every_other_token_and_session(
        client, alice, bob):
    # given Alice signed in on her phone, her tablet and a browser, and Bob on his phone
    phone, tablet, bobs = sign_in(), sign_in(), sign_in("bob@example.com")
    client.force_login(alice)

    # when her phone changes her password
    changed = device(phone).post("/api/v1/me/password/", {
        "old_password": PASSWORD, "new_password": NEW}, format="json")

    # then the phone carries on with the new tokens it was given
    assert changed.status_code == 200
    fresh = changed.json()
    assert set(fresh) == {"access", "refresh"}
    assert device(fresh).get("/api/v1/me/").status_code == 200
    assert refresh(fresh).status_code == 200
    # and every token issued before, the phone's own too, and the browser are signed out
    for old in (phone, tablet):
        refused = device(old).get("/api/v1/me/")
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "password_changed"
        assert refresh(old).status_code == 401
        assert refresh(old).json()["error"]["code"] == "password_changed"
    assert client.get("/").status_code == 302  # to the log-in page
    # and the new password is the one that logs in; Bob is not touched
    assert api_client_for(None).post("/api/v1/auth/token/", {
        "email": "alice@example.com", "password": PASSWORD}, format="json").status_code == 401
    sign_in(password=NEW)
    assert device(bobs).get("/api/v1/me/").status_code == 200


def test_a_wrong_old_password_is_a_400_counted_as_a_wrong_log_in(alice):
    # given Alice's phone
    phone = device(sign_in())

    # when it sends a wrong old password, then ten more
    wrong = phone.post("/api/v1/me/password/", {"old_password": "guess", "new_password": NEW},
                       format="json")
    for _ in range(9):
        phone.post("/api/v1/me/password/", {"old_password": "guess", "new_password": NEW},
                   format="json")
    locked = phone.post("/api/v1/me/password/", {"old_password": PASSWORD,
                                                 "new_password": NEW}, format="json")
    log_in = api_client_for(None).post("/api/v1/auth/token/", {
        "email": "alice@example.com", "password": PASSWORD}, format="json",
        REMOTE_ADDR="10.9.9.9")

    # then the first is a 400 naming the field, and past the log-in limit even the right
    # one is refused (429), as is a log-in from elsewhere: the counters are shared
    assert wrong.status_code == 400
    assert wrong.json()["error"] == {
        "code": "invalid", "message": "old_password: That is not your password.",
        "details": {"old_password": ["That is not your password."]}}
    assert locked.status_code == 429 and int(locked["Retry-After"]) > 0
    assert locked.json()["error"]["code"] == "throttled"
    assert log_in.status_code == 429
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)

    cache.clear()  # the minute has passed
    assert phone.post("/api/v1/me/password/", {"old_password": PASSWORD, "new_password": NEW},
                      format="json").status_code == 200


@pytest.mark.parametrize(("new", "says"), [
    ("short", "This password is too short"),
    ("90417263518", "This password is entirely numeric"),
    ("password123", "This password is too common"),
    ("alice@example.com", "The password is too similar to the email address"),
])
def test_a_weak_new_password_is_a_400_naming_the_field_and_changes_nothing(alice, new, says):
    phone = sign_in()

    refused = device(phone).post("/api/v1/me/password/", {
        "old_password": PASSWORD, "new_password": new}, format="json")

    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["message"].startswith("new_password: ") and says in error["message"]
    assert list(error["details"]) == ["new_password"]
    assert device(phone).get("/api/v1/me/").status_code == 200  # still signed in
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)


def test_missing_fields_and_no_token_are_refused(alice):
    missing = device(sign_in()).post("/api/v1/me/password/", {"old_password": PASSWORD},
                                     format="json")
    anonymous = api_client_for(None).post("/api/v1/me/password/", {
        "old_password": PASSWORD, "new_password": NEW}, format="json")

    assert missing.status_code == 400 and list(missing.json()["error"]["details"]) == [
        "new_password"]
    assert anonymous.status_code == 401


def test_a_browser_session_that_changes_the_password_stays_signed_in(client, alice):
    # given Alice in a browser (Swagger UI sends the session cookie)
    client.force_login(alice)

    # when it changes her password through the API
    changed = client.post("/api/v1/me/password/", {"old_password": PASSWORD, "new_password": NEW},
                          content_type="application/json")

    # then that session is kept, as Django's password change page keeps it
    assert changed.status_code == 200
    assert client.get("/").status_code == 200
    alice.refresh_from_db()
    assert alice.check_password(NEW)

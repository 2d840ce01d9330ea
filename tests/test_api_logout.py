"""Signing out from the apps: POST /api/v1/auth/logout/ ends one device's refresh token;
POST /api/v1/me/logout-everywhere/ ends every token and browser session of the user at
once (a lost phone), the password unchanged."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from accounts.models import RevokedToken
from tests.conftest import api_client_for
from tests.test_api_password_change import PASSWORD, device, refresh, sign_in

pytestmark = pytest.mark.django_db


def log_out(refresh_token):
    return api_client_for(None).post("/api/v1/auth/logout/", {"refresh": refresh_token},
                                     format="json")


def test_after_logout_the_phones_refresh_token_is_refused_and_other_devices_keep_working(
        alice, bob):
    # given Alice on her phone and her tablet, and Bob on his phone
    phone, tablet, bobs = sign_in(), sign_in(), sign_in("bob@example.com")

    # when her phone logs out
    logged_out = log_out(phone["refresh"])

    # then its refresh token is refused from now on
    assert logged_out.status_code == 204
    refused = refresh(phone)
    assert refused.status_code == 401
    assert refused.json()["error"] == {
        "code": "logged_out", "message": "This token was logged out: log in again.",
        "details": {}}
    # and her tablet and Bob carry on
    for other in (tablet, bobs):
        assert refresh(other).status_code == 200
        assert device(other).get("/api/v1/me/").status_code == 200
    # and the token is not kept: only its id is
    assert list(RevokedToken.objects.values_list("jti", flat=True)) != []
    assert phone["refresh"] not in str(list(RevokedToken.objects.values()))


def test_logging_out_again_is_a_204_again(alice):
    phone = sign_in()

    first, again = log_out(phone["refresh"]), log_out(phone["refresh"])

    assert (first.status_code, again.status_code) == (204, 204)
    assert RevokedToken.objects.count() == 1


def test_logout_needs_a_refresh_token_of_ours(alice):
    phone = sign_in()

    missing = api_client_for(None).post("/api/v1/auth/logout/", {}, format="json")
    access = log_out(phone["access"])
    forged = log_out(phone["refresh"][:-4] + "AAAA")

    assert missing.status_code == 400
    assert missing.json()["error"]["details"] == {"refresh": ["This field is required."]}
    assert access.status_code == 401 and access.json()["error"]["code"] == "token_not_valid"
    assert forged.status_code == 401 and forged.json()["error"]["code"] == "token_not_valid"
    assert refresh(phone).status_code == 200  # nothing was logged out


def test_a_logout_sweeps_the_log_outs_of_tokens_expired_since(alice):
    # given a token logged out long ago, expired since
    RevokedToken.objects.create(jti="old", expires_at=timezone.now() - timedelta(seconds=1))

    # when another device logs out
    log_out(sign_in()["refresh"])

    # then the old row is gone: its token is refused as expired anyway
    assert not RevokedToken.objects.filter(jti="old").exists()
    assert RevokedToken.objects.count() == 1


def test_logout_everywhere_ends_every_token_and_session_at_once_and_keeps_the_password(
        client, alice, bob):
    # given Alice's lost phone, her tablet and a browser, and Bob on his phone
    lost, tablet, bobs = sign_in(), sign_in(), sign_in("bob@example.com")
    client.force_login(alice)

    # when her tablet signs out everywhere
    answer = device(tablet).post("/api/v1/me/logout-everywhere/", {"password": PASSWORD},
                                 format="json")

    # then the lost phone is out at once, its access token too, and so is the browser
    assert answer.status_code == 200
    for old in (lost, tablet):
        assert device(old).get("/api/v1/me/").status_code == 401
        assert refresh(old).status_code == 401
    assert client.get("/").status_code == 302
    # and the tablet carries on with the new tokens it was given
    assert device(answer.json()).get("/api/v1/me/").status_code == 200
    assert refresh(answer.json()).status_code == 200
    # and the password is the same; Bob is not touched
    sign_in(password=PASSWORD)
    assert device(bobs).get("/api/v1/me/").status_code == 200


def test_logout_everywhere_with_a_wrong_password_is_a_400_counted_as_a_wrong_log_in(alice):
    phone = sign_in()

    wrong = device(phone).post("/api/v1/me/logout-everywhere/", {"password": "guess"},
                               format="json")
    for _ in range(9):
        device(phone).post("/api/v1/me/logout-everywhere/", {"password": "guess"},
                           format="json")
    locked = device(phone).post("/api/v1/me/logout-everywhere/", {"password": PASSWORD},
                                format="json")

    assert wrong.status_code == 400
    assert wrong.json()["error"]["details"] == {"password": ["That is not your password."]}
    assert locked.status_code == 429 and int(locked["Retry-After"]) > 0
    assert device(phone).get("/api/v1/me/").status_code == 200  # nobody was signed out
    cache.clear()  # the minute has passed
    assert device(phone).post("/api/v1/me/logout-everywhere/", {"password": PASSWORD},
                              format="json").status_code == 200

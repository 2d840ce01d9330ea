"""A sign-up sent twice (a double tap): both requests pass the "is the address free?"
check before either has saved (hashing the password takes ~450 ms between the two), so
the database's unique index decides. The second must get the refusal a later sign-up
gets, not a 500."""

from unittest import mock

import pytest
from django.contrib.auth.password_validation import validate_password

from accounts.models import User
from tests.conftest import api_client_for

pytestmark = pytest.mark.django_db

EMAIL = "doubletap@example.com"
PASSWORD = "Str0ng-pass-789"


def the_first_tap_saves_meanwhile(password, user=None, password_validators=None):
    """Runs where the second request hashes its password: the first one commits then."""
    validate_password(password, user=user, password_validators=password_validators)
    User.objects.create_user(email=EMAIL, password=PASSWORD)


def test_a_sign_up_sent_twice_gets_the_same_400_as_a_later_duplicate():
    # given a sign-up of the address, answered before the second tap is sent
    client = api_client_for(None)
    body = {"email": EMAIL, "password": PASSWORD}
    later = api_client_for(None)
    User.objects.create_user(email="later@example.com", password=PASSWORD)
    sequential = later.post("/api/v1/auth/register/",
                            {"email": "later@example.com", "password": PASSWORD},
                            format="json")

    # when the second tap passes the serializer's check while the first one saves
    with mock.patch("accounts.services.validate_password",
                    side_effect=the_first_tap_saves_meanwhile):
        second = client.post("/api/v1/auth/register/", body, format="json")

    # then it is refused as the sequential duplicate is, and one account exists
    assert second.status_code == sequential.status_code == 400
    assert second.json() == sequential.json()
    assert second.json()["error"] == {
        "code": "invalid", "message": "email: an account with this email already exists",
        "details": {"email": ["an account with this email already exists"]}}
    assert User.objects.filter(email=EMAIL).count() == 1


def test_the_sign_up_page_sent_twice_says_the_address_is_taken(client):
    # when the page's second submission passes the form's check while the first one saves
    with mock.patch("accounts.services.validate_password",
                    side_effect=the_first_tap_saves_meanwhile):
        response = client.post("/signup/", {"email": EMAIL, "password": PASSWORD,
                                            "password_confirm": PASSWORD, "timezone": "UTC"})

    # then the form comes back with the error a later sign-up gets, and nobody is logged in
    assert response.status_code == 400
    assert response.context["form"].errors == {
        "email": ["An account with this email address already exists."]}
    assert "_auth_user_id" not in client.session
    assert User.objects.filter(email=EMAIL).count() == 1


def test_a_weak_password_is_still_refused_as_the_passwords_fault():
    response = api_client_for(None).post("/api/v1/auth/register/",
                                         {"email": EMAIL, "password": "password"},
                                         format="json")

    assert response.status_code == 400
    assert list(response.json()["error"]["details"]) == ["password"]

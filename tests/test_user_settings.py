"""The user's time zone: given at sign-up (the browser's own, in the dashboard), changed
on the Settings page or with PATCH /api/v1/me/; it decides which month is current."""

from datetime import UTC, datetime
from unittest import mock

import pytest

from accounts.models import User
from budgets.selectors import current_month
from tests.conftest import api_client_for

pytestmark = pytest.mark.django_db

# 5 pm on 30 November in California is already December in UTC.
EVENING_IN_CALIFORNIA = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)


def test_the_api_registers_a_user_in_their_time_zone():
    client = api_client_for(None)

    response = client.post("/api/v1/auth/register/", {
        "email": "pat@example.com", "password": "a-long-passphrase",
        "timezone": "America/Los_Angeles"}, format="json")

    assert response.status_code == 201
    assert response.json()["timezone"] == "America/Los_Angeles"
    user = User.objects.get(email="pat@example.com")
    with mock.patch("django.utils.timezone.now", return_value=EVENING_IN_CALIFORNIA):
        assert current_month(user).month == 11


def test_without_a_time_zone_the_api_registers_utc_and_refuses_an_unknown_one():
    client = api_client_for(None)

    plain = client.post("/api/v1/auth/register/", {
        "email": "a@example.com", "password": "a-long-passphrase"}, format="json")
    unknown = client.post("/api/v1/auth/register/", {
        "email": "b@example.com", "password": "a-long-passphrase",
        "timezone": "Mars/Olympus_Mons"}, format="json")

    assert plain.json()["timezone"] == "UTC"
    assert unknown.status_code == 400
    assert unknown.json()["error"]["message"].startswith("timezone: 'Mars/Olympus_Mons' is not")
    assert not User.objects.filter(email="b@example.com").exists()


def test_patch_me_changes_the_time_zone(alice):
    client = api_client_for(alice)

    changed = client.patch("/api/v1/me/", {"timezone": "Europe/Paris"}, format="json")
    refused = client.patch("/api/v1/me/", {"timezone": "Paris"}, format="json")
    empty = client.patch("/api/v1/me/", {}, format="json")

    assert changed.status_code == 200 and changed.json()["timezone"] == "Europe/Paris"
    assert refused.status_code == 400 and empty.status_code == 400
    alice.refresh_from_db()
    assert alice.timezone == "Europe/Paris"


def test_the_signup_page_takes_the_browsers_time_zone_and_falls_back_to_utc(client):
    page = client.get("/signup/").content.decode()
    assert 'name="timezone"' in page and "resolvedOptions().timeZone" in page

    for email, zone, stored in (("c@example.com", "Asia/Tokyo", "Asia/Tokyo"),
                                ("d@example.com", "Nowhere/Special", "UTC"),
                                ("e@example.com", "", "UTC")):
        client.post("/signup/", {"email": email, "password": "a-long-passphrase",
                                 "password_confirm": "a-long-passphrase", "timezone": zone})
        client.logout()
        assert User.objects.get(email=email).timezone == stored


def test_the_settings_page_changes_the_time_zone(client, alice):
    client.force_login(alice)

    page = client.get("/settings/")
    saved = client.post("/settings/", {"timezone": "America/New_York"}, follow=True)
    refused = client.post("/settings/", {"timezone": "Atlantis"})

    assert page.status_code == 200 and 'value="America/Los_Angeles"' in page.content.decode()
    assert "Time zone set to America/New_York." in saved.content.decode()
    assert refused.status_code == 400
    alice.refresh_from_db()
    assert alice.timezone == "America/New_York"


@pytest.mark.parametrize("path", ["/accounts/password_change/", "/accounts/password_reset/"])
def test_the_password_pages_are_the_apps_not_the_admins(client, alice, path):
    client.force_login(alice)

    page = client.get(path).content.decode()

    assert "Django site admin" not in page and 'class="card narrow"' in page


def test_a_password_change_ends_the_api_tokens_issued_before_it(client, alice):
    api = api_client_for(None)
    alice.set_password("old-long-passphrase")
    alice.save()
    tokens = api.post("/api/v1/auth/token/", {"email": "alice@example.com",
                                              "password": "old-long-passphrase"},
                      format="json").json()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert api.get("/api/v1/me/").status_code == 200

    client.force_login(alice)
    changed = client.post("/accounts/password_change/", {
        "old_password": "old-long-passphrase", "new_password1": "a-new-long-passphrase",
        "new_password2": "a-new-long-passphrase"})
    assert changed.status_code == 302

    old_access = api.get("/api/v1/me/")
    assert old_access.status_code == 401
    assert old_access.json()["error"]["code"] == "password_changed"
    refreshed = api_client_for(None).post("/api/v1/auth/token/refresh/",
                                          {"refresh": tokens["refresh"]}, format="json")
    assert refreshed.status_code == 401
    assert refreshed.json()["error"]["message"].startswith("The password has changed")
    assert refreshed.json()["error"]["code"] == "password_changed"
    fresh = api_client_for(None).post("/api/v1/auth/token/", {
        "email": "alice@example.com", "password": "a-new-long-passphrase"}, format="json")
    assert fresh.status_code == 200


def test_a_time_zone_this_server_does_not_know_shows_pages_in_utc(client, alice):
    User.objects.filter(pk=alice.pk).update(timezone="Mars/Olympus")  # as an old row might
    client.force_login(alice)

    for path in ("/", "/budgets/", "/settings/"):
        assert client.get(path).status_code == 200, path


@pytest.mark.parametrize("name", ["localtime", "Factory", "EST", "Japan", "Etc/GMT+13",
                                  "Etc/Unknown", "Mars/Olympus"])
def test_odd_tz_database_entries_are_not_time_zones_here(alice, name):
    client = api_client_for(alice)

    assert client.patch("/api/v1/me/", {"timezone": name}, format="json").status_code == 400


def test_the_admin_refuses_an_unknown_time_zone(client, alice):
    root = User.objects.create_superuser(email="root@example.com", password="x-long-pass")
    client.force_login(root)
    page = client.get(f"/admin/accounts/user/{alice.pk}/change/")
    form = page.context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None}
    data.update({"timezone": "Europe/paris", "email": alice.email, "date_joined_0": "2026-01-01",
                 "date_joined_1": "00:00:00"})

    response = client.post(f"/admin/accounts/user/{alice.pk}/change/", data)

    assert response.status_code == 200  # the form again, with its error
    assert "is not a time zone this server knows" in response.content.decode()
    alice.refresh_from_db()
    assert alice.timezone != "Europe/paris"


def test_the_reset_email_is_the_apps(client, alice):
    from django.core import mail

    client.post("/accounts/password_reset/", {"email": "alice@example.com"})

    (email,) = mail.outbox
    assert email.subject == "Reset your Mint password"
    assert "reset the Mint password of alice@example.com" in email.body
    assert "/accounts/reset/" in email.body and "team" not in email.body


@pytest.mark.parametrize("name", ["Asia/Calcutta", "Europe/Kiev", "America/Buenos_Aires"])
def test_old_names_browsers_still_report_are_time_zones(alice, name):
    # Chromium reports some zones by their old names; the tzdata package keeps them
    # whatever the OS has.
    client = api_client_for(alice)

    assert client.patch("/api/v1/me/", {"timezone": name}, format="json").status_code == 200


UTC_NAMES = ["Etc/UTC", "GMT", "UCT", "Zulu", "Universal", "Etc/GMT", "Etc/Zulu", "GMT0",
             "Etc/GMT-0", "Greenwich"]


@pytest.mark.parametrize("name", UTC_NAMES)
def test_utc_under_another_name_is_accepted_and_stored_as_utc(alice, name):
    # given Alice in Paris, and a phone that reports UTC by another of its names
    User.objects.filter(pk=alice.pk).update(timezone="Europe/Paris")
    client = api_client_for(alice)

    # when it sets her time zone, and signs somebody up with it
    changed = client.patch("/api/v1/me/", {"timezone": name}, format="json")
    signed_up = api_client_for(None).post("/api/v1/auth/register/", {
        "email": "pat@example.com", "password": "a-long-passphrase", "timezone": name},
        format="json")

    # then both are UTC, as the Settings page lists it
    assert changed.status_code == 200 and changed.json()["timezone"] == "UTC"
    assert signed_up.status_code == 201 and signed_up.json()["timezone"] == "UTC"
    alice.refresh_from_db()
    assert alice.timezone == "UTC"
    assert User.objects.get(email="pat@example.com").timezone == "UTC"


def test_the_signup_page_takes_a_browser_reporting_etc_utc_as_utc(client):
    client.post("/signup/", {"email": "pat@example.com", "password": "a-long-passphrase",
                             "password_confirm": "a-long-passphrase", "timezone": "Etc/UTC"})

    assert User.objects.get(email="pat@example.com").timezone == "UTC"


def test_a_fixed_offset_is_kept_and_decides_the_month(client, alice):
    # given a phone set to a fixed offset of UTC−8, which the tz database calls Etc/GMT+8
    api = api_client_for(alice)

    # when it sets Alice's time zone
    changed = api.patch("/api/v1/me/", {"timezone": "Etc/GMT+8"}, format="json")

    # then it is kept, and 1 am UTC on 1 December is still November for her
    assert changed.status_code == 200 and changed.json()["timezone"] == "Etc/GMT+8"
    alice.refresh_from_db()
    with mock.patch("django.utils.timezone.now", return_value=EVENING_IN_CALIFORNIA):
        assert current_month(alice).month == 11
    # and the pages show it, the Settings page spelling the offset out the right way round
    client.force_login(alice)
    for path in ("/", "/budgets/"):
        assert client.get(path).status_code == 200, path
    settings_page = client.get("/settings/").content.decode()
    assert '<option value="Etc/GMT+8" selected>UTC−08:00 (Etc/GMT+8)</option>' in settings_page
    assert '<option value="Etc/GMT-14">UTC+14:00 (Etc/GMT-14)</option>' in settings_page
    assert client.post("/settings/", {"timezone": "Etc/GMT-14"}).status_code == 302

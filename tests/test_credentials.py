import logging
from datetime import date

import pytest
from cryptography.fernet import Fernet
from django.contrib.auth.models import Permission
from django.core.management import CommandError, call_command

from accounts.crypto import decrypt_credentials, encrypt_credentials
from accounts.models import Connection
from accounts.providers import sandbox
from accounts.services import account_connect

pytestmark = pytest.mark.usefixtures("object_store")
SECRET = "hunter2-very-secret"


@pytest.fixture(autouse=True)
def _bank_day(monkeypatch):
    monkeypatch.setattr(sandbox, "today", lambda: date(2026, 5, 20))


def test_credentials_round_trip_and_the_token_is_not_the_password(settings):
    token = encrypt_credentials(login="me", password=SECRET)

    assert SECRET not in token
    assert decrypt_credentials(token) == {"login": "me", "password": SECRET}


@pytest.mark.django_db
def test_keys_rotate_without_losing_a_credential(settings, alice):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.CREDENTIALS_KEYS = [old]
    connection = Connection.objects.create(
        user=alice, provider="sandbox", secret=encrypt_credentials(login="me", password=SECRET)
    )

    settings.CREDENTIALS_KEYS = [new, old]
    call_command("rotate_credentials", stdout=open("/dev/null", "w"))  # noqa: SIM115
    settings.CREDENTIALS_KEYS = [new]

    connection.refresh_from_db()
    assert decrypt_credentials(connection.secret)["password"] == SECRET


@pytest.mark.django_db
def test_rotating_without_the_old_key_says_which_credentials_it_cannot_read(settings, alice):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.CREDENTIALS_KEYS = [old]
    lost = Connection.objects.create(
        user=alice, provider="sandbox", secret=encrypt_credentials(login="me", password=SECRET))
    settings.CREDENTIALS_KEYS = [new]
    readable = Connection.objects.create(
        user=alice, provider="sandbox", secret=encrypt_credentials(login="you", password="x"))
    before = Connection.objects.get(pk=lost.pk).secret

    with pytest.raises(CommandError, match=rf"1 credentials could not be decrypted .*"
                                           rf"connections {lost.pk}\) .*put back the key"):
        call_command("rotate_credentials", stdout=open("/dev/null", "w"))  # noqa: SIM115

    assert Connection.objects.get(pk=lost.pk).secret == before  # left for a later run
    assert decrypt_credentials(Connection.objects.get(pk=readable.pk).secret)["login"] == "you"
    settings.CREDENTIALS_KEYS = ["not-a-key"]
    with pytest.raises(CommandError, match="CREDENTIALS_KEYS"):
        call_command("rotate_credentials", stdout=open("/dev/null", "w"))  # noqa: SIM115


@pytest.mark.django_db(transaction=True)
def test_no_log_line_holds_the_password(alice, caplog):
    caplog.set_level(logging.DEBUG)

    account_connect(user=alice, provider="sandbox", url="sandbox://demo", login="bad",
                    password=SECRET)
    account_connect(user=alice, provider="sandbox", url="sandbox://demo", login="demo",
                    password=SECRET)

    assert caplog.records
    assert SECRET not in caplog.text


@pytest.mark.django_db(transaction=True)
def test_support_staff_see_connections_in_the_admin_but_never_credentials(alice, charlie, client):
    connection, _ = account_connect(user=alice, provider="sandbox", url="sandbox://demo",
                                 login="demo", password=SECRET)
    charlie.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_connection", "change_connection",
                                                 "view_user", "view_refreshrun"])
    )
    client.force_login(charlie)

    listing = client.get("/admin/accounts/connection/?q=alice")
    page = client.get(f"/admin/accounts/connection/{connection.pk}/change/")

    assert listing.status_code == page.status_code == 200
    assert "alice@example.com" in listing.content.decode()
    html = page.content.decode()
    assert SECRET not in html
    assert connection.secret not in html
    assert 'name="secret"' not in html


@pytest.mark.django_db(transaction=True)
def test_support_can_retry_a_failing_connection_from_the_admin(alice, charlie, client):
    connection, _ = account_connect(user=alice, provider="sandbox", url="sandbox://demo",
                                 login="demo", password=SECRET)
    charlie.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_connection", "change_connection"])
    )
    client.force_login(charlie)

    from accounts.services import file_connection_for

    files = file_connection_for(user=alice)
    response = client.post("/admin/accounts/connection/",
                           {"action": "retry_refresh",
                            "_selected_action": [str(connection.pk), str(files.pk)]},
                           follow=True)

    assert connection.runs.filter(trigger="manual", status="succeeded").count() == 1
    assert not files.runs.exists()
    page = response.content.decode()
    assert "Refresh requested for 1 connection." in page
    assert "File imports are not refreshed: nothing requested for 1." in page


@pytest.mark.django_db
def test_bob_without_staff_rights_cannot_open_the_admin(bob, client):
    client.force_login(bob)

    response = client.get("/admin/accounts/connection/")

    assert response.status_code == 302

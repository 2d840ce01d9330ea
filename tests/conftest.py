import os
import time
import warnings
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from tests.factories import UserFactory


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """pytest-django's, plus: before the test database is dropped, wait (5 s at most) for
    sessions that other processes or threads of the suite opened on it to end; any left
    are named in a warning and terminated, so that the drop does not fail."""
    yield
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock():
        deadline = time.monotonic() + 5
        while True:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pid, application_name, state, left(query, 120) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    " AND backend_type = 'client backend'"
                )
                others = cursor.fetchall()
            if not others or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        if others:
            warnings.warn(f"database sessions left open by the suite, terminated: {others}",
                          stacklevel=1)
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s) AS pid",
                               [[row[0] for row in others]])


@pytest.fixture(autouse=True)
def _fast_settings(settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.ALLOW_PRIVATE_OUTBOUND = True
    if "FileBasedCache" in settings.CACHES["default"]["BACKEND"]:
        # Embedded runs share var/cache between xdist workers: each test process gets
        # its own memory instead (CI keeps the real Redis cache).
        settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    elif (worker := os.environ.get("PYTEST_XDIST_WORKER")) and (
            "RedisCache" in settings.CACHES["default"]["BACKEND"]):
        # xdist workers against one Redis (CI runs serially): each its own database, or
        # one worker's cache.clear() (a FLUSHDB) and counters reach into another's test.
        # Redis has databases 0–15: counted on from the cache's, wrapping round, never
        # the broker's (its queues must not be flushed).
        base, _, number = settings.CACHES["default"]["LOCATION"].rpartition("/")
        broker = settings.CELERY_BROKER_URL.rpartition("/")[2]
        if number.isdigit():
            free = [n for n in range(16) if str(n) != broker]
            mine = free[(free.index(int(number)) + 1 + int(worker[2:])) % len(free)]
            settings.CACHES = {"default": {**settings.CACHES["default"],
                                           "LOCATION": f"{base}/{mine}"}}
    from django.core.cache import cache

    cache.clear()  # throttles and cached reads start fresh in every test
    from mint.celery import app

    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager = False


@pytest.fixture
def object_store(settings, tmp_path):
    """A fresh folder object store per test, unless the suite runs against S3."""
    from transactions.objectstore import _store

    if not settings.S3_BUCKET:
        settings.OBJECT_STORE_DIR = tmp_path / "objects"
    _store.cache_clear()
    yield
    _store.cache_clear()


@pytest.fixture
def alice(db):
    return UserFactory(email="alice@example.com")


@pytest.fixture
def bob(db):
    return UserFactory(email="bob@example.com")


@pytest.fixture
def charlie(db):
    """Support staff: admin access, no superuser rights."""
    return UserFactory(email="charlie@example.com", is_staff=True)


@pytest.fixture
def food(db):
    """Mint's Food & Dining (the taxonomy's data migration must have run: see taxonomy)."""
    from categories.models import Category

    return Category.objects.get(user=None, parent=None, name="Food & Dining")


@pytest.fixture
def farmers_market(alice, food):
    """Alice's own sub-category of Food & Dining."""
    from categories.models import Category

    return Category.objects.create(user=alice, parent=food, name="Farmers Market")


@pytest.fixture
def alice_client(client, alice):
    """Django's test client, logged in as Alice (the dashboard's pages)."""
    client.force_login(alice)
    return client


def api_client_for(user) -> APIClient:
    from rest_framework_simplejwt.tokens import RefreshToken

    client = APIClient()
    if user is not None:
        token = RefreshToken.for_user(user).access_token
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.fixture
def api(alice):
    return api_client_for(alice)


@pytest.fixture
def taxonomy(db):
    """Mint's taxonomy as the data migration loads it. Transactional tests flush every
    table after they run, data migrations included, so tests that need it ask for it."""
    from importlib import import_module

    from django.apps import apps

    from categories.selectors import _taxonomy_index

    import_module("categories.migrations.0002_mint_taxonomy").load(apps, None)
    _taxonomy_index.cache_clear()
    yield
    _taxonomy_index.cache_clear()


# Browser tests: Debian's chromium driven by Playwright (downloading a browser is not
# possible here). Missing chromium skips them, except in CI, where it fails them.
CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def log_in(page, base_url: str, email: str, password: str) -> None:
    """The log-in page, filled in and sent, in a browser test."""
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


@pytest.fixture
def browser_page(monkeypatch):
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is not installed (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    # Playwright's sync API runs an event loop in this thread; Django refuses ORM calls
    # from a thread with a running loop unless told that this one is safe.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS
        )
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.set_default_timeout(10_000)
        try:
            yield page
            browser.close()
        finally:
            # The test's ORM calls ran while Playwright's loop was up, in a context of
            # their own, with a database session of their own: close it (transactional
            # tests only, as live_server needs), or it outlives the suite.
            from django.db import connections

            connections.close_all()

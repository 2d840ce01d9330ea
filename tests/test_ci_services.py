"""In CI the suite must run against the real services, never the embedded stand-ins."""

import os

import pytest
from django.conf import settings
from django.db import connection

pytestmark = pytest.mark.skipif(os.environ.get("CI") != "true", reason="CI only")


@pytest.mark.django_db
def test_ci_runs_on_postgresql():
    assert connection.vendor == "postgresql"


def test_ci_runs_on_redis():
    from mint.celery import app

    assert settings.REDIS_URL
    assert app.conf.broker_url.startswith("redis://")
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)


def test_ci_runs_on_an_s3_compatible_server():
    from transactions.objectstore import S3Store, get_store

    store = get_store()
    assert isinstance(store, S3Store)
    assert store.check().startswith("s3 bucket")

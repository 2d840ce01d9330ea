"""Settings: strict in production, embedded only in development."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROD = {
    "DEBUG": "false",
    "SECRET_KEY": "x" * 50,
    "ALLOWED_HOSTS": "mint.example.com",
    "DATABASE_URL": "postgres://mint@127.0.0.1:5432/mint",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "S3_BUCKET": "mint-raw",
    "CREDENTIALS_KEYS": "ZW1iZWRkZWQtZGV2LW9ubHkta2V5LW5vdC1zZWNyZXQ=",
    "EMAIL_URL": "smtp://127.0.0.1:25",
}
PROBE = (
    "import django; django.setup(); from django.conf import settings as s; "
    "print(s.DATABASES['default']['ENGINE'], s.CELERY_BROKER_URL.split(':')[0], "
    "s.S3_BUCKET or 'folder', s.CELERY_TASK_ALWAYS_EAGER)"
)


def start(env: dict) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in PROD and k != "S3_ENDPOINT_URL"}
    clean.update(env, DJANGO_SETTINGS_MODULE="mint.settings", MINT_VAR_DIR="/tmp/mint-settings-test")
    return subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=clean,
                          capture_output=True, text=True, timeout=60)


def test_production_settings_start_with_every_variable():
    result = start(PROD)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.db.backends.postgresql", "redis", "mint-raw", "False"]


@pytest.mark.parametrize(
    "missing", ["SECRET_KEY", "DATABASE_URL", "REDIS_URL", "S3_BUCKET", "CREDENTIALS_KEYS",
                "EMAIL_URL", "ALLOWED_HOSTS"]
)
def test_production_refuses_to_start_without(missing):
    env = {k: v for k, v in PROD.items() if k != missing}

    result = start(env)

    assert result.returncode != 0
    assert f"{missing} is not set" in result.stderr


@pytest.mark.parametrize(("name", "value", "says"), [
    ("SECRET_KEY", "change-me", "SECRET_KEY is a placeholder"),  # .env.example's, as copied
    ("SECRET_KEY", "short-secret", "shorter than 32 characters"),
    ("CREDENTIALS_KEYS", "notakey", "not a Fernet key"),
    ("REDIS_URL", "127.0.0.1:6379", "not a Redis URL"),
    ("DATABASE_URL", "nonsense", "not a PostgreSQL URL"),
])
def test_production_refuses_to_start_with_a_malformed(name, value, says):
    """At start-up, naming the variable: not a 500 at the first link, nor a bare
    ValueError from deep inside a library."""
    result = start({**PROD, name: value})

    assert result.returncode != 0
    assert says in result.stderr and name in result.stderr


def test_debug_falls_back_to_the_embedded_parts():
    result = start({"DEBUG": "true"})

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.db.backends.sqlite3", "filesystem", "folder", "False"]


WRITER = """
import django, sys, time; django.setup()
from django.db import connection, transaction
from django.core.management import call_command
call_command("migrate", verbosity=0)
with transaction.atomic():
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size=1")  # spills to the file early, as a big import
        cursor.execute("CREATE TABLE IF NOT EXISTS filler (x TEXT)")
        cursor.executemany("INSERT INTO filler VALUES (%s)", [("x" * 500,)] * 20000)
    print("writing", flush=True)
    time.sleep(4)
"""
READER = """
import django, time; django.setup()
from accounts.models import User
started = time.monotonic()
User.objects.count()
print(round(time.monotonic() - started, 2))
"""


def test_embedded_database_reads_go_on_while_the_worker_writes(tmp_path):
    """The worker writes a long import in one transaction; the web server's reads meanwhile
    must not wait for it (and then fail with "database is locked")."""
    env = {k: v for k, v in os.environ.items() if k not in PROD}
    env.update(DEBUG="true", DJANGO_SETTINGS_MODULE="mint.settings", MINT_VAR_DIR=str(tmp_path))
    writer = subprocess.Popen([sys.executable, "-c", WRITER], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "writing"

        reader = subprocess.run([sys.executable, "-c", READER], cwd=ROOT, env=env,
                                capture_output=True, text=True, timeout=60)

        assert reader.returncode == 0, reader.stderr
        assert float(reader.stdout.split()[-1]) < 2  # not held until the writer's commit
        assert writer.poll() is None  # the write was still open
    finally:
        writer.wait(timeout=60)


def test_eager_tasks_are_refused_in_production():
    result = start({**PROD, "CELERY_TASK_ALWAYS_EAGER": "true"})

    assert result.returncode != 0
    assert "CELERY_TASK_ALWAYS_EAGER" in result.stderr


def test_a_malformed_boolean_is_an_error_not_a_guess():
    result = start({**PROD, "DEBUG": "maybe"})

    assert result.returncode != 0


def test_celery_is_configured_for_at_least_once_delivery(settings):
    from mint.celery import app

    assert app.conf.task_serializer == "json"
    assert app.conf.accept_content == ["json"]
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1
    if settings.REDIS_URL:
        visibility = app.conf.broker_transport_options["visibility_timeout"]
        assert visibility > settings.CELERY_MAX_COUNTDOWN
    for entry in app.conf.beat_schedule.values():
        period = entry["schedule"]
        seconds = period if isinstance(period, int | float) else 24 * 3600
        assert entry["options"]["expires"] < seconds


def test_each_worker_process_loads_the_dictionary_and_freezes_it_before_its_first_task():
    import gc

    from celery.signals import worker_process_init

    import categories.engine as engine
    from mint.celery import _prepare_worker_process

    assert _prepare_worker_process in [ref() for _, ref in worker_process_init.receivers]
    loaded, engine._default = engine._default, None
    try:
        worker_process_init.send(sender=None)
        assert engine._default is not None  # the dictionary is loaded
        assert gc.get_freeze_count() > 0  # and out of the collector's walks
    finally:
        gc.unfreeze()
        engine._default = loaded or engine._default

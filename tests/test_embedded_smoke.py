"""`make run`'s embedded mode end to end: SQLite, folder object store, kombu's
filesystem broker and a real `celery worker` process — nothing to install."""

import os
import subprocess
import sys
import time
from pathlib import Path

from tests.processes import BIN, Process

ROOT = Path(__file__).resolve().parent.parent
SERVICE_VARS = ("DATABASE_URL", "REDIS_URL", "S3_BUCKET", "S3_ENDPOINT_URL", "SECRET_KEY",
                "CREDENTIALS_KEYS", "EMAIL_URL", "CELERY_TASK_ALWAYS_EAGER")


def embedded_env(var_dir: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARS}
    env.update(DEBUG="true", MINT_VAR_DIR=str(var_dir), DJANGO_SETTINGS_MODULE="mint.settings")
    return env


def manage(env, *args, timeout=120) -> str:
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


COUNT = (
    "from transactions.models import Transaction, RefreshRun; "
    "print(Transaction.objects.count(), ','.join(RefreshRun.objects.values_list('status', flat=True)))"
)
HEALTH = (
    "from django.test import Client; r = Client().get('/healthz'); "
    "print(r.status_code, r.json()['checks']['broker']['detail'])"
)


def test_embedded_mode_links_the_demo_bank_through_a_real_worker(tmp_path):
    env = embedded_env(tmp_path / "var")
    manage(env, "migrate", "--noinput")
    manage(env, "load_demo")
    assert manage(env, "shell", "-v", "0", "-c", COUNT).split() == ["0", "queued"]

    worker = Process([str(BIN / "celery"), "-A", "mint", "worker", "--pool=solo",
                      "-Q", "extraction,categories,budgets,notifications", "--loglevel=INFO"],
                     env=env, log=tmp_path / "worker.log").start()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            count, status = manage(env, "shell", "-v", "0", "-c", COUNT).split()
            if status in ("succeeded", "failed"):
                break
            time.sleep(0.5)
    finally:
        worker.stop()

    assert status == "succeeded", (tmp_path / "worker.log").read_text()[-3000:]
    assert int(count) > 600  # a year of the demo bank
    assert (tmp_path / "var" / "mint.sqlite3").exists()
    assert any((tmp_path / "var" / "objects" / "raw").rglob("*.json"))
    status_code, broker = manage(env, "shell", "-v", "0", "-c", HEALTH).split(maxsplit=1)
    assert status_code == "200" and "filesystem" in broker

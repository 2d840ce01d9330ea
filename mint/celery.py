"""The Celery app.

Delivery is at-least-once and every task is idempotent:

- JSON messages only (no pickle on the broker).
- ``acks_late`` + ``task_reject_on_worker_lost``: a message is acknowledged after the
  task ends, so a worker killed mid-task leaves it on the broker to run again.
- prefetch multiplier 1: a worker holds one unacknowledged message at a time.
- Redis ``visibility_timeout`` (1 h) is longer than any countdown we use (≤ 10 min),
  otherwise a delayed message would be redelivered while it waits.
- Tasks are enqueued with ``transaction.on_commit`` so that a worker never sees an id
  whose row is not committed yet.
- One queue per kind of work: ``extraction``, ``budgets``, ``notifications``.
- Run exactly one ``celery beat``.
"""

import os

from celery import Celery
from celery.schedules import crontab
from celery.signals import worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mint.settings")

app = Celery("mint")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect
def _prepare_worker_process(**kwargs) -> None:
    """Each pool process loads the seller dictionary before its first task and moves it
    out of the garbage collector's way (``categories.engine.prepare_worker_process``)."""
    from categories.engine import prepare_worker_process

    prepare_worker_process()


app.conf.beat_schedule = {
    "nightly-refresh": {
        "task": "transactions.tasks.nightly_refresh",
        "schedule": crontab(hour=2, minute=15),
        # Expire well before the next run so that a beat that was down does not pile up.
        "options": {"expires": 6 * 3600, "queue": "extraction"},
    },
    "sweep-deleted-users-dumps": {
        "task": "transactions.tasks.raw_dumps_sweep_task",
        "schedule": crontab(hour=3, minute=45),
        "options": {"expires": 6 * 3600, "queue": "extraction"},
    },
    "requeue-stale-runs": {
        "task": "transactions.tasks.requeue_stale_runs",
        "schedule": 15 * 60,
        "options": {"expires": 10 * 60, "queue": "extraction"},
    },
    "requeue-stale-imports": {
        "task": "transactions.tasks.requeue_stale_imports",
        "schedule": 15 * 60,
        "options": {"expires": 10 * 60, "queue": "extraction"},
    },
    "requeue-stale-deliveries": {
        "task": "notifications.tasks.requeue_stale_deliveries",
        "schedule": 15 * 60,
        "options": {"expires": 10 * 60, "queue": "notifications"},
    },
}

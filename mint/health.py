from django.db import connection
from django.http import JsonResponse
from django.views.decorators.http import require_GET


def _database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return connection.vendor


def _broker() -> str:
    from mint.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
        return conn.transport_cls if isinstance(conn.transport_cls, str) else conn.as_uri()


def _object_store() -> str:
    from transactions.objectstore import get_store

    return get_store().check()


def _cache() -> str:
    from django.conf import settings
    from django.core.cache import cache

    cache.get("mint:healthz")  # a read: raises when the cache cannot be reached
    return settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]


@require_GET
def healthz(request):
    """200 when the database, the broker and the object store answer, 503 otherwise,
    with the state of each (no secrets: URIs are shown without passwords). The cache is
    reported too, but the site runs without it (slower summaries, log-in not limited):
    its outage alone is no 503."""
    checks = {"database": _database, "broker": _broker, "object_store": _object_store,
              "cache": _cache}
    report, healthy = {}, True
    for name, check in checks.items():
        try:
            report[name] = {"ok": True, "detail": str(check())}
        except Exception as exc:  # a health check reports every failure
            healthy = healthy and name == "cache"
            report[name] = {"ok": False, "detail": f"{type(exc).__name__}: {exc}"[:300]}
    return JsonResponse({"ok": healthy, "checks": report}, status=200 if healthy else 503)

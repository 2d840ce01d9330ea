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


@require_GET
def healthz(request):
    """200 when the database, the broker and the object store answer, 503 otherwise,
    with the state of each (no secrets: URIs are shown without passwords)."""
    checks = {"database": _database, "broker": _broker, "object_store": _object_store}
    report, healthy = {}, True
    for name, check in checks.items():
        try:
            report[name] = {"ok": True, "detail": str(check())}
        except Exception as exc:  # a health check reports every failure
            healthy = False
            report[name] = {"ok": False, "detail": f"{type(exc).__name__}: {exc}"[:300]}
    return JsonResponse({"ok": healthy, "checks": report}, status=200 if healthy else 503)

"""API plumbing shared by every app: one error shape, cursor pagination."""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions, pagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


class CursorPagination(pagination.CursorPagination):
    """Keyset pagination, never offset: ``?cursor=…&page_size=…``."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    ordering = "-id"


class NewestFirstPagination(CursorPagination):
    """For resources with random (UUID) ids: keyset on the creation time."""

    ordering = ("-created_at",)


def _code(exc: Exception) -> str:
    if isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        if isinstance(codes, str):
            return codes
    if isinstance(exc, exceptions.ValidationError):
        return "invalid"
    return getattr(exc, "default_code", "error")


def exception_handler(exc, context):
    """Every error is ``{"error": {"code", "message", "details"}}``."""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    if isinstance(exc, exceptions.ValidationError):
        message = _first_message(data) or "Invalid input."
        details = data
    else:
        message = data.get("detail", str(exc)) if isinstance(data, dict) else str(data)
        details = {k: v for k, v in data.items() if k != "detail"} if isinstance(data, dict) else {}
    response.data = {"error": {"code": _code(exc), "message": str(message), "details": details}}
    return response


def _first_message(data) -> str | None:
    if isinstance(data, list):
        for item in data:
            found = _first_message(item)
            if found:
                return found
        return None
    if isinstance(data, dict):
        for key, value in data.items():
            found = _first_message(value)
            if found:
                return found if key in ("non_field_errors", "detail") else f"{key}: {found}"
        return None
    return str(data)


def error_response(status: int, code: str, message: str, details=None) -> Response:
    return Response(
        {"error": {"code": code, "message": message, "details": details or {}}}, status=status
    )


class KeysetPagination(pagination.BasePagination):
    """Newest-first keyset pagination on a (date, id) pair: ``WHERE (date, id) < (d, i)``
    served by the ``(user, -date, -id)`` index, so page 10,000 costs what page 1 does.
    ``?cursor=`` is opaque; ``page_size`` ≤ 500. Only forward (``next``) links."""

    page_size = 50
    max_page_size = 500
    date_field = "posted_on"

    def paginate_queryset(self, queryset, request, view=None):
        import base64
        from datetime import date

        from django.db.models import Q

        self.request = request
        try:
            size = int(request.query_params.get("page_size", self.page_size))
        except ValueError:
            raise exceptions.ValidationError({"page_size": "must be a number"}) from None
        self.size = max(1, min(size, self.max_page_size))
        cursor = request.query_params.get("cursor")
        if cursor:
            try:
                day, last_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
                day, last_id = date.fromisoformat(day), int(last_id)
            except (ValueError, UnicodeDecodeError):
                raise exceptions.NotFound("invalid cursor") from None
            queryset = queryset.filter(
                Q(**{f"{self.date_field}__lt": day})
                | Q(**{self.date_field: day, "id__lt": last_id})
            )
        rows = list(queryset.order_by(f"-{self.date_field}", "-id")[: self.size + 1])
        self.has_next = len(rows) > self.size
        self.page = rows[: self.size]
        return self.page

    def _next_link(self):
        import base64

        from rest_framework.utils.urls import replace_query_param

        if not self.has_next:
            return None
        last = self.page[-1]
        token = f"{getattr(last, self.date_field).isoformat()}|{last.id}"
        cursor = base64.urlsafe_b64encode(token.encode()).decode()
        return replace_query_param(self.request.build_absolute_uri(), "cursor", cursor)

    def get_paginated_response(self, data):
        return Response({"next": self._next_link(), "previous": None, "results": data})

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["results"],
            "properties": {
                "next": {"type": "string", "nullable": True, "format": "uri"},
                "previous": {"type": "string", "nullable": True, "format": "uri"},
                "results": schema,
            },
        }

"""API plumbing shared by every app: one error shape, cursor pagination."""

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, pagination
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
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
    elif isinstance(exc, DjangoValidationError):  # raised by a service: a 400 like any other
        exc = exceptions.ValidationError(detail=as_serializer_error(exc))
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

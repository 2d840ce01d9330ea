"""API plumbing shared by every app: one error shape, cursor pagination."""

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpResponsePermanentRedirect, JsonResponse
from django.urls import Resolver404, resolve
from django.views.decorators.csrf import csrf_exempt
from django.views.defaults import server_error as html_server_error
from drf_spectacular.utils import OpenApiParameter
from rest_framework import exceptions, pagination, parsers, serializers
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler as drf_exception_handler

PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
INVALID_CURSOR = "not a cursor this API gave: use the next link of the previous page"

# ``lookup_value_regex`` of a viewset with integer ids: ASCII digits only. DRF's default,
# ``[^/.]+``, let ``/rules/١٥/`` (Arabic-Indic digits) through to the lookup, where
# ``int()`` read it as rule 15; now it is a 404 like any id that cannot be one.
ID_PATTERN = "[0-9]+"


def id_parameter(description: str) -> OpenApiParameter:
    """The schema's ``{id}`` of a route with ``ID_PATTERN``, an integer as before: from the
    pattern alone drf-spectacular publishes a string of digits, and a generated client
    would change the type of its id argument."""
    return OpenApiParameter("id", {"type": "integer", "minimum": 1}, OpenApiParameter.PATH,
                            description=description)


def page_size_from(request, *, default: int = PAGE_SIZE, maximum: int = MAX_PAGE_SIZE) -> int:
    """``?page_size=``: absent means ``default``; a whole number ≥ 1, larger ones are cut to
    ``maximum``; anything else (0, -5, ``abc``) is a 400 rather than a silent default."""
    text = request.query_params.get("page_size")
    if text is None:
        return default
    digits = text.lstrip("0") if text.isascii() and text.isdigit() else ""
    if not digits:
        raise exceptions.ValidationError({"page_size": [
            f"must be a whole number of at least 1 (at most {maximum} rows are returned)"
        ]})
    # Read only as far as it matters: int() refuses a text of 4,300 digits or more.
    return maximum if len(digits) > len(str(maximum)) else min(int(digits), maximum)


def page_size_parameter(*, default: int = PAGE_SIZE, maximum: int = MAX_PAGE_SIZE) -> dict:
    """The schema's ``page_size`` query parameter, as ``page_size_from`` reads it."""
    return {
        "name": "page_size", "required": False, "in": "query",
        "description": f"rows per page: {default} if absent, at most {maximum} (larger values "
                       "are cut); 0, a negative number or text is a 400",
        "schema": {"type": "integer", "minimum": 1, "default": default},
    }


class CursorPagination(pagination.CursorPagination):
    """Keyset pagination, never offset: ``?cursor=…&page_size=…``."""

    page_size = PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
    ordering = "-id"

    def get_page_size(self, request):
        return page_size_from(request, default=self.page_size, maximum=self.max_page_size)

    def decode_cursor(self, request):
        # A cursor that is not one of ours is a bad request (400), not a missing page.
        try:
            return super().decode_cursor(request)
        except exceptions.NotFound:
            raise exceptions.ValidationError({"cursor": [INVALID_CURSOR]}) from None

    def paginate_queryset(self, queryset, request, view=None):
        # A cursor that decodes but holds a position of the wrong type ("p=x" where the
        # ordering is by id) fails only when the query runs.
        try:
            return super().paginate_queryset(queryset, request, view)
        except (ValueError, TypeError, DjangoValidationError):
            if request.query_params.get(self.cursor_query_param):
                raise exceptions.ValidationError({"cursor": [INVALID_CURSOR]}) from None
            raise

    def get_schema_operation_parameters(self, view):
        cursor = super().get_schema_operation_parameters(view)[0]
        return [cursor, page_size_parameter(default=self.page_size, maximum=self.max_page_size)]


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


def _service_code(exc: DjangoValidationError) -> str | None:
    """The code a service gave its error (``ValidationError(…, code="duplicate_rule")``),
    when every message in it carries that one: a client tells the error apart by it
    without reading the message. None when it gave none, as most do (``invalid`` then)."""
    errors = ([error for field in exc.error_dict.values() for error in field]
              if hasattr(exc, "error_dict") else exc.error_list)
    codes = {error.code for error in errors}
    return codes.pop() if len(codes) == 1 else None


def exception_handler(exc, context):
    """Every error is ``{"error": {"code", "message", "details"}}``."""
    service_code = None
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoValidationError):  # raised by a service: a 400 like any other
        service_code = _service_code(exc)
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
    code = service_code or _code(exc)
    if not isinstance(exc, exceptions.ValidationError) and isinstance(details.get("code"), str):
        # simplejwt puts the precise reason there ("password_changed", "token_not_valid"):
        # the one place a client looks, whichever token was refused.
        code = str(details["code"])
    response.data = error_body(code, str(message), details)
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


def error_body(code: str, message: str, details=None) -> dict:
    """The API's one error shape."""
    return {"error": {"code": code, "message": message, "details": details or {}}}


def error_response(status: int, code: str, message: str, details=None) -> Response:
    return Response(error_body(code, message, details), status=status)


NOT_FOUND_URL_NAME = "not-found"


@csrf_exempt  # any method: a POST to a wrong path is a 404, not a CSRF 403
def not_found(request, *args, **kwargs):
    """The last pattern under ``/api/v1/``: a path no endpoint serves, or an id that
    cannot be one (``/accounts/nope/``), is a 404 in the API's error shape, never Django's
    HTML page. ``GET /api/v1/accounts`` still redirects to ``…/accounts/`` as
    ``APPEND_SLASH`` did before this pattern made every path resolve."""
    path = request.path_info
    urlconf = getattr(request, "urlconf", None)
    if settings.APPEND_SLASH and not path.endswith("/") and _is_endpoint(path + "/", urlconf):
        if request.method in ("GET", "HEAD"):
            return HttpResponsePermanentRedirect(request.get_full_path(force_append_slash=True))
        message = f"Not found. Did you mean {request.path}/ (with the slash)?"
    else:
        message = str(exceptions.NotFound.default_detail)
    return JsonResponse(error_body(exceptions.NotFound.default_code, message), status=404)


def server_error(request, *args, **kwargs):
    """``handler500``: a crash under ``/api/`` answers in the API's error shape (a mobile
    client reads JSON, not Django's HTML page), elsewhere Django's page. Details stay in
    the log."""
    if request.path.startswith("/api/"):
        return JsonResponse(error_body("server_error", "Something went wrong on our side; "
                                                       "it has been logged."), status=500)
    return html_server_error(request, *args, **kwargs)


def _is_endpoint(path: str, urlconf) -> bool:
    try:
        return resolve(path, urlconf).url_name != NOT_FOUND_URL_NAME
    except Resolver404:
        return False


class JSONParser(parsers.JSONParser):
    """DRF's, and a body nested too deeply for Python's JSON reader (18 kB of ``{"a":``
    is enough) is a 400 like any malformed body, not a RecursionError and a 500."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError("JSON parse error - nested too deeply") from None


class JSONField(serializers.JSONField):
    """DRF's, with the same guard for JSON sent as a form field (a multipart upload's
    ``options``)."""

    def to_internal_value(self, data):
        try:
            return super().to_internal_value(data)
        except RecursionError:
            raise serializers.ValidationError("nested too deeply") from None

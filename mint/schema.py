"""drf-spectacular extensions: what the OpenAPI schema cannot infer from our code.

Imported once at start-up (``AccountsConfig.ready``); an extension registers itself when
its class is defined. ``tests/test_api.py`` builds the schema with warnings as errors, so
a view or field that the generator cannot type fails the suite instead of turning into a
silent ``string`` in the published schema.
"""

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from drf_spectacular.extensions import OpenApiViewExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework_simplejwt.views import TokenViewBase


class ActivityJWTScheme(SimpleJWTScheme):
    """Our bearer-token class is SimpleJWT's plus an activity stamp: the same
    ``Authorization: Bearer <access>`` scheme (``jwtAuth``), so Swagger's Authorize
    sends the token."""

    target_class = "accounts.api.auth.ActivityJWTAuthentication"


# The two below describe views of the categories app from outside it, for the schema
# only; they belong beside that code (a ``queryset = ….objects.none()`` on each view) and
# can move there when it is next edited.


class CategoryViewSetSchema(OpenApiViewExtension):
    target_class = "categories.api.views.CategoryViewSet"

    def view_replacement(self):
        from categories.models import Category

        class Fixed(self.target_class):
            queryset = Category.objects.none()  # the model, for the schema; list builds a tree

        return Fixed


class RuleViewSetSchema(OpenApiViewExtension):
    target_class = "categories.api.views.RuleViewSet"

    def view_replacement(self):
        from categories.models import Rule

        class Fixed(self.target_class):
            queryset = Rule.objects.none()  # the model, for the schema; get_queryset scopes

        return Fixed



# --- Error answers ----------------------------------------------------------------------


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable, for programs: `invalid`, `not_found`, "
                                           "`not_authenticated`, `throttled`, …")
    message = serializers.CharField(help_text="For people: what went wrong and, for bad "
                                              "input, which field.")
    details = serializers.JSONField(help_text="Bad input: each field's messages (an "
                                              "object), or a list; otherwise an object, "
                                              "often empty.")


class ErrorSerializer(serializers.Serializer):
    """Every error answer of the API (``mint.api.exception_handler``)."""

    error = ErrorDetailSerializer()


_ERRORS = {
    400: "Bad input: a field, a query parameter or an uploaded file; `message` says which.",
    401: "No valid access token (`Authorization: Bearer <access>`); for the token "
         "endpoints, a wrong email or password, or a refresh token no longer valid.",
    404: "No such object among yours (another user's objects are not found either).",
    415: "A body in a media type this operation does not read (send JSON; a file as "
         "multipart/form-data).",
    429: "Too many attempts: wait the seconds in the `Retry-After` header.",
}


class MintAutoSchema(AutoSchema):
    """drf-spectacular's, plus the error answers each operation can give, in the one
    error shape, so that a client generated from the schema can read them: 400 for bad
    input (every operation reads a body or query parameters, if only to refuse unknown
    ones), 401 where a token is required, 404 where the path names an object, 415 where
    a body is read, 429 where attempts are limited."""

    def _get_request_for_media_type(self, serializer, direction="request"):
        # drf-spectacular documents every PATCH body as partial (no field required). A
        # view whose PATCH reads a whole body (``patch_takes_whole_body``: a rename's
        # name, the user's time zone) has it documented as it is read, fields required.
        if self.method == "PATCH" and getattr(self.view, "patch_takes_whole_body", False):
            self.method = "POST"
            try:
                return super()._get_request_for_media_type(serializer, direction)
            finally:
                self.method = "PATCH"
        return super()._get_request_for_media_type(serializer, direction)

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        codes = [400]
        if any(requirement for requirement in self.get_auth()) or isinstance(
            self.view, TokenViewBase  # a wrong password or a refresh token no longer valid
        ):
            codes.append(401)
        if "{" in self.path:
            codes.append(404)
        # A view's ``attempt_limited``: methods whose wrong passwords count as at log-in
        # (and which read a JSON body, a DELETE's too).
        limited = self.method in getattr(self.view, "attempt_limited", ())
        if limited or (self.method in ("POST", "PUT", "PATCH")
                       and self._get_request_body() is not None):
            codes.append(415)
        if getattr(self.view, "throttle_classes", None) or limited:
            codes.append(429)
        for code in codes:
            responses.setdefault(str(code), self._get_response_for_code(
                OpenApiResponse(ErrorSerializer, description=_ERRORS[code]), str(code),
                direction=direction))
        return responses

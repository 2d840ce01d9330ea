"""drf-spectacular extensions: what the OpenAPI schema cannot infer from our code.

Imported once at start-up (``AccountsConfig.ready``); an extension registers itself when
its class is defined. ``tests/test_api.py`` builds the schema with warnings as errors, so
a view or field that the generator cannot type fails the suite instead of turning into a
silent ``string`` in the published schema.
"""

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from drf_spectacular.extensions import OpenApiSerializerFieldExtension, OpenApiViewExtension
from drf_spectacular.plumbing import build_basic_type
from drf_spectacular.types import OpenApiTypes


class ActivityJWTScheme(SimpleJWTScheme):
    """Our bearer-token class is SimpleJWT's plus an activity stamp: the same
    ``Authorization: Bearer <access>`` scheme (``jwtAuth``), so Swagger's Authorize
    sends the token."""

    target_class = "accounts.api.auth.ActivityJWTAuthentication"


# The two below describe views and a field of the categories app from outside it, for the
# schema only; they belong beside that code (a ``queryset = ….objects.none()`` on each view,
# a typed field) and can move there when it is next edited.


class UserCategoryFieldSchema(OpenApiSerializerFieldExtension):
    """``UserCategoryField`` picks its queryset per request, so the generator cannot see
    that it holds a category's primary key (an integer)."""

    target_class = "categories.api.serializers.UserCategoryField"

    def map_serializer_field(self, auto_schema, direction):
        return build_basic_type(OpenApiTypes.INT)


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

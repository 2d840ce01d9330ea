from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from mint.api import ID_PATTERN, CursorPagination, error_response, id_parameter
from mint.filters import BOOLEAN_ERROR, parse_bool, query_bool
from mint.schema import ErrorSerializer

from ..selectors import categories_for, category_tree, rules_for
from ..services import (
    category_create,
    category_delete,
    category_rename,
    rule_create,
    rule_delete,
    rule_update,
)
from ..services.manual import DuplicateRule
from .serializers import (
    CategoryCreateSerializer,
    CategoryNodeSerializer,
    CategoryRenameSerializer,
    RuleSerializer,
)

CATEGORY_ID = id_parameter("A unique integer value identifying this category.")
SHARED = OpenApiResponse(ErrorSerializer, description="`shared_category`: one of Mint's "
                         "categories, which nobody can rename or delete.")


class CategoryViewSet(viewsets.GenericViewSet):
    """The taxonomy as a tree (Mint's categories and the user's own sub-categories). A
    user's own sub-categories can be renamed (``PATCH {"name"}``) and deleted (their
    transactions move to the parent, their rules go); Mint's cannot (403
    ``shared_category``)."""

    serializer_class = CategoryNodeSerializer
    pagination_class = None
    lookup_value_regex = ID_PATTERN
    patch_takes_whole_body = True  # {"name"} required (mint.schema.MintAutoSchema)

    def get_queryset(self):
        return categories_for(user=self.request.user)

    @extend_schema(responses=CategoryNodeSerializer(many=True))
    def list(self, request):
        return Response(category_tree(user=request.user))

    @extend_schema(request=CategoryCreateSerializer, responses={201: CategoryNodeSerializer})
    def create(self, request):
        data = CategoryCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        category = category_create(user=request.user, **data.validated_data)
        return Response(_own_node(category), status=status.HTTP_201_CREATED)

    @extend_schema(parameters=[CATEGORY_ID], request=CategoryRenameSerializer,
                   responses={200: CategoryNodeSerializer, 403: SHARED})
    def partial_update(self, request, pk=None):
        category = self.get_object()
        if category.user_id is None:
            return _shared_refused("renamed")
        data = CategoryRenameSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(_own_node(category_rename(category=category, **data.validated_data)))

    @extend_schema(parameters=[CATEGORY_ID], responses={204: None, 403: SHARED})
    def destroy(self, request, pk=None):
        category = self.get_object()
        if category.user_id is None:
            return _shared_refused("deleted")
        category_delete(category=category)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _own_node(category) -> dict:
    return {"id": category.id, "name": category.name, "own": True,
            "is_income": category.is_income, "is_transfer": category.is_transfer,
            "children": []}


def _shared_refused(done: str):
    return error_response(403, "shared_category",
                          f"Mint's categories cannot be {done}; only your own sub-categories can.")


RULE_ID = id_parameter("A unique integer value identifying this rule.")

DUPLICATE = OpenApiResponse(
    ErrorSerializer,
    description="Bad input: a field or the rule as a whole; `message` says which. "
                "`duplicate_rule`: a rule with the same conditions exists (change or delete "
                "that one): `details.rule` is its id, beside `details.non_field_errors`.",
    examples=[OpenApiExample("duplicate_rule", status_codes=["400"], value={"error": {
        "code": "duplicate_rule",
        "message": "A rule for Starbucks already files them under Food & Dining › "
                   "Coffee Shops: change or delete that one.",
        "details": {"non_field_errors": ["A rule for Starbucks already files them under "
                                         "Food & Dining › Coffee Shops: change or delete "
                                         "that one."], "rule": 12}}})],
)


def _duplicate(exc: DuplicateRule):
    """The one error shape, as any service refusal (``mint.api.exception_handler``), and
    the existing rule's id for the app to open: ``details.rule``, a number beside the
    messages as an import's ``details.line``."""
    message = exc.messages[0]
    return error_response(400, "duplicate_rule", message,
                          {"non_field_errors": [message], "rule": exc.rule.id})


_CLEARED = {"seller": "", "description_contains": "", "amount_min": None, "amount_max": None,
            "account": None, "rename_to": ""}


@extend_schema_view(
    create=extend_schema(responses={201: RuleSerializer, 400: DUPLICATE}),
    **{action: extend_schema(parameters=[RULE_ID]) for action in ("retrieve", "destroy")},
    **{action: extend_schema(parameters=[RULE_ID], responses={200: RuleSerializer,
                                                              400: DUPLICATE})
       for action in ("update", "partial_update")},
)
class RuleViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Rules: "always categorise (and rename) transactions like this". Creating, changing
    or deleting one with ``apply_to_past`` recategorises past non-manual transactions in
    the background (``?apply_to_past=true`` on DELETE)."""

    serializer_class = RuleSerializer
    pagination_class = CursorPagination
    lookup_value_regex = ID_PATTERN

    def get_queryset(self):
        # category_name shows "Top › Sub": the parent comes in the same query, or the
        # list would cost one query per rule.
        return rules_for(user=self.request.user).select_related("category__parent")

    def create(self, request):
        data = self.get_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            rule = rule_create(user=request.user, **data.validated_data)
        except DuplicateRule as exc:
            return _duplicate(exc)
        return Response(self.get_serializer(rule).data, status=status.HTTP_201_CREATED)

    def update(self, request, pk=None, partial=False):
        rule = self.get_object()
        data = self.get_serializer(rule, data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        if not partial:
            # A PUT replaces the rule: a condition or a name it leaves out is cleared, not
            # kept from before (that is PATCH).
            values = {**_CLEARED, **values}
        try:
            rule = rule_update(rule=rule, **values)
        except DuplicateRule as exc:
            return _duplicate(exc)
        return Response(self.get_serializer(rule).data)

    def partial_update(self, request, pk=None):
        return self.update(request, pk, partial=True)

    @extend_schema(parameters=[OpenApiParameter(
        "apply_to_past", bool, description="put the transactions it filed back as they would "
        "be without it (also accepted in the body as {\"apply_to_past\": true}); default: "
        "they keep their category")])
    def destroy(self, request, pk=None):
        # ?apply_to_past=true, or {"apply_to_past": true} in the body; "maybe" is a 400.
        apply = query_bool(request, "apply_to_past")
        body = request.data.get("apply_to_past") if hasattr(request.data, "get") else None
        if body is not None:
            if not isinstance(body, bool):
                try:
                    body = parse_bool(str(body))
                except ValueError:
                    raise ValidationError({"apply_to_past": [BOOLEAN_ERROR]}) from None
            apply = apply or body
        rule_delete(rule=self.get_object(), apply_to_past=apply)
        return Response(status=status.HTTP_204_NO_CONTENT)

from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from categories.models import Category
from categories.selectors import categories_for
from mint.api import ID_PATTERN, error_response

from ..cache import summary_cached
from ..models import BudgetProfile
from ..selectors import (
    budget_profile_for,
    budgets_for,
    current_month,
    parse_month,
    summary_cache_name,
    summary_for,
    trends_cache_name,
    trends_for,
)
from ..services import budget_profile_update, budget_reset, budget_set
from .serializers import (
    BudgetAmountSerializer,
    BudgetLineSerializer,
    BudgetProfileSerializer,
    SummarySerializer,
    TrendsSerializer,
)

MONTH = OpenApiParameter(
    "month", {"type": "string", "pattern": "^[0-9]{4}-(0[1-9]|1[0-2])$"},
    description="YYYY-MM, from 1900-01 to 9998-12; default: this month where you live")
MONTHS = OpenApiParameter("months", {"type": "integer", "minimum": 1, "maximum": 120},
                          description="how many months, up to ``month``; default 12")
CATEGORY_ID = OpenApiParameter(
    "id", int, OpenApiParameter.PATH,
    description="a top-level spending category's id; another category (Income, Transfer, a "
                "sub-category) is a 400 saying so, an unknown one a 404")


# What a PUT to /budget-settings/ puts back when it leaves a setting out: the model's
# defaults (no income: estimated from history; warned at 80 %).
PROFILE_DEFAULTS = {
    "monthly_income": BudgetProfile._meta.get_field("monthly_income").get_default(),
    "approaching_percent": BudgetProfile._meta.get_field("approaching_percent").get_default(),
}


def _month(request):
    try:
        return parse_month(request.query_params.get("month"), user=request.user), None
    except ValueError as exc:
        return None, error_response(400, "invalid", str(exc), {"month": [str(exc)]})


def _category(request, pk) -> Category:
    """Any category the user can see (Mint's or their own): whether it takes a budget is
    the service's to say, a 400 naming the reason. Only an id they cannot see is a 404
    (a sub-category used to be one, as if it did not exist)."""
    # ASCII digits only, as the route's pattern: "١".isdigit() is true too, and int()
    # reads it as 1.
    if not (pk.isascii() and pk.isdigit()):
        raise Http404("no such category")
    return get_object_or_404(categories_for(user=request.user), pk=int(pk))


class BudgetViewSet(viewsets.ViewSet):
    """Budgets per top-level spending category: ``GET ?month=YYYY-MM`` lists them all
    (``source``: template, recommended or manual); ``PUT {category_id}`` sets one by hand;
    ``DELETE {category_id}`` returns it to the recommendation."""

    lookup_value_regex = ID_PATTERN

    @extend_schema(parameters=[MONTH], responses=BudgetLineSerializer(many=True))
    def list(self, request):
        month, error = _month(request)
        if error:
            return error
        lines = [line.as_dict() for line in budgets_for(user=request.user, month=month)]
        return Response(BudgetLineSerializer(lines, many=True).data)

    @extend_schema(parameters=[CATEGORY_ID], request=BudgetAmountSerializer,
                   responses=BudgetLineSerializer)
    def update(self, request, pk=None):
        category = _category(request, pk)
        if error := self._not_this_month(request):
            return error
        data = BudgetAmountSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        budget_set(user=request.user, category=category, amount=data.validated_data["amount"])
        return Response(self._line(request, category.id))

    # 200, not the 204 the generator assumes for a DELETE: the answer is the line as it
    # is now (back to the recommended amount).
    @extend_schema(parameters=[CATEGORY_ID], responses={200: BudgetLineSerializer})
    def destroy(self, request, pk=None):
        category = _category(request, pk)
        if error := self._not_this_month(request):
            return error
        budget_reset(user=request.user, category=category)
        return Response(self._line(request, category.id))

    @staticmethod
    def _not_this_month(request):
        """A budget is set (or reset) from the current month on: a ``?month=`` naming
        another month is refused rather than answered with a line that did not change."""
        if "month" not in request.query_params:
            return None
        month, error = _month(request)
        if error:
            return error
        now = current_month(request.user)
        if month != now:
            message = (f"budgets are set from the current month ({now:%Y-%m}) on: leave out "
                       "?month= (a budget set now holds for the months after it too; "
                       "earlier months keep theirs)")
            return error_response(400, "invalid", message, {"month": [message]})
        return None

    def _line(self, request, category_id):
        """The category's line for the current month, the first the change holds for."""
        lines = budgets_for(user=request.user, month=current_month(request.user))
        line = next(line.as_dict() for line in lines if line.category == category_id)
        return BudgetLineSerializer(line).data


class BudgetSettingsView(APIView):
    """Your monthly income (for the template; null = estimate it from history) and the
    percentage of a budget at which you are warned (default 80)."""

    @extend_schema(responses=BudgetProfileSerializer)
    def get(self, request):
        profile = budget_profile_for(user=request.user) or BudgetProfile(
            user=request.user)
        return Response(BudgetProfileSerializer(profile).data)

    @extend_schema(request=BudgetProfileSerializer, responses=BudgetProfileSerializer,
                   description="Replaces both settings: one left out goes back to its "
                               "default (`monthly_income` null, estimated from your "
                               "history; `approaching_percent` 80). PATCH changes only "
                               "those it names.")
    def put(self, request):
        return self._save(request, partial=False)

    @extend_schema(request=BudgetProfileSerializer(partial=True),
                   responses=BudgetProfileSerializer,
                   description="Changes the settings it names and keeps the others (PUT "
                               "replaces both).")
    def patch(self, request):
        return self._save(request, partial=True)

    @staticmethod
    def _save(request, *, partial: bool):
        data = BudgetProfileSerializer(data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        if not partial:
            # As a rule's PUT: a setting left out is not kept from before (that is PATCH).
            values = {**PROFILE_DEFAULTS, **values}
        profile = budget_profile_update(
            user=request.user, monthly_income=values.get("monthly_income"),
            approaching_percent=values.get("approaching_percent"),
            clear_income="monthly_income" in values and values["monthly_income"] is None,
        )
        return Response(BudgetProfileSerializer(profile).data, status=status.HTTP_200_OK)


class SummaryView(APIView):
    """Spending by top-level category, income, net and budgets for a month (cached;
    every write that changes it invalidates it)."""

    @extend_schema(parameters=[MONTH], responses=SummarySerializer)
    def get(self, request):
        month, error = _month(request)
        if error:
            return error
        value, hit = summary_cached(
            request.user.id, summary_cache_name(user=request.user, month=month),
            lambda: summary_for(user=request.user, month=month),
        )
        return Response(SummarySerializer(value).data,
                        headers={"X-Cache": "hit" if hit else "miss"})


class TrendsView(APIView):
    """Monthly spending per top-level category over the last ``months`` months (1–120),
    with each month's spending, income and net: the figures of the dashboard's Trends
    page."""

    @extend_schema(parameters=[MONTHS, MONTH], responses=TrendsSerializer)
    def get(self, request):
        month, error = _month(request)
        if error:
            return error
        try:
            text = request.query_params.get("months", "12")
            if not (text.isascii() and text.isdigit()):
                raise ValueError
            months = int(text)
            if not 1 <= months <= 120:
                raise ValueError
        except ValueError:
            return error_response(400, "invalid", "months must be a whole number from 1 to 120",
                                  {"months": ["from 1 to 120"]})
        value, hit = summary_cached(
            request.user.id, trends_cache_name(last=month, months=months),
            lambda: trends_for(user=request.user, last=month, months=months),
        )
        return Response(TrendsSerializer(value).data,
                        headers={"X-Cache": "hit" if hit else "miss"})

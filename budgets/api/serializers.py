from decimal import Decimal

from rest_framework import serializers

from ..models import BudgetProfile


def _money(**kwargs) -> serializers.DecimalField:
    # Output only: no max_digits, so a large sum is never a 500.
    return serializers.DecimalField(max_digits=None, decimal_places=2, coerce_to_string=True,
                                    **kwargs)


class BudgetLineSerializer(serializers.Serializer):
    """One top-level category's budget for a month. Money is a decimal string with two
    places, ``percent`` one with one place, whatever the selector's Decimal carries
    (``Decimal("0")`` for a budget of 0.00 used to come out as ``"0"``)."""

    category = serializers.IntegerField()
    name = serializers.CharField()
    amount = _money(help_text='e.g. "105.00"')
    source = serializers.ChoiceField(choices=["template", "recommended", "manual"])
    spent = _money(help_text="money out minus refunds this month")
    remaining = _money()
    percent = serializers.DecimalField(
        max_digits=None, decimal_places=1, coerce_to_string=True,
        help_text='spent / amount × 100, always one decimal: "17.5", "0.0"',
    )


class BudgetAmountSerializer(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=Decimal("0"),
                                      coerce_to_string=True)


class BudgetProfileSerializer(serializers.ModelSerializer):
    monthly_income = serializers.DecimalField(
        max_digits=14, decimal_places=2, min_value=Decimal("0"), allow_null=True, required=False,
        help_text="null: estimate from your history",
    )
    approaching_percent = serializers.IntegerField(min_value=1, max_value=99, required=False)

    class Meta:
        model = BudgetProfile
        fields = ["monthly_income", "approaching_percent"]


class SpendingLineSerializer(serializers.Serializer):
    """What a top-level spending category took in a month: its id (for
    ``/api/v1/transactions/?category=<id>``), its name and the money out minus refunds
    (negative when refunds were bigger)."""

    category = serializers.IntegerField(help_text="a top-level spending category's id")
    name = serializers.CharField()
    spent = _money(help_text='e.g. "100.00"')


class SummarySerializer(serializers.Serializer):
    month = serializers.CharField()
    currencies = serializers.ListField(
        child=serializers.CharField(),
        help_text="the currencies of the user's accounts; with more than one, the amounts "
                  "are added as written, not converted")
    spending = SpendingLineSerializer(
        many=True, help_text="the categories with spending this month, biggest first")
    spent = _money()
    income = _money()
    net = _money()
    budgets = BudgetLineSerializer(many=True)


class TrendsMonthSerializer(serializers.Serializer):
    month = serializers.CharField(help_text='"YYYY-MM"')
    categories = serializers.DictField(
        child=_money(), help_text="top-level spending category name → spent that month "
                                  "(only those with spending); the same as `spending`, "
                                  "by name")
    spending = SpendingLineSerializer(
        many=True, help_text="the top-level spending categories with spending that month, "
                             "by name, with their ids")
    spent = _money(help_text="the month's spending: the sum of `spending`")
    income = _money()
    net = _money(help_text="income − spent")


class TrendsSerializer(serializers.Serializer):
    months = TrendsMonthSerializer(many=True, help_text="oldest first")

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


class SummarySerializer(serializers.Serializer):
    month = serializers.CharField()
    currencies = serializers.ListField(
        child=serializers.CharField(),
        help_text="the currencies of the user's accounts; with more than one, the amounts "
                  "are added as written, not converted")
    spending = serializers.ListField(child=serializers.DictField())
    spent = _money()
    income = _money()
    net = _money()
    budgets = BudgetLineSerializer(many=True)


class TrendsSerializer(serializers.Serializer):
    months = serializers.ListField(child=serializers.DictField())

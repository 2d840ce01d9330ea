from decimal import Decimal

from rest_framework import serializers

from ..models import BudgetProfile


class BudgetLineSerializer(serializers.Serializer):
    """One top-level category's budget for a month. Money is a decimal string."""

    category = serializers.IntegerField()
    name = serializers.CharField()
    amount = serializers.CharField(help_text='e.g. "105.00"')
    source = serializers.ChoiceField(choices=["template", "recommended", "manual"])
    spent = serializers.CharField(help_text="money out minus refunds this month")
    remaining = serializers.CharField()
    percent = serializers.CharField(help_text="spent / amount × 100, one decimal")


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
    spending = serializers.ListField(child=serializers.DictField())
    spent = serializers.CharField()
    income = serializers.CharField()
    net = serializers.CharField()
    budgets = BudgetLineSerializer(many=True)


class TrendsSerializer(serializers.Serializer):
    months = serializers.ListField(child=serializers.DictField())

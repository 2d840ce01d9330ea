from rest_framework import serializers

from accounts.models import FinancialAccount
from mint.fields import PrimaryKeyField

from ..models import Category, Rule
from ..selectors import categories_for


class CategoryNodeSerializer(serializers.Serializer):
    """One node of ``GET /api/v1/categories/``."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    own = serializers.BooleanField(help_text="created by this user")
    is_income = serializers.BooleanField()
    is_transfer = serializers.BooleanField()
    children = serializers.ListField(child=serializers.DictField(), help_text="same shape")


class CategoryCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    parent = PrimaryKeyField(
        queryset=Category.objects.filter(user=None, parent=None),
        help_text="a top-level category of the shared taxonomy",
        error_messages={"does_not_exist": "{pk_value} is not a top-level category of the "
                                          "shared taxonomy (your own go under one of those)"},
    )


class CategoryRenameSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)


class UserCategoryField(PrimaryKeyField):
    """A category the requesting user may use: shared or their own."""

    def get_queryset(self):
        return categories_for(user=self.context["request"].user)


class UserAccountField(PrimaryKeyField):
    def get_queryset(self):
        return FinancialAccount.objects.filter(user=self.context["request"].user)


class RuleSerializer(serializers.ModelSerializer):
    category = UserCategoryField()
    account = UserAccountField(required=False, allow_null=True)
    category_name = serializers.SerializerMethodField()
    apply_to_past = serializers.BooleanField(
        write_only=True, required=False, default=False,
        help_text="recategorise the user's past non-manual transactions in the background",
    )

    class Meta:
        model = Rule
        fields = [
            "id", "seller", "description_contains", "amount_min", "amount_max", "account",
            "category", "category_name", "rename_to", "apply_to_past", "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]
        # Amounts are signed as everywhere in the API (money out is negative): "purchases
        # of 10 to 50" is amount_min -50, amount_max -10; 10 to 50 matches money in only.
        extra_kwargs = {
            "amount_min": {"help_text": (
                "lowest signed amount matched, inclusive (money out is negative: "
                "purchases of 10 to 50 are amount_min -50.00, amount_max -10.00)")},
            "amount_max": {"help_text": (
                "highest signed amount matched, inclusive; at least amount_min")},
        }

    def get_category_name(self, obj) -> str:
        return str(obj.category)


class TransactionCategorizeSerializer(serializers.Serializer):
    """``PATCH /api/v1/transactions/{id}/``: file the transaction under a category, or
    give its seller another name, or both, by hand; it is never recategorised
    automatically again."""

    category = UserCategoryField(required=False,
                                 help_text="left out: the transaction keeps its category")
    always = serializers.BooleanField(
        required=False, default=False,
        help_text="also create a rule: always do this for this seller (applied to the past)",
    )
    rename_to = serializers.CharField(required=False, allow_blank=True, default="",
                                      max_length=200, help_text="display name for the seller")

    def validate(self, attrs):
        if attrs.get("category") is None:
            if not attrs.get("rename_to", "").strip():
                raise serializers.ValidationError(
                    {"category": "Give a category, a new name (rename_to), or both."})
            if attrs.get("always"):
                # The row's category may be a guess (a refund filed under Income): a rule
                # would spread it over the seller's past rows.
                raise serializers.ValidationError(
                    {"category": "Choose the category for the rule that always applies."})
        return attrs

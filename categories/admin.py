from django.contrib import admin

from .models import Category, CrowdSeller, Rule
from .services import category_delete


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["__str__", "user", "is_income", "is_transfer"]
    search_fields = ["name"]
    raw_id_fields = ["user", "parent"]

    def has_delete_permission(self, request, obj=None):
        # The shared taxonomy stays; a user's own category goes through the service, which
        # moves its transactions (and their spending) to its parent.
        return obj is None or obj.user_id is not None

    def delete_model(self, request, obj):
        category_delete(category=obj)

    def delete_queryset(self, request, queryset):
        for category in queryset.exclude(user=None):
            category_delete(category=category)


@admin.register(Rule)
class RuleAdmin(admin.ModelAdmin):
    """Support can see why a user's transactions land where they do."""

    list_display = ["id", "user", "seller", "description_contains", "amount_min", "amount_max",
                    "account", "category", "rename_to", "created_at"]
    search_fields = ["user__email", "seller", "description_contains"]
    raw_id_fields = ["user", "account", "category"]
    readonly_fields = ["seller_key", "created_at", "updated_at"]


@admin.register(CrowdSeller)
class CrowdSellerAdmin(admin.ModelAdmin):
    """Crowd-learned defaults: read-only, they come from users' votes."""

    list_display = ["seller_key", "category", "voters", "updated_at"]
    search_fields = ["seller_key"]
    readonly_fields = ["seller_key", "category", "voters", "updated_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

from django.contrib import admin

from accounts.admin import BoundedCountPaginator, DeletesThroughService, ReadOnly

from .models import Category, CrowdSeller, Rule
from .services import category_delete


# Users add categories through the service (under a shared top-level one, income and
# transfer flags from it); the shared taxonomy is loaded by a migration and cached by
# process. An edit here could give a category to another user, or change what its rows
# count as, with their spending left where it was.
@admin.register(Category)
class CategoryAdmin(DeletesThroughService, ReadOnly):
    list_display = ["__str__", "user", "is_income", "is_transfer"]
    list_select_related = ["parent", "user"]
    search_fields = ["name"]
    raw_id_fields = ["user", "parent"]

    def has_delete_permission(self, request, obj=None):
        # The shared taxonomy stays; a user's own category goes through the service, which
        # moves its transactions (and their spending) to its parent.
        return (obj is None or obj.user_id is not None) and super().has_delete_permission(
            request, obj)

    def get_deleted_objects(self, objs, request):
        """A selection holding a shared category is refused whole ("Delete selected"
        would confirm it, then skip it and count it as deleted)."""
        objs = list(objs)
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        if any(category.user_id is None for category in objs):
            perms_needed = {*perms_needed, "categories of the shared taxonomy"}
        return deleted, counts, perms_needed, protected

    def delete_model(self, request, obj):
        category_delete(category=obj)

    def delete_queryset(self, request, queryset):
        for category in queryset.exclude(user=None):
            category_delete(category=category)


@admin.register(Rule)
class RuleAdmin(ReadOnly):
    """Support can see why a user's transactions land where they do. Rules are the
    user's, changed through the API and dashboard, which recompute the seller key they
    match on and recategorise past rows when asked."""

    list_display = ["id", "user", "seller", "description_contains", "amount_min", "amount_max",
                    "account", "category", "rename_to", "created_at"]
    list_select_related = ["user", "account", "category__parent"]
    search_fields = ["user__email", "seller", "description_contains"]
    raw_id_fields = ["user", "account", "category"]
    readonly_fields = ["seller_key", "created_at", "updated_at"]
    show_full_result_count = False
    paginator = BoundedCountPaginator


@admin.register(CrowdSeller)
class CrowdSellerAdmin(ReadOnly):
    """Crowd-learned defaults: read-only, they come from users' votes (crowd_recount
    derives them from the tallies)."""

    list_display = ["seller_key", "category", "voters", "updated_at"]
    search_fields = ["seller_key"]
    readonly_fields = ["seller_key", "category", "voters", "updated_at"]

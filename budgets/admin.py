from django.contrib import admin

from accounts.admin import BoundedCountPaginator, ReadOnly

from .models import Budget, BudgetAlert, BudgetProfile, MonthlySpending


# Derived data: support reads it; the services write it (a deleted MonthlySpending row
# would be a month's spending gone from budgets and alerts).
@admin.register(MonthlySpending)
class MonthlySpendingAdmin(ReadOnly):
    list_display = ["user", "month", "category", "total", "count"]
    list_filter = ["month"]
    search_fields = ["user__email"]
    raw_id_fields = ["user", "category"]
    # A category's name shows its parent's: both in the list's query, not one per row.
    list_select_related = ["user", "category__parent"]
    show_full_result_count = False
    paginator = BoundedCountPaginator


@admin.register(BudgetAlert)
class BudgetAlertAdmin(ReadOnly):
    list_display = ["user", "month", "category", "threshold", "budget_amount", "spent",
                    "created_at"]
    list_filter = ["threshold", "month"]
    search_fields = ["user__email"]
    raw_id_fields = ["user", "category"]


# Budgets and settings are the user's: support reads them (an edit or delete here would
# skip the budget check and the summary cache's invalidation that the services do).
@admin.register(Budget)
class BudgetAdmin(ReadOnly):
    list_display = ["user", "category", "since", "amount", "updated_at"]
    search_fields = ["user__email"]
    raw_id_fields = ["user", "category"]


@admin.register(BudgetProfile)
class BudgetProfileAdmin(ReadOnly):
    list_display = ["user", "monthly_income", "approaching_percent", "updated_at"]
    search_fields = ["user__email"]
    raw_id_fields = ["user"]

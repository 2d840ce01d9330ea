"""Budget writes: monthly spending kept with the rows, budgets, the budget check."""

from .budgets import budget_profile_update, budget_reset, budget_set, budgets_check
from .spending import (
    SpendingDelta,
    spending_apply,
    spending_changed,
    spending_lock_shared,
    spending_of_deleted,
)

__all__ = [
    "SpendingDelta",
    "budget_profile_update",
    "budget_reset",
    "budget_set",
    "budgets_check",
    "spending_apply",
    "spending_changed",
    "spending_lock_shared",
    "spending_of_deleted",
]

from decimal import Decimal

from django.conf import settings
from django.db import models


class MonthlySpending(models.Model):
    """The sum of a user's transactions per (month, category), kept in step with the rows.

    ``total`` is signed like ``Transaction.amount`` (negative = money out), so a refund
    reduces spending by itself; ``spent`` is ``-total`` for spending categories. ``month``
    is the first day of the month of the rows' ``posted_on`` (a bank date has no time of
    day; the user's time zone decides which month is *current*, see ``selectors``).
    Every writer of transaction rows updates it in the same database transaction
    (``services.spending_apply``); ``manage.py recompute_spending`` rebuilds it.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, db_index=False)
    month = models.DateField()
    # No database foreign key, as on the transactions table: the category of a row may be
    # a category id the row carries (see Transaction.category).
    category = models.ForeignKey(
        "categories.Category", on_delete=models.DO_NOTHING, db_constraint=False,
        related_name="+",
    )
    total = models.DecimalField(max_digits=16, decimal_places=2, default=Decimal("0"))
    count = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "month", "category"], name="monthly_spending_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.month:%Y-%m} {self.category_id}: {self.total}"


class BudgetProfile(models.Model):
    """A user's budget settings: monthly income (for the template) and alert threshold."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                primary_key=True, related_name="budget_profile")
    monthly_income = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    approaching_percent = models.PositiveSmallIntegerField(default=80)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"budget profile of {self.user_id}"


class Budget(models.Model):
    """A budget the user set by hand for a top-level category, from month ``since`` on
    (until a later row of the same category): setting one in December leaves October's
    budget as it was. ``amount`` null means "back to the recommendation" from that month.
    Months without a row in force follow the recommendation, computed, never stored."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    category = models.ForeignKey("categories.Category", on_delete=models.CASCADE,
                                 related_name="+")
    since = models.DateField(help_text="First day of the first month it holds for.")
    amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "category", "since"],
                                    name="budget_once_a_month")
        ]

    def __str__(self) -> str:
        return f"{self.category} {self.amount} from {self.since:%Y-%m}"


class BudgetAlert(models.Model):
    """One alert per (user, category, month, threshold, budget amount): the unique
    constraint is what makes a repeated or concurrent budget check alert once. A budget
    raised to a new amount and crossed again is a new alert."""

    class Threshold(models.TextChoices):
        APPROACHING = "approaching"
        EXCEEDED = "exceeded"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    category = models.ForeignKey("categories.Category", on_delete=models.CASCADE,
                                 related_name="+")
    month = models.DateField()
    threshold = models.CharField(max_length=12, choices=Threshold.choices)
    budget_amount = models.DecimalField(max_digits=16, decimal_places=2)
    spent = models.DecimalField(max_digits=16, decimal_places=2)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "category", "month", "threshold", "budget_amount"],
                name="budget_alert_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.threshold} {self.category} {self.month:%Y-%m}"

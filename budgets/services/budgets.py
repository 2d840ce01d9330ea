"""Budget writes and the budget check that raises alerts."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from categories.models import Category
from notifications.services import notification_create

from ..models import Budget, BudgetAlert, BudgetProfile
from ..selectors import (
    add_months,
    budget_profile_for,
    budgets_for,
    current_month,
    local_today,
    top_levels,
)
from .spending import after_commit, budgets_check_after_commit

MAX_AMOUNT = Decimal("999999999.99")


def _changed(user) -> None:
    from ..cache import summary_invalidate

    # robust: a cache or broker outage after the commit must not turn a committed write
    # into an error, nor keep the other callback from running. The month changed is the
    # user's current one, named so that a check run after their midnight still sees it.
    budgets_check_after_commit(user_id=user.id, months={current_month(user)})
    after_commit(summary_invalidate, user.id, once=True)


def _spending_top(user, category: Category) -> Category:
    tops = top_levels(user=user)
    if category.id not in tops.spending:
        raise ValidationError({"category": "Budgets are set on top-level spending categories "
                                           "(not Income, Transfer or a sub-category)."})
    return category


@transaction.atomic
def budget_set(*, user, category: Category, amount: Decimal) -> Budget:
    """The user's own budget for a top-level category, every month from this one on
    (the user's current month); earlier months keep the budget they had."""
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise ValidationError({"amount": "A budget is a decimal amount, e.g. \"100.00\"."})
    if amount < 0 or amount > MAX_AMOUNT:
        raise ValidationError({"amount": "A budget is between 0.00 and 999,999,999.99."})
    _spending_top(user, category)
    budget = _set_from(user=user, category=category, month=current_month(user),
                       amount=amount.quantize(Decimal("0.01")))
    _changed(user)
    return budget


@transaction.atomic
def budget_reset(*, user, category: Category) -> None:
    """Back to the recommendation from this month on; earlier months keep their budget."""
    _spending_top(user, category)
    _set_from(user=user, category=category, month=current_month(user), amount=None)
    _changed(user)


def _set_from(*, user, category: Category, month, amount: Decimal | None) -> Budget | None:
    """The row in force from ``month`` on: this month's row (later rows, left by a
    clock or time zone that ran ahead, are dropped), or none when it would repeat
    what the month before already has."""
    rows = Budget.objects.select_for_update().filter(user=user, category=category)
    rows.filter(since__gt=month).delete()
    before = rows.filter(since__lt=month).order_by("-since").values_list("amount", flat=True)
    if amount is None and before.first() is None:  # no row, or one that recommends
        rows.filter(since=month).delete()
        return None
    budget, _ = Budget.objects.update_or_create(
        user=user, category=category, since=month, defaults={"amount": amount}
    )
    return budget


@transaction.atomic
def budget_profile_update(*, user, monthly_income: Decimal | None = None,
                          approaching_percent: int | None = None,
                          clear_income: bool = False) -> BudgetProfile:
    """``monthly_income`` sets the income the template uses; ``clear_income`` goes back to
    estimating it from the user's history."""
    profile, _ = BudgetProfile.objects.select_for_update().get_or_create(user=user)
    if clear_income:
        profile.monthly_income = None
    if monthly_income is not None:
        if monthly_income < 0 or monthly_income > MAX_AMOUNT:
            raise ValidationError({"monthly_income": "Income is between 0 and 999,999,999.99."})
        profile.monthly_income = monthly_income.quantize(Decimal("0.01"))
    if approaching_percent is not None:
        if not 1 <= approaching_percent <= 99:
            raise ValidationError({"approaching_percent": "Between 1 and 99."})
        profile.approaching_percent = approaching_percent
    profile.save()
    _changed(user)
    return profile


# How many days into a month the month before is still checked (when a write changed it).
LAST_MONTH_DAYS = 7


def budgets_check(*, user_id: int, months: Iterable[date] = ()) -> list[BudgetAlert]:
    """Alerts for the user's current month (in their time zone), and for the month before
    it when it is among ``months`` (those whose spending the write changed): "approaching"
    at the user's threshold (default 80 %) and "exceeded" past 100 % of each budget (a
    fixed bill budgeted at its own median lands on 100 % every month: reached, not over).

    The month before: a check queued at 23:59 on 31 March may run at 00:00 on 1 April, and
    a purchase of 31 March may reach us dated so on 1 April; March's crossing is news then,
    in the first ``LAST_MONTH_DAYS`` days of April (later it is history).
    Older months, and the month before when the write left its spending alone, are never
    checked: a year of history imported raises no alert for its months, and a check that
    a budget change or a refresh asked for looks at the current month alone.

    1. Each alert is a row with a unique (user, category, month, threshold, amount):
       a repeated, redelivered or concurrent check inserts nothing new. A threshold
       alerts again in the same month only when the budget is now *bigger* than at every
       earlier alert of it and the spending told then was short of this threshold of the
       new budget (raised, then crossed again); a budget that shrinks — set lower by hand,
       or a recommendation that moves — or one that grows while the spending was past it
       already (a recommendation drifting up with a month's history) does not alert twice.
    2. The notification is created in the same transaction as its alert row, with the
       alert as its dedupe key, so an alert without its notification never commits.
    3. When one check crosses both thresholds at once, both rows are recorded and only
       "exceeded" is announced.
    Returns the alerts this call created.
    """
    user = get_user_model().objects.filter(id=user_id).first()
    if user is None:
        return []
    today = local_today(user)
    current = today.replace(day=1)
    # Late news of last month comes in its first days; later it is history (an account
    # linked on 20 April with a March over budget tells nothing to act on).
    before = add_months(current, -1) if today.day <= LAST_MONTH_DAYS else None
    profile = budget_profile_for(user=user)
    approaching = Decimal(profile.approaching_percent if profile else 80)
    created: list[BudgetAlert] = []
    for month in ([before] if before is not None and before in set(months) else []) + [current]:
        created += _check_month(user, month, approaching)
    return created


def _check_month(user, month: date, approaching: Decimal) -> list[BudgetAlert]:
    created: list[BudgetAlert] = []
    for line in budgets_for(user=user, month=month):
        crossed = []
        if line.amount > 0:
            # (exactly the budget is reached, not exceeded: see _past)
            crossed = [threshold for threshold in BudgetAlert.Threshold.values
                       if _past(threshold, line.spent, line.amount, approaching)]
        elif line.source == "manual" and line.spent > 0:
            # A budget of nothing, set by hand ("no takeaways this month"): any spending
            # is over it. (A recommendation of nothing is no such wish: no alert.)
            crossed.append(BudgetAlert.Threshold.EXCEEDED)
        if not crossed:
            continue
        new = []
        with transaction.atomic():
            for threshold in crossed:
                earlier = list(BudgetAlert.objects.filter(
                    user=user, category_id=line.category, month=month, threshold=threshold,
                ).values_list("budget_amount", "spent"))
                if any(amount >= line.amount for amount, _ in earlier):
                    continue  # alerted already, at this budget or a bigger one
                if any(_past(threshold, spent, line.amount, approaching)
                       for _, spent in earlier):
                    # Raised (or a recommendation that grew), but the person was past this
                    # line of the new budget when told last: no crossing since.
                    continue
                try:
                    with transaction.atomic():
                        new.append(BudgetAlert.objects.create(
                            user=user, category_id=line.category, month=month,
                            threshold=threshold, budget_amount=line.amount, spent=line.spent,
                        ))
                except IntegrityError:
                    continue  # already alerted at this threshold and amount
            if new:
                _announce(user, line, new[-1], month)
        created += new
    return created


def _past(threshold: str, spent: Decimal, amount: Decimal, approaching: Decimal) -> bool:
    """Whether ``spent`` is past ``threshold`` of a budget of ``amount``: "approaching"
    from ``approaching`` percent on, "exceeded" above it (exactly the budget is reached,
    not exceeded)."""
    if threshold == BudgetAlert.Threshold.EXCEEDED:
        return spent > amount
    return spent * 100 >= amount * approaching


def _announce(user, line, alert: BudgetAlert, month) -> None:
    exceeded = alert.threshold == BudgetAlert.Threshold.EXCEEDED
    title = (f"Over budget: {line.name}" if exceeded
             else f"{line.percent}% of your {line.name} budget spent")
    if line.amount > 0:
        body = (f"You have spent {line.spent:,.2f} of your {line.amount:,.2f} {line.name} "
                f"budget for {month:%B %Y} ({line.percent}%).")
    else:
        body = (f"You have spent {line.spent:,.2f} on {line.name} in {month:%B %Y}, which you "
                "budgeted nothing for.")
    notification_create(
        user=user,
        kind="budget_exceeded" if exceeded else "budget_approaching",
        title=title, body=body,
        data={"category": line.category, "month": f"{month:%Y-%m}", "budget": f"{line.amount:.2f}",
              "spent": f"{line.spent:.2f}", "percent": str(line.percent),
              "threshold": alert.threshold},
        dedupe_key=f"budget:{line.category}:{month:%Y-%m}:{alert.threshold}:{line.amount:.2f}",
    )

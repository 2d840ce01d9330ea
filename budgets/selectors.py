"""Reads: monthly spending by category, budgets with their recommendation, summaries.

Budgets are per **top-level** category (Food & Dining, Home, …): a sub-category's spending
counts toward its top level, a user's own sub-category toward its shared parent.
Income and Transfer are not spending.

Recommendation for a category without a budget set by hand (``source``):

- ``template``: no history yet — the template share of the monthly income (below);
- ``recommended``: the median of the category's spending over the user's complete months
  with any transaction among the last ``HISTORY_MONTHS`` before the month asked for
  (a median shrugs off the one month with a new sofa); with fewer than
  ``FULL_HISTORY_MONTHS`` such months it is blended with the template in proportion
  (one month of history: ⅓ history, ⅔ template);
- ``manual``: set by the user (``Budget``).

Amounts are rounded up to whole units. The income is the user's setting, else the median
monthly income of the same history months.
"""

from __future__ import annotations

import re
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_UP, Decimal
from statistics import median

from django.utils import timezone

from categories.selectors import categories_for

from .models import Budget, BudgetProfile, MonthlySpending

ZERO = Decimal("0")
CENT = Decimal("0.01")
HISTORY_MONTHS = 6
FULL_HISTORY_MONTHS = 3

# Share of monthly income per top-level category (percent): housing 35, food 15, getting
# around 10, shopping 10, bills 8, … — 100 in all; a starting point, refined by history.
TEMPLATE: dict[str, Decimal] = {
    name: Decimal(share) for name, share in {
        "Home": "35", "Food & Dining": "15", "Auto & Transport": "10", "Shopping": "10",
        "Bills & Utilities": "8", "Health & Fitness": "4", "Entertainment": "4",
        "Travel": "3", "Personal Care": "2", "Education": "2", "Kids": "2",
        "Gifts & Donations": "2", "Pets": "1", "Financial": "1", "Fees & Charges": "0.5",
        "Business Services": "0.5", "Loans": "0", "Taxes": "0", "Investments": "0",
        "Uncategorized": "0",
    }.items()
}


def budget_profile_for(*, user) -> BudgetProfile | None:
    """The user's budget settings; None until they change one (defaults apply)."""
    return BudgetProfile.objects.filter(user=user).first()


def local_today(user) -> date:
    """The day it is now where the user lives."""
    try:
        tz = zoneinfo.ZoneInfo(user.timezone or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        tz = zoneinfo.ZoneInfo("UTC")
    return timezone.now().astimezone(tz).date()


def current_month(user) -> date:
    """The first day of the month it is now where the user lives."""
    return local_today(user).replace(day=1)


def add_months(month: date, n: int) -> date:
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class Tops:
    """Category id → its top-level id, and the top levels by kind."""

    top_of: dict[int, int]
    names: dict[int, str]
    spending: list[int]  # top-level ids that are spending, by name
    income: set[int]


def top_levels(*, user) -> Tops:
    rows = categories_for(user=user)
    top_of, names, spending, income = {}, {}, [], set()
    values = list(rows.values("id", "name", "parent_id", "is_income", "is_transfer", "user_id"))
    for row in values:
        if row["parent_id"] is None:
            names[row["id"]] = row["name"]
            top_of[row["id"]] = row["id"]
            if row["is_income"]:
                income.add(row["id"])
            elif not row["is_transfer"] and row["user_id"] is None:
                spending.append(row["id"])
    for row in values:
        if row["parent_id"] is not None:
            top_of[row["id"]] = top_of.get(row["parent_id"], row["parent_id"])
    spending.sort(key=lambda i: names[i])
    return Tops(top_of=top_of, names=names, spending=spending, income=income)


def spending_by_top(*, user, tops: Tops, first: date, last: date) -> dict[date, dict[int, Decimal]]:
    """month → top-level id → signed total (negative = money out), from the table."""
    out: dict[date, dict[int, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    rows = MonthlySpending.objects.filter(user=user, month__gte=first, month__lte=last).values_list(
        "month", "category_id", "total", "count"
    )
    for month, category_id, total, count in rows:
        if not total and not count:
            continue  # every row of it went away (an unlinked account): no history
        top = tops.top_of.get(category_id, category_id)
        out[month][top] += total
    return out


def _ceil(amount: Decimal) -> Decimal:
    return amount.quantize(Decimal("1"), rounding=ROUND_CEILING).quantize(CENT)


def _money(value: Decimal) -> str:
    return str(value.quantize(CENT))


@dataclass
class BudgetLine:
    category: int
    name: str
    amount: Decimal
    source: str
    spent: Decimal

    @property
    def remaining(self) -> Decimal:
        return self.amount - self.spent

    @property
    def percent(self) -> Decimal:
        if self.amount <= 0:
            return Decimal("0.0")  # one decimal place, as every other percent
        # Never 100.0 % for a budget not yet reached or already exceeded: rounded towards
        # 100 % from either side would say "100.0 %" of 482.78 spent of 483.00, and of
        # 55.00 spent of 54.99 in an "over budget" alert.
        exact = self.spent * 100 / self.amount
        rounding = ROUND_DOWN if self.spent < self.amount else ROUND_UP
        percent = exact.quantize(Decimal("0.1"), rounding=rounding)
        return percent if percent else Decimal("0.0")  # not "-0.0"

    def as_dict(self) -> dict:
        return {
            "category": self.category, "name": self.name, "amount": _money(self.amount),
            "source": self.source, "spent": _money(self.spent),
            "remaining": _money(self.remaining), "percent": str(self.percent),
        }


def history_start(month: date, now: date) -> date:
    """The first month whose spending ``budgets_for`` reads for ``month`` (``now``: the
    user's current month)."""
    return add_months(min(month, now), -HISTORY_MONTHS)


def budgets_for(*, user, month: date, tops: Tops | None = None,
                spending: dict[date, dict[int, Decimal]] | None = None) -> list[BudgetLine]:
    """Every spending top-level category with its budget for ``month`` and what was spent."""
    tops = tops or top_levels(user=user)
    now = current_month(user)
    if spending is None:
        spending = spending_by_top(user=user, tops=tops, first=history_start(month, now),
                                   last=month)
    # Complete months only: a month still to come is recommended from the same last
    # complete months as the current one (months ahead know nothing more).
    anchor = min(month, now)
    history = [m for m in (add_months(anchor, -i) for i in range(1, HISTORY_MONTHS + 1))
               if spending.get(m)]
    profile = budget_profile_for(user=user)
    income = profile.monthly_income if profile and profile.monthly_income is not None else None
    if income is None and history:
        income = Decimal(median(sum((spending[m].get(t, ZERO) for t in tops.income), ZERO)
                                for m in history))
    income = max(income or ZERO, ZERO)
    # The row in force for the month: the latest one since it (null = recommendation).
    in_force = dict(Budget.objects.filter(user=user, since__lte=month).order_by("since")
                    .values_list("category_id", "amount"))
    manual = {category: amount for category, amount in in_force.items() if amount is not None}
    k = min(len(history), FULL_HISTORY_MONTHS)
    lines = []
    current = spending.get(month, {})
    for top in tops.spending:
        spent = -current.get(top, ZERO)
        if top in manual:
            amount, source = manual[top], "manual"
        else:
            template = income * TEMPLATE.get(tops.names[top], ZERO) / 100
            if k == 0:
                amount, source = template, "template"
            else:
                past = Decimal(median(max(-spending[m].get(top, ZERO), ZERO) for m in history))
                amount = (past * k + template * (FULL_HISTORY_MONTHS - k)) / FULL_HISTORY_MONTHS
                source = "recommended"
            amount = _ceil(amount)
        lines.append(BudgetLine(top, tops.names[top], amount, source, spent))
    return lines


def currencies_for(*, user, first: date, last: date) -> list[str]:
    """The currencies of the user's accounts and of their rows from month ``first`` to
    month ``last`` (a row may carry its own: a CSV's currency column). Amounts are kept as
    the bank gives them and added as written: with more than one currency the totals mix
    them (no conversion), which the pages and the API say. One query (a UNION); the rows
    are read by the (user, date) index. The summary asks for its month only (a month's
    rows, not a year's: its cold read in bench/summary.py stayed within the run-to-run
    noise of the code before, 5.4–7.7 ms against 6.3–7.9 ms)."""
    from accounts.models import FinancialAccount
    from transactions.models import Transaction

    accounts = FinancialAccount.objects.filter(user=user).values_list("currency")
    rows = (Transaction.objects.filter(user=user, posted_on__gte=first,
                                       posted_on__lt=add_months(last, 1))
            .values_list("currency"))
    return sorted({code for (code,) in accounts.union(rows)})


def summary_cache_name(*, user, month: date) -> str:
    """The name a month's summary is cached under. A summary depends on which month is
    the user's current one (a month ahead is recommended from the current month's
    history), which moves with the calendar and with the user's time zone: it is part of
    the name, so that neither serves a summary worked out for another current month."""
    return f"summary:{month:%Y-%m}:now={current_month(user):%Y-%m}"


def summary_for(*, user, month: date) -> dict:
    """Spending by top-level category, income, net and budgets for one month."""
    tops = top_levels(user=user)
    spending = spending_by_top(user=user, tops=tops,
                               first=history_start(month, current_month(user)), last=month)
    current = spending.get(month, {})
    income = sum((current.get(t, ZERO) for t in tops.income), ZERO)
    by_category = [
        {"category": top, "name": tops.names[top], "spent": _money(-current[top])}
        for top in tops.spending if current.get(top)
    ]
    spent = sum((-current.get(t, ZERO) for t in tops.spending), ZERO)
    return {
        "month": f"{month:%Y-%m}",
        "currencies": currencies_for(user=user, first=month, last=month),
        "spending": sorted(by_category, key=lambda c: Decimal(c["spent"]), reverse=True),
        "spent": _money(spent),
        "income": _money(income),
        "net": _money(income - spent),
        "budgets": [line.as_dict() for line in budgets_for(user=user, month=month, tops=tops,
                                                            spending=spending)],
    }


def trends_cache_name(*, last: date, months: int) -> str:
    """The name ``trends_for(last=…, months=…)`` is cached under, by the API and the Trends
    page alike. ``v2``: the months gained ``spending``, ``spent`` and ``net``; an entry
    of the shape before (kept up to an hour) is never read as this one."""
    return f"trends:v2:{last:%Y-%m}:{months}"


def trends_for(*, user, last: date, months: int) -> dict:
    """Monthly spending per top-level category for ``months`` months up to ``last``,
    oldest first. Each month gives its spending categories (those with any) as
    ``spending`` lines, by name: id, name and spent (money out minus refunds: negative
    when refunds were bigger), as ``/api/v1/summary/``'s; the same as a name → amount map
    (``categories``, the shape before ids); and ``spent`` (their sum), ``income`` and
    ``net`` (income − spent). The Trends page and ``/api/v1/trends/`` both show these."""
    tops = top_levels(user=user)
    first = add_months(last, -(months - 1))
    spending = spending_by_top(user=user, tops=tops, first=first, last=last)
    out = []
    for i in range(months):
        month = add_months(first, i)
        current = spending.get(month, {})
        lines = [(t, -current[t]) for t in tops.spending if current.get(t)]
        spent = sum((amount for _, amount in lines), ZERO)
        income = sum((current.get(t, ZERO) for t in tops.income), ZERO)
        out.append({
            "month": f"{month:%Y-%m}",
            "categories": {tops.names[t]: _money(amount) for t, amount in lines},
            "spending": [{"category": t, "name": tops.names[t], "spent": _money(amount)}
                         for t, amount in lines],
            "spent": _money(spent),
            "income": _money(income),
            "net": _money(income - spent),
        })
    return {"months": out}


def parse_month(text: str | None, *, user) -> date:
    """"YYYY-MM" → its first day; None → the user's current month. ValueError otherwise."""
    if not text:
        return current_month(user)
    if not _MONTH_RE.fullmatch(text):
        raise ValueError("month must look like 2026-11")
    year, month = int(text[:4]), int(text[5:])
    if not 1 <= month <= 12:
        raise ValueError("month must look like 2026-11")
    # The pages link the months either side, and 9999-12's next has no date.
    if not 1900 <= year <= 9998:
        raise ValueError("month must be between 1900-01 and 9998-12")
    return date(year, month, 1)


_MONTH_RE = re.compile(r"[0-9]{4}-[0-9]{2}")



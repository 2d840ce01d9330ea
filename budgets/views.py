"""Dashboard pages for budgets, scoped to ``request.user``: a month's budgets with what was
spent, and the forms that set them. Reads go through ``budgets.selectors`` (the month's
summary through the same cache as ``/api/v1/summary/``), writes through
``budgets.services``; every form answers with a redirect back to the month it came from."""

from datetime import date, timedelta
from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from categories.models import Category
from mint.views import post_only

from .cache import summary_cached
from .forms import BudgetAmountForm, BudgetProfileForm, BudgetResetForm
from .selectors import (
    add_months,
    budget_profile_for,
    budgets_for,
    currencies_for,
    current_month,
    parse_month,
    summary_cache_name,
    summary_for,
    trends_cache_name,
    trends_for,
)
from .services import budget_profile_update, budget_reset, budget_set

SOURCES = {"template": "Template", "recommended": "Recommended", "manual": "Set by you"}


def _month_url(user, text: str | None, anchor: str = "") -> str:
    """The budgets page of the month ``text`` names, the current month's when it names
    none (a form posted with a month it did not get from the page)."""
    url = reverse("dashboard:budgets")
    try:
        month = parse_month(text, user=user) if text else None
    except ValueError:
        month = None
    if month is not None:
        url += f"?month={month:%Y-%m}"
    return f"{url}#{anchor}" if anchor else url


def _from_another_month(request) -> bool:
    """A form posted from another month's page (a stale tab, or a crafted post: those
    pages show none): budgets are set from the current month on, so it is refused with a
    message saying so."""
    try:
        month = parse_month(request.POST.get("month"), user=request.user)
    except ValueError:
        return False
    now = current_month(request.user)
    if month < now:
        messages.error(request, f"Budgets are set from {now:%B %Y} on; {month:%B %Y} keeps "
                                "the budgets it had.")
        return True
    if month > now:
        messages.error(request, f"Budgets are set from {now:%B %Y} on: a budget set now "
                                f"holds in {month:%B %Y} too.")
        return True
    return False


def _rows(lines) -> list[dict]:
    """What each table row shows besides the line itself: over budget or not, and how full
    its bar is (capped at 100 %; full when over a budget of 0.00, whose percent is 0)."""
    rows = []
    for line in lines:
        # As the budget check: past 100 % is over (and a budget of 0.00 once anything is
        # spent); exactly 100 % is reached.
        over = line.spent > 0 and line.spent > line.amount
        rows.append({
            "line": line,
            "source_label": SOURCES.get(line.source, line.source),
            "over": over,
            "reached": not over and line.amount > 0 and line.spent == line.amount,
            "bar": 100 if over else max(min(line.percent, 100), 0),
        })
    return rows


def _render_budgets(request, month, *, profile_form=None, status=200):
    user = request.user
    summary, _ = summary_cached(user.id, summary_cache_name(user=user, month=month),
                                lambda: summary_for(user=user, month=month))
    if profile_form is None:
        profile = budget_profile_for(user=user)
        profile_form = BudgetProfileForm(initial={
            "monthly_income": profile.monthly_income if profile else None,
            "approaching_percent": profile.approaching_percent if profile else 80,
            "month": f"{month:%Y-%m}",
        })
    this_month = current_month(user)
    return render(request, "budgets/budget_list.html", {
        "month": month,
        "month_text": f"{month:%Y-%m}",
        # The month's transactions of a category: its name links to them.
        "month_last_day": add_months(month, 1) - timedelta(days=1),
        # No link to a month outside what parse_month takes (1900-01 … 9998-12).
        "previous_month": add_months(month, -1) if month.year > 1900 or month.month > 1
        else None,
        "next_month": add_months(month, 1) if month.year < 9998 or month.month < 12 else None,
        "is_current_month": month == this_month,
        # A budget is set from the current month on (and holds after it): only the
        # current month's page sets one.
        "is_past_month": month < this_month,
        "is_future_month": month > this_month,
        "summary": summary,
        "rows": _rows(budgets_for(user=user, month=month)),
        "profile_form": profile_form,
        # A "Set" that was refused: its row shows the amount typed and why, once.
        "amount_error": request.session.pop(AMOUNT_ERROR, None),
    }, status=status)


@login_required
def budget_list(request):
    """``?month=YYYY-MM`` (default: this month where the user lives); a malformed month
    is a 400 page that links to the current one."""
    try:
        month = parse_month(request.GET.get("month"), user=request.user)
    except ValueError as exc:
        return render(request, "budgets/budget_list.html", {"month_error": str(exc)},
                      status=400)
    return _render_budgets(request, month)


TREND_MONTHS = (3, 6, 12, 24)


def _trend_table(trends: dict) -> dict:
    """The trends' months as a table: a row per spending category (biggest total first)
    with its amount each month, its total and monthly average; then spending, income and
    net per month, as ``trends_for`` gives them (the API's figures); and each month's
    spending as a share of the biggest month's (the chart's bar)."""
    months = [date(int(m["month"][:4]), int(m["month"][5:]), 1) for m in trends["months"]]
    n = len(months)
    amounts: dict[int, list[Decimal]] = {}
    names: dict[int, str] = {}
    for i, m in enumerate(trends["months"]):
        for line in m["spending"]:
            names[line["category"]] = line["name"]
            amounts.setdefault(line["category"], [Decimal(0)] * n)[i] = Decimal(line["spent"])
    rows = []
    for category, row_amounts in amounts.items():
        total = sum(row_amounts, Decimal(0))
        rows.append({"name": names[category], "category": category, "amounts": row_amounts,
                     "total": total, "average": (total / n).quantize(Decimal("0.01"))})
    rows.sort(key=lambda r: (-r["total"], r["name"]))
    spent = [Decimal(m["spent"]) for m in trends["months"]]
    income = [Decimal(m["income"]) for m in trends["months"]]
    net = [Decimal(m["net"]) for m in trends["months"]]
    biggest = max([*spent, Decimal(0)])
    columns = [{"month": month, "last_day": add_months(month, 1) - timedelta(days=1),
                "spent": spent[i], "income": income[i], "net": net[i],
                # (a month of more refunds than spending has no bar, not a negative one)
                "bar": max(int(spent[i] * 100 / biggest), 0) if biggest > 0 else 0}
               for i, month in enumerate(months)]
    for row in rows:
        row["cells"] = [{"amount": amount, "column": column}
                        for amount, column in zip(row["amounts"], columns, strict=True)]
    return {
        "rows": rows,
        "columns": columns,
        "last_day": columns[-1]["last_day"],
        "spent": sum(spent, Decimal(0)),
        "income": sum(income, Decimal(0)),
        "average_spent": (sum(spent, Decimal(0)) / n).quantize(Decimal("0.01")),
        "average_income": (sum(income, Decimal(0)) / n).quantize(Decimal("0.01")),
        "net": sum(net, Decimal(0)),
        "average_net": (sum(net, Decimal(0)) / n).quantize(Decimal("0.01")),
    }


@login_required
def trend_list(request):
    """Spending per top-level category over the last ``?months=`` (3, 6, 12 or 24; default
    12) months up to ``?month=YYYY-MM`` (default: this month), from the same cache as
    ``/api/v1/trends/``. A malformed choice is a 400 page that links to the default."""
    user = request.user
    try:
        month = parse_month(request.GET.get("month"), user=user)
        text = request.GET.get("months", "12")
        if text not in {str(m) for m in TREND_MONTHS}:
            raise ValueError("months must be one of " + ", ".join(map(str, TREND_MONTHS)))
        months = int(text)
    except ValueError as exc:
        return render(request, "budgets/trends.html", {"error": str(exc)}, status=400)
    trends, _ = summary_cached(user.id, trends_cache_name(last=month, months=months),
                               lambda: trends_for(user=user, last=month, months=months))
    first = add_months(month, -(months - 1))
    now = current_month(user)
    return render(request, "budgets/trends.html", {
        "month": month, "months": months, "first": first,
        "choices": TREND_MONTHS,
        "is_current_month": month == now,
        # No link to a period that starts before parse_month's first month (1900-01).
        "previous_month": add_months(month, -months)
        if add_months(first, -months) >= date(1900, 1, 1) else None,
        # Later periods only up to this month: months to come have no spending.
        "next_month": min(add_months(month, months), now) if month < now else None,
        "table": _trend_table(trends),
        "currencies": currencies_for(user=user, first=first, last=month),
    })


def _spending_top(pk) -> Category:
    # The shared top-level categories, as the API's PUT/DELETE look them up; whether one
    # takes a budget (not Income or Transfer) is the service's to say.
    return get_object_or_404(Category, pk=pk, user=None, parent=None)


@login_required
@post_only("dashboard:budgets")
def budget_amount(request, category_id):
    """Sets the budget of one top-level category by hand."""
    category = _spending_top(category_id)
    form = BudgetAmountForm(request.POST)
    back = _month_url(request.user, request.POST.get("month"), f"budget-{category.pk}")
    if _from_another_month(request):
        return redirect(back)
    if not form.is_valid():
        return _refused(request, back, category, request.POST.get("amount", ""),
                        [e for errors in form.errors.values() for e in errors])
    try:
        budget = budget_set(user=request.user, category=category,
                            amount=form.cleaned_data["amount"])
    except ValidationError as exc:
        return _refused(request, back, category, request.POST.get("amount", ""),
                        exc.messages)
    messages.success(request, f"{category.name} budget set to {budget.amount:,.2f} a month "
                              f"from {budget.since:%B %Y} on.")
    return redirect(back)


AMOUNT_ERROR = "budget_amount_error"


def _refused(request, back: str, category, typed: str, errors: list[str]):
    """Back to the page, whose row of ``category`` shows the amount typed and why it was
    refused (next to the box, kept for the next try), and the banner says it too."""
    message = " ".join(errors)
    request.session[AMOUNT_ERROR] = {"category": category.pk, "value": typed[:40],
                                     "message": message}
    messages.error(request, f"{category.name}: {message}")
    return redirect(back)


@login_required
@post_only("dashboard:budgets")
def budget_recommendation(request, category_id):
    """Drops the budget set by hand: the category follows the recommendation again."""
    category = _spending_top(category_id)
    form = BudgetResetForm(request.POST)
    month = form.cleaned_data["month"] if form.is_valid() else None
    if _from_another_month(request):
        return redirect(_month_url(request.user, month, f"budget-{category.pk}"))
    back = _month_url(request.user, month, f"budget-{category.pk}")
    try:
        budget_reset(user=request.user, category=category)
    except ValidationError as exc:  # Income or Transfer (a crafted post: no button for them)
        messages.error(request, f"{category.name}: " + " ".join(exc.messages))
        return redirect(back)
    messages.success(request, f"{category.name} follows the recommendation again.")
    return redirect(back)


@login_required
@require_http_methods(["GET", "POST"])
def budget_settings(request):
    """Monthly income (empty: estimated from history) and the alert threshold. Invalid
    input shows the page again with the errors, and changes nothing. A GET (the address
    bar after an invalid post, a bookmark) goes to the form on the budgets page."""
    if request.method == "GET":
        return redirect(_month_url(request.user, request.GET.get("month"), "settings"))
    form = BudgetProfileForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            budget_profile_update(
                user=request.user, monthly_income=data["monthly_income"],
                approaching_percent=data["approaching_percent"],
                clear_income=data["monthly_income"] is None,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "Budget settings saved.")
            return redirect(_month_url(request.user, data["month"], "settings"))
    messages.error(request, "The budget settings were not saved: see below.")
    try:
        month = parse_month(request.POST.get("month"), user=request.user)
    except ValueError:
        month = current_month(request.user)
    return _render_budgets(request, month, profile_form=form, status=400)

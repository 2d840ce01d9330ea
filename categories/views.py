"""Dashboard pages for the user's rules ("always categorise transactions like this") and
their own sub-categories, scoped to ``request.user``: the lists, a form to add one, and
changing or deleting each. Reads go through ``categories.selectors``, writes through the
services, as ``/api/v1/rules/`` and ``/api/v1/categories/`` do."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from mint.views import post_only
from transactions.selectors import transactions_for

from .forms import CategoryCreateForm, CategoryRenameForm, RuleCreateForm, RuleDeleteForm
from .models import Category, Rule
from .selectors import categories_for, rules_for
from .services import (
    category_create,
    category_delete,
    category_rename,
    rule_create,
    rule_delete,
    rule_update,
)


def _rule_name(rule: Rule) -> str:
    """What a message calls a rule: its seller, else its description text, else its
    account, else its amount range."""
    if rule.seller:
        return rule.seller
    if rule.description_contains:
        return f"“{rule.description_contains}”"
    if rule.account_id:
        return str(rule.account)
    return "an amount range"


def _saved(request, what: str, rule: Rule, apply_to_past: bool):
    done = f"{what}: {_rule_name(rule)} is filed under {rule.category}."
    if apply_to_past:
        done += " Earlier transactions are being updated."
    messages.success(request, done)
    return redirect("dashboard:rules")


def _render_rules(request, form: RuleCreateForm, *, status: int = 200):
    # Every rule, newest first, unpaged: rules are made one at a time by hand. The
    # category's parent ("Top › Sub") and the account come in the same query.
    rules = (rules_for(user=request.user).select_related("category__parent")
             .order_by("-created_at", "-id"))
    return render(request, "categories/rule_list.html", {"rules": rules, "form": form},
                  status=status)


@login_required
@require_http_methods(["GET", "POST"])
def rule_list(request):
    """The user's rules; a POST adds one. Invalid input shows the page again with the
    errors, and adds nothing."""
    if request.method == "GET":
        return _render_rules(request, RuleCreateForm(user=request.user))
    form = RuleCreateForm(request.POST, user=request.user)
    if form.is_valid():
        data = form.cleaned_data
        try:
            rule = rule_create(
                user=request.user, category=data["category"], seller=data["seller"],
                description_contains=data["description_contains"],
                rename_to=data["rename_to"], apply_to_past=data["apply_to_past"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            return _saved(request, "Added a rule", rule, data["apply_to_past"])
    messages.error(request, "The rule was not added: see below.")
    return _render_rules(request, form, status=400)


@login_required
@require_http_methods(["GET", "POST"])
def rule_edit(request, pk):
    """Changes a rule's seller, description text, category or new name (its amount and
    account conditions stay: the API changes those). The seller's match key is worked out
    again only if the seller's text changed: a rule made with "Always for …" keeps the
    exact key of its transaction (``rule_update``)."""
    rule = get_object_or_404(rules_for(user=request.user), pk=pk)
    initial = {"seller": rule.seller, "description_contains": rule.description_contains,
               "category": rule.category_id, "rename_to": rule.rename_to}
    form = RuleCreateForm(request.POST if request.method == "POST" else None,
                          initial=initial, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            rule = rule_update(
                rule=rule, apply_to_past=data["apply_to_past"], seller=data["seller"],
                description_contains=data["description_contains"],
                category=data["category"], rename_to=data["rename_to"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            return _saved(request, "Changed the rule", rule, data["apply_to_past"])
    if form.is_bound:
        messages.error(request, "The rule was not changed: see below.")
    return render(request, "categories/rule_edit.html", {"rule": rule, "form": form},
                  status=400 if form.errors else 200)


@login_required
@post_only("dashboard:rules")
def rule_remove(request, pk):
    """Deletes one of the user's rules; with "Also put past transactions back" the
    transactions it filed are categorised again without it (in the background)."""
    rule = get_object_or_404(rules_for(user=request.user), pk=pk)
    form = RuleDeleteForm(request.POST)
    apply_to_past = form.is_valid() and form.cleaned_data["apply_to_past"]
    name = _rule_name(rule)
    rule_delete(rule=rule, apply_to_past=apply_to_past)
    if apply_to_past:
        messages.success(request, f"Deleted the rule for {name}. The transactions it filed "
                                  "are being put back.")
    else:
        messages.success(request, f"Deleted the rule for {name}. Transactions it already "
                                  "filed keep their category.")
    return redirect("dashboard:rules")


def _own_categories(user):
    return categories_for(user=user).filter(user=user).select_related("parent")


def _render_categories(request, form: CategoryCreateForm, *, status: int = 200,
                       renaming: tuple[int, CategoryRenameForm] | None = None):
    own = list(_own_categories(request.user).order_by("parent__name", "name"))
    ids = [category.pk for category in own]
    rows = dict(transactions_for(user=request.user).filter(category_id__in=ids)
                .values_list("category_id").annotate(n=Count("id")))
    rules = dict(rules_for(user=request.user).filter(category_id__in=ids)
                 .values_list("category_id").annotate(n=Count("id")))
    for category in own:
        category.rows, category.rules = rows.get(category.pk, 0), rules.get(category.pk, 0)
        category.rename_form = (renaming[1] if renaming and renaming[0] == category.pk
                                else CategoryRenameForm(initial={"name": category.name},
                                                        prefix=f"c{category.pk}"))
    return render(request, "categories/category_list.html",
                  {"own": own, "form": form}, status=status)


def _tops():
    return list(Category.objects.filter(user=None, parent=None).order_by("name"))


@login_required
@require_http_methods(["GET", "POST"])
def category_list(request):
    """The user's own sub-categories; a POST adds one."""
    if request.method == "GET":
        return _render_categories(request, CategoryCreateForm(tops=_tops()))
    form = CategoryCreateForm(request.POST, tops=_tops())
    if form.is_valid():
        try:
            category = category_create(user=request.user, parent=form.cleaned_data["parent"],
                                       name=form.cleaned_data["name"])
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Added {category}. Choose it for a transaction on "
                                      "the Transactions page, or in a rule.")
            return redirect("dashboard:categories")
    messages.error(request, "The category was not added: see below.")
    return _render_categories(request, form, status=400)


@login_required
@post_only("dashboard:categories")
def category_rename_view(request, pk):
    category = get_object_or_404(_own_categories(request.user), pk=pk)
    form = CategoryRenameForm(request.POST, prefix=f"c{category.pk}")
    if form.is_valid():
        before = str(category)
        try:
            category = category_rename(category=category, name=form.cleaned_data["name"])
        except ValidationError as exc:
            form.add_error("name", exc.message_dict.get("name", exc.messages))
        else:
            messages.success(request, f"Renamed {before} to {category.name}.")
            return redirect("dashboard:categories")
    messages.error(request, f"{category} was not renamed: see below.")
    return _render_categories(request, CategoryCreateForm(tops=_tops()), status=400,
                              renaming=(category.pk, form))


@login_required
@require_http_methods(["GET", "POST"])
def category_remove(request, pk):
    """Asks, then deletes one of the user's own categories: its transactions move to its
    parent, its rules go (``category_delete``)."""
    category = get_object_or_404(_own_categories(request.user), pk=pk)
    if request.method == "POST":
        name = str(category)
        category_delete(category=category)
        messages.success(request, f"Deleted {name}; its transactions are under "
                                  f"{category.parent.name} now.")
        return redirect("dashboard:categories")
    rows = transactions_for(user=request.user).filter(category=category).count()
    rules = rules_for(user=request.user).filter(category=category).count()
    return render(request, "categories/category_remove.html",
                  {"category": category, "rows": rows, "rules": rules})

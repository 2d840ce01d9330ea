"""Dashboard pages for sign-up and linked accounts. Every read goes through a selector
scoped to ``request.user`` and every write through a service; another user's connection
is a 404, never a 403, so that ids cannot be probed."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from mint.views import post_only
from transactions.models import RefreshRun
from transactions.selectors import transactions_for
from transactions.services.refresh import refresh_request

from .forms import AccountDeleteForm, LinkForm, SettingsForm, SignupForm
from .models import Connection
from .providers import ProviderError
from .selectors import connections_for, financial_accounts_for
from .services import (
    account_connect,
    account_unlink,
    financial_account_delete,
    financial_account_rename,
    user_delete,
    user_register,
    user_timezone_set,
)

RECENT_TRANSACTIONS = 10
REFRESHING = ("refreshing", "Refreshing…")
RETRYING = ("refreshing", "Retrying after an error…")  # the bank failed; tried again soon


def _badge(connection) -> tuple[str, str]:
    """The status badge of a connection's card, as (CSS modifier, label). A queued or
    running refresh says so: the stored status is still the previous run's outcome, so
    "Up to date" (or "Refresh failing") would contradict the Last run and the button."""
    if connection.last_run_status == RefreshRun.Status.RETRYING:
        return RETRYING
    if connection.last_run_status in RefreshRun.ACTIVE:
        return REFRESHING
    return connection.status, connection.get_status_display()


def _render_home(request, link_form: LinkForm, status: int = 200):
    connections = list(connections_for(user=request.user))
    recent = (
        transactions_for(user=request.user)
        .select_related("account")
        .order_by("-posted_on", "-id")[:RECENT_TRANSACTIONS]
    )
    for connection in connections:
        connection.is_refreshing = connection.last_run_status in RefreshRun.ACTIVE
        connection.badge_status, connection.badge_label = _badge(connection)
    return render(
        request,
        "accounts/home.html",
        {
            "connections": connections,
            "recent_transactions": recent,
            "link_form": link_form,
            # Not under a form sent back with its errors: the page is the POST's answer,
            # and reloading it would send the form (and the bank password) again.
            "auto_reload": status == 200 and any(c.is_refreshing for c in connections),
            # A rename that was refused: its form shows open, with the name typed and why.
            "rename_error": request.session.pop(RENAME_ERROR, None),
        },
        status=status,
    )


@login_required
def home(request):
    return _render_home(request, LinkForm())


@login_required
@post_only("dashboard:home", "#link")
def connection_link(request):
    form = LinkForm(request.POST)
    if not form.is_valid():
        messages.error(request, "The account was not linked: see the form below.")
        return _render_home(request, form, status=400)
    data = form.cleaned_data
    try:
        # account_connect is atomic: the first refresh is enqueued when it commits.
        connection, created = account_connect(
            user=request.user, provider=data["provider"], url=data["url"],
            login=data["login"], password=data["password"],
        )
    except ProviderError as exc:
        form.add_error(None, str(exc))
        messages.error(request, "The account was not linked: see the form below.")
        return _render_home(request, form, status=400)
    connection.refresh_from_db()  # a worker (or eager Celery) may have refreshed it already
    name = connection.institution or connection.url
    if not created and getattr(connection, "password_replaced", False):
        messages.info(request, f"Updated the password for {name} and refreshing it with it.")
    elif not created:
        messages.info(request, f"{name} is linked with this login already: refreshing it "
                               "instead.")
    elif connection.last_error:
        # The card it lands on says what went wrong in plain words, with the detail.
        messages.error(request, f"Linked {connection.institution or connection.url}, "
                                "but the first refresh failed: see below.")
    elif connection.last_refreshed_at is None:
        # The worker has not got to it yet: the login is not known to work.
        messages.info(request, f"Linking {connection.institution or connection.url}: checking "
                               "the login and getting the transactions… this page updates "
                               "by itself.")
    else:
        messages.success(request, f"Linked {connection.institution or connection.url}.")
    return redirect(f"{reverse('dashboard:home')}#connection-{connection.pk}")


@login_required
@post_only("dashboard:home")
def connection_refresh(request, pk):
    connection = get_object_or_404(
        connections_for(user=request.user).exclude(provider=Connection.Provider.FILE), pk=pk
    )
    with transaction.atomic():
        run = refresh_request(connection=connection, trigger=RefreshRun.Trigger.MANUAL)
    run.refresh_from_db()  # the enqueue runs on commit; eager Celery has finished by now
    name = connection.institution or connection.url
    if run.status == RefreshRun.Status.SUCCEEDED:
        messages.success(request, f"Refreshed {name}: {run.created} new transactions.")
    elif run.status == RefreshRun.Status.FAILED:
        messages.error(request, f"Refreshing {name} failed: see below.")
    else:
        messages.info(request, f"Refreshing {name}… this page updates by itself.")
    return redirect(f"{reverse('dashboard:home')}#connection-{connection.pk}")


@login_required
@require_http_methods(["GET", "POST"])
def connection_unlink(request, pk):
    connection = get_object_or_404(connections_for(user=request.user), pk=pk)
    if request.method == "POST":
        name = connection.institution or connection.url or "the connection"
        account_unlink(connection=connection)
        messages.success(request, f"Unlinked {name} and deleted its transactions.")
        return redirect("dashboard:home")
    rows = transactions_for(user=request.user).filter(account__connection=connection).count()
    return render(request, "accounts/connection_unlink.html",
                  {"connection": connection, "rows": rows})


RENAME_ERROR = "account_rename_error"


@login_required
@post_only("dashboard:home")
def financial_account_rename_view(request, pk):
    """Renames one of the user's accounts (from its row on the accounts page)."""
    account = get_object_or_404(financial_accounts_for(user=request.user), pk=pk)
    try:
        financial_account_rename(account=account, name=request.POST.get("name", ""))
    except ValidationError as exc:
        reason = " ".join(exc.messages)
        request.session[RENAME_ERROR] = {"account": account.pk,
                                         "value": request.POST.get("name", "")[:200],
                                         "message": reason}
        messages.error(request, f"{account.name} keeps its name: {reason}.")
    else:
        messages.success(request, f"Renamed to “{account.name}”.")
    return redirect(f"{reverse('dashboard:home')}#connection-{account.connection_id}")


@login_required
@require_http_methods(["GET", "POST"])
def imported_account_remove(request, pk):
    """One account of the imported files, with its transactions: a bank's account would
    come back at its next refresh (unlink the connection for those), a file's does not."""
    account = get_object_or_404(
        financial_accounts_for(user=request.user).filter(
            connection__provider=Connection.Provider.FILE), pk=pk)
    if request.method == "POST":
        financial_account_delete(account=account)
        messages.success(request, f"Removed {account.name} and its transactions.")
        return redirect("dashboard:home")
    rows = transactions_for(user=request.user).filter(account=account).count()
    return render(request, "accounts/imported_account_remove.html",
                  {"account": account, "rows": rows})


@login_required
@require_http_methods(["GET", "POST"])
def account_delete(request):
    """The user's own account and everything of theirs, once they give their password
    again (``user_delete``, as support's deletion); then they are logged out."""
    user = request.user
    form = AccountDeleteForm(request.POST if request.method == "POST" else None, user=user,
                             request=request)
    if request.method == "POST" and form.is_valid():
        email = user.email
        user_delete(user=user)
        logout(request)
        messages.success(request, f"The account {email} and all of its data were deleted.")
        return redirect("login")
    response = render(request, "accounts/account_delete.html", {
        "form": form,
        "connections": connections_for(user=user).exclude(
            provider=Connection.Provider.FILE).count(),
        "accounts": financial_accounts_for(user=user).count(),
        "rows": transactions_for(user=user).count(),
    }, status=429 if form.retry_after else 400 if form.errors else 200)
    if form.retry_after:
        response["Retry-After"] = str(form.retry_after)  # as the log-in pages
    return response


@require_http_methods(["GET", "POST"])
def signup(request):
    if request.user.is_authenticated:
        return redirect("dashboard:home")
    form = SignupForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            user = user_register(email=form.cleaned_data["email"],
                                 password=form.cleaned_data["password"],
                                 timezone=form.cleaned_data["timezone"])
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):  # the address taken meanwhile (sent twice)
                form.add_error("email", SignupForm.EMAIL_TAKEN)
            else:  # the password validators
                form.add_error("password", exc)
        else:
            login(request, user, backend=settings.AUTHENTICATION_BACKENDS[0])
            messages.success(request, "Welcome to Mint. Link an account to get started.")
            return redirect("dashboard:home")
    return render(request, "registration/signup.html", {"form": form},
                  status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def user_settings(request):
    """The user's time zone (and a link to change the password)."""
    form = SettingsForm(request.POST if request.method == "POST" else None,
                        initial={"timezone": request.user.timezone})
    if request.method == "POST" and form.is_valid():
        user_timezone_set(user=request.user, timezone=form.cleaned_data["timezone"])
        messages.success(request, f"Time zone set to {request.user.timezone}.")
        return redirect("dashboard:settings")
    return render(request, "accounts/settings.html", {"form": form},
                  status=400 if form.errors else 200)

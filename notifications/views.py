"""Dashboard pages for in-app notifications, scoped to ``request.user``, and the context
processor behind the unread badge in the top bar."""

from functools import cache

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import BadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from mint.views import post_only

from .forms import ReadAllForm
from .models import Channel, Notification
from .selectors import notifications_for, preferences_for, unread_count, webhooks_for
from .services import notification_mark_read, notifications_mark_all_read, preferences_set
from .services.preferences import CHANNELS, IN_APP

PAGE_SIZE = 20


def unread_badge(request) -> dict:
    """Context processor: ``unread_notifications``, the user's unread count, for the badge
    in the top bar. A callable the template calls: the COUNT runs once per page, and only
    on pages that show it (not for anonymous visitors, not in the admin)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"unread_notifications": cache(lambda: unread_count(user=user))}


def _positive_int(value: str, name: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise BadRequest(f"malformed {name!r}") from None
    if number < 1:
        raise BadRequest(f"malformed {name!r}")
    return number


@login_required
def notification_list(request):
    """Newest first, paged by keyset on the id (``?before=<id>``), never by offset: a page
    costs the same however far back it is, and one arriving meanwhile shifts nothing.
    ``?unread=1`` shows unread ones only."""
    unread_only = request.GET.get("unread") == "1"
    rows = notifications_for(user=request.user, unread=True if unread_only else None)
    before = request.GET.get("before")
    if before:
        rows = rows.filter(id__lt=_positive_int(before, "before"))
    page = list(rows[: PAGE_SIZE + 1])
    older_cursor = page[PAGE_SIZE - 1].id if len(page) > PAGE_SIZE else None
    page = page[:PAGE_SIZE]
    # "Mark all read" marks up to the newest notification the first page showed (carried
    # along while paging back), so one arriving after the page was read stays unread.
    newest = request.GET.get("newest")
    newest = _positive_int(newest, "newest") if newest else (page[0].id if page else None)
    return render(request, "notifications/notification_list.html", {
        "notifications": page,
        "older_cursor": older_cursor,
        "newest": newest,
        "is_first_page": not before,
        "unread_only": unread_only,
    })


def _back(request, anchor: str = "") -> str:
    """The page the form came from (a path on this site), else the first page."""
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        target = reverse("dashboard:notifications")
    target = target.partition("#")[0]
    return f"{target}#{anchor}" if anchor else target


@login_required
@post_only("dashboard:notifications")
def notification_read(request, pk):
    notification = get_object_or_404(notifications_for(user=request.user), pk=pk)
    notification_mark_read(notification=notification)
    return redirect(_back(request, f"notification-{notification.pk}"))


@login_required
@post_only("dashboard:notifications")
def notifications_read_all(request):
    form = ReadAllForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Nothing was marked read: the form was malformed.")
        return redirect(_back(request))
    marked = notifications_mark_all_read(user=request.user,
                                         up_to_id=form.cleaned_data["up_to_id"])
    if marked:
        messages.success(request, f"Marked {marked} notification{'' if marked == 1 else 's'} "
                                  "read.")
    else:
        messages.info(request, "No unread notifications.")
    return redirect(_back(request))


# What each kind is, as the preferences page says it.
KIND_LABELS = {
    Notification.Kind.BUDGET_APPROACHING: ("Budget almost spent",
                                           "a category reaches your warning level (80 % by "
                                           "default, set on the Budgets page)"),
    Notification.Kind.BUDGET_EXCEEDED: ("Over budget", "a category's spending passes its budget"),
    Notification.Kind.REFRESH_FINISHED: ("Refresh finished",
                                         "a link or refresh brought new or changed "
                                         "transactions, or an account works again after "
                                         "failing"),
    Notification.Kind.REFRESH_FAILING: ("Refresh failing",
                                        "an account could not be refreshed, or the bank "
                                        "refused its login"),
}


@login_required
@require_http_methods(["GET", "POST"])
def notification_preferences(request):
    """Which notifications go by email and to webhooks (in the app they always show): one
    checkbox per kind and channel, saved as the whole matrix, as the API's PUT does."""
    if request.method == "POST":
        matrix = {kind: {IN_APP: True, **{channel: f"{channel}:{kind}" in request.POST
                                         for channel in Channel.values}}
                  for kind in Notification.Kind.values}
        preferences_set(user=request.user, matrix=matrix)
        messages.success(request, "Notification preferences saved.")
        return redirect("dashboard:notification_preferences")
    matrix = preferences_for(user=request.user)
    rows = [{"kind": kind, "label": KIND_LABELS[kind][0], "when": KIND_LABELS[kind][1],
             "channels": [(channel, matrix[kind][channel]) for channel in CHANNELS
                          if channel != IN_APP]}
            for kind in Notification.Kind.values]
    webhooks = list(webhooks_for(user=request.user))
    return render(request, "notifications/preferences.html", {
        "rows": rows,
        "webhooks_active": sum(1 for w in webhooks if w.active),
        "webhooks": len(webhooks),
    })

"""Dashboard pages for transactions and file imports, scoped to ``request.user``."""

from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import BadRequest, ValidationError
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from accounts.selectors import financial_accounts_for
from categories.selectors import category_tree
from categories.services import transaction_categorize
from mint.filters import MAX_ID, ascii_id
from mint.views import post_only

from .api.filters import TransactionFilter
from .forms import ImportForm, TransactionCategorizeForm, TransactionFilterForm
from .importers import ImportFormatError
from .models import ImportJob, Transaction
from .selectors import (
    import_jobs_for,
    transactions_after,
    transactions_before,
    transactions_for,
)
from .services.imports import ImportNotUndoable, import_create, import_progress, import_undo

PAGE_SIZE = 50
RECENT_IMPORTS = 10


def _cursor(tx) -> str:
    return f"{tx.posted_on.isoformat()}.{tx.pk}"


def _parse_cursor(value: str, name: str = "before") -> tuple[date, int]:
    try:
        day, _, pk = value.partition(".")
        return date.fromisoformat(day), int(pk)
    except ValueError:
        raise BadRequest(f"malformed '{name}' cursor") from None


@login_required
def transaction_list(request):
    """Newest first, paged by keyset on (posted_on, id): the cost of a page does not grow
    with how far back it is, unlike OFFSET, and rows arriving meanwhile shift nothing."""
    tree = category_tree(user=request.user)  # the filter's choices and every row's form
    form = TransactionFilterForm(request.GET or None, user=request.user, tree=tree)
    if form.is_bound and not form.is_valid():
        if "account" in form.errors:
            raise Http404("no such account")
        return render(request, "transactions/transaction_list.html",
                      {"form": form, "transactions": [], "older_cursor": None,
                       "is_first_page": True}, status=400)
    filters = form.cleaned_data if form.is_bound else {}
    # The API's filter set, so that the dashboard and /api/v1/transactions/ agree.
    queryset = TransactionFilter(
        {"q": filters.get("q", ""),
         "account": filters["account"].pk if filters.get("account") else "",
         "date_from": filters.get("date_from") or "", "date_to": filters.get("date_to") or "",
         "category": filters.get("category") or ""},
        queryset=transactions_for(user=request.user), request=request,
    ).qs
    before, after = request.GET.get("before"), request.GET.get("after")
    queryset = queryset.select_related("account")
    if after and not before:
        # Back one page: the PAGE_SIZE rows just newer than the page that was shown
        # (read oldest first, then shown newest first), and whether any are newer still.
        day, pk = _parse_cursor(after, "after")
        newer = list(transactions_after(queryset, day=day, first_id=pk)
                     .order_by("posted_on", "id")[: PAGE_SIZE + 1])
        rows = newer[:PAGE_SIZE][::-1]
        has_newer = len(newer) > PAGE_SIZE
        older_cursor = _cursor(rows[-1]) if rows else None
    else:
        if before:
            day, pk = _parse_cursor(before, "before")
            queryset = transactions_before(queryset, day=day, last_id=pk)
        rows = list(queryset.order_by("-posted_on", "-id")[: PAGE_SIZE + 1])
        has_newer = bool(before)
        older_cursor = _cursor(rows[PAGE_SIZE - 1]) if len(rows) > PAGE_SIZE else None
        rows = rows[:PAGE_SIZE]
    newer_cursor = _cursor(rows[0]) if has_newer and rows else None
    query = request.GET.copy()
    edit = query.pop("edit", [""])[-1]
    return render(
        request,
        "transactions/transaction_list.html",
        {
            "form": form,
            "transactions": rows,
            "older_cursor": older_cursor,
            "newer_cursor": newer_cursor,
            "is_first_page": newer_cursor is None,
            # The category <option>s (124) are rendered once, in a <template> that a
            # row's "Change" copies into its <select> when opened: carried by every row,
            # they made the page ~380 KB and ~8,700 elements, 1.2–2 s to load in a
            # browser. Without JavaScript, "Show the categories" reloads the page with
            # them in that row (``?edit=<id>``).
            "category_options": render_to_string(
                "transactions/_category_options.html",
                {"tree": tree},
            ),
            "edit_pk": _edit_id(edit),
            "list_query": query.urlencode(),
        },
    )


def _edit_id(text: str) -> int | None:
    """The row whose categories ``?edit=`` opens: an id of ASCII digits, else none
    ("²".isdigit() is true, yet int() refuses it, as it does 4,300 digits or more)."""
    pk = ascii_id(text)
    return pk if pk is not None and pk <= MAX_ID else None


def _back_to_list(request, pk: int) -> str:
    """Where the row's form came from (the list with its filters and page), if that is a
    path on this site; the first page of the list otherwise."""
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        target = reverse("dashboard:transactions")
    return f"{target.partition('#')[0]}#tx-{pk}"


@login_required
@post_only("dashboard:transactions")
def transaction_category(request, pk):
    """Files one of the user's transactions under a category by hand; "always" also makes
    a rule for its seller. Answers with a redirect back to the list either way."""
    tx = get_object_or_404(transactions_for(user=request.user), pk=pk)
    form = TransactionCategorizeForm(request.POST, user=request.user)
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect(_back_to_list(request, tx.pk))
    data = form.cleaned_data
    try:
        tx, rule = transaction_categorize(
            user=request.user, transaction_id=tx.pk, category=data["category"],
            always=data["always"], rename_to=data["rename_to"],
        )
    except Transaction.DoesNotExist:  # deleted (an unlink) since the lookup above
        raise Http404("no such transaction") from None
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(_back_to_list(request, tx.pk))
    name = tx.seller or tx.description
    done = (f"Filed “{name}” under {data['category']}." if data["category"] is not None
            else f"Renamed to “{name}”.")
    if rule is not None:
        done += (f" Every transaction from {name} will be filed there too; earlier ones are "
                 "being updated.")
    messages.success(request, done)
    return redirect(_back_to_list(request, tx.pk))


@login_required
@require_http_methods(["GET", "POST"])
def import_upload(request):
    posted = request.method == "POST"
    form = ImportForm(request.POST if posted else None, request.FILES if posted else None,
                      user=request.user)
    if posted and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            with transaction.atomic():  # a queued import is enqueued once the job commits
                job = import_create(
                    user=request.user, data=upload.read(), filename=upload.name or "",
                    format=form.cleaned_data["format"] or None,
                    account=form.cleaned_data["account"], options=form.import_options(),
                )
        except ImportFormatError as exc:
            form.add_error("file", str(exc))
            form.columns_needed = exc.columns
        else:
            if job.status == ImportJob.Status.SUCCEEDED:
                corrected = f", {job.updated} corrected" if job.updated else ""
                messages.success(request, f"Imported {job.filename}: {job.created} new"
                                          f"{corrected}, {job.duplicates} already known.")
            else:
                messages.info(request, f"{job.filename} is being imported.")
            return redirect("dashboard:import_detail", pk=job.pk)
    return render(
        request,
        "transactions/import_form.html",
        {"form": form, "jobs": import_jobs_for(user=request.user)
         .select_related("account").order_by("-created_at")[:RECENT_IMPORTS]},
        status=400 if form.errors else 200,
    )


@login_required
def import_detail(request, pk):
    job = get_object_or_404(import_jobs_for(user=request.user).select_related("account"), pk=pk)
    finished = job.status in (ImportJob.Status.SUCCEEDED, ImportJob.Status.FAILED)
    into = list(financial_accounts_for(user=request.user).filter(id__in=job.account_ids)
                .order_by("name")) if job.account_ids else []
    # A file of several accounts (a Mint export's checking and card): its transactions
    # are those of the connection they all went into, the file imports'.
    connections = {account.connection_id for account in into}
    return render(request, "transactions/import_detail.html",
                  {"job": job, "auto_reload": not finished, "into": into,
                   "into_connection": connections.pop() if len(connections) == 1 else None,
                   "progress": import_progress(job)})


@login_required
@require_http_methods(["GET", "POST"])
def import_undo_confirm(request, pk):
    """Asks, then takes back what an import added (services.imports.import_undo)."""
    job = get_object_or_404(import_jobs_for(user=request.user), pk=pk)
    name = job.filename or "the file"
    if request.method == "POST":
        try:
            job = import_undo(job=job)
        except ImportNotUndoable as exc:
            messages.error(request, f"The import of {name} was not undone: {exc}")
        else:
            messages.success(request, f"Undid the import of {name}: {job.removed} "
                                      f"transaction{'' if job.removed == 1 else 's'} removed.")
        return redirect("dashboard:import_detail", pk=job.pk)
    if not job.undoable:
        return redirect("dashboard:import_detail", pk=job.pk)
    # Later imports into the same accounts: the rows they found already there (this
    # file's) go with this one, which the page says.
    mine = set(job.account_ids)
    later = [other for other in import_jobs_for(user=request.user).filter(
        created_at__gt=job.created_at, status=ImportJob.Status.SUCCEEDED,
        undone_at__isnull=True).only("id", "account_ids") if mine & set(other.account_ids)]
    return render(request, "transactions/import_undo.html",
                  {"job": job, "name": name, "later": len(later)})

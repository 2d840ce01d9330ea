from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from accounts.admin import BoundedCountPaginator, IndexedSearch, ReadOnly, uuid_term

from .importers.dispatch import FORMATS
from .models import ImportJob, RawDump, RefreshRun, Transaction


# Rows are written by ingest and the categorisation services, which move their monthly
# spending with them: an amount, date or category edited here, or a row deleted, would
# leave budgets.MonthlySpending stale, and a row given to another user would keep the
# first user's account.
@admin.register(Transaction)
class TransactionAdmin(IndexedSearch, ReadOnly):
    list_display = ["posted_on", "user", "description", "amount", "category", "pending"]
    list_select_related = ["user", "category__parent"]
    search_keys = (("id", int),)
    search_within_user = ("description", "seller")
    search_help_text = ("Exact email or id; text in the description or seller on one "
                        "user's list (from the user's page).")
    list_filter = ["pending", "category_source"]
    raw_id_fields = ["user", "account", "category", "dump"]
    # No COUNT(*) over billions of rows: neither Django's second count of the whole
    # table, nor the paginator's of the list (counted up to a cap).
    show_full_result_count = False
    paginator = BoundedCountPaginator

    def get_ordering(self, request):
        """One user's rows newest first, as the (user, posted_on, id) index reads them
        backwards; by id (the table's newest rows) otherwise."""
        if request.GET.get("user__id__exact"):
            return ["-posted_on", "-id"]
        return super().get_ordering(request)


# The refresh service writes runs (a run without a connection cannot exist).
@admin.register(RefreshRun)
class RefreshRunAdmin(IndexedSearch, ReadOnly):
    list_display = ["created_at", "user", "connection_shown", "trigger", "status", "attempts",
                    "created", "error"]
    list_filter = ["status", "trigger"]
    ordering = ["-created_at"]
    search_keys = (("id", uuid_term),)
    search_help_text = "Exact email or run id."
    raw_id_fields = ["user", "connection", "dump"]
    readonly_fields = [f.name for f in RefreshRun._meta.fields]
    list_select_related = ["user", "connection"]
    show_full_result_count = False
    paginator = BoundedCountPaginator

    @admin.display(description="Connection", ordering="connection")
    def connection_shown(self, run):
        """A user's connections to one bank all read "Demo bank Mint Demo Bank": the
        start of its id tells them apart, and leads to it."""
        if run.connection_id is None:
            return "-"
        return format_html('<a href="{}">{} · {}</a>',
                           reverse("admin:accounts_connection_change", args=[run.connection_id]),
                           run.connection, str(run.connection_id)[:8])


# A dump's key is never overwritten (rows point at what it holds), and an import job is
# the import service's record of what it did.
@admin.register(RawDump)
class RawDumpAdmin(IndexedSearch, ReadOnly):
    list_display = ["created_at", "user", "key", "size"]
    ordering = ["-created_at"]
    # The key's start (raw/<user id>/…): its varchar_pattern_ops index answers LIKE 'x%'.
    search_keys = (("key__startswith", str),)
    search_help_text = "Exact email, or the start of a key."
    raw_id_fields = ["user", "connection"]
    readonly_fields = ["id", "created_at"]
    list_select_related = ["user"]
    show_full_result_count = False
    paginator = BoundedCountPaginator


class FormatFilter(admin.SimpleListFilter):
    """The import formats there are (Django's filter read SELECT DISTINCT format over
    every job)."""

    title = "format"
    parameter_name = "format"

    def lookups(self, request, model_admin):
        return [(fmt, fmt) for fmt in FORMATS]

    def queryset(self, request, queryset):
        return queryset.filter(format=self.value()) if self.value() else queryset


@admin.register(ImportJob)
class ImportJobAdmin(IndexedSearch, ReadOnly):
    list_display = ["created_at", "user", "filename", "format", "status", "created", "duplicates",
                    "undone_at"]
    list_filter = ["status", FormatFilter]
    ordering = ["-created_at"]
    search_keys = (("id", uuid_term),)
    search_within_user = ("filename",)
    search_help_text = "Exact email or id; a file's name on one user's list."
    raw_id_fields = ["user", "account", "dump"]
    readonly_fields = ["id", "created_at", "finished_at"]
    show_full_result_count = False
    paginator = BoundedCountPaginator

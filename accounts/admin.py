import uuid
from collections import defaultdict
from contextlib import suppress
from functools import reduce
from operator import or_

from django.contrib import admin, messages
from django.contrib.admin.utils import quote
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import router, transaction
from django.db.models import CASCADE, DO_NOTHING, PROTECT, RESTRICT, SET_DEFAULT, SET_NULL, Q
from django.db.models.deletion import get_candidate_relations_to_delete
from django.forms.models import BaseInlineFormSet
from django.urls import NoReverseMatch, reverse
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join
from django.utils.text import capfirst

from transactions.models import RefreshRun
from transactions.services.refresh import refresh_request

from .models import Connection, FinancialAccount, User
from .services import account_unlink, financial_account_delete, user_delete


def _updates_only(on_delete) -> bool:
    """Whether the rows a relation reaches stay (their key is set, or left as it is)."""
    return (on_delete in (DO_NOTHING, SET_NULL, SET_DEFAULT)
            or getattr(on_delete, "__qualname__", "").startswith("SET."))


def _followed(model) -> list:
    """The relations to ``model`` whose rows a deletion of its rows deletes, or that
    stop it."""
    return [rel for rel in get_candidate_relations_to_delete(model._meta)
            if not _updates_only(rel.on_delete)]


def _countable(model) -> bool:
    """False when deleting ``model`` rows does more than this module counts: parent rows
    of multi-table inheritance, generic relations, keys to a field other than the
    primary key, an ``on_delete`` function of our own."""
    return not model._meta.parents and not any(
        hasattr(field, "bulk_related_objects") for field in model._meta.private_fields
    ) and all(
        rel.on_delete in (CASCADE, PROTECT, RESTRICT) and rel.field.target_field.primary_key
        for rel in _followed(model)
    )


def _any(conditions) -> Q:
    return reduce(or_, conditions, Q(pk__in=[]))  # no condition: no row


def deletion_summary(objs) -> tuple[dict, list[tuple[list, int]]] | None:
    """What deleting ``objs`` takes with it, as Django's collector finds it, without
    reading every row: the number of rows of each model, and the rows that stop the
    deletion (a few of each model, with their number). None when the collector would
    do more than is counted here (``_countable``).

    1. Rows other rows lead on from (a user's connections, accounts, categories,
       notifications…) are read, primary keys only, until no new one comes.
    2. Rows that lead nowhere (transactions, rules, spending…) are counted: one COUNT
       per model, over every relation that reaches it.
    3. A PROTECT row stops the deletion; a RESTRICT row does unless the deletion takes it
       anyway, as Django decides."""
    model = objs[0]._meta.concrete_model
    using = router.db_for_write(model)
    read = {model: {obj.pk for obj in objs}}  # model: primary keys
    counted = defaultdict(list)  # model: conditions on its deleted rows
    stopping = defaultdict(list)  # model: (condition, RESTRICT?)
    found_in_order = [model]
    todo = [(model, read[model])]
    while todo:
        model, new = todo.pop()
        if not _countable(model):
            return None
        for rel in _followed(model):
            related, condition = rel.related_model, Q(**{f"{rel.field.name}__in": new})
            if related not in read and related not in counted and related not in stopping:
                found_in_order.append(related)
            if rel.on_delete is not CASCADE:
                stopping[related].append((condition, rel.on_delete is RESTRICT))
            elif _followed(related) or not _countable(related):
                found = set(related._base_manager.using(using).filter(condition)
                            .values_list("pk", flat=True))
                found -= read.setdefault(related, set())
                read[related] |= found
                if found:
                    todo.append((related, found))
            else:
                counted[related].append(condition)

    counts = {}
    for model in found_in_order:
        if model in read:
            number = len(read[model])
        else:
            number = model._base_manager.using(using).filter(_any(counted[model])).count()
        if number:
            counts[model._meta.verbose_name_plural] = number
    protected = []
    for model, conditions in stopping.items():
        deleted = Q(pk__in=read.get(model, ())) | _any(counted[model])
        stops = model._base_manager.using(using).filter(
            _any(condition for condition, restrict in conditions if not restrict)
            | (_any(condition for condition, restrict in conditions if restrict) & ~deleted)
        ).order_by("pk")
        if number := stops.count():
            protected.append((list(stops[:10]), number))
    return counts, protected


def _object_line(admin_site, obj):
    """One object on a deletion page, as Django shows it: a link to it where the admin
    has a page for it."""
    opts = obj._meta
    if admin_site.is_registered(type(obj)):
        try:
            link = reverse(f"{admin_site.name}:{opts.app_label}_{opts.model_name}_change",
                           args=[quote(obj.pk)])
        except NoReverseMatch:
            pass
        else:
            return format_html('{}: <a href="{}">{}</a>', capfirst(opts.verbose_name), link, obj)
    return f"{capfirst(opts.verbose_name)}: {obj}"


class DeletesThroughService:
    """For an admin whose ``delete_model`` and ``delete_queryset`` call the service that
    deletes the row and what goes with it (transactions, runs, rules…), keeping monthly
    spending and crowd counts right. Django asks for the delete permission on every row the
    cascade takes, which nobody has on the read-only models: the service answers for those
    rows, so the permission to delete this one is enough."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name in ("delete_model", "delete_queryset"):
            if getattr(cls, name) is getattr(admin.ModelAdmin, name):
                raise TypeError(f"{cls.__name__}.{name} must call the service that deletes")

    def get_deleted_objects(self, objs, request):
        """The objects themselves and the number of rows of each model that go with them
        (``deletion_summary``), not every row: for a user with 60,015 transactions
        Django's list was a 7.5 MB page that took 5.7 s, and its confirming POST, which
        collects them all again before the service deletes, 8.5 s. Counted (50,000
        rows): 16 kB in 0.02 s, the POST 0.2 s."""
        objs = list(objs)
        summary = deletion_summary(objs) if objs else ({}, [])
        if summary is None:
            deleted, counts, _perms_needed, protected = super().get_deleted_objects(objs,
                                                                                    request)
            return deleted, {**counts, **self.deleted_by_the_service(objs)}, set(), protected
        counts, stops = summary
        counts = {**counts, **self.deleted_by_the_service(objs)}
        protected = []
        for shown, number in stops:
            protected += [_object_line(self.admin_site, obj) for obj in shown]
            if number > len(shown):
                protected.append(f"… and {number - len(shown)} more "
                                 f"{shown[0]._meta.verbose_name_plural}")
        return ([_object_line(self.admin_site, obj) for obj in objs], counts, set(),
                protected)

    def deleted_by_the_service(self, objs) -> dict[str, int]:
        """Rows the service deletes itself, which no cascade reaches (a count per model's
        plural name)."""
        return {}


def _transactions_of(accounts) -> dict[str, int]:
    """How many transactions the service deletes with ``accounts``: by (user, account),
    the unique index's prefix (``Transaction.account`` cascades nothing)."""
    from transactions.models import Transaction

    accounts = list(accounts)
    if not accounts:
        return {}
    number = Transaction.objects.filter(
        _any(Q(user_id=a.user_id, account_id=a.pk) for a in accounts)).count()
    return {Transaction._meta.verbose_name_plural: number} if number else {}


class BoundedCountPaginator(Paginator):
    """For the admin lists of the tables that grow with every statement (transactions,
    monthly spending, refresh runs, raw dumps) or user (users, connections, accounts,
    rules, imports, notifications, deliveries): the rows are counted up to ``CAP`` only,
    in a COUNT over a LIMITed, unordered subquery, so a list page costs the same at a
    billion rows as at a thousand. Past the cap the list shows its first pages (and says
    "10000"); support narrows it with the search and the filters."""

    CAP = 10_000

    @cached_property
    def count(self) -> int:
        return self.object_list.order_by()[: self.CAP].count()


class IndexedSearch:
    """The admin search of a table that grows with every statement, answered by an index
    at any size. Django's search compares ``UPPER(column) LIKE '%term%'`` over every row
    (the transactions' search read all 108,000 rows in 514 ms). Here the whole table is
    searched by exact keys only: the user's email, and ``search_keys`` (an id, a key's
    start); the text of ``search_within_user`` is searched once the list is filtered to one
    user (``?user__id__exact=``, where the user's page leads), among that user's rows."""

    search_fields = ["user__email"]  # (for Django to show the search box)
    # (lookup, convert): the term is looked up when ``convert`` takes it (ValueError: not).
    search_keys: tuple = ()
    search_within_user: tuple = ()

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        found = Q(user__email=term.lower())  # stored in lower case (UserManager)
        for lookup, convert in self.search_keys:
            with suppress(ValueError):
                found |= Q(**{lookup: convert(term)})
        if request.GET.get("user__id__exact"):
            for field in self.search_within_user:
                found |= Q(**{f"{field}__icontains": term})
        return queryset.filter(found), False


def uuid_term(term: str) -> uuid.UUID:
    return uuid.UUID(term)  # ValueError when it is not one


class ReadOnly(admin.ModelAdmin):
    """Support may look at everything, and changes data only through the app's services,
    which keep monthly spending, crowd counters, alerts and caches consistent: a raw edit
    or delete here would not. Writes happen in actions that call a service, and in deletes
    of a ``DeletesThroughService`` admin. The add and change pages are not offered."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return (isinstance(self, DeletesThroughService)
                and super().has_delete_permission(request, obj))

    def response_delete(self, request, obj_display, obj_id):
        """Back to the list after a delete (Django goes there only for those who may
        change rows, which nobody may here: it went to the admin's home page)."""
        response = super().response_delete(request, obj_display, obj_id)
        if response.status_code == 302 and self.has_view_permission(request):
            opts = self.opts
            response["Location"] = reverse(
                f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_changelist")
        return response


@admin.register(User)
class UserAdmin(DeletesThroughService, BaseUserAdmin):
    ordering = ["email"]
    show_full_result_count = False
    paginator = BoundedCountPaginator
    list_display = ["email", "is_staff", "is_active", "last_active_at", "date_joined"]
    search_fields = ["email"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("first_name", "last_name", "timezone", "last_active_at")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups",
                                    "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",),
                             "fields": ("email", "password1", "password2")}),)
    readonly_fields = ["last_active_at", "last_login", "date_joined", "their_data"]
    # Where support goes from a user: every list of theirs, filtered to them.
    THEIR_DATA = (("accounts", "connection", "Connections"),
                  ("accounts", "financialaccount", "Accounts"),
                  ("transactions", "transaction", "Transactions"),
                  ("transactions", "refreshrun", "Refresh runs"),
                  ("transactions", "importjob", "Imports"),
                  ("categories", "rule", "Rules"),
                  ("budgets", "budget", "Budgets"),
                  ("notifications", "notification", "Notifications"),
                  ("notifications", "delivery", "Deliveries"),
                  ("notifications", "webhook", "Webhooks"))
    # What only a superuser may change: who is staff and with which rights (else staff
    # who may change users could make themselves superusers), and a user's email.
    _SUPERUSER_ONLY = ["email", "is_staff", "is_superuser", "groups", "user_permissions"]

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        return fields if request.user.is_superuser else [*fields, *self._SUPERUSER_ONLY]

    @admin.display(description="Their data")
    def their_data(self, obj):
        links = [format_html('<a href="{}?user__id__exact={}">{}</a>',
                             reverse(f"admin:{app}_{model}_changelist"), obj.pk, label)
                 for app, model, label in self.THEIR_DATA]
        return format_html_join(" · ", "{}", ((link,) for link in links))

    def get_fieldsets(self, request, obj=None):
        if obj is not None:
            fieldsets = self._staff_fieldsets(request, obj)
            return ((None, {"fields": ("their_data",)}), *fieldsets)
        return super().get_fieldsets(request, obj)

    def _staff_fieldsets(self, request, obj):
        """Staff who are not superusers see no password field: setting a customer's
        password would let them log in as the customer."""
        fieldsets = super().get_fieldsets(request, obj)
        if request.user.is_superuser:
            return fieldsets
        return tuple((name, {**options, "fields": tuple(
            f for f in options["fields"] if f != "password")}) for name, options in fieldsets)

    def has_add_permission(self, request):
        # People sign up themselves (accounts.services.user_register); a superuser may
        # still make a support account here.
        return request.user.is_superuser and super().has_add_permission(request)

    def user_change_password(self, request, id, form_url=""):
        if not request.user.is_superuser:
            raise PermissionDenied
        return super().user_change_password(request, id, form_url)

    # Deleting goes through the service, which recounts the crowd votes that go with them.
    def delete_model(self, request, obj):
        user_delete(user=obj)

    def delete_queryset(self, request, queryset):
        for user in queryset:
            user_delete(user=user)


class FinancialAccountInline(admin.TabularInline):
    model = FinancialAccount
    extra = 0
    fields = ["name", "kind", "mask", "currency", "balance", "balance_at"]
    readonly_fields = fields
    can_delete = False


class NewestRunsFormSet(BaseInlineFormSet):
    """The connection's newest ``RefreshRunInline.SHOWN`` runs, read once. A nightly
    connection has ~3,600 runs after ten years: listing all of them made its page 6.3 s
    and 6.1 MB; the rest are on the runs' list (``ConnectionAdmin.all_runs``). The slice
    is kept as a list: a sliced queryset was read again for each form (670 ms)."""

    def get_queryset(self):
        if not hasattr(self, "_queryset"):
            self._queryset = list(super().get_queryset()[:RefreshRunInline.SHOWN])
        return self._queryset


class RefreshRunInline(admin.TabularInline):
    SHOWN = 20

    model = RefreshRun
    formset = NewestRunsFormSet
    verbose_name_plural = f"Newest {SHOWN} refresh runs"
    extra = 0
    fields = ["created_at", "trigger", "status", "attempts", "created", "updated", "error"]
    readonly_fields = fields
    ordering = ["-created_at"]
    can_delete = False
    max_num = 0

    def get_queryset(self, request):
        return super().get_queryset(request).order_by("-created_at", "-id")


@admin.register(Connection)
class ConnectionAdmin(DeletesThroughService, ReadOnly):
    """Support: find a user's connection, see why it fails, retry it. The encrypted
    ``secret`` is excluded: staff never see credentials. A connection is made by its user
    (the add page could only fail: it has no user), and a save of the whole row could
    write back a cursor or a claim that a refresh changed meanwhile."""

    list_display = ["id", "user", "provider", "institution", "status", "last_refreshed_at"]
    list_filter = ["provider", "status"]
    search_fields = ["user__email", "institution", "url"]
    exclude = ["secret"]
    show_full_result_count = False
    paginator = BoundedCountPaginator
    readonly_fields = ["id", "user", "provider", "institution", "url", "status",
                       "last_refreshed_at", "last_error", "cursor", "claimed_by",
                       "claimed_until", "created_at", "all_runs"]
    inlines = [FinancialAccountInline, RefreshRunInline]
    actions = ["retry_refresh"]

    @admin.display(description="Refresh runs")
    def all_runs(self, connection):
        """The inline shows the newest runs; every run is on the runs' list."""
        number = connection.runs.count()
        return format_html('<a href="{}?connection__id__exact={}">All {} runs</a>',
                           reverse("admin:transactions_refreshrun_changelist"),
                           connection.pk, number)

    # Deleting goes through the service, which takes the rows' spending away with them.
    def delete_model(self, request, obj):
        account_unlink(connection=obj)

    def deleted_by_the_service(self, objs):
        return _transactions_of(FinancialAccount.objects.filter(connection__in=objs)
                                .only("pk", "user_id"))

    def delete_queryset(self, request, queryset):
        for connection in queryset:
            account_unlink(connection=connection)

    def has_retry_permission(self, request):
        # Retrying stays with whoever may change connections, as before the page went
        # read-only (the refresh service does the writing).
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.change_{opts.model_name}")

    @admin.action(description="Retry refresh now", permissions=["retry"])
    def retry_refresh(self, request, queryset):
        refreshable = list(queryset.exclude(provider=Connection.Provider.FILE))
        with transaction.atomic():
            for connection in refreshable:
                run = refresh_request(connection=connection, trigger=RefreshRun.Trigger.MANUAL)
                # In the connection's history: who asked for a refresh, and which run.
                self.log_change(request, connection,
                                f"Retried the refresh from the admin (run {run.pk}).")
        skipped = queryset.count() - len(refreshable)
        if refreshable:
            messages.success(request, f"Refresh requested for {len(refreshable)} "
                                      f"connection{'s' if len(refreshable) > 1 else ''}.")
        if skipped:
            messages.warning(request, "File imports are not refreshed: nothing requested "
                                      f"for {skipped}.")


@admin.register(FinancialAccount)
class FinancialAccountAdmin(DeletesThroughService, ReadOnly):
    """Accounts come from refreshes and imports. Giving one to another user, or moving it
    to another connection, would leave its transactions behind: nothing is editable, and
    deleting goes through the service.

    ``external_id`` is the bank's account id, and for a card (an OFX ``ACCTID``) its full
    number: staff see its last four characters only. Search by it is exact, so it finds
    an account from a number support was given without listing it."""

    list_display = ["name", "user", "kind", "mask", "external_id_masked", "currency", "balance"]
    list_select_related = ["user"]
    search_fields = ["user__email", "name", "=external_id"]
    list_filter = ["kind"]
    show_full_result_count = False
    paginator = BoundedCountPaginator
    fields = ["user", "connection", "name", "kind", "mask", "external_id_masked", "currency",
              "balance", "balance_at", "created_at"]
    readonly_fields = ["external_id_masked", "created_at"]

    @admin.display(description="external id")
    def external_id_masked(self, account):
        return f"…{account.external_id[-4:]}"

    # Deleting goes through the service, which takes the rows' spending away with them.
    def delete_model(self, request, obj):
        financial_account_delete(account=obj)
        self._comes_back(request)

    def deleted_by_the_service(self, objs):
        return _transactions_of(objs)

    def delete_queryset(self, request, queryset):
        for account in queryset:
            financial_account_delete(account=account)
        self._comes_back(request)

    def _comes_back(self, request):
        messages.info(request, "While its connection stays linked, the bank sends a deleted "
                               "account again: it comes back at the next refresh, with its "
                               "whole history. Unlink the connection to remove it for good.")

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db import transaction

from transactions.models import RefreshRun
from transactions.services.refresh import refresh_request

from .models import Connection, FinancialAccount, User
from .services import account_unlink, financial_account_delete, user_delete


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
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
    readonly_fields = ["last_active_at", "last_login", "date_joined"]

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


class RefreshRunInline(admin.TabularInline):
    model = RefreshRun
    extra = 0
    fields = ["created_at", "trigger", "status", "attempts", "created", "updated", "error"]
    readonly_fields = fields
    ordering = ["-created_at"]
    can_delete = False
    max_num = 0

    def get_queryset(self, request):
        return super().get_queryset(request).order_by("-created_at")


@admin.register(Connection)
class ConnectionAdmin(admin.ModelAdmin):
    """Support: find a user's connection, see why it fails, retry it. The encrypted
    ``secret`` is excluded: staff never see credentials."""

    list_display = ["id", "user", "provider", "institution", "status", "last_refreshed_at"]
    list_filter = ["provider", "status"]
    search_fields = ["user__email", "institution", "url"]
    exclude = ["secret"]
    readonly_fields = ["id", "user", "provider", "institution", "url", "status",
                       "last_refreshed_at", "last_error", "cursor", "claimed_by",
                       "claimed_until", "created_at"]
    inlines = [FinancialAccountInline, RefreshRunInline]
    actions = ["retry_refresh"]

    # Deleting goes through the service, which takes the rows' spending away with them.
    def delete_model(self, request, obj):
        account_unlink(connection=obj)

    def delete_queryset(self, request, queryset):
        for connection in queryset:
            account_unlink(connection=connection)

    @admin.action(description="Retry refresh now")
    def retry_refresh(self, request, queryset):
        with transaction.atomic():
            for connection in queryset.exclude(provider=Connection.Provider.FILE):
                refresh_request(connection=connection, trigger=RefreshRun.Trigger.MANUAL)
        messages.success(request, "Refresh requested.")


@admin.register(FinancialAccount)
class FinancialAccountAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "kind", "mask", "currency", "balance"]

    # Deleting goes through the service, which takes the rows' spending away with them.
    def delete_model(self, request, obj):
        financial_account_delete(account=obj)

    def delete_queryset(self, request, queryset):
        for account in queryset:
            financial_account_delete(account=account)

    search_fields = ["user__email", "name"]
    list_filter = ["kind"]
    raw_id_fields = ["user", "connection"]

from django.contrib import admin, messages

from .models import Delivery, Notification, Webhook
from .services import deliveries_retry

DELIVERY_FIELDS = ["created_at", "channel", "webhook", "status", "attempts", "response_status",
                   "last_error", "last_attempt_at", "sent_at"]


class DeliveryInline(admin.TabularInline):
    model = Delivery
    fields = DELIVERY_FIELDS
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["created_at", "user", "kind", "title", "read_at"]
    list_filter = ["kind"]
    search_fields = ["user__email", "title"]
    raw_id_fields = ["user"]
    inlines = [DeliveryInline]


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    """The delivery log: support sees why an email or a webhook did not arrive, and can
    send failed ones again. Read-only otherwise."""

    list_display = ["created_at", "user", "notification", "channel", "webhook", "status",
                    "attempts", "response_status", "sent_at"]
    list_filter = ["status", "channel"]
    search_fields = ["user__email", "webhook__url"]
    list_select_related = ["user", "notification", "webhook"]
    readonly_fields = ["user", "notification", *DELIVERY_FIELDS, "claimed_until"]
    actions = ["retry_failed"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(description="Send failed deliveries again", permissions=["view"])
    def retry_failed(self, request, queryset):
        count = deliveries_retry(ids=queryset.values_list("id", flat=True))
        messages.success(request, f"{count} failed deliveries queued again.")


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    """Support may turn a webhook off (``active``); the signing secret is excluded:
    staff never see it."""

    list_display = ["created_at", "user", "url", "active"]
    list_filter = ["active"]
    search_fields = ["user__email", "url"]
    exclude = ["secret"]
    readonly_fields = ["user", "url", "created_at"]

    def has_add_permission(self, request):
        return False

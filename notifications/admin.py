from django.contrib import admin, messages

from accounts.admin import BoundedCountPaginator, DeletesThroughService, IndexedSearch, ReadOnly

from .models import Delivery, Notification, Webhook
from .services import deliveries_retry, webhook_delete, webhook_set_active

DELIVERY_FIELDS = ["created_at", "channel", "webhook", "status", "attempts", "response_status",
                   "last_error", "last_attempt_at", "sent_at"]


class DeliveryInline(admin.TabularInline):
    model = Delivery
    fields = DELIVERY_FIELDS
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False


# Notifications are made by the services that have something to say (once each, with
# their deliveries); their user reads them.
@admin.register(Notification)
class NotificationAdmin(IndexedSearch, ReadOnly):
    list_display = ["created_at", "user", "kind", "title", "read_at"]
    list_select_related = ["user"]
    list_filter = ["kind"]
    search_keys = (("id", int),)
    search_within_user = ("title",)
    search_help_text = "Exact email or id; text in the title on one user's list."
    raw_id_fields = ["user"]
    show_full_result_count = False
    paginator = BoundedCountPaginator
    inlines = [DeliveryInline]


@admin.register(Delivery)
class DeliveryAdmin(ReadOnly):
    """The delivery log: support sees why an email or a webhook did not arrive, and can
    send failed ones again. Read-only otherwise."""

    list_display = ["created_at", "user", "notification", "channel", "webhook", "status",
                    "attempts", "response_status", "sent_at"]
    list_filter = ["status", "channel"]
    # Not by webhook URL: its path or query can be a credential (Webhook.url_masked).
    search_fields = ["user__email"]
    list_select_related = ["user", "notification", "webhook"]
    show_full_result_count = False
    paginator = BoundedCountPaginator
    readonly_fields = ["user", "notification", *DELIVERY_FIELDS, "claimed_until"]
    actions = ["retry_failed"]

    def has_resend_permission(self, request):
        """Sending again writes (as retrying a refresh, which needs the same kind of
        permission): the right to change deliveries, though no page edits one."""
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.change_{opts.model_name}")

    @admin.action(description="Send failed deliveries again", permissions=["resend"])
    def retry_failed(self, request, queryset):
        failed = list(queryset.filter(status=Delivery.Status.FAILED))
        count = deliveries_retry(ids=queryset.values_list("id", flat=True))
        for delivery in failed:  # in the delivery's history, who sent it again and when
            self.log_change(request, delivery, "Sent again from the admin.")
        messages.success(request, f"{count} failed deliveries queued again.")


@admin.register(Webhook)
class WebhookAdmin(DeletesThroughService, admin.ModelAdmin):
    """Support may turn a webhook off (``active``), not on again (its owner does); the
    signing secret is excluded: staff never see it."""

    list_display = ["created_at", "user", "url_shown", "active"]
    list_filter = ["active"]
    search_fields = ["user__email"]  # not by URL: see Webhook.url_masked
    exclude = ["secret", "url"]
    readonly_fields = ["user", "url_shown", "created_at"]

    @admin.display(description="URL (scheme and host)")
    def url_shown(self, obj):
        return obj.url_masked

    def has_add_permission(self, request):
        return False

    def get_readonly_fields(self, request, obj=None):
        # Staff turn a webhook off, never on: one its owner switched off (the URL handed
        # on, the room closed) would get their notifications again. The owner switches
        # it on (PATCH /api/v1/webhooks/{id}/).
        fields = super().get_readonly_fields(request, obj)
        return [*fields, "active"] if obj is not None and not obj.active else fields

    def save_model(self, request, obj, form, change):
        # ``active`` is the one editable field: the service writes that column alone (a
        # save of the whole row could put back a secret re-encrypted meanwhile). Off only.
        if form.cleaned_data.get("active") is False:
            webhook_set_active(webhook=obj, active=False)

    def delete_model(self, request, obj):
        webhook_delete(webhook=obj)

    def delete_queryset(self, request, queryset):
        for webhook in queryset:
            webhook_delete(webhook=webhook)

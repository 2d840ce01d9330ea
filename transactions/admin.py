from django.contrib import admin

from .models import ImportJob, RawDump, RefreshRun, Transaction


@admin.register(Transaction)
class TransactionAdmin(admin.ModelAdmin):
    list_display = ["posted_on", "user", "description", "amount", "category", "pending"]
    search_fields = ["user__email", "description", "seller"]
    list_filter = ["pending", "category_source"]
    raw_id_fields = ["user", "account", "category", "dump"]
    show_full_result_count = False  # no COUNT(*) over billions of rows


@admin.register(RefreshRun)
class RefreshRunAdmin(admin.ModelAdmin):
    list_display = ["created_at", "user", "connection", "trigger", "status", "attempts",
                    "created", "error"]
    list_filter = ["status", "trigger"]
    search_fields = ["user__email", "id"]
    raw_id_fields = ["user", "connection", "dump"]
    readonly_fields = [f.name for f in RefreshRun._meta.fields]


@admin.register(RawDump)
class RawDumpAdmin(admin.ModelAdmin):
    list_display = ["created_at", "user", "key", "size"]
    search_fields = ["user__email", "key"]
    raw_id_fields = ["user", "connection"]


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = ["created_at", "user", "filename", "format", "status", "created", "duplicates"]
    list_filter = ["status", "format"]
    search_fields = ["user__email", "filename"]
    raw_id_fields = ["user", "account", "dump"]

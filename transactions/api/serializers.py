from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import FinancialAccount
from mint.api import JSONField
from mint.fields import PrimaryKeyField

from ..importers import FORMATS
from ..models import ImportJob, RefreshRun, Transaction
from ..services.imports import import_progress


class RefreshRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = RefreshRun
        fields = [
            "id", "connection", "trigger", "status", "attempts", "fetched", "created",
            "updated", "unchanged", "replaced_pending", "error", "timings", "created_at",
            "started_at", "finished_at",
        ]
        read_only_fields = fields


class TransactionSerializer(serializers.ModelSerializer):
    category_name = serializers.SerializerMethodField()

    class Meta:
        model = Transaction
        fields = [
            "id", "account", "external_id", "posted_on", "amount", "currency", "description",
            "memo", "seller", "category", "category_name", "category_source", "pending",
            "created_at", "updated_at",
        ]
        read_only_fields = fields

    def get_category_name(self, obj) -> str:
        return str(obj.category) if obj.category_id else ""


class TransactionCategorizedSerializer(TransactionSerializer):
    """The answer to ``PATCH /api/v1/transactions/{id}/``: the transaction, and the rule
    that ``"always": true`` made or changed."""

    rule = serializers.IntegerField(read_only=True, allow_null=True,
                                    help_text="the rule made or changed (always), else null")

    class Meta(TransactionSerializer.Meta):
        fields = [*TransactionSerializer.Meta.fields, "rule"]
        read_only_fields = fields


class ImportUploadSerializer(serializers.Serializer):
    file = serializers.FileField()
    account = PrimaryKeyField(queryset=FinancialAccount.objects.none(), required=False,
                              allow_null=True)
    format = serializers.ChoiceField(choices=FORMATS, required=False)
    options = JSONField(required=False, help_text="CSV column mapping, see docs")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            self.fields["account"].queryset = FinancialAccount.objects.filter(user=request.user)

    def validate_file(self, value):
        if value.size > settings.IMPORT_MAX_BYTES:
            raise serializers.ValidationError(
                f"the file is {value.size:,} bytes; the limit is {settings.IMPORT_MAX_BYTES:,}"
            )
        return value

    def validate_options(self, value):
        if value is not None and not isinstance(value, dict):
            raise serializers.ValidationError("options must be a JSON object")
        return value


def _existing_accounts(jobs) -> set[int]:
    """Which of the accounts these imports name still exist: one query for them all."""
    ids = {pk for job in jobs for pk in job.account_ids}
    if not ids:
        return set()
    return set(FinancialAccount.objects.filter(
        user_id__in={job.user_id for job in jobs}, pk__in=ids).values_list("pk", flat=True))


class ExistingAccountsField(serializers.ListField):
    """An import's ``account_ids`` without those gone since (an undo deletes the accounts
    it created; unlinking a connection deletes its accounts): an app must not be sent to
    an account that answers 404. In a list the import serializer's list asks once for
    every import of the page (``ImportJobListSerializer``); one import asks for its own."""

    def __init__(self, **kwargs):
        super().__init__(child=serializers.IntegerField(), read_only=True, **kwargs)

    def get_attribute(self, instance):
        existing = getattr(self.root, "existing_accounts", None)
        if existing is None:
            existing = _existing_accounts([instance])
        return [pk for pk in instance.account_ids if pk in existing]


class ImportJobListSerializer(serializers.ListSerializer):
    def to_representation(self, data):
        jobs = list(data.all() if hasattr(data, "all") else data)
        self.existing_accounts = _existing_accounts(jobs)
        return super().to_representation(jobs)


class ImportProgressSerializer(serializers.Serializer):
    done = serializers.IntegerField()
    total = serializers.IntegerField()


class ImportJobSerializer(serializers.ModelSerializer):
    notes = serializers.ListField(
        child=serializers.CharField(), read_only=True,
        help_text="What to know about a finished import, e.g. the categories it created "
                  "for names in the file that the taxonomy does not have.")

    accounts = ExistingAccountsField(
        help_text="The accounts the file's rows went into that still exist (ids, as in "
                  "/api/v1/financial-accounts/): one deleted since, by an undo or by "
                  "unlinking its connection, is left out.")

    progress = serializers.SerializerMethodField(
        help_text="While the import runs, once its file has been read: how many of the "
                  "file's transactions have been written (`done`) of how many (`total`); "
                  "null before and after.")

    class Meta:
        model = ImportJob
        fields = [
            "id", "status", "filename", "format", "account", "accounts", "created",
            "duplicates", "updated", "error", "notes", "created_at", "finished_at",
            "undone_at", "removed", "progress",
        ]
        extra_kwargs = {
            "undone_at": {"help_text": "When the import was undone (POST …/undo/), else null."},
            "removed": {"help_text": "How many of its transactions the undo deleted."},
        }
        read_only_fields = fields
        list_serializer_class = ImportJobListSerializer



    @extend_schema_field(ImportProgressSerializer(allow_null=True))
    def get_progress(self, job) -> dict | None:
        found = import_progress(job)
        return None if found is None else {"done": found[0], "total": found[1]}

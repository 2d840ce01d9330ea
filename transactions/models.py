import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now


class RawDump(models.Model):
    """A provider answer or an uploaded file, stored unchanged in the object store
    *before* any row is written from it. Keys are never overwritten."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    connection = models.ForeignKey(
        "accounts.Connection", null=True, blank=True, on_delete=models.SET_NULL
    )
    key = models.CharField(max_length=400, unique=True)
    media_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["user", "created_at"]),
            # The admin's list of every dump, newest first.
            models.Index(fields=["created_at"], name="rawdump_created_at"),
        ]

    def __str__(self) -> str:
        return self.key


class RefreshRun(models.Model):
    class Trigger(models.TextChoices):
        LINK = "link"
        MANUAL = "manual"
        NIGHTLY = "nightly"

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        RETRYING = "retrying"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    ACTIVE = (Status.QUEUED, Status.RUNNING, Status.RETRYING)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    connection = models.ForeignKey(
        "accounts.Connection", on_delete=models.CASCADE, related_name="runs"
    )
    trigger = models.CharField(max_length=10, choices=Trigger.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    fetched = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    replaced_pending = models.PositiveIntegerField(default=0)
    dump = models.ForeignKey(RawDump, null=True, blank=True, on_delete=models.SET_NULL)
    timings = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    # The attempts that failed and were retried, with why ([{"attempt": 1, "error": …}],
    # the last 10): a run that succeeded at its second attempt still tells support that
    # the bank timed out at its first.
    retried = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # When the requeue sweep last sent the run again: not again before its message could
    # have been taken (each sweep would otherwise send every run still queued once more).
    requeued_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["user", "connection", "created_at"]),
            # The admin's list of every run, newest first (support's first look at
            # refreshes that fail).
            models.Index(fields=["created_at"], name="refreshrun_created_at"),
            # The requeue sweep's walk over the active runs, oldest first, a page at a
            # time (only active runs: a few per connection at most, however many ended).
            models.Index(fields=["created_at", "id"], name="refreshrun_active_created",
                         condition=Q(status__in=["queued", "running", "retrying"])),
        ]
        constraints = [
            # One active run per connection: a second "refresh" click joins the first.
            models.UniqueConstraint(
                fields=["connection"],
                condition=Q(status__in=["queued", "running", "retrying"]),
                name="one_active_run_per_connection",
            )
        ]

    def __str__(self) -> str:
        return f"{self.trigger} refresh {self.id} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.SUCCEEDED, self.Status.FAILED)


class Transaction(models.Model):
    """One bank transaction.

    ``amount`` is signed from the holder's side: negative is money out, positive money
    in (see ``accounts.providers.base``). ``user`` leads every unique constraint and
    index: it is the future shard key.
    """

    class CategorySource(models.TextChoices):
        NONE = "", "Not categorised"
        IMPORT = "import", "From the imported file"
        SELLER = "seller", "Seller dictionary"
        CROWD = "crowd", "Crowd-learned"
        RULE = "rule", "User rule"
        HEURISTIC = "heuristic", "Description heuristic"
        MANUAL = "manual", "Set by hand"

    # No database-level foreign keys on this table: at 5 B rows a month the per-row
    # deferred checks cost 30–40 % of ingest throughput (bench/ingest.py: 10.6k → 15.7k
    # rows/s without them), and a table sharded by user_id cannot reference unsharded
    # ones anyway. The one write path (transactions_ingest) checks once per batch that
    # every account exists and belongs to the row's user, under FOR KEY SHARE (or has
    # just created those accounts itself, in the same transaction). Indexes below cover
    # every lookup; none leads with the account or the dump, so a deletion of those must
    # not reach the rows by them (a scan of every user's rows): the services that delete
    # accounts delete their rows by (user, account) first, and a dump goes only with its
    # user, whose rows go by user (DO_NOTHING below).
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, db_index=False, db_constraint=False
    )
    account = models.ForeignKey(
        "accounts.FinancialAccount", on_delete=models.DO_NOTHING, related_name="transactions",
        db_index=False, db_constraint=False,
    )
    external_id = models.CharField(max_length=120)
    posted_on = models.DateField()
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3, default="USD")
    description = models.CharField(max_length=500)
    memo = models.CharField(max_length=500, blank=True)
    seller = models.CharField(max_length=200, blank=True)
    # match_key of the seller (categories.engine): what rules and crowd votes are keyed on.
    seller_key = models.CharField(max_length=200, blank=True)
    # DO_NOTHING: a user's own category is deleted only by categories.services.
    # category_delete, which first moves its rows (by the user's index), or with its user,
    # whose rows go too; the shared taxonomy is never deleted. SET_NULL sent an
    # "UPDATE … WHERE category_id IN (…)" that no index serves: a scan of every user's rows.
    category = models.ForeignKey(
        "categories.Category", null=True, blank=True, on_delete=models.DO_NOTHING,
        db_index=False, db_constraint=False,
    )
    category_source = models.CharField(
        max_length=10, choices=CategorySource.choices, blank=True, default=""
    )
    # The category the imported file named, kept while a rule files the row elsewhere
    # (source "rule"), so that it comes back when the rule no longer does (deleted, or
    # changed, with apply to the past; ``recategorize``). Null otherwise: while the row is
    # "import", its category is the file's. Left out of the ingest's COPY (null), and
    # set afterwards for the rows a rule took from their file. DO_NOTHING as above.
    file_category = models.ForeignKey(
        "categories.Category", null=True, blank=True, on_delete=models.DO_NOTHING,
        db_index=False, db_constraint=False, related_name="+",
    )
    pending = models.BooleanField(default=False)
    # The raw dump this row was last written from: no row without its dump.
    dump = models.ForeignKey(
        RawDump, null=True, on_delete=models.DO_NOTHING, db_index=False, db_constraint=False
    )
    # The database fills both in for the rows the ingest COPYs (they leave them out):
    # parsing two timestamps per row cost that COPY ~10 % (bench/copy_indexes.py).
    created_at = models.DateTimeField(auto_now_add=True, db_default=Now())
    updated_at = models.DateTimeField(auto_now=True, db_default=Now())

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "account", "external_id"], name="transaction_unique_external"
            )
        ]
        indexes = [
            # Ascending: lists read it backwards (newest first) as fast, and rows that
            # arrive oldest first go to the end of the user's range, not its start
            # (PostgreSQL's page splits favour ascending inserts). Measured on new users,
            # whose rows land at the index's right end: COPY of 100,000 rows 0.83 → 0.73 s.
            models.Index(fields=["user", "posted_on", "id"], name="tx_user_date"),
            models.Index(
                fields=["user", "account"], condition=Q(pending=True), name="tx_pending"
            ),
            # When the crowd learns a seller's category, the rows it may change: those
            # no rule, dictionary, file or person categorised.
            models.Index(
                fields=["seller_key", "id"],
                condition=Q(category_source__in=["", "crowd", "heuristic"]) & ~Q(seller_key=""),
                name="tx_crowd_seller",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.posted_on} {self.description} {self.amount}"


class ImportJob(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    account = models.ForeignKey(
        "accounts.FinancialAccount", null=True, blank=True, on_delete=models.SET_NULL
    )
    # The user chose ``account``: a job whose account was unlinked before it ran must
    # fail, not file the rows under new accounts.
    into_account = models.BooleanField(default=False)
    filename = models.CharField(max_length=255, blank=True)
    format = models.CharField(max_length=10)
    options = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    dump = models.ForeignKey(RawDump, null=True, blank=True, on_delete=models.SET_NULL)
    created = models.PositiveIntegerField(default=0)
    duplicates = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    # What the person should know about a successful import (categories it created).
    notes = models.JSONField(default=list, blank=True)
    # The accounts its rows went into (ids: an account renamed or unlinked since shows as
    # it is now, or not at all).
    account_ids = models.JSONField(default=list, blank=True)
    # Undo (services.imports.import_undo): the accounts the import created, and the
    # database's time as its rows were written (the start of their transaction): a row
    # the import brought is one of its dump created since then. Empty for imports made
    # before undo existed (December 2026), which cannot be undone.
    new_account_ids = models.JSONField(default=list, blank=True)
    rows_since = models.DateTimeField(null=True, blank=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    removed = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    # When a worker took the job (its lease: see services.imports.import_execute).
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "created_at"])]

    def __str__(self) -> str:
        return f"import {self.filename} ({self.status})"

    @property
    def undoable(self) -> bool:
        """Whether ``services.imports.import_undo`` can take back what it added."""
        return (self.status == self.Status.SUCCEEDED and self.undone_at is None
                and self.rows_since is not None and self.dump_id is not None)

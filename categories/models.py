from django.conf import settings
from django.db import models


class Category(models.Model):
    """Mint's two-level taxonomy (loaded by a data migration) plus users' own additions.

    ``user`` is null for the shared taxonomy. Income and Transfer are not spending.
    """

    name = models.CharField(max_length=100)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="children"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE
    )
    is_income = models.BooleanField(default=False)
    is_transfer = models.BooleanField(default=False)

    class Meta:
        verbose_name_plural = "categories"
        constraints = [
            models.UniqueConstraint(
                fields=["user", "parent", "name"],
                name="category_unique_name",
                nulls_distinct=False,
            )
        ]

    def __str__(self) -> str:
        return f"{self.parent.name} › {self.name}" if self.parent_id else self.name

    @property
    def is_spending(self) -> bool:
        return not (self.is_income or self.is_transfer)


class Rule(models.Model):
    """A user's "always categorise (and rename) transactions like this as …".

    Every condition that is set must hold: ``seller`` (compared on its match key with the
    normalised seller of the description), ``description_contains`` (case-insensitive),
    the amount range (inclusive, on the signed amount) and ``account``. When several of a
    user's rules match, the one with the most conditions wins, then the newest.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    seller = models.CharField(max_length=200, blank=True)
    seller_key = models.CharField(max_length=200, blank=True, editable=False)
    description_contains = models.CharField(max_length=200, blank=True)
    amount_min = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    amount_max = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    account = models.ForeignKey(
        "accounts.FinancialAccount", null=True, blank=True, on_delete=models.CASCADE
    )
    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="+")
    rename_to = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["user", "created_at"])]

    def __str__(self) -> str:
        return f"rule {self.id} → {self.category}"


class SellerVote(models.Model):
    """One user's latest manual category for a seller: the unit of crowd learning.

    One row per (seller, user) whatever the number of overrides, so that one user's
    thousand overrides count once. ``category`` is null only for a moment, between the
    insert that creates the row and the update under its lock (see ``crowd_vote``).
    """

    seller_key = models.CharField(max_length=200)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    category = models.ForeignKey(Category, null=True, on_delete=models.CASCADE, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["seller_key", "user"], name="seller_vote_once")
        ]
        indexes = [models.Index(fields=["user"], name="seller_vote_user")]

    def __str__(self) -> str:
        return f"{self.user_id} votes {self.category_id} for {self.seller_key}"


class SellerTally(models.Model):
    """Votes per (seller, category), kept by atomic increments next to ``SellerVote``."""

    seller_key = models.CharField(max_length=200)
    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="+")
    votes = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["seller_key", "category"], name="seller_tally_once")
        ]

    def __str__(self) -> str:
        return f"{self.seller_key}: {self.votes} for {self.category_id}"


class CrowdSeller(models.Model):
    """The crowd's state for one seller: its learned default category, if any.

    The row is also the lock that serialises votes for a seller (``select_for_update``),
    so that the default is always computed from every committed vote.
    """

    seller_key = models.CharField(max_length=200, primary_key=True)
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    voters = models.IntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.seller_key} → {self.category or '—'} ({self.voters} users)"

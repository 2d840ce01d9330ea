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

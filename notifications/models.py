from django.conf import settings
from django.db import models


class Notification(models.Model):
    """An in-app notification. ``dedupe_key`` makes each one happen once: the refresh
    that finishes twice (a redelivered task) still tells the user once."""

    class Kind(models.TextChoices):
        BUDGET_APPROACHING = "budget_approaching"
        BUDGET_EXCEEDED = "budget_exceeded"
        REFRESH_FINISHED = "refresh_finished"
        REFRESH_FAILING = "refresh_failing"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    dedupe_key = models.CharField(max_length=200)
    read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "dedupe_key"], name="notification_once")
        ]
        indexes = [models.Index(fields=["user", "-id"])]

    def __str__(self) -> str:
        return self.title

from django.db.models import QuerySet

from .models import ImportJob, Transaction


def transactions_for(*, user) -> QuerySet[Transaction]:
    return Transaction.objects.filter(user=user).select_related("category", "category__parent")


def import_jobs_for(*, user) -> QuerySet[ImportJob]:
    return ImportJob.objects.filter(user=user)

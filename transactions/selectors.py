from datetime import date

from django.db.models import Q, QuerySet

from .models import ImportJob, Transaction


def transactions_for(*, user) -> QuerySet[Transaction]:
    return Transaction.objects.filter(user=user).select_related("category", "category__parent")


def import_jobs_for(*, user) -> QuerySet[ImportJob]:
    return ImportJob.objects.filter(user=user)


def transactions_before(queryset: QuerySet[Transaction], *, day: date, last_id: int):
    """Keyset step for newest-first pages: rows strictly after (day, last_id) in
    ``ORDER BY posted_on DESC, id DESC`` — served by the (user, -posted_on, -id) index,
    so a page far back costs what the first one does (no OFFSET)."""
    return queryset.filter(Q(posted_on__lt=day) | Q(posted_on=day, id__lt=last_id))

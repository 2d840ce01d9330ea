from datetime import date

from django.db.models import Q, QuerySet

from .models import ImportJob, Transaction


def transactions_for(*, user) -> QuerySet[Transaction]:
    return Transaction.objects.filter(user=user).select_related("category", "category__parent")


def import_jobs_for(*, user) -> QuerySet[ImportJob]:
    return ImportJob.objects.filter(user=user)


def transactions_after(queryset: QuerySet[Transaction], *, day: date, first_id: int):
    """Keyset step back to newer rows: rows strictly before (day, first_id) in the
    newest-first order, to be read oldest first (``ORDER BY posted_on, id``) and shown
    reversed; ``posted_on >= day`` starts the index scan, as in ``transactions_before``."""
    return queryset.filter(Q(posted_on__gte=day) & (Q(posted_on__gt=day) | Q(id__gt=first_id)))


def transactions_before(queryset: QuerySet[Transaction], *, day: date, last_id: int):
    """Keyset step for newest-first pages: rows strictly after (day, last_id) in
    ``ORDER BY posted_on DESC, id DESC``, served by the (user, posted_on, id) index read
    backwards. ``posted_on <= day`` is implied by the rest but is what PostgreSQL can
    start the index scan from: without it a page far back filtered every newer row
    (12,000 rows, 11 ms, against 0.15 ms with it)."""
    return queryset.filter(Q(posted_on__lte=day) & (Q(posted_on__lt=day) | Q(id__lt=last_id)))

from django.db.models import Prefetch, QuerySet

from .models import Connection, FinancialAccount, User


def connections_for(*, user: User) -> QuerySet[Connection]:
    return (
        Connection.objects.filter(user=user)
        .prefetch_related(
            Prefetch("accounts", queryset=FinancialAccount.objects.order_by("name"))
        )
        .order_by("-created_at")
    )


def financial_accounts_for(*, user: User) -> QuerySet[FinancialAccount]:
    return FinancialAccount.objects.filter(user=user).select_related("connection").order_by("name")

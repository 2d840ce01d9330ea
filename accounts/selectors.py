from django.db.models import OuterRef, Prefetch, QuerySet, Subquery

from .models import Connection, FinancialAccount, RevokedToken, User


def connections_for(*, user: User) -> QuerySet[Connection]:
    """The user's connections with their accounts and, in the same query, the status and
    new-row count of each connection's newest refresh run."""
    from transactions.models import RefreshRun

    # With the user named, the (user, connection, created_at) index gives the newest run
    # at once; by connection alone every run of it was read and sorted (one a night).
    last_run = RefreshRun.objects.filter(
        user_id=OuterRef("user_id"), connection=OuterRef("pk")).order_by("-created_at")
    return (
        Connection.objects.filter(user=user)
        .annotate(
            last_run_status=Subquery(last_run.values("status")[:1]),
            last_run_created=Subquery(last_run.values("created")[:1]),
        )
        .prefetch_related(
            Prefetch("accounts", queryset=FinancialAccount.objects.order_by("name"))
        )
        .order_by("-created_at")
    )


def financial_accounts_for(*, user: User) -> QuerySet[FinancialAccount]:
    return FinancialAccount.objects.filter(user=user).select_related("connection").order_by("name")


def user_ids_in_batches(size: int):
    """Every user id, ascending, ``size`` at a time (never all users in memory)."""
    after = 0
    while True:
        ids = list(User.objects.filter(id__gt=after).order_by("id")
                   .values_list("id", flat=True)[:size])
        if not ids:
            return
        yield ids
        after = ids[-1]


def user_ids_named(text: str) -> list[int]:
    """The user an operator names on a command line: an id, or an email in any case."""
    found = (User.objects.filter(pk=int(text)) if text.isdigit()
             else User.objects.filter(email__iexact=text))
    return list(found.values_list("id", flat=True))


def refresh_token_revoked(*, jti: str) -> bool:
    """Whether the refresh token with this id was logged out (``refresh_token_revoke``)."""
    return RevokedToken.objects.filter(jti=jti).exists()

from datetime import datetime

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db import connection as db
from django.utils.timezone import now

from .crypto import decrypt_credentials, encrypt_credentials
from .models import Connection, FinancialAccount, RevokedToken, User
from .netguard import check_outbound_url
from .providers import ProviderInputError, provider_for_url
from .timezones import time_zone_canonical, validate_time_zone


def time_zone_checked(name: str) -> str:
    """The name to store for a zone given ("Etc/UTC" is stored as "UTC"); raises
    ValidationError for a name that is no time zone here."""
    name = time_zone_canonical(name)
    validate_time_zone(name)
    return name


EMAIL_TAKEN = "email_taken"  # the code of the ValidationError for an address in use
EMAIL_TAKEN_MESSAGE = "an account with this email already exists"


def user_register(*, email: str, password: str, timezone: str = "UTC") -> User:
    """``timezone`` decides which month is the user's current one (budgets, alerts) and
    how pages show times.

    Raises ValidationError: the password validators' messages, or ``{"email": …}`` with
    code ``email_taken``. The forms check the address first, but a sign-up sent twice
    (a double tap) passes both checks before either saves: hashing the password takes
    ~450 ms between them. The unique index decides; the second gets the same refusal as
    a sign-up that came after."""
    email = User.objects.normalize_email(email).lower()
    validate_password(password, user=User(email=email))
    timezone = time_zone_checked(timezone)
    try:
        with transaction.atomic():  # a savepoint: the caller's transaction stays usable
            return User.objects.create_user(email=email, password=password,
                                            timezone=timezone)
    except IntegrityError:
        if not User.objects.filter(email=email).exists():
            raise  # another constraint: not ours to explain
        raise ValidationError({"email": ValidationError(EMAIL_TAKEN_MESSAGE,
                                                   code=EMAIL_TAKEN)}) from None


def user_password_change(*, user: User, password: str) -> User:
    """A new password, once Django's password validators pass it (ValidationError with
    their messages otherwise). It ends every API token and browser session made before
    it, this device's too: a token carries a hash of the password hash it was issued
    under (``SIMPLE_JWT["CHECK_REVOKE_TOKEN"]``, and ``TokenRefreshSerializer`` for
    refresh tokens), a session an HMAC of it. The caller asks for the old password first
    (``accounts.login.password_recheck``) and gives the device new tokens."""
    validate_password(password, user=user)
    user.set_password(password)
    user.save(update_fields=["password"])
    return user


def user_sign_out_everywhere(*, user: User, password: str) -> User:
    """Ends every API token and browser session of the user (a lost phone), keeping their
    password: ``password``, which the caller has checked, hashed again with a new salt
    changes the stored hash that every token and session is tied to, as a new password
    would (``user_password_change``). Immediate, access tokens included."""
    user.set_password(password)
    user.save(update_fields=["password"])
    return user


def refresh_token_revoke(*, jti: str, expires_at: datetime) -> None:
    """Logs one refresh token out (one device): the refresh endpoint refuses it from now
    on (``selectors.refresh_token_revoked``). Saying it again changes nothing. The access
    tokens it gave stay valid until they expire (``JWT_ACCESS_MINUTES``, 15): they are
    not looked up on every call; ``user_sign_out_everywhere`` ends those too."""
    RevokedToken.objects.filter(expires_at__lt=now()).delete()  # refused anyway now
    RevokedToken.objects.bulk_create([RevokedToken(jti=jti, expires_at=expires_at)],
                                     ignore_conflicts=True)


def user_timezone_set(*, user: User, timezone: str) -> User:
    """The user's time zone from now on: the month that is current for them changes with
    it (budgets are set on it, alerts check it); stored rows do not change (a bank date
    has no time of day)."""
    user.timezone = time_zone_checked(timezone)
    user.save(update_fields=["timezone"])
    return user


@transaction.atomic
def account_connect(
    *, user: User, provider: str | None, url: str, login: str, password: str
) -> tuple[Connection, bool]:
    """Links a login at an institution and starts its first refresh (after commit);
    returns the connection and whether it is new.

    Without a provider it is inferred from the URL (the original design's call names
    none). The password is encrypted at once; it never leaves here in clear text.

    A login already linked at the same URL is not linked twice (every transaction would
    then count twice): the existing connection is returned and refreshed. A client that
    retries the call after a timeout gets the same connection back. The password given
    replaces the stored one only when the connection is not working (the bank refused
    the login, or the last refresh failed): a typo must not break a working link.
    """
    from transactions.models import RefreshRun
    from transactions.services.refresh import refresh_request

    url = url.strip()
    provider = provider or provider_for_url(url)
    if provider == Connection.Provider.OFX:
        check_outbound_url(url)
    elif provider == Connection.Provider.SANDBOX:
        if url and not url.lower().startswith("sandbox://"):
            raise ProviderInputError("the demo bank's URL is sandbox://<anything>")
        if "@" in url.partition("?")[0].partition("#")[0][len("sandbox://"):].partition("/")[0]:
            # A URL is shown to support staff and searched by: a password belongs in the
            # password field, which is encrypted (as an OFX URL's, check_outbound_url).
            raise ProviderInputError("put the login in the login field, not in the URL")
        url = url or "sandbox://demo"
    else:
        raise ProviderInputError(f"provider must be sandbox or ofx, not {provider!r}")
    if not login:
        raise ProviderInputError("a login is required")
    # One link at a time per user: two concurrent calls with one login make one connection.
    # FOR NO KEY UPDATE: a refresh inserting rows that point at the user (FOR KEY SHARE)
    # is not blocked, so a re-link during that refresh cannot deadlock with it.
    User.objects.select_for_update(no_key=True).filter(pk=user.pk).values_list("pk").first()
    existing = _linked(user=user, provider=provider, url=url, login=login)
    if existing is not None:
        working = existing.status == Connection.Status.ACTIVE
        # (Said to the person by the dashboard: "password updated", not "linked already".)
        existing.password_replaced = (
            not working and decrypt_credentials(existing.secret).get("password") != password)
        if existing.password_replaced:
            existing.secret = encrypt_credentials(login=login, password=password)
            existing.save(update_fields=["secret"])
        refresh_request(connection=existing, trigger=RefreshRun.Trigger.MANUAL)
        return existing, False
    connection = Connection.objects.create(
        user=user, provider=provider, url=url,
        institution="Mint Demo Bank" if provider == Connection.Provider.SANDBOX else "",
        secret=encrypt_credentials(login=login, password=password),
    )
    refresh_request(connection=connection, trigger=RefreshRun.Trigger.LINK)
    return connection, True


def _linked(*, user: User, provider: str, url: str, login: str) -> Connection | None:
    """The user's connection for this login at this URL (any case, with or without a
    final /), if any. A login in another case is taken as the same login: most banks (and
    the demo bank) do not tell "Frank" from "frank", and linking it again would count
    every transaction twice; two logins of one person at one bank that differ only in
    case are not supported. Logins are encrypted: each of the user's connections of that
    provider is decrypted, a handful at most.

    The demo bank is one bank whatever its URL says (``sandbox://demo``,
    ``sandbox://other``: its data is a function of the login alone), so there the URL
    is not compared."""
    same, who = url.rstrip("/").lower(), login.strip().casefold()
    any_url = provider == Connection.Provider.SANDBOX
    for connection in Connection.objects.filter(user=user, provider=provider):
        if ((any_url or connection.url.rstrip("/").lower() == same)
                and decrypt_credentials(connection.secret).get("login", "").strip().casefold()
                == who):
            return connection
    return None


@transaction.atomic
def account_unlink(*, connection: Connection) -> None:
    """Deletes the connection, its accounts and their transactions. Raw dumps stay in the
    object store (their rows go with the user's deletion). Monthly spending loses the
    deleted rows in the same transaction: one GROUP BY over them, then the delete."""
    from budgets.services import spending_apply, spending_of_deleted
    from transactions.models import Transaction

    connection = Connection.objects.select_for_update().get(pk=connection.pk)
    rows = Transaction.objects.filter(
        user_id=connection.user_id,
        account_id__in=list(connection.accounts.values_list("pk", flat=True)))
    delta = spending_of_deleted(user_id=connection.user_id, transactions=rows)
    rows.delete()  # by (user, account): the unique index's prefix (see Transaction.account)
    connection.delete()
    spending_apply(delta)


ACCOUNT_NAME_MAX = 200  # FinancialAccount.name's size


def financial_account_rename(*, account: FinancialAccount, name: str) -> FinancialAccount:
    """The name the person gives an account, shown everywhere instead of the bank's (two
    "Everyday Checking" of two logins at one bank told apart). A refresh keeps it: the
    bank's name is taken only when the account is created. A file's account keeps its id,
    so a later import under the name it was given still finds it."""
    name = " ".join(name.split())
    if not name:
        raise ValidationError({"name": ["give the account a name"]})
    if len(name) > ACCOUNT_NAME_MAX:
        raise ValidationError({"name": [f"at most {ACCOUNT_NAME_MAX} characters"]})
    FinancialAccount.objects.filter(pk=account.pk).update(name=name)
    account.name = name
    return account


@transaction.atomic
def financial_account_delete(*, account: FinancialAccount) -> None:
    """Deletes one account and its transactions (support, through the admin), taking their
    spending away in the same transaction. While its connection stays linked the bank
    still sends the account: the connection's fetch cursor is cleared, so that it comes
    back at the next refresh with its whole history, not with the days since the last
    refresh only (unlinking the connection is what removes an account for good)."""
    from budgets.services import spending_apply, spending_of_deleted
    from transactions.models import Transaction

    Connection.objects.select_for_update().get(pk=account.connection_id)  # no ingest meanwhile
    Connection.objects.filter(pk=account.connection_id).update(cursor="")
    rows = Transaction.objects.filter(user_id=account.user_id, account_id=account.pk)
    delta = spending_of_deleted(user_id=account.user_id, transactions=rows)
    rows.delete()  # by (user, account): the unique index's prefix (see Transaction.account)
    account.delete()
    spending_apply(delta)


@transaction.atomic
def user_delete(*, user: User) -> None:
    """Deletes a user and everything of theirs (support, through the admin), their raw
    statements in the object store included (after the commit). Their crowd
    votes go with them, so each seller they voted on is recounted in the same
    transaction: a default that needed their vote is withdrawn.

    Locks first, in the orders the other writers use: the user's connections (every
    writer of transaction rows holds its connection's lock, so no refresh writes rows
    meanwhile), then the sellers they voted on, sorted (``crowd_vote`` locks the seller
    before the vote), then their votes, deleted with the keys they had."""
    from categories.models import CrowdSeller, SellerVote
    from categories.services import crowd_recount

    list(Connection.objects.select_for_update().filter(user=user).order_by("pk")
         .values_list("pk", flat=True))
    keys = set(SellerVote.objects.filter(user=user).values_list("seller_key", flat=True))
    list(CrowdSeller.objects.select_for_update().filter(seller_key__in=keys)
         .order_by("seller_key").values_list("pk", flat=True))
    with db.cursor() as cursor:
        cursor.execute(f"DELETE FROM {SellerVote._meta.db_table} WHERE user_id = %s "  # noqa: S608
                       "RETURNING seller_key", [user.pk])
        keys |= {key for (key,) in cursor.fetchall()}  # a vote cast since the read above
    user_id = user.pk
    user.delete()
    for seller_key in sorted(keys):
        crowd_recount(seller_key=seller_key)
    # Their raw statements go too, once the deletion has committed (the object store is
    # not transactional; the task retries while it is unreachable).
    from transactions.tasks import raw_dumps_delete

    transaction.on_commit(lambda: raw_dumps_delete.delay(user_id), robust=True)


def file_connection_for(*, user: User) -> Connection:
    """The per-user pseudo-connection that holds accounts created by file imports."""
    connection, _ = Connection.objects.get_or_create(
        user=user, provider=Connection.Provider.FILE,
        defaults={"institution": "File imports", "status": Connection.Status.ACTIVE},
    )
    return connection

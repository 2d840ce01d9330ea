import uuid

from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.utils import timezone

from .timezones import time_zones, validate_time_zone


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra):
        if not email:
            raise ValueError("an email address is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def get_by_natural_key(self, username):
        """Log-in looks the address up as sign-up stored it (lower case): a person who
        signed up as Jane.Doe@Example.com logs in typing it the same way."""
        if isinstance(username, str):
            username = self.normalize_email(username.strip()).lower()
        return super().get_by_natural_key(username)

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra)


class User(AbstractUser):
    """A person. Logs in with an email address."""

    username = None
    email = models.EmailField("email address", unique=True)
    # Written by LastActiveMiddleware at most once an hour; the nightly refresh only
    # visits users active in the last 30 days.
    last_active_at = models.DateTimeField(null=True, blank=True, db_index=True)
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])

    @property
    def shown_time_zone(self) -> str:
        """The zone pages show times in: UTC if the stored one is not known here (a name
        this machine's tz database lacks must not take every page down)."""
        return self.timezone if self.timezone in time_zones() else "UTC"

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []
    objects = UserManager()

    def __str__(self) -> str:
        return self.email

    def clean(self):
        super().clean()
        self.email = (self.email or "").strip().lower()

    def save(self, *args, **kwargs):
        # A new address is stored in lower case, whoever writes it (sign-up, the API, the
        # admin's add form; its change form goes through clean()): log-in looks it up that
        # way (UserManager.get_by_natural_key). Not on every save: an address the
        # migration could not lower (another user has its lower case) must still save.
        if self._state.adding and self.email:
            self.email = self.email.strip().lower()
        super().save(*args, **kwargs)


class Connection(models.Model):
    """One login at one institution, holding one or more financial accounts.

    ``secret`` is the MultiFernet token of ``{"login", "password"}``: never returned by
    the API, shown in the admin, logged or written to a raw dump.
    """

    class Provider(models.TextChoices):
        SANDBOX = "sandbox", "Demo bank"
        OFX = "ofx", "OFX Direct Connect"
        FILE = "file", "File imports"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for first refresh"
        ACTIVE = "active", "Up to date"
        ERROR = "error", "Refresh failing"
        NEEDS_ATTENTION = "needs_attention", "Credentials need attention"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="connections")
    provider = models.CharField(max_length=16, choices=Provider.choices)
    institution = models.CharField(max_length=200, blank=True)
    url = models.CharField(max_length=500, blank=True)
    secret = models.TextField(blank=True, editable=False)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    last_refreshed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    # Opaque provider cursor ("fetch since"), saved in the same transaction as the rows.
    cursor = models.CharField(max_length=200, blank=True)
    # Claim: at most one refresh of a connection at a time. A claim is a lease so that a
    # worker killed mid-refresh does not lock the connection forever.
    claimed_by = models.UUIDField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    # Which delivery of the run holds the claim (its task id): the same message delivered
    # again after its worker was killed resumes at once; another copy of the run (the
    # requeue sweep's) waits while the lease holds.
    claim_token = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["user", "created_at"])]

    def __str__(self) -> str:
        return f"{self.get_provider_display()} {self.institution or self.url}".strip()

    @property
    def is_claimed(self) -> bool:
        return bool(self.claimed_until and self.claimed_until > timezone.now())


class FinancialAccount(models.Model):
    class Kind(models.TextChoices):
        CHECKING = "checking"
        SAVINGS = "savings"
        CREDIT_CARD = "credit_card"
        INVESTMENT = "investment"
        LOAN = "loan"
        OTHER = "other"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="financial_accounts")
    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="accounts")
    external_id = models.CharField(max_length=100)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.CHECKING)
    mask = models.CharField(max_length=8, blank=True)
    currency = models.CharField(max_length=3, default="USD")
    balance = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    balance_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "connection", "external_id"], name="account_unique_external"
            )
        ]

    def __str__(self) -> str:
        return self.name + (f" …{self.mask}" if self.shows_mask else "")

    @property
    def shows_mask(self) -> bool:
        """Whether "…<mask>" is worth showing after the name: a name that ends with its
        mask already ("Account …1111", "Savings …9925") is not given it twice."""
        return bool(self.mask) and not self.name.endswith(f"…{self.mask}")


class RevokedToken(models.Model):
    """A refresh token logged out before it expired (``POST /api/v1/auth/logout/``): the
    refresh endpoint refuses it from then on. Its id (``jti``) only, never the token:
    a copy of the database must not hold tokens that work (simplejwt's token_blacklist
    app stores every refresh token issued, in clear). A row is of no use once its token
    has expired; each log-out deletes those (``expires_at`` is indexed), so the table holds
    at most the log-outs of the last ``JWT_REFRESH_DAYS``."""

    jti = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField(db_index=True)
    revoked_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"refresh token {self.jti} (logged out)"

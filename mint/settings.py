"""One settings module for every environment; differences come from the environment.

Unset variables fall back to the embedded parts (SQLite, a folder object store, a
filesystem broker) only when ``DEBUG`` is on. With ``DEBUG`` off a missing secret,
broker or bucket stops start-up with a clear message: production never falls back to
the embedded parts silently. Every variable is listed in ``.env.example``.
"""

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)  # first: .env may set any below
VAR_DIR = Path(env.str("MINT_VAR_DIR", default=str(BASE_DIR / "var")))

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _bool(name: str, default: bool) -> bool:
    """Strict booleans: django-environ reads any unknown word as False; we refuse it."""
    raw = env.str(name, default=str(default)).strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean (use true or false)")


DEBUG = _bool("DEBUG", default=False)
EMBEDDED = DEBUG  # the embedded stand-ins are a development convenience only


def _required(name: str, what: str) -> str:
    value = env.str(name, default="")
    if value:
        return value
    if EMBEDDED:
        return ""
    raise ImproperlyConfigured(
        f"{name} is not set: {what}. Set it in the environment (see .env.example); "
        "the embedded defaults are only used with DEBUG=true."
    )


SECRET_KEY = _required("SECRET_KEY", "Django needs a secret key to sign sessions and tokens")
if not SECRET_KEY:
    SECRET_KEY = "embedded-dev-only-secret-key-not-for-production"  # noqa: S105
elif not DEBUG and (SECRET_KEY == "change-me" or len(SECRET_KEY) < 32):  # noqa: S105
    # .env.example's placeholder, copied as it is, or a short one: sessions and API
    # tokens are signed with it.
    raise ImproperlyConfigured(
        "SECRET_KEY is a placeholder or shorter than 32 characters: set a long random "
        'string, e.g. python -c "import secrets; print(secrets.token_urlsafe(50))"')

ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"] if DEBUG else []
)
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS is not set: list the host names the site serves.")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files, served from here: no CDN
    "accounts",
    "transactions",
    "categories",
    "budgets",
    "notifications",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Pages and API answers compressed for clients that ask: the demo user's transactions
    # page (50 rows, each with its category choices) is 384,151 bytes of HTML, 11,632
    # gzipped. Static files are WhiteNoise's, compressed ahead. Django's GZip pads each
    # answer against BREACH (since 4.2).
    "django.middleware.gzip.GZipMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.LastActiveMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "mint.urls"
WSGI_APPLICATION = "mint.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "mint" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "notifications.views.unread_badge",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------
_database_url = _required("DATABASE_URL", "the PostgreSQL database to use")
if _database_url:
    DATABASES = {"default": env.db_url_config(_database_url)}
    if DATABASES["default"].get("ENGINE") not in ("django.db.backends.postgresql",
                                                  "django.db.backends.sqlite3"):
        raise ImproperlyConfigured(
            f"DATABASE_URL={_database_url.split('@')[-1]!r} is not a PostgreSQL URL: "
            "write it as postgres://user:password@host:5432/name")
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "mint.sqlite3",
            # WAL: pages and API reads go on while the worker writes a long import or
            # refresh (in the default rollback journal a write that spills its cache
            # takes the exclusive lock, and every reader waited on it, then failed with
            # "database is locked"). Writers still take turns.
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE",
                        "init_command": "PRAGMA journal_mode=WAL"},
        }
    }
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard:home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default="") or BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "mint" / "static"]
# Production serves hashed names from the manifest that collectstatic writes; without it
# every {% static %} is a 500. The image is built with DEBUG=true (no secrets at build
# time), so the Dockerfile asks for the manifest with STATIC_MANIFEST=true.
STATIC_MANIFEST = _bool("STATIC_MANIFEST", default=not DEBUG)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if STATIC_MANIFEST
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- Broker, cache --------------------------------------------------------------------


def _next_redis_db(url: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    db = int(parts.path.strip("/") or 0)
    return urlunsplit(parts._replace(path=f"/{db + 1}"))


def _redis_url(url: str) -> str:
    """``redis://host:port/db`` (or ``rediss://``), refused with its name otherwise."""
    import re

    if url and not re.fullmatch(r"rediss?://[^/\s?]+(/\d*)?(\?\S*)?", url):
        shown = url.split("@")[-1]  # never a password in the message
        raise ImproperlyConfigured(
            f"REDIS_URL (…{shown!r}) is not a Redis URL: write it as redis://host:6379/0")
    return url


REDIS_URL = _redis_url(
    _required("REDIS_URL", "the Redis server used as Celery broker and cache"))
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            # The cache gets its own database (the broker's + 1) so that clearing the
            # cache can never drop queued jobs.
            "LOCATION": env.str("CACHE_URL", default="") or _next_redis_db(REDIS_URL),
            "KEY_PREFIX": "mint",
        }
    }
else:
    # Embedded: kombu's filesystem transport, a real broker in a folder. A real
    # `celery worker` process consumes it; there is no server to install.
    CELERY_BROKER_URL = "filesystem://"
    _broker_dir = VAR_DIR / "broker"
    for sub in ("queue", "processed", "control"):
        (_broker_dir / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
    # A folder, not process memory: the web server and the worker are two processes, and
    # the worker's "summary changed" must reach the web server's cached summaries.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                          "LOCATION": str(VAR_DIR / "cache")}}

# Celery: at-least-once delivery with idempotent tasks (see mint/celery.py for the why).
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 300
CELERY_TASK_TIME_LIMIT = 360
# The longest countdown we use is the refresh retry backoff (≤ 10 minutes); the
# visibility timeout (after which Redis redelivers an unacknowledged message, e.g. the
# one a killed worker held) must exceed it, or a delayed message is delivered twice.
REFRESH_RETRY_BACKOFF_MAX = min(env.int("REFRESH_RETRY_BACKOFF_MAX", default=600), 600)
CELERY_MAX_COUNTDOWN = REFRESH_RETRY_BACKOFF_MAX
CELERY_VISIBILITY_TIMEOUT = env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)
if CELERY_VISIBILITY_TIMEOUT <= CELERY_MAX_COUNTDOWN:
    raise ImproperlyConfigured(
        "CELERY_VISIBILITY_TIMEOUT must be longer than REFRESH_RETRY_BACKOFF_MAX"
    )
if REDIS_URL:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
CELERY_TASK_DEFAULT_QUEUE = "extraction"
CELERY_TASK_ROUTES = {
    "transactions.tasks.*": {"queue": "extraction"},
    "categories.tasks.*": {"queue": "categories"},
    "budgets.tasks.*": {"queue": "budgets"},
    "notifications.tasks.*": {"queue": "notifications"},
    "accounts.tasks.*": {"queue": "notifications"},  # emails (a password reset)
}
CELERY_TASK_ALWAYS_EAGER = _bool("CELERY_TASK_ALWAYS_EAGER", default=False)
if CELERY_TASK_ALWAYS_EAGER and not DEBUG:
    raise ImproperlyConfigured("CELERY_TASK_ALWAYS_EAGER is for tests and development only.")
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# What a task prints (the console email backend of development) is information, not a
# warning.
CELERY_WORKER_REDIRECT_STDOUTS_LEVEL = "INFO"

# --- Object store for raw dumps -------------------------------------------------------
S3_BUCKET = _required("S3_BUCKET", "the S3-compatible bucket that keeps raw dumps")
S3_ENDPOINT_URL = env.str("S3_ENDPOINT_URL", default="") or None
AWS_ACCESS_KEY_ID = env.str("AWS_ACCESS_KEY_ID", default="")
AWS_SECRET_ACCESS_KEY = env.str("AWS_SECRET_ACCESS_KEY", default="")
AWS_REGION = env.str("AWS_REGION", default="us-east-1")
OBJECT_STORE_DIR = VAR_DIR / "objects"

# --- Credentials at rest --------------------------------------------------------------
# Comma-separated Fernet keys: the first encrypts, all decrypt (rotation).
CREDENTIALS_KEYS = env.list("CREDENTIALS_KEYS", default=[])
if not CREDENTIALS_KEYS:
    if not EMBEDDED:
        raise ImproperlyConfigured(
            "CREDENTIALS_KEYS is not set: bank passwords are encrypted with it. "
            'Generate one with: python -c "from cryptography.fernet import Fernet; '
            'print(Fernet.generate_key().decode())"'
        )
    CREDENTIALS_KEYS = ["ZW1iZWRkZWQtZGV2LW9ubHkta2V5LW5vdC1zZWNyZXQ="]
for _key in CREDENTIALS_KEYS:  # checked at start-up, not at the first link
    try:
        from cryptography.fernet import Fernet

        Fernet(_key.strip())
    except (ValueError, TypeError):
        raise ImproperlyConfigured(
            "CREDENTIALS_KEYS holds a value that is not a Fernet key (url-safe base64 of 32 "
            'bytes): generate one with python -c "from cryptography.fernet import Fernet; '
            'print(Fernet.generate_key().decode())"') from None

# --- Email ----------------------------------------------------------------------------
_email_url = env.str("EMAIL_URL", default="")
if _email_url:
    vars().update(env.email_url_config(_email_url))
elif DEBUG:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
else:
    raise ImproperlyConfigured("EMAIL_URL is not set: e.g. smtp+tls://user:pass@host:587")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Mint <noreply@localhost>")

# --- Outbound requests to user-given URLs (OFX servers, webhooks) ---------------------
# Refused by default: private, loopback and link-local addresses. Tests and local
# development may allow them.
ALLOW_PRIVATE_OUTBOUND = _bool("ALLOW_PRIVATE_OUTBOUND", default=False)
OUTBOUND_TIMEOUT_SECONDS = env.float("OUTBOUND_TIMEOUT_SECONDS", default=20.0)
# The exchange after the connection (send, answer): a server that drips its answer is
# given up then. Connecting and the TLS handshake take up to a timeout each before it,
# and an OFX refresh makes two exchanges: 2 × (2 × 20 + 90) = 260 s, within the tasks'
# soft time limit with time left to store and write the statement.
OUTBOUND_DEADLINE_SECONDS = env.float("OUTBOUND_DEADLINE_SECONDS", default=90.0)
if not (0 < OUTBOUND_TIMEOUT_SECONDS <= OUTBOUND_DEADLINE_SECONDS and 2 * (
        2 * OUTBOUND_TIMEOUT_SECONDS + OUTBOUND_DEADLINE_SECONDS) < CELERY_TASK_SOFT_TIME_LIMIT):
    raise ImproperlyConfigured(
        "OUTBOUND_TIMEOUT_SECONDS must be > 0 and ≤ OUTBOUND_DEADLINE_SECONDS, and an OFX "
        "refresh's two exchanges, 2 × (2 × OUTBOUND_TIMEOUT_SECONDS + "
        "OUTBOUND_DEADLINE_SECONDS), must take less than the tasks' soft time limit "
        f"({CELERY_TASK_SOFT_TIME_LIMIT} s)")

# --- Uploads, API ---------------------------------------------------------------------
IMPORT_MAX_BYTES = env.int("IMPORT_MAX_BYTES", default=10 * 1024 * 1024)
# Files with at most this many transactions import inline (201); bigger ones in the
# background (202 + poll).
IMPORT_INLINE_MAX_ROWS = env.int("IMPORT_INLINE_MAX_ROWS", default=5000)
DATA_UPLOAD_MAX_MEMORY_SIZE = IMPORT_MAX_BYTES + 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = IMPORT_MAX_BYTES + 1024 * 1024

# --- Categorisation (issue #3) ----------------------------------------------------------
# A seller not in the dictionary takes the category most users chose by hand once at
# least CROWD_MIN_USERS distinct users chose it and it holds CROWD_MIN_PERCENT of votes.
CROWD_MIN_USERS = env.int("CROWD_MIN_USERS", default=3)
CROWD_MIN_PERCENT = env.int("CROWD_MIN_PERCENT", default=60)
if CROWD_MIN_USERS < 1 or not 50 < CROWD_MIN_PERCENT <= 100:
    raise ImproperlyConfigured("CROWD_MIN_USERS must be ≥ 1 and CROWD_MIN_PERCENT in 51..100")
# Rows per batch when rules or crowd defaults recategorise stored transactions.
RECATEGORIZE_BATCH_SIZE = env.int("RECATEGORIZE_BATCH_SIZE", default=1000)

# --- Notifications (issue #4) ---------------------------------------------------------
# Attempts per delivery before it is marked failed. Retries back off exponentially with
# full jitter (5 s, 10 s, 20 s, … each capped at CELERY_MAX_COUNTDOWN = 600 s), so 10
# webhook attempts span at most ~31 min; 5 email attempts at most 75 s.
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=10)
EMAIL_MAX_ATTEMPTS = env.int("EMAIL_MAX_ATTEMPTS", default=5)
# Connect and read timeout of one webhook POST, seconds.
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10.0)
if WEBHOOK_MAX_ATTEMPTS < 1 or EMAIL_MAX_ATTEMPTS < 1 or not 0 < WEBHOOK_TIMEOUT_SECONDS <= 60:
    raise ImproperlyConfigured(
        "WEBHOOK_MAX_ATTEMPTS and EMAIL_MAX_ATTEMPTS must be ≥ 1 and "
        "WEBHOOK_TIMEOUT_SECONDS in (0, 60]"
    )

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.api.auth.ActivityJWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "mint.schema.MintAutoSchema",
    "DEFAULT_PARSER_CLASSES": ["mint.api.JSONParser", "rest_framework.parsers.FormParser",
                               "rest_framework.parsers.MultiPartParser"],
    "EXCEPTION_HANDLER": "mint.api.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "mint.api.CursorPagination",
    "PAGE_SIZE": 50,
    # "login": wrong passwords (the token endpoint, the log-in pages, a password change);
    # "password_reset": reset emails asked for (accounts/login.py).
    "DEFAULT_THROTTLE_RATES": {"anon": "60/min", "login": "10/min", "password_reset": "5/hour"},
    # The client's address for every limit (the API's throttles, the log-in pages): with
    # 0, REMOTE_ADDR; behind N trusted reverse proxies, the address the nearest of them
    # saw, from X-Forwarded-For. Unset (DRF's default), X-Forwarded-For was taken whole,
    # so a client could write a new one on every try and never be limited.
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
}
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=30)),
    "AUTH_HEADER_TYPES": ("Bearer",),
    # A token carries a hash of the password it was issued under: a password change or
    # reset ends every token issued before it (access, and refresh: see the serializer).
    "CHECK_REVOKE_TOKEN": True,
    "TOKEN_REFRESH_SERIALIZER": "accounts.api.serializers.TokenRefreshSerializer",
    "SIGNING_KEY": SECRET_KEY,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Mint API",
    "DESCRIPTION": "Personal finance: linked accounts, transactions, imports.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI and ReDoc from drf-spectacular-sidecar's static files, not a CDN: the
    # docs page works on a machine without internet access.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Request bodies are documented as JSON (and uploads as multipart): form encodings
    # are still read, but cannot carry the nested or null values some bodies hold.
    "PARSER_WHITELIST": ["mint.api.JSONParser",
                         "rest_framework.parsers.MultiPartParser"],
    # Two choice sets of fields named "kind": each keeps the name it had.
    "ENUM_NAME_OVERRIDES": {
        "FinancialAccountKindEnum": "accounts.models.FinancialAccount.Kind",
        "NotificationKindEnum": "notifications.models.Notification.Kind",
    },
}

# --- Refresh pipeline -----------------------------------------------------------------
REFRESH_LEASE_SECONDS = env.int("REFRESH_LEASE_SECONDS", default=CELERY_TASK_TIME_LIMIT + 60)
REFRESH_MAX_RETRIES = env.int("REFRESH_MAX_RETRIES", default=5)
NIGHTLY_ACTIVE_DAYS = env.int("NIGHTLY_ACTIVE_DAYS", default=30)
NIGHTLY_BATCH_SIZE = env.int("NIGHTLY_BATCH_SIZE", default=500)
if REFRESH_LEASE_SECONDS <= CELERY_TASK_TIME_LIMIT:
    # A lease that ends while its worker may still run: the requeue sweep sends the run
    # again and the second worker re-claims the run's own lease (two refreshes at once).
    raise ImproperlyConfigured(
        f"REFRESH_LEASE_SECONDS must be longer than the tasks' hard time limit "
        f"({CELERY_TASK_TIME_LIMIT} s)")
if REFRESH_MAX_RETRIES < 0 or NIGHTLY_BATCH_SIZE < 1 or NIGHTLY_ACTIVE_DAYS < 1:
    raise ImproperlyConfigured(
        "REFRESH_MAX_RETRIES must be ≥ 0, NIGHTLY_BATCH_SIZE and NIGHTLY_ACTIVE_DAYS ≥ 1")
LAST_ACTIVE_UPDATE_SECONDS = 3600

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", default=True)
    CSRF_COOKIE_SECURE = _bool("CSRF_COOKIE_SECURE", default=True)

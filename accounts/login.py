"""Log-in with a limit on wrong passwords: the dashboard's (/accounts/login/) and the
admin's (/admin/login/).

The limit is the API token endpoint's, read from the same setting
(``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["login"]``, "10/min"): one figure for every
door a password can be guessed at. Failures are counted in the default cache (Redis in
production, a folder or process memory in embedded mode and tests):

1. Two counters of wrong passwords, each for one fixed window of the clock (minute
   12:03:00–12:03:59 for "10/min"): one per client address, one per email address typed
   (hashed: no addresses in the cache, and any input makes a valid key).
   - per address: one machine cannot guess many accounts;
   - per email: a botnet cannot guess one account from many addresses.
2. When either counter has reached the limit, the form answers "Too many attempts; try
   again in N seconds" with HTTP 429 (and Retry-After) until the window ends, without
   checking the password. An attempt is counted before its password is checked (so that
   attempts sent in parallel cannot all slip past the limit) and taken back when it
   succeeds; a refused one stays counted, but only in its window: an email is locked
   until the end of the window in which it reached the limit. The price of the per-email counter,
   which cannot tell the owner from a botnet: whoever sends 10 wrong passwords for an
   email every minute keeps its owner out for as long as they keep doing it.
3. A successful log-in resets nothing: otherwise an attacker would interleave log-ins to
   their own account with guesses at someone else's.

Fixed windows are atomic with Redis (one INCR) and need no list of timestamps; the cost is
that the end of one window and the start of the next together allow twice the limit
within a few seconds (20 tries); over longer spans it stays 10 a minute.

The client address is the one the API's throttles use: ``REMOTE_ADDR``, or behind
``NUM_PROXIES`` trusted reverse proxies (the setting, 0 by default) the address the
nearest of them wrote into X-Forwarded-For. Left at 0 behind a proxy, the per-address
counter would be one counter for everybody.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from dataclasses import dataclass
from functools import wraps

from django.contrib.admin import AdminSite
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm, PasswordResetForm
from django.core.cache import cache
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils.translation import ngettext
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

logger = logging.getLogger(__name__)

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}  # as DRF reads "10/min", "100/hour"


def _now() -> float:
    return time.time()


def _rate(kind: str = "login") -> tuple[int, int]:
    """(attempts allowed, window in seconds), from the API's throttle rate of ``kind``
    ("login": wrong passwords; "password_reset": reset emails asked for)."""
    count, period = api_settings.DEFAULT_THROTTLE_RATES[kind].split("/")
    return int(count), _PERIODS[period[0]]


@dataclass(frozen=True)
class LoginAttempt:
    keys: list[str]  # the counters of this window that this attempt counts against
    limit: int
    window: int  # seconds
    retry_after: int  # seconds until the window ends

    @classmethod
    def of(cls, request, email: str | None, kind: str = "login") -> LoginAttempt:
        limit, window = _rate(kind)
        now = _now()
        index = int(now // window)
        keys = []
        prefix = "login-failures" if kind == "login" else f"{kind}-attempts"
        # As the API's throttles see it (REST_FRAMEWORK["NUM_PROXIES"]).
        address = BaseThrottle().get_ident(request) if request is not None else None
        if address:
            keys.append(f"{prefix}:{window}:{index}:address:{address}")
        if email:
            # Normalised as log-in looks it up (UserManager.get_by_natural_key), so that
            # "Alice@Example.com " and "alice@example.com" share one counter.
            digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()
            keys.append(f"{prefix}:{window}:{index}:email:{digest}")
        retry_after = max(1, math.ceil((index + 1) * window - now))
        return cls(keys=keys, limit=limit, window=window, retry_after=retry_after)

    def begin(self) -> bool:
        """Counts the attempt before its password is checked, and says whether it may go
        on: every counter of this window still within the limit. Counted first so that
        parallel attempts cannot all read "under the limit" and slip past it together;
        a refused attempt stays counted, but only in its window, which ends the lock
        all the same. ``succeeded`` takes back an attempt that was not a failure."""
        # The cache failing must not become "nobody can log in" (a Redis outage would
        # lock out every user): without it, log-in works as it did before the limit, and
        # the outage is logged.
        try:
            counts = []
            for key in self.keys:
                # The key outlives its window by less than a window (FileBasedCache's
                # incr() re-sets its 300 s default: a stale key, never read again).
                cache.add(key, 0, timeout=self.window)
                counts.append(cache.incr(key))
        except Exception as error:
            logger.warning("login limit: the cache cannot be used (%r); log-in is not "
                           "limited", error)
            return True
        return all(count <= self.limit for count in counts)

    def succeeded(self) -> None:
        try:
            for key in self.keys:
                cache.decr(key)
        except ValueError:
            pass  # the window ended meanwhile: its counter is gone, nothing to take back
        except Exception as error:  # as in begin(): an outage must not fail log-in
            logger.warning("login limit: the cache cannot be used (%r)", error)


def too_many(attempt: LoginAttempt) -> ValidationError:
    seconds = attempt.retry_after
    if seconds > 120:
        minutes = math.ceil(seconds / 60)
        return ValidationError(f"Too many attempts; try again in {minutes} minutes.",
                               code="throttled")
    return ValidationError(
        ngettext("Too many attempts; try again in %(seconds)d second.",
                 "Too many attempts; try again in %(seconds)d seconds.", seconds),
        code="throttled", params={"seconds": seconds},
    )


class _LimitedMixin:
    """For an AuthenticationForm: refuses the attempt, without checking the password,
    while its address or email is over the limit; counts the attempt when the password
    (or, for the admin, the account) is refused. ``retry_after`` is set when refused."""

    retry_after: int | None = None

    def clean(self):
        attempt = LoginAttempt.of(self.request, self.cleaned_data.get("username"))
        if not attempt.begin():
            self.retry_after = attempt.retry_after
            raise too_many(attempt)
        # A ValidationError (a wrong password, an inactive account, or for the admin an
        # account that is not staff) leaves the attempt counted.
        cleaned = super().clean()
        attempt.succeeded()
        return cleaned


def password_recheck(*, request, user, password: str) -> None:
    """A password asked again before something that cannot be undone (deleting the
    account). A wrong one counts as a wrong password at log-in, against the same
    counters: a session left open must not be a way to guess it. Raises ValidationError:
    code "throttled" (with ``retry_after``, seconds) or "wrong_password"."""
    attempt = LoginAttempt.of(request, user.email)
    if not attempt.begin():
        error = too_many(attempt)
        error.retry_after = attempt.retry_after
        raise error
    if not user.check_password(password):
        raise ValidationError("That is not your password.", code="wrong_password")
    attempt.succeeded()


class LimitedAuthenticationForm(_LimitedMixin, AuthenticationForm):
    # Django's says "both fields may be case-sensitive"; an email address here is not.
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "That email and password do not match an account. The password "
                         "is case-sensitive.",
    }


class LimitedAdminAuthenticationForm(_LimitedMixin, AdminAuthenticationForm):
    pass


def _with_refusal_status(response, form):
    """429 and Retry-After on the page of a refused attempt; any other answer as it is."""
    if form is not None and getattr(form, "retry_after", None) and any(
        form.has_error(field, "throttled") for field in (NON_FIELD_ERRORS, *form.fields)
    ):
        response.status_code = 429
        response["Retry-After"] = str(form.retry_after)
    return response


class LoginView(auth_views.LoginView):
    """Django's log-in page, with the limit on wrong passwords."""

    authentication_form = LimitedAuthenticationForm

    def form_invalid(self, form):
        return _with_refusal_status(super().form_invalid(form), form)


class LimitedPasswordChangeForm(PasswordChangeForm):
    """A wrong old password counts as a wrong password at log-in (one session taken over
    must not be a way to guess it without limit), and the limit holds here too."""

    retry_after: int | None = None

    def __init__(self, user, *args, request=None, **kwargs):
        super().__init__(user, *args, **kwargs)
        self.request = request

    def clean_old_password(self):
        attempt = LoginAttempt.of(self.request, self.user.email)
        if not attempt.begin():
            self.retry_after = attempt.retry_after
            raise too_many(attempt)
        old_password = super().clean_old_password()  # a wrong one stays counted
        attempt.succeeded()
        return old_password


class LimitedPasswordResetForm(PasswordResetForm):
    """Reset emails asked for, per address and per email address ("password_reset" rate):
    the page must not send an inbox a flood of them.

    The email itself is sent by a task (``accounts.tasks.send_password_reset_email``):
    sent inside the request, an address with an account answered ~0.5 s later than one
    without (the mail server's time), which told who has an account."""

    retry_after: int | None = None

    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.request = request

    def send_mail(self, subject_template_name, email_template_name, context, from_email,
                  to_email, html_email_template_name=None):
        from .tasks import send_password_reset_email

        try:
            send_password_reset_email.delay(
                user_id=context["user"].pk, domain=context["domain"],
                site_name=context["site_name"], protocol=context["protocol"],
                subject_template_name=subject_template_name,
                email_template_name=email_template_name,
                html_email_template_name=html_email_template_name, from_email=from_email)
        except Exception:  # the broker down: as Django does for a mail server down
            logger.exception("password reset email for user %s not queued", context["user"].pk)

    def clean_email(self):
        email = self.cleaned_data["email"]
        attempt = LoginAttempt.of(self.request, email, kind="password_reset")
        if not attempt.begin():  # every request counts, sent or not (no account)
            self.retry_after = attempt.retry_after
            raise too_many(attempt)
        return email


class _PassesRequest:
    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "request": self.request}

    def form_invalid(self, form):
        return _with_refusal_status(super().form_invalid(form), form)


class PasswordChangeView(_PassesRequest, auth_views.PasswordChangeView):
    form_class = LimitedPasswordChangeForm


class PasswordResetView(_PassesRequest, auth_views.PasswordResetView):
    form_class = LimitedPasswordResetForm


def limit_admin_login(site: AdminSite) -> None:
    """Gives ``site``'s log-in page the same limit, keeping Django's admin view (its
    template, context and redirects): the site's documented ``login_form`` hook, and a
    wrapper of ``site.login`` for the status. Call before ``site.urls`` is read."""
    site.login_form = LimitedAdminAuthenticationForm
    login = site.login

    @wraps(login)
    def limited_login(request, extra_context=None):
        response = login(request, extra_context)
        context = getattr(response, "context_data", None) or {}
        return _with_refusal_status(response, context.get("form"))

    site.login = limited_login


def password_reset_email_send(*, user_id: int, domain: str, site_name: str, protocol: str,
                              subject_template_name: str, email_template_name: str,
                              html_email_template_name: str | None,
                              from_email: str | None) -> None:
    """The reset email Django's ``PasswordResetForm.save`` sends, made for the user now
    (a user deleted or turned off meanwhile gets none; the token is made from their
    current password, as the form would)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.tokens import default_token_generator
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None or not user.has_usable_password():
        return
    context = {
        "email": user.email, "domain": domain, "site_name": site_name,
        "uid": urlsafe_base64_encode(force_bytes(user._meta.pk.value_to_string(user))),
        "user": user, "token": default_token_generator.make_token(user), "protocol": protocol,
    }
    PasswordResetForm.send_mail(PasswordResetForm(), subject_template_name,
                                email_template_name, context, from_email, user.email,
                                html_email_template_name)

import logging

from django.contrib.auth import update_session_auth_hash
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.authentication import SessionAuthentication
from rest_framework.decorators import action
from rest_framework.exceptions import AuthenticationFailed, NotFound
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.utils import datetime_from_epoch
from rest_framework_simplejwt.views import TokenObtainPairView, TokenViewBase

from mint.api import (
    ID_PATTERN,
    CursorPagination,
    NewestFirstPagination,
    error_response,
    id_parameter,
)
from transactions.api.serializers import RefreshRunSerializer
from transactions.models import RefreshRun
from transactions.services.refresh import refresh_request

from ..login import LimitedPasswordResetForm, LoginAttempt, password_recheck
from ..models import Connection, FinancialAccount
from ..providers import ProviderError
from ..selectors import connections_for, financial_accounts_for
from ..services import (
    account_connect,
    account_unlink,
    financial_account_rename,
    refresh_token_revoke,
    user_delete,
    user_password_change,
    user_register,
    user_sign_out_everywhere,
    user_timezone_set,
)
from .serializers import (
    ConnectionSerializer,
    ConnectSerializer,
    FinancialAccountListSerializer,
    FinancialAccountRenameSerializer,
    LegacyConnectResponseSerializer,
    LegacyConnectSerializer,
    LogoutSerializer,
    PasswordChangeSerializer,
    PasswordResetRequestSerializer,
    RefreshAcceptedSerializer,
    RegisterSerializer,
    SignOutEverywhereSerializer,
    TokenPairSerializer,
    UserDeleteSerializer,
    UserSerializer,
    UserUpdateSerializer,
)

log = logging.getLogger(__name__)


class SignUpRateThrottle(AnonRateThrottle):
    """Anonymous sign-ups, per address ("anon" rate). With the cache down the request is
    let through, unlimited, with a warning (as the log-in pages do): refusing it would
    lock everyone out while the cache is away."""

    def allow_request(self, request, view):
        try:
            return super().allow_request(request, view)
        except Exception:  # the cache is unreachable
            log.warning("rate limit cache unavailable: %s is not limited", request.path,
                        exc_info=True)
            return True


class LoginRateThrottle(SignUpRateThrottle):
    """Password guessing against the token endpoint: 10 tries a minute per address."""

    scope = "login"


class RegisterView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [SignUpRateThrottle]

    @extend_schema(request=RegisterSerializer, responses={201: UserSerializer})
    def post(self, request):
        serializer = RegisterSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            user = user_register(**serializer.validated_data)
        except DjangoValidationError as exc:
            if hasattr(exc, "error_dict"):
                # The address taken meanwhile (a sign-up sent twice): the 400 a later
                # sign-up gets from the serializer, word for word.
                raise serializers.ValidationError(exc.message_dict) from None
            # As every other 400, the message names the field.
            return error_response(400, "invalid", "password: " + " ".join(exc.messages),
                                  {"password": exc.messages})
        return Response(UserSerializer(user).data, status=status.HTTP_201_CREATED)


class ConnectionViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Linked accounts. Create = connect (starts the first refresh); delete = unlink."""

    queryset = Connection.objects.none()  # for the schema; get_queryset scopes
    serializer_class = ConnectionSerializer
    pagination_class = NewestFirstPagination
    lookup_value_regex = "[0-9a-f-]{36}"

    def get_queryset(self):
        # The file-import pseudo-connection too ("provider": "file"): its accounts are
        # listed and unlinked like any other; it is never refreshed.
        return connections_for(user=self.request.user)

    @extend_schema(request=ConnectSerializer,
                   responses={201: ConnectionSerializer, 200: ConnectionSerializer})
    def create(self, request):
        serializer = ConnectSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            connection, created = account_connect(
                user=request.user, provider=data.get("provider"),
                url=data.get("account_url", ""), login=data["account_login"],
                password=data["account_password"],
            )
        except ProviderError as exc:
            return error_response(400, "invalid_account", str(exc))
        connection = self.get_queryset().get(pk=connection.pk)
        # 200 when this login was linked already: the same connection, refreshed.
        return Response(ConnectionSerializer(connection).data,
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    def perform_destroy(self, instance):
        account_unlink(connection=instance)

    @extend_schema(request=None, responses={202: RefreshAcceptedSerializer})
    @action(detail=True, methods=["post"])
    def refresh(self, request, pk=None):
        connection = self.get_object()
        if connection.provider == Connection.Provider.FILE:
            return error_response(400, "invalid", "imported files are not refreshed: import "
                                  "a newer file instead")
        with transaction.atomic():
            run = refresh_request(connection=connection, trigger=RefreshRun.Trigger.MANUAL)
        return Response({"run": run.id, "status": run.status}, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses=RefreshRunSerializer(many=True))
    @action(detail=True, methods=["get"])
    def runs(self, request, pk=None):
        connection = self.get_object()
        runs = RefreshRun.objects.filter(user=request.user, connection=connection)
        page = self.paginate_queryset(runs)
        return self.get_paginated_response(RefreshRunSerializer(page, many=True).data)

    @extend_schema(
        parameters=[OpenApiParameter("run_id", str, OpenApiParameter.PATH,
                                     description="The run's id, as the refresh call answers it.")],
        responses={200: RefreshRunSerializer})
    @action(detail=True, methods=["get"], url_path="runs/(?P<run_id>[0-9a-f-]{36})",
            url_name="run")
    def run(self, request, pk=None, run_id=None):
        """One refresh run, to poll after ``POST …/refresh/`` until its ``status`` ends in
        ``succeeded`` or ``failed``."""
        connection = self.get_object()
        found = RefreshRun.objects.filter(user=request.user, connection=connection,
                                          pk=run_id).first()
        if found is None:
            raise NotFound()
        return Response(RefreshRunSerializer(found).data)


class LegacyConnectView(APIView):
    """``POST /api/v1/account`` — the original design's call, kept working."""

    @extend_schema(request=LegacyConnectSerializer, responses={200: LegacyConnectResponseSerializer})
    def post(self, request):
        serializer = LegacyConnectSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            connection, _created = account_connect(
                user=request.user, provider=None, url=data["account_url"],
                login=data["account_login"], password=data["account_password"],
            )
        except ProviderError as exc:
            return error_response(400, "invalid_account", str(exc))
        return Response(
            {
                "user_id": data.get("user_id") or str(request.user.pk),
                "account_id": str(connection.pk),
                "action": "connect",
                "status": "success",
            }
        )


class TokenView(TokenObtainPairView):
    """Per address, every request counts (``LoginRateThrottle``); and, as on the log-in
    pages, wrong passwords count per email too, so that many addresses cannot guess one
    account, and the API and the pages share those counters (``accounts.login``)."""

    throttle_classes = [LoginRateThrottle]

    def post(self, request, *args, **kwargs):
        email = request.data.get("email") if hasattr(request.data, "get") else None
        attempt = LoginAttempt.of(request, email if isinstance(email, str) else None)
        if not attempt.begin():
            return _throttled(attempt.retry_after)
        try:
            response = super().post(request, *args, **kwargs)
        except AuthenticationFailed:
            raise  # a wrong password: it stays counted
        except Exception:
            attempt.succeeded()  # bad input, not a guess
            raise
        attempt.succeeded()
        return response


ACCOUNT_ID = id_parameter("A unique integer value identifying this account.")


@extend_schema_view(**{action: extend_schema(parameters=[ACCOUNT_ID])
                       for action in ("retrieve", "partial_update")})
class FinancialAccountViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet,
):
    """The user's accounts, of every connection; PATCH ``{"name"}`` renames one (a refresh
    keeps the name). Linking and unlinking go through ``/api/v1/accounts/``."""

    queryset = FinancialAccount.objects.none()  # for the schema; get_queryset scopes
    serializer_class = FinancialAccountListSerializer
    pagination_class = CursorPagination
    lookup_value_regex = ID_PATTERN
    http_method_names = ["get", "patch", "head", "options"]
    patch_takes_whole_body = True  # {"name"} required

    def get_queryset(self):
        return financial_accounts_for(user=self.request.user)

    @extend_schema(request=FinancialAccountRenameSerializer,
                   responses=FinancialAccountListSerializer)
    def partial_update(self, request, pk=None):
        account = self.get_object()
        data = FinancialAccountRenameSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        financial_account_rename(account=account, name=data.validated_data["name"])
        return Response(FinancialAccountListSerializer(account).data)


class MeView(APIView):
    attempt_limited = ("DELETE",)  # the schema's 429 (mint.schema.MintAutoSchema)
    patch_takes_whole_body = True  # {"timezone"} required

    @extend_schema(responses=UserSerializer)
    def get(self, request):
        return Response(UserSerializer(request.user).data)

    @extend_schema(request=UserUpdateSerializer, responses=UserSerializer)
    def patch(self, request):
        """Changes the time zone (the month that is current for budgets and alerts)."""
        data = UserUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = user_timezone_set(user=request.user, timezone=data.validated_data["timezone"])
        return Response(UserSerializer(user).data)

    @extend_schema(request=None, responses={204: None},
                   description="As POST /api/v1/me/delete/, with the same JSON body "
                               "(documented there: a DELETE's body is not described).")
    def delete(self, request):
        return _delete_me(request)


class MeDeleteView(APIView):
    attempt_limited = ("POST",)

    @extend_schema(request=UserDeleteSerializer, responses={204: None})
    def post(self, request):
        """Deletes the account and everything of it (as the Settings page does), once its
        password is given again; a wrong one counts as a wrong password at log-in."""
        return _delete_me(request)


def _delete_me(request) -> Response:
    data = UserDeleteSerializer(data=request.data)
    data.is_valid(raise_exception=True)
    refused = _password_refused(request, data.validated_data["password"], field="password",
                                message="That is not your password.")
    if refused:
        return refused
    user_delete(user=request.user)
    return Response(status=status.HTTP_204_NO_CONTENT)


def _throttled(retry_after: int) -> Response:
    response = error_response(
        429, "throttled", f"Too many attempts; try again in {retry_after} seconds.")
    response["Retry-After"] = str(retry_after)
    return response


def _password_refused(request, password: str, *, field: str,
                      message: str | None = None) -> Response | None:
    """The user's password asked again (``password_recheck``: counted as a log-in
    attempt): None when it is theirs, else the answer, a 400 naming ``field`` or a 429."""
    try:
        password_recheck(request=request, user=request.user, password=password)
    except DjangoValidationError as error:
        retry_after = getattr(error, "retry_after", None)
        if retry_after:
            return _throttled(retry_after)
        return error_response(400, "invalid", message or f"{field}: {error.messages[0]}",
                              {field: error.messages})
    return None


def _fresh_tokens(request, user) -> Response:
    """The answer to a change that ended every token and session of the user: new tokens
    for the device that asked, so that it stays signed in. A browser session that asked
    (Swagger UI) is kept too, as Django's password change page keeps it."""
    if isinstance(request.successful_authenticator, SessionAuthentication):
        update_session_auth_hash(request._request, user)
    refresh = RefreshToken.for_user(user)
    return Response({"access": str(refresh.access_token), "refresh": str(refresh)})


class MePasswordView(APIView):
    """``POST /api/v1/me/password/``: the password change of the dashboard's
    /accounts/password_change/ for the apps."""

    attempt_limited = ("POST",)  # the schema's 429 (mint.schema.MintAutoSchema)

    @extend_schema(request=PasswordChangeSerializer, responses={200: TokenPairSerializer})
    def post(self, request):
        """Changes the password, once the old one is given again (a wrong one counts as a
        wrong password at log-in: 429 past the limit). Every token and browser session
        issued before ends, this device's too: the answer holds its new tokens."""
        data = PasswordChangeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        refused = _password_refused(request, data.validated_data["old_password"],
                                    field="old_password")
        if refused:
            return refused
        try:
            user = user_password_change(user=request.user,
                                        password=data.validated_data["new_password"])
        except DjangoValidationError as exc:
            return error_response(400, "invalid", "new_password: " + " ".join(exc.messages),
                                  {"new_password": exc.messages})
        return _fresh_tokens(request, user)


class MeLogoutEverywhereView(APIView):
    """``POST /api/v1/me/logout-everywhere/``: a lost phone, or a session left open."""

    attempt_limited = ("POST",)

    @extend_schema(request=SignOutEverywhereSerializer, responses={200: TokenPairSerializer})
    def post(self, request):
        """Signs out every device and browser at once, access tokens included, once the
        password is given again (counted as at log-in); the password stays the same. The
        answer holds new tokens for this device (drop them to be signed out here too)."""
        data = SignOutEverywhereSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        password = data.validated_data["password"]
        refused = _password_refused(request, password, field="password")
        if refused:
            return refused
        user = user_sign_out_everywhere(user=request.user, password=password)
        return _fresh_tokens(request, user)


class LogoutView(TokenViewBase):
    """``POST /api/v1/auth/logout/``: this device signs out. A token view (no access token
    needed: the refresh token is the proof, and the access token may have expired)."""

    serializer_class = LogoutSerializer

    @extend_schema(request=LogoutSerializer, responses={204: None})
    def post(self, request, *args, **kwargs):
        """Ends the refresh token given: refreshing with it is a 401 (`logged_out`) from
        now on; saying it again is a 204 again. Its access tokens end when they expire
        (15 minutes); POST /api/v1/me/logout-everywhere/ ends them all at once."""
        data = LogoutSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            token = RefreshToken(data.validated_data["refresh"])
        except TokenError as exc:  # expired, malformed, not a refresh token: a 401
            raise InvalidToken(exc.args[0]) from None
        refresh_token_revoke(jti=str(token[jwt_settings.JTI_CLAIM]),
                             expires_at=datetime_from_epoch(token["exp"]))
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordResetRequestView(APIView):
    """``POST /api/v1/auth/password-reset/``: the dashboard's "Forgotten your password?"
    (/accounts/password_reset/) for the apps: the same form, the same email with its link
    to the reset page, the same limit."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    attempt_limited = ("POST",)

    @extend_schema(request=PasswordResetRequestSerializer, responses={202: None})
    def post(self, request):
        """Emails a link to set a new password to the address, if an account has it; the
        answer is 202 either way (it does not tell who has an account). Every request
        counts against the reset limit (5 an hour per address and per email: 429)."""
        data = PasswordResetRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        form = LimitedPasswordResetForm(data={"email": data.validated_data["email"]},
                                        request=request)
        if not form.is_valid():
            if form.retry_after:
                return _throttled(form.retry_after)
            raise serializers.ValidationError(form.errors)  # (the serializer read it)
        # As django.contrib.auth's PasswordResetView.form_valid, with its defaults: the
        # same templates (registration/password_reset_*), link and token.
        form.save(request=request._request, use_https=request.is_secure())
        return Response(status=status.HTTP_202_ACCEPTED)

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt import serializers as jwt_serializers
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.utils import get_md5_hash_password

from ..models import Connection, FinancialAccount, User
from ..selectors import refresh_token_revoked
from ..services import EMAIL_TAKEN_MESSAGE, time_zone_checked


def _time_zone(value: str) -> str:
    try:
        return time_zone_checked(value)
    except DjangoValidationError as exc:
        raise serializers.ValidationError(exc.messages) from None


class RegisterSerializer(serializers.Serializer):
    email = serializers.EmailField()
    password = serializers.CharField(write_only=True, min_length=8, max_length=128)
    timezone = serializers.CharField(
        max_length=64, required=False, default="UTC", validators=[_time_zone],
        help_text="IANA name (\"America/Los_Angeles\"): which month is current for the "
                  "user (budgets, alerts). Default UTC; UTC's other names (\"Etc/UTC\", "
                  "\"GMT\", \"Zulu\", …) are stored as UTC. PATCH /api/v1/me/ changes it.")

    def validate_email(self, value: str) -> str:
        if User.objects.filter(email__iexact=value).exists():
            raise serializers.ValidationError(EMAIL_TAKEN_MESSAGE)
        return value.lower()


class UserUpdateSerializer(serializers.Serializer):
    timezone = serializers.CharField(
        max_length=64, validators=[_time_zone],
        help_text="IANA name, e.g. \"Europe/Paris\" (\"Etc/UTC\" and UTC's other names are "
                  "stored as UTC).")


class UserDeleteSerializer(serializers.Serializer):
    password = serializers.CharField(help_text="The account's password, asked again.",
                                     trim_whitespace=False)


class PasswordChangeSerializer(serializers.Serializer):
    old_password = serializers.CharField(
        trim_whitespace=False, max_length=4096,
        help_text="The current password, asked again; a wrong one counts as a wrong "
                  "password at log-in.")
    new_password = serializers.CharField(
        trim_whitespace=False, max_length=128,
        help_text="Checked by the server's password rules (length, not too common, not "
                  "all digits, not like the email address).")


class SignOutEverywhereSerializer(serializers.Serializer):
    password = serializers.CharField(
        trim_whitespace=False, max_length=4096,
        help_text="The account's password, asked again; a wrong one counts as a wrong "
                  "password at log-in.")


class TokenPairSerializer(serializers.Serializer):
    """New tokens for the device that asked: its old ones ended with the others."""

    access = serializers.CharField()
    refresh = serializers.CharField()


class LogoutSerializer(serializers.Serializer):
    refresh = serializers.CharField(
        help_text="The refresh token to end (this device's): refreshing with it is a 401 "
                  "from now on.")


class PasswordResetRequestSerializer(serializers.Serializer):
    email = serializers.EmailField(help_text="The account's email address. The answer is "
                                             "the same whether one has it or not.")


class UserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email", "timezone", "date_joined"]
        read_only_fields = fields


class FinancialAccountSerializer(serializers.ModelSerializer):
    class Meta:
        model = FinancialAccount
        fields = ["id", "name", "kind", "mask", "currency", "balance", "balance_at"]
        read_only_fields = fields


class FinancialAccountListSerializer(serializers.ModelSerializer):
    """An account on its own (``/api/v1/financial-accounts/``): which connection holds it."""

    class Meta:
        model = FinancialAccount
        fields = ["id", "connection", "name", "kind", "mask", "currency", "balance",
                  "balance_at"]
        read_only_fields = fields


class FinancialAccountRenameSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, help_text="Shown instead of the bank's name.")


class ConnectionSerializer(serializers.ModelSerializer):
    """A linked account (one login at one institution). Credentials are write-only on
    ``ConnectSerializer`` and never part of any response."""

    accounts = FinancialAccountSerializer(many=True, read_only=True)
    last_run_status = serializers.CharField(read_only=True, allow_null=True, default=None)

    class Meta:
        model = Connection
        fields = [
            "id", "provider", "institution", "url", "status", "last_refreshed_at",
            "last_error", "last_run_status", "created_at", "accounts",
        ]
        read_only_fields = fields


class ConnectSerializer(serializers.Serializer):
    provider = serializers.ChoiceField(
        choices=[Connection.Provider.SANDBOX, Connection.Provider.OFX], required=False
    )
    account_url = serializers.CharField(max_length=500, required=False, allow_blank=True)
    account_login = serializers.CharField(max_length=200)
    # Optional for the demo bank, as in the browser's form; an OFX server needs it.
    account_password = serializers.CharField(
        max_length=500, write_only=True, required=False, default="", allow_blank=True,
        trim_whitespace=False,
    )

    def validate(self, attrs):
        if not attrs.get("provider") and not attrs.get("account_url"):
            raise serializers.ValidationError("give a provider or an account_url")
        ofx = attrs.get("provider") == Connection.Provider.OFX or (
            not attrs.get("provider")
            and attrs.get("account_url", "").lower().startswith(("http://", "https://")))
        if ofx and not attrs.get("account_password"):
            raise serializers.ValidationError(
                {"account_password": "An OFX server needs your password."})
        return attrs


class LegacyConnectSerializer(serializers.Serializer):
    """The original design's request. ``user_id`` is accepted and ignored: the
    authenticated user owns the account."""

    user_id = serializers.CharField(max_length=200, required=False, allow_blank=True)
    account_url = serializers.CharField(max_length=500)
    account_login = serializers.CharField(max_length=200)
    account_password = serializers.CharField(
        max_length=500, write_only=True, allow_blank=True, trim_whitespace=False
    )


class LegacyConnectResponseSerializer(serializers.Serializer):
    user_id = serializers.CharField()
    account_id = serializers.CharField()
    action = serializers.CharField()
    status = serializers.CharField()


class RefreshAcceptedSerializer(serializers.Serializer):
    run = serializers.UUIDField()
    status = serializers.CharField()


class TokenRefreshSerializer(jwt_serializers.TokenRefreshSerializer):
    """simplejwt's, and a refresh token logged out (``POST /api/v1/auth/logout/``) or
    issued before the user's password last changed (or they signed out everywhere) is
    refused (the access tokens it would give are refused anyway, CHECK_REVOKE_TOKEN).
    The answer holds the new ``access`` only: refresh tokens are not rotated."""

    refresh = serializers.CharField(write_only=True)

    def validate(self, attrs):
        refresh = RefreshToken(attrs["refresh"])  # a bad token: simplejwt's own 401
        if refresh_token_revoked(jti=str(refresh.payload.get(jwt_settings.JTI_CLAIM))):
            raise AuthenticationFailed("This token was logged out: log in again.",
                                       "logged_out")
        user = User.objects.filter(pk=refresh.payload.get(jwt_settings.USER_ID_CLAIM)).first()
        if user is None:
            raise AuthenticationFailed("The account no longer exists.", "user_not_found")
        if refresh.payload.get(jwt_settings.REVOKE_TOKEN_CLAIM) != (
                get_md5_hash_password(user.password)):
            raise AuthenticationFailed("The password has changed (or every device was "
                                       "signed out) since this token was issued: log in "
                                       "again.", "password_changed")
        return super().validate(attrs)

"""Dashboard forms. They check input only; the views hand the cleaned data to services."""

from django import forms

from .models import Connection, User
from .timezones import time_zone_canonical, time_zone_label, time_zones


class _Form(forms.Form):
    """Labels sit above their fields: no "Email address:" colon."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class SignupForm(_Form):
    email = forms.EmailField(
        label="Email address",
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )
    password = forms.CharField(
        label="Password", strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password_confirm = forms.CharField(
        label="Password again", strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    # Filled in by the page's script from the browser's own time zone; anything it does
    # not name (no script, an old browser) is UTC, changed later on the Settings page.
    timezone = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)

    def clean_timezone(self) -> str:
        name = time_zone_canonical(self.cleaned_data.get("timezone") or "")
        return name if name in time_zones() else "UTC"

    EMAIL_TAKEN = "An account with this email address already exists."

    def clean_email(self) -> str:
        email = User.objects.normalize_email(self.cleaned_data["email"]).lower()
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError(self.EMAIL_TAKEN)
        return email

    def clean(self):
        cleaned = super().clean()
        password, again = cleaned.get("password"), cleaned.get("password_confirm")
        if password and again and password != again:
            self.add_error("password_confirm", "The two passwords differ.")
        return cleaned


class LinkForm(_Form):
    """Links a login at an institution: the demo bank or an OFX Direct Connect server."""

    PROVIDERS = [
        (Connection.Provider.SANDBOX, "Demo bank"),
        (Connection.Provider.OFX, "OFX server"),
    ]

    provider = forms.ChoiceField(label="Institution", choices=PROVIDERS,
                                 initial=Connection.Provider.SANDBOX)
    url = forms.CharField(
        label="URL", required=False, max_length=500,
        help_text="sandbox://demo for the demo bank, or your bank's OFX server URL.",
        widget=forms.TextInput(attrs={"placeholder": "sandbox://demo"}),
    )
    login = forms.CharField(label="Login", max_length=200,
                            widget=forms.TextInput(attrs={"autocomplete": "off"}))
    password = forms.CharField(
        label="Password", required=False, strip=False, max_length=500,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("provider") == Connection.Provider.OFX:
            if not cleaned.get("url"):
                self.add_error("url", "An OFX server needs its URL.")
            if not cleaned.get("password"):
                self.add_error("password", "An OFX server needs your password.")
        return cleaned


class SettingsForm(_Form):
    timezone = forms.ChoiceField(
        label="Time zone",
        help_text="Decides which month is your current one (budgets, alerts) and the times "
                  "pages show.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["timezone"].choices = [(name, time_zone_label(name))
                                           for name in sorted(time_zones())]


class AccountDeleteForm(_Form):
    """The password, asked again before the account and all its data are deleted. A wrong
    one counts as a wrong password at log-in (``accounts.login``): a session left open
    must not be a way to guess it, nor to delete the account without it."""

    password = forms.CharField(
        label="Your password", strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    retry_after: int | None = None

    def __init__(self, *args, user, request, **kwargs):
        super().__init__(*args, **kwargs)
        self.user, self.request = user, request

    def clean_password(self) -> str:
        from .login import password_recheck

        password = self.cleaned_data["password"]
        try:
            password_recheck(request=self.request, user=self.user, password=password)
        except forms.ValidationError as error:
            self.retry_after = getattr(error, "retry_after", None)
            raise
        return password

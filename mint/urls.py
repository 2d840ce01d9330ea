from django.contrib import admin
from django.urls import include, path

from accounts.login import (
    LoginView,
    PasswordChangeView,
    PasswordResetView,
    limit_admin_login,
)

from .api import server_error
from .health import healthz

limit_admin_login(admin.site)  # before admin.site.urls is read below

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(("mint.api_urls", "api"), namespace="api")),
    # Before Django's auth URLs, whose "login" it replaces: the same page, with a limit
    # on wrong passwords.
    path("accounts/login/", LoginView.as_view(), name="login"),
    path("accounts/password_change/", PasswordChangeView.as_view(), name="password_change"),
    path("accounts/password_reset/", PasswordResetView.as_view(), name="password_reset"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("mint.dashboard_urls")),
]

handler500 = server_error

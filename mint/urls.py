from django.contrib import admin
from django.urls import include, path

from .health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(("mint.api_urls", "api"), namespace="api")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("mint.dashboard_urls")),
]

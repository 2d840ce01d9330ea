from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter
from rest_framework_simplejwt.views import TokenRefreshView

from accounts.api.views import (
    ConnectionViewSet,
    FinancialAccountViewSet,
    LegacyConnectView,
    LogoutView,
    MeDeleteView,
    MeLogoutEverywhereView,
    MePasswordView,
    MeView,
    PasswordResetRequestView,
    RegisterView,
    TokenView,
)
from budgets.api.views import BudgetSettingsView, BudgetViewSet, SummaryView, TrendsView
from categories.api.views import CategoryViewSet, RuleViewSet
from mint.api import NOT_FOUND_URL_NAME, not_found
from notifications.api.views import (
    NotificationPreferencesView,
    NotificationViewSet,
    WebhookViewSet,
)
from transactions.api.views import ImportViewSet, TransactionViewSet

router = DefaultRouter()
router.register("accounts", ConnectionViewSet, basename="account")
router.register("financial-accounts", FinancialAccountViewSet, basename="financial-account")
router.register("transactions", TransactionViewSet, basename="transaction")
router.register("imports", ImportViewSet, basename="import")
router.register("categories", CategoryViewSet, basename="category")
router.register("rules", RuleViewSet, basename="rule")
router.register("budgets", BudgetViewSet, basename="budget")
router.register("notifications", NotificationViewSet, basename="notification")
router.register("webhooks", WebhookViewSet, basename="webhook")

urlpatterns = [
    path("auth/register/", RegisterView.as_view(), name="register"),
    path("auth/token/", TokenView.as_view(), name="token"),
    path("auth/token/refresh/", TokenRefreshView.as_view(), name="token-refresh"),
    path("me/", MeView.as_view(), name="me"),
    path("auth/logout/", LogoutView.as_view(), name="logout"),
    path("auth/password-reset/", PasswordResetRequestView.as_view(), name="password-reset"),
    path("me/delete/", MeDeleteView.as_view(), name="me-delete"),
    path("me/password/", MePasswordView.as_view(), name="me-password"),
    path("me/logout-everywhere/", MeLogoutEverywhereView.as_view(),
         name="me-logout-everywhere"),
    path("account", LegacyConnectView.as_view(), name="legacy-connect"),
    path("budget-settings/", BudgetSettingsView.as_view(), name="budget-settings"),
    path("summary/", SummaryView.as_view(), name="summary"),
    path("trends/", TrendsView.as_view(), name="trends"),
    path("notification-preferences/", NotificationPreferencesView.as_view(),
         name="notification-preferences"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    path("", include(router.urls)),
    # Last: every other path under /api/v1/ is a 404 in the error shape, not Django's page
    # (a path with a line break in it too: "." alone does not match one).
    re_path(r"^[\s\S]*$", not_found, name=NOT_FOUND_URL_NAME),
]

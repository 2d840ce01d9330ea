from django.urls import path

from accounts import views as account_views
from budgets import views as budget_views
from categories import views as category_views
from notifications import views as notification_views
from transactions import views as transaction_views

app_name = "dashboard"

urlpatterns = [
    path("", account_views.home, name="home"),
    path("signup/", account_views.signup, name="signup"),
    path("settings/", account_views.user_settings, name="settings"),
    path("settings/delete/", account_views.account_delete, name="account_delete"),
    path("connections/link/", account_views.connection_link, name="connection_link"),
    path("connections/<uuid:pk>/refresh/", account_views.connection_refresh,
         name="connection_refresh"),
    path("connections/<uuid:pk>/unlink/", account_views.connection_unlink,
         name="connection_unlink"),
    path("accounts/<int:pk>/rename/", account_views.financial_account_rename_view,
         name="financial_account_rename"),
    path("accounts/<int:pk>/remove/", account_views.imported_account_remove,
         name="imported_account_remove"),
    path("transactions/", transaction_views.transaction_list, name="transactions"),
    path("transactions/<int:pk>/category/", transaction_views.transaction_category,
         name="transaction_category"),
    path("import/", transaction_views.import_upload, name="import"),
    path("import/<uuid:pk>/", transaction_views.import_detail, name="import_detail"),
    path("import/<uuid:pk>/undo/", transaction_views.import_undo_confirm, name="import_undo"),
    path("budgets/", budget_views.budget_list, name="budgets"),
    path("trends/", budget_views.trend_list, name="trends"),
    path("budgets/settings/", budget_views.budget_settings, name="budget_settings"),
    path("budgets/<int:category_id>/", budget_views.budget_amount, name="budget_amount"),
    path("budgets/<int:category_id>/recommendation/", budget_views.budget_recommendation,
         name="budget_recommendation"),
    path("rules/", category_views.rule_list, name="rules"),
    path("rules/<int:pk>/edit/", category_views.rule_edit, name="rule_edit"),
    path("rules/<int:pk>/delete/", category_views.rule_remove, name="rule_delete"),
    path("categories/", category_views.category_list, name="categories"),
    path("categories/<int:pk>/rename/", category_views.category_rename_view,
         name="category_rename"),
    path("categories/<int:pk>/delete/", category_views.category_remove, name="category_delete"),
    path("notifications/", notification_views.notification_list, name="notifications"),
    path("notifications/preferences/", notification_views.notification_preferences,
         name="notification_preferences"),
    path("notifications/<int:pk>/read/", notification_views.notification_read,
         name="notification_read"),
    path("notifications/read-all/", notification_views.notifications_read_all,
         name="notifications_read_all"),
]

from django.urls import path

from accounts import views as account_views
from transactions import views as transaction_views

app_name = "dashboard"

urlpatterns = [
    path("", account_views.home, name="home"),
    path("signup/", account_views.signup, name="signup"),
    path("connections/link/", account_views.connection_link, name="connection_link"),
    path("connections/<uuid:pk>/refresh/", account_views.connection_refresh,
         name="connection_refresh"),
    path("connections/<uuid:pk>/unlink/", account_views.connection_unlink,
         name="connection_unlink"),
    path("transactions/", transaction_views.transaction_list, name="transactions"),
    path("transactions/<int:pk>/category/", transaction_views.transaction_category,
         name="transaction_category"),
    path("import/", transaction_views.import_upload, name="import"),
    path("import/<uuid:pk>/", transaction_views.import_detail, name="import_detail"),
]

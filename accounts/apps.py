from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Users and linked accounts"

    def ready(self):
        # The API's OpenAPI extensions (the bearer-token scheme among them) register
        # themselves on import; drf-spectacular needs them before it builds a schema.
        from mint import schema  # noqa: F401

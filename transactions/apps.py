from django.apps import AppConfig
from django.db.backends.signals import connection_created


def _casefold(text):
    return text.casefold() if isinstance(text, str) else text


def _sqlite_functions(sender, connection, **kwargs) -> None:
    """SQLite (embedded mode) folds only ASCII letters in LIKE: "lumière" would not find
    "CAFÉ LUMIÈRE". The text search folds both sides with ``mint_casefold`` there."""
    if connection.vendor == "sqlite":
        connection.connection.create_function("mint_casefold", 1, _casefold,
                                              deterministic=True)


class TransactionsConfig(AppConfig):
    name = "transactions"

    def ready(self) -> None:
        connection_created.connect(_sqlite_functions, dispatch_uid="mint_sqlite_functions")

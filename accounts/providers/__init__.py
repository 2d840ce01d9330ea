from .base import (
    AccountRecord,
    AuthenticationFailed,
    FetchContext,
    Provider,
    ProviderError,
    ProviderInputError,
    RawFetch,
    Statement,
    TransactionRecord,
    TransientProviderError,
)
from .registry import get_provider, provider_for_url

__all__ = [
    "AccountRecord",
    "AuthenticationFailed",
    "FetchContext",
    "Provider",
    "ProviderError",
    "ProviderInputError",
    "RawFetch",
    "Statement",
    "TransactionRecord",
    "TransientProviderError",
    "get_provider",
    "provider_for_url",
]

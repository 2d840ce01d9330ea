from importlib import import_module

from .base import Provider, ProviderInputError

_MODULES = {
    "sandbox": "accounts.providers.sandbox",
    "ofx": "accounts.providers.ofx",
}


def get_provider(name: str) -> Provider:
    try:
        module = import_module(_MODULES[name])
    except KeyError:
        raise ProviderInputError(f"unknown provider {name!r}") from None
    return module.provider


def provider_for_url(url: str) -> str:
    """The original design's connect call names no provider: infer it from the URL."""
    lowered = url.strip().lower()
    if lowered.startswith("sandbox://"):
        return "sandbox"
    if lowered.startswith(("http://", "https://")):
        return "ofx"
    raise ProviderInputError(
        "account_url must start with sandbox:// (the demo bank) or http(s):// (an OFX server)"
    )

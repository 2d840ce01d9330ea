"""Credentials at rest: MultiFernet over ``CREDENTIALS_KEYS``.

The first key encrypts; every key decrypts, so a key is rotated by putting the new key
first, running ``manage.py rotate_credentials`` and then dropping the old key.
"""

import json
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(k.encode()) for k in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(
            "CREDENTIALS_KEYS must hold url-safe base64 32-byte Fernet keys"
        ) from exc


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.CREDENTIALS_KEYS))


def encrypt_credentials(*, login: str, password: str) -> str:
    payload = json.dumps({"login": login, "password": password}).encode()
    return fernet().encrypt(payload).decode()


def decrypt_credentials(token: str) -> dict:
    try:
        return json.loads(fernet().decrypt(token.encode()))
    except InvalidToken as exc:
        raise ImproperlyConfigured(
            "stored credentials cannot be decrypted with CREDENTIALS_KEYS (a key was dropped "
            "before rotation finished?)"
        ) from exc


def rotate_token(token: str) -> str:
    """The token re-encrypted with the first key. ImproperlyConfigured when no key of
    ``CREDENTIALS_KEYS`` decrypts it (as ``decrypt_credentials``)."""
    try:
        return fernet().rotate(token.encode()).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured(
            "a stored secret cannot be decrypted with any key of CREDENTIALS_KEYS (a key was "
            "dropped before rotation finished?)"
        ) from exc

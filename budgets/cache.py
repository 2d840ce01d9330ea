"""Cache-aside for summaries, invalidated by a per-user version.

Every cached summary key holds the user's current *version*; a write that changes what a
summary shows bumps the version after its commit (``transaction.on_commit``), so later
reads miss and recompute. Why after the commit: a reader that saw the new version before
the commit could read the old rows and cache them under the new version — stale until
the entry expired. A reader that computed from old rows under the old version caches its
result where nobody looks any more.

A version is a fresh random number each time (and a missing one, evicted or never set,
starts at the current time in nanoseconds), so it cannot meet entries cached under an
earlier life of the key.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from typing import Any

from django.core.cache import cache

log = logging.getLogger(__name__)

ENTRY_TTL = 3600  # seconds; a safety net, correctness comes from the version
VERSION_TTL = 30 * 24 * 3600


def _version_key(user_id: int) -> str:
    return f"mint:summary-version:{user_id}"


def summary_version(user_id: int) -> int:
    key = _version_key(user_id)
    version = cache.get(key)
    if version is None:
        version = time.time_ns()
        if not cache.add(key, version, VERSION_TTL):
            version = cache.get(key) or version
    return version


def summary_invalidate(user_id: int) -> None:
    # A random new version, set in one round trip (``incr`` is two with Django's Redis
    # cache: EXISTS, then INCR): 64 random bits never meet an earlier version.
    cache.set(_version_key(user_id), secrets.randbits(64), VERSION_TTL)
    # An error (the cache is down) propagates to the robust on_commit caller,
    # which logs it; entries cached before expire after ENTRY_TTL.


def summary_cached(user_id: int, name: str, compute: Callable[[], Any]) -> tuple[Any, bool]:
    """(value, hit). ``name`` identifies the summary and its parameters. With the cache
    down the value is computed every time (slower, never wrong)."""
    try:
        key = f"mint:summary:{user_id}:{summary_version(user_id)}:{name}"
        value = cache.get(key)
    except Exception:
        log.warning("summary cache unavailable; computing from the database", exc_info=True)
        return compute(), False
    if value is not None:
        return value, True
    value = compute()
    try:
        cache.set(key, value, ENTRY_TTL)
    except Exception:
        log.warning("summary cache unavailable; not cached", exc_info=True)
    return value, False

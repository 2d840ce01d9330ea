"""The time zones a user may live in: IANA names of places ("Europe/Paris"), and UTC."""

from __future__ import annotations

import zoneinfo
from functools import lru_cache

from django.core.exceptions import ValidationError


@lru_cache(maxsize=1)
def time_zones() -> frozenset[str]:
    """The IANA names this machine knows for places, and "UTC": not the database's
    odd entries ("localtime", the server's own; "Factory") nor the bare abbreviations
    and fixed offsets ("EST", "Etc/GMT+5", whose sign is the opposite of what it reads)."""
    return frozenset(
        name for name in zoneinfo.available_timezones()
        if name == "UTC" or ("/" in name and not name.startswith(("Etc/", "posix", "right")))
    )


def validate_time_zone(name: str) -> None:
    if name not in time_zones():
        raise ValidationError(f"{name!r} is not a time zone this server knows; use an IANA "
                              "name such as Europe/Paris or America/Los_Angeles",
                              code="invalid_timezone")

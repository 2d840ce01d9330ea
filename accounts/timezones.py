"""The time zones a user may live in: IANA names of places ("Europe/Paris"), UTC (under
any of its names), and the fixed offsets ("Etc/GMT+5")."""

from __future__ import annotations

import re
import zoneinfo
from functools import lru_cache

from django.core.exceptions import ValidationError

# The tz database's other names of UTC. Devices report them: Android's emulator and many
# Linux machines "Etc/UTC", some phones "GMT". Accepted everywhere a zone is given and
# stored as "UTC": one name for one zone, as the Settings page lists it.
UTC_ALIASES = frozenset({
    "Etc/UTC", "Etc/UCT", "Etc/Universal", "Etc/Zulu", "Etc/GMT", "Etc/GMT0", "Etc/GMT+0",
    "Etc/GMT-0", "Etc/Greenwich", "GMT", "GMT0", "GMT+0", "GMT-0", "Greenwich", "UCT",
    "Universal", "Zulu",
})

# A whole-hour offset with no daylight saving (ships at sea, devices set to an offset
# rather than a place). POSIX signs: "Etc/GMT+5" is five hours *behind* UTC. Kept as
# given, since the device that reports one reads it the same way; the Settings page
# spells the offset out (``time_zone_label``).
_FIXED_OFFSET = re.compile(r"Etc/GMT([+-])(1[0-4]|[1-9])")


@lru_cache(maxsize=1)
def time_zones() -> frozenset[str]:
    """The names a user's time zone is stored under: the IANA names this machine knows
    for places, "UTC" and the fixed offsets. Not the database's odd entries
    ("localtime", the server's own; "Factory"), nor the bare abbreviations and old
    country names ("EST", "Japan"), nor UTC's other names (``time_zone_canonical``)."""
    return frozenset(
        name for name in zoneinfo.available_timezones()
        if name == "UTC" or _FIXED_OFFSET.fullmatch(name)
        or ("/" in name and not name.startswith(("Etc/", "posix", "right")))
    )


def time_zone_canonical(name: str) -> str:
    """The name a zone given is stored under: "UTC" for any of UTC's names, else as is."""
    return "UTC" if name in UTC_ALIASES else name


def time_zone_label(name: str) -> str:
    """How the Settings page lists a zone: "America/Los Angeles"; a fixed offset as what
    it means, "UTC−05:00 (Etc/GMT+5)", whose name reads the other way round."""
    offset = _FIXED_OFFSET.fullmatch(name)
    if offset:
        sign, hours = offset.groups()
        return f"UTC{'−' if sign == '+' else '+'}{int(hours):02d}:00 ({name})"
    return name.replace("_", " ")


def validate_time_zone(name: str) -> None:
    if name not in time_zones():
        raise ValidationError(f"{name!r} is not a time zone this server knows; use an IANA "
                              "name such as Europe/Paris or America/Los_Angeles",
                              code="invalid_timezone")

"""Which channels a notification kind goes to, per user.

Defaults, when the user stored no choice (only choices that differ are stored):

============================  ======  =====  ===================================
kind                          in-app  email  webhook (each active webhook)
============================  ======  =====  ===================================
``budget_approaching``        always  off    on
``budget_exceeded``           always  on     on
``refresh_finished``          always  off    on
``refresh_failing``           always  on     on
============================  ======  =====  ===================================

In-app is the notification row itself and cannot be turned off. Email goes to the
account's address for what needs action (money over budget, credentials to fix), not
for routine news. A webhook is something the user set up on purpose, so it gets every
kind; "on" has an effect only while the user has an active webhook.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from ..models import Channel, Notification, Preference

Kind = Notification.Kind
IN_APP = "in_app"
# The API's columns, in order.
CHANNELS = (IN_APP, Channel.EMAIL.value, Channel.WEBHOOK.value)

DEFAULTS: dict[str, dict[str, bool]] = {
    Kind.BUDGET_APPROACHING: {IN_APP: True, Channel.EMAIL: False, Channel.WEBHOOK: True},
    Kind.BUDGET_EXCEEDED: {IN_APP: True, Channel.EMAIL: True, Channel.WEBHOOK: True},
    Kind.REFRESH_FINISHED: {IN_APP: True, Channel.EMAIL: False, Channel.WEBHOOK: True},
    Kind.REFRESH_FAILING: {IN_APP: True, Channel.EMAIL: True, Channel.WEBHOOK: True},
}


def preferences_set(*, user, matrix: dict[str, dict[str, bool]]) -> None:
    """Replaces the user's preferences with the full matrix ``{kind: {channel: bool}}``
    (every kind, every channel). Stores only the cells that differ from ``DEFAULTS``."""
    errors = {}
    for kind in Kind.values:
        row = matrix.get(kind)
        if not isinstance(row, dict) or set(row) != set(CHANNELS):
            errors[kind] = [f"give every channel: {', '.join(CHANNELS)}"]
        elif row[IN_APP] is not True:
            errors[kind] = ["in-app notifications are always on"]
    unknown = set(matrix) - set(Kind.values)
    if unknown:
        errors["non_field_errors"] = [f"unknown kind: {', '.join(sorted(unknown))}"]
    if errors:
        raise ValidationError(errors)

    rows = [
        Preference(user=user, kind=kind, channel=channel, enabled=bool(matrix[kind][channel]))
        for kind in Kind.values
        for channel in (Channel.EMAIL, Channel.WEBHOOK)
        if bool(matrix[kind][channel]) != DEFAULTS[kind][channel]
    ]
    with transaction.atomic():
        Preference.objects.filter(user=user).delete()
        # Two PUTs at once: the later insert skips the earlier one's rows, no 500.
        Preference.objects.bulk_create(rows, ignore_conflicts=True)

"""Ids in request bodies, read as strictly as ``mint.filters`` reads them in query strings.

DRF's ``PrimaryKeyRelatedField`` hands whatever the body holds to the database lookup,
where ``int()`` reads it: ``43.9`` filed a transaction under category 43, ``"١"``
(an Arabic-Indic one) was category 1, and ``1e400`` (infinity to Python's JSON reader) was
an OverflowError and a 500, as DRF catches only TypeError and ValueError there.
"""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from mint.filters import MAX_ID, ascii_id

ID_ERROR = "must be a whole number (an id, such as 42)"
ID_SCHEMA = {"type": "integer", "minimum": 1, "maximum": MAX_ID}


def id_from(data) -> int | None:
    """The whole number ``data`` holds: a JSON integer, or a string of ASCII digits (a form
    field, a multipart upload). None for anything else: a bool, a float (``43.0`` too: no
    client writes an id so), a sign, spaces, digits of another script."""
    if isinstance(data, bool):
        return None
    if isinstance(data, int):
        return data
    if isinstance(data, str):
        return ascii_id(data)
    return None


@extend_schema_field(ID_SCHEMA)
class PrimaryKeyField(serializers.PrimaryKeyRelatedField):
    """An object by its id: anything ``id_from`` cannot read is a 400 naming the field, as
    ``?account=1.5`` is; a number no id can be (0, past a bigint) is "does not exist"
    without a query. Subclasses may pick the queryset per request (``get_queryset``)."""

    default_error_messages = {"not_an_id": ID_ERROR}

    def to_internal_value(self, data):
        pk = id_from(data)
        if pk is None:
            self.fail("not_an_id")
        if not 1 <= pk <= MAX_ID:
            self.fail("does_not_exist", pk_value=data)
        return super().to_internal_value(pk)


@extend_schema_field(ID_SCHEMA)
class IdField(serializers.IntegerField):
    """An id that names no single object (a bound such as ``up_to_id``), read as
    ``PrimaryKeyField`` reads one; DRF's ``IntegerField`` takes ``1.0``, ``"1.0"`` and
    ``"١"`` for 1."""

    default_error_messages = {"not_an_id": ID_ERROR}

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        number = id_from(data)
        if number is None:
            self.fail("not_an_id")
        return super().to_internal_value(number)

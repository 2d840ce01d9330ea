"""Query-string parameters read strictly: a value we cannot read is a 400, not a guess.

django-filter's ``BooleanFilter`` reads an unknown word (``?pending=maybe``) as "no
filter" and answers with every row; a client with a typo would never know. These
accept true/false, 1/0 and yes/no (any case) and refuse the rest with the API's error
shape, like a malformed date already was.
"""

import django_filters
from django import forms
from drf_spectacular.utils import extend_schema_field
from rest_framework import exceptions

TRUE = frozenset({"true", "1", "yes"})
FALSE = frozenset({"false", "0", "no"})
BOOLEAN_ERROR = "must be true or false"


def parse_bool(text: str) -> bool:
    """``ValueError`` for anything but true/false, 1/0, yes/no (any case)."""
    value = text.strip().lower()
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise ValueError(text)


class StrictBooleanField(forms.NullBooleanField):
    """Absent or empty: no filter (None). Otherwise a boolean, or a validation error."""

    # NullBooleanField's select widget turns every word it does not know into None (and
    # reads "2" as true) before the field sees it: take the text as it came.
    widget = forms.TextInput

    def to_python(self, value):
        if isinstance(value, bool):
            return value
        if value in (None, ""):
            return None
        try:
            return parse_bool(str(value))
        except ValueError:
            raise forms.ValidationError(BOOLEAN_ERROR, code="invalid") from None

    def validate(self, value):
        pass  # None is "not given"; to_python has already refused the rest


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


MAX_ID = 2**63 - 1  # the largest bigint


def ascii_id(text: str) -> int | None:
    """The whole number a text of ASCII digits holds; None for anything else (``1.0``,
    `` 1 ``, ``١``, an Arabic-Indic one, which ``int()`` would read as 1). Past 19 digits
    it is past a bigint, given as ``MAX_ID + 1`` (``int()`` refuses 4,300 digits)."""
    if not (text.isascii() and text.isdigit()):
        return None
    return int(text) if len(text.lstrip("0")) <= 19 else MAX_ID + 1


class StrictIdField(forms.IntegerField):
    """ASCII digits only (``ascii_id``), as ids in request bodies are (``mint.fields``)."""

    def to_python(self, value):
        if value in self.empty_values:
            return None
        number = ascii_id(str(value))
        if number is None:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return number


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": MAX_ID})
class IntegerFilter(django_filters.NumberFilter):
    """An id: ``?account=1.5`` is a 400, not account 1 (``NumberFilter`` reads decimals);
    so is one no id can be (below 1, or past a bigint: SQLite cannot even compare it)."""

    field_class = StrictIdField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


def query_bool(request, name: str, *, default: bool | None = False) -> bool | None:
    """A boolean query parameter outside a FilterSet (absent or empty: ``default``)."""
    text = request.query_params.get(name, "")
    if not text.strip():
        return default
    try:
        return parse_bool(text)
    except ValueError:
        raise exceptions.ValidationError({name: [BOOLEAN_ERROR]}) from None

"""Keyset pagination for transaction lists."""

import base64
from datetime import date

from rest_framework import exceptions, pagination
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from mint.api import (
    INVALID_CURSOR,
    MAX_PAGE_SIZE,
    PAGE_SIZE,
    page_size_from,
    page_size_parameter,
)

from ..selectors import transactions_before


class KeysetPagination(pagination.BasePagination):
    """Newest-first keyset pagination on a (date, id) pair: ``WHERE (date, id) < (d, i)``
    served by the ``(user, -date, -id)`` index, so page 10,000 costs what page 1 does.
    ``?cursor=`` is opaque; ``page_size`` ≤ 500. Only forward (``next``) links."""

    page_size = PAGE_SIZE
    max_page_size = MAX_PAGE_SIZE

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        self.size = page_size_from(request, default=self.page_size, maximum=self.max_page_size)
        cursor = request.query_params.get("cursor")
        if cursor:
            try:
                day, last_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
                day, last_id = date.fromisoformat(day), int(last_id)
            except (ValueError, UnicodeDecodeError):
                raise exceptions.ValidationError({"cursor": [INVALID_CURSOR]}) from None
            queryset = transactions_before(queryset, day=day, last_id=last_id)
        rows = list(queryset.order_by("-posted_on", "-id")[: self.size + 1])
        self.has_next = len(rows) > self.size
        self.page = rows[: self.size]
        return self.page

    def _next_link(self):
        if not self.has_next:
            return None
        last = self.page[-1]
        token = f"{last.posted_on.isoformat()}|{last.id}"
        cursor = base64.urlsafe_b64encode(token.encode()).decode()
        return replace_query_param(self.request.build_absolute_uri(), "cursor", cursor)

    def get_paginated_response(self, data):
        return Response({"next": self._next_link(), "previous": None, "results": data})

    def get_schema_operation_parameters(self, view):
        return [
            {"name": "cursor", "required": False, "in": "query",
             "description": "from the previous page's `next` link", "schema": {"type": "string"}},
            page_size_parameter(default=self.page_size, maximum=self.max_page_size),
        ]

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["results"],
            "properties": {
                "next": {"type": "string", "nullable": True, "format": "uri"},
                "previous": {"type": "string", "nullable": True, "format": "uri"},
                "results": schema,
            },
        }

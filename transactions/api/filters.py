import django_filters

from categories.models import Category
from categories.selectors import categories_for
from mint.filters import IntegerFilter, StrictBooleanFilter

from ..models import Transaction


class TransactionFilter(django_filters.FilterSet):
    account = IntegerFilter(field_name="account_id")
    connection = django_filters.UUIDFilter(field_name="account__connection_id")
    # YYYY-MM-DD only: Django would also read 01/11/2026, as January 11 (US order), and
    # give someone who meant 1 November the wrong months without a word.
    date_from = django_filters.DateFilter(field_name="posted_on", lookup_expr="gte",
                                          input_formats=["%Y-%m-%d"])
    date_to = django_filters.DateFilter(field_name="posted_on", lookup_expr="lte",
                                        input_formats=["%Y-%m-%d"])
    q = django_filters.CharFilter(method="filter_text", label="text in description or seller")
    pending = StrictBooleanFilter()  # ?pending=maybe is a 400, not every row
    category = IntegerFilter(method="filter_category",
                             label="a category id: its rows, and its sub-categories' rows")

    class Meta:
        model = Transaction
        fields = ["account", "connection", "date_from", "date_to", "q", "pending", "category"]

    def filter_category(self, queryset, name, value):
        """A top-level category with its sub-categories (a summary line's rows: Food &
        Dining is Groceries, Restaurants, … and the user's own under it)."""
        user = getattr(self.request, "user", None)
        children = (categories_for(user=user) if user is not None and user.is_authenticated
                    else Category.objects.filter(user=None)).filter(parent_id=value)
        return queryset.filter(category_id__in=[value, *children.values_list("id", flat=True)])

    def is_valid(self):
        """As the transactions page: an end before the start is a 400 naming it, not an
        empty list that looks like "no transactions"."""
        valid = super().is_valid()
        data = self.form.cleaned_data if valid else {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.form.add_error("date_to", "The end date is before the start date.")
            return False
        return valid

    def filter_text(self, queryset, name, value):
        from django.db import connection
        from django.db.models import F, Func, Q

        value = value.strip()
        if not value:
            return queryset
        fields = ("description", "seller", "memo")
        if connection.vendor == "sqlite" and not value.isascii():
            # SQLite's LIKE folds ASCII only: fold both sides (transactions/apps.py). A
            # Python call per column and row scanned: 0.12 s per 100,000 rows against
            # 0.02 s, so only for text that needs it ("lumière"; "cafe" finds no "CAFÉ"
            # either way).
            folded = {f"{f}_folded": Func(F(f), function="mint_casefold") for f in fields}
            value = value.casefold()
            queryset = queryset.alias(**folded)
            fields = tuple(folded)
        match = Q()
        for field in fields:
            match |= Q(**{f"{field}__icontains": value})
        return queryset.filter(match)

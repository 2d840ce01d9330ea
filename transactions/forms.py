"""Dashboard forms for transactions. Account and category choices are always the user's
own (categories: the shared taxonomy and theirs)."""

from django import forms

from accounts.selectors import financial_accounts_for
from categories.selectors import categories_for, category_tree

from .importers.dispatch import FORMATS


class _AccountChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        institution = obj.connection.institution if obj.connection_id else ""
        return f"{obj} — {institution}" if institution else str(obj)


class TransactionFilterForm(forms.Form):
    q = forms.CharField(label="Search", required=False, max_length=200,
                        widget=forms.SearchInput(attrs={"placeholder": "Description or seller"}))
    account = _AccountChoiceField(label="Account", required=False, queryset=None,
                                  empty_label="All accounts")
    # YYYY-MM-DD, as the date picker sends and as the API reads (transactions/api/filters.py):
    # 01/11/2026 in a typed address would be January 11 to Django, not 1 November.
    date_from = forms.DateField(label="From", required=False, input_formats=["%Y-%m-%d"],
                                widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label="To", required=False, input_formats=["%Y-%m-%d"],
                              widget=forms.DateInput(attrs={"type": "date"}))
    category = forms.TypedChoiceField(label="Category", required=False, coerce=int,
                                      empty_value=None)

    def __init__(self, *args, user, tree: list[dict] | None = None, **kwargs):
        """``tree``: ``category_tree(user=user)``, when the caller has it already."""
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.fields["account"].queryset = financial_accounts_for(user=user)
        # A top-level category stands for its sub-categories too (as the API's filter).
        choices: list = [("", "All categories")]
        for top in tree if tree is not None else category_tree(user=user):
            choices.append((top["id"], top["name"]))
            choices.extend((child["id"], f"\u2003{child['name']}")  # an em space: indented
                           for child in top["children"])
        self.fields["category"].choices = choices

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "The end date is before the start date.")
        return cleaned


class ImportForm(forms.Form):
    FORMAT_CHOICES = [
        ("", "Detect automatically"),
        *((fmt, {"ofx": "OFX / QFX", "qif": "QIF", "csv": "Bank CSV",
                 "mint": "Mint CSV export"}.get(fmt, fmt)) for fmt in FORMATS),
    ]

    file = forms.FileField(label="Statement file")
    account = _AccountChoiceField(
        label="Into account", required=False, queryset=None,
        empty_label="Create from the file",
        help_text="Leave empty to file the rows under the accounts the file names.",
    )
    account_name = forms.CharField(
        label="New account's name", required=False, max_length=100,
        help_text="For a bank CSV or QIF, which name no account: files imported under one "
                  "name go into one account (“Chase Checking”, “Amex Gold”). Left empty, "
                  "they all go into “Imported CSV” (or “Imported QIF”).")
    format = forms.ChoiceField(label="Format", required=False, choices=FORMAT_CHOICES)

    # A bank CSV whose headers are not recognised: the column mapping the API takes as
    # ``options`` (transactions/importers/csv_import.py), named as its errors name them.
    date = forms.CharField(label="Date column (date)", required=False, max_length=100)
    amount = forms.CharField(label="Amount column (amount)", required=False, max_length=100,
                             help_text="Or the two columns below, when money out and money "
                                       "in have a column each.")
    debit = forms.CharField(label="Money-out column (debit)", required=False, max_length=100)
    credit = forms.CharField(label="Money-in column (credit)", required=False, max_length=100)
    description = forms.CharField(label="Description column (description)", required=False,
                                  max_length=100)
    dates = forms.ChoiceField(label="Dates are written", required=False, choices=[
        ("", "As the dates show (month first, unless one can only be day first)"),
        ("month_first", "Year first or month first (2024-12-31, 12/31/2024)"),
        ("day_first", "Day first (31/12/2024, 31.12.2024)"),
    ])
    # Three ways, as the API's option: left to the file (Amex's and Apple Card's own
    # exports are recognised and flipped), or said either way by the person.
    negate = forms.ChoiceField(label="Signs", required=False, choices=[
        ("", "As the file says (Amex's and Apple Card's own exports are flipped)"),
        ("negate", "Purchases are positive amounts: flip every sign (as Discover writes them)"),
        ("keep", "Money out is already negative: keep every sign"),
    ])
    CSV_FIELDS = ("date", "amount", "debit", "credit", "description", "dates", "negate")

    def __init__(self, *args, user, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.fields["account"].queryset = financial_accounts_for(user=user)

    def main_fields(self):
        return [self[name] for name in self.fields if name not in self.CSV_FIELDS]

    def csv_fields(self):
        return [self[name] for name in self.CSV_FIELDS]

    # Set by the view when the file was refused for its columns (ImportFormatError.columns).
    columns_needed = False

    def csv_opened(self) -> bool:
        """The mapping is shown open when it was filled in, or is what the file needs."""
        return self.columns_needed or (
            self.is_bound and any(self.data.get(name) for name in self.CSV_FIELDS))

    def import_options(self) -> dict:
        """The mapping as the importers' ``options`` (empty fields left out)."""
        data = self.cleaned_data
        options = {name: data[name].strip() for name in
                   ("date", "amount", "debit", "credit", "description") if data[name].strip()}
        if data["dates"]:
            options["day_first"] = data["dates"] == "day_first"
        if data["negate"]:
            options["negate"] = data["negate"] == "negate"
        if data["account_name"].strip() and data["account"] is None:
            options["account_name"] = " ".join(data["account_name"].split())
        return options

    def clean(self):
        data = super().clean()
        if data.get("account") is not None and (data.get("account_name") or "").strip():
            self.add_error("account_name", "A new account's name is for a file that goes into "
                                           "a new account: leave it empty, or choose “Create "
                                           "from the file” above.")
        return data


class TransactionCategorizeForm(forms.Form):
    """A category chosen by hand on the transactions page. Only checks the input: the
    choice itself (manual mark, crowd vote, rule) is ``transaction_categorize``'s."""

    category = forms.ModelChoiceField(queryset=None, required=False, error_messages={
        "invalid_choice": "Unknown category.",
    })  # left empty: the transaction keeps its category (a rename alone, as in the API)
    always = forms.BooleanField(required=False)
    rename_to = forms.CharField(required=False, max_length=200)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = categories_for(user=user).select_related("parent")

    def clean(self):
        data = super().clean()
        if data.get("category") is None and not {"category", "rename_to"} & set(self.errors):
            if data.get("always"):
                raise forms.ValidationError("Choose the category for “always”.")
            if not data.get("rename_to", "").strip():
                raise forms.ValidationError("Choose a category, a new name, or both.")
        return data

"""Dashboard forms for transactions. Account and category choices are always the user's
own (categories: the shared taxonomy and theirs)."""

from django import forms

from accounts.selectors import financial_accounts_for
from categories.selectors import categories_for

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

    def __init__(self, *args, user, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.fields["account"].queryset = financial_accounts_for(user=user)


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
    format = forms.ChoiceField(label="Format", required=False, choices=FORMAT_CHOICES)

    def __init__(self, *args, user, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.fields["account"].queryset = financial_accounts_for(user=user)


class TransactionCategorizeForm(forms.Form):
    """A category chosen by hand on the transactions page. Only checks the input: the
    choice itself (manual mark, crowd vote, rule) is ``transaction_categorize``'s."""

    category = forms.ModelChoiceField(queryset=None, error_messages={
        "required": "Choose a category.",
        "invalid_choice": "Unknown category.",
    })
    always = forms.BooleanField(required=False)
    rename_to = forms.CharField(required=False, max_length=200)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = categories_for(user=user).select_related("parent")

"""Dashboard forms for budgets. They only parse the input, with the API serializers'
bounds; what a valid budget or profile is stays with ``budgets.services``."""

from decimal import Decimal

from django import forms

MONEY = {"max_digits": 14, "decimal_places": 2, "min_value": Decimal("0")}


class BudgetAmountForm(forms.Form):
    amount = forms.DecimalField(label="Budget", **MONEY, error_messages={
        "required": "Enter an amount, e.g. 250.00.",
        "invalid": "Enter an amount, e.g. 250.00.",
    })
    # The month page to go back to.
    month = forms.CharField(required=False, max_length=7, widget=forms.HiddenInput)


class BudgetResetForm(forms.Form):
    month = forms.CharField(required=False, max_length=7, widget=forms.HiddenInput)


class BudgetProfileForm(forms.Form):
    monthly_income = forms.DecimalField(
        label="Monthly income", required=False, **MONEY,
        help_text="Leave empty to estimate it from your history.",
    )
    approaching_percent = forms.IntegerField(
        label="Warn me at (% of a budget)", min_value=1, max_value=99,
    )
    month = forms.CharField(required=False, max_length=7, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

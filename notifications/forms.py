"""Dashboard forms for notifications: input parsing only."""

from django import forms


class ReadAllForm(forms.Form):
    # The newest notification the page showed: one arriving meanwhile stays unread.
    up_to_id = forms.IntegerField(required=False, min_value=1)

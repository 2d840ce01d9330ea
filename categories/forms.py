"""Dashboard forms for rules and the user's own categories. They only parse the input, with the API serializer's bounds
(``categories/api/serializers.py``: a category the user may use, texts of at most 200
characters); what makes a valid rule (a condition, a seller name with letters in it) is
``rule_create``'s to say."""

from django import forms

from .selectors import categories_for, category_tree


def _category_choices(tree: list[dict]) -> list:
    """A group per top-level category, which is a choice itself, as the transactions
    page's category <select> shows them."""
    def label(node: dict) -> str:
        return f"{node['name']} (yours)" if node["own"] else node["name"]

    choices: list = [("", "Choose a category")]
    for top in tree:
        if top["children"]:
            choices.append((top["name"], [(top["id"], label(top)),
                                          *((child["id"], label(child))
                                            for child in top["children"])]))
        else:
            choices.append((top["id"], label(top)))
    return choices


class RuleCreateForm(forms.Form):
    seller = forms.CharField(
        label="Seller", required=False, max_length=200,
        help_text="As the transactions page shows it, e.g. Starbucks.",
    )
    description_contains = forms.CharField(
        label="Description contains", required=False, max_length=200,
        help_text="Any part of the bank's text, e.g. PAYROLL.",
    )
    category = forms.TypedChoiceField(label="File under", coerce=int, error_messages={
        "required": "Choose a category.",
        "invalid_choice": "Unknown category.",
    })
    rename_to = forms.CharField(label="Rename to", required=False, max_length=200)
    apply_to_past = forms.BooleanField(label="Also file past transactions like this",
                                       required=False)

    def __init__(self, *args, user, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["category"].choices = _category_choices(category_tree(user=user))

    def main_fields(self):
        """Every field but the checkbox, which the page shows beside its label."""
        return [self[name] for name in self.fields if name != "apply_to_past"]

    def clean_category(self):
        category = categories_for(user=self.user).filter(
            pk=self.cleaned_data["category"]).first()
        if category is None:  # deleted since the page was shown
            raise forms.ValidationError("Unknown category.")
        return category


class RuleDeleteForm(forms.Form):
    apply_to_past = forms.BooleanField(required=False)


class CategoryCreateForm(forms.Form):
    """A sub-category of one's own under a top-level category of Mint's taxonomy."""

    parent = forms.TypedChoiceField(label="Under", coerce=int, error_messages={
        "required": "Choose where it goes.",
        "invalid_choice": "Choose a top-level category of the list.",
    })
    name = forms.CharField(label="Name", max_length=100,
                           error_messages={"required": "A category needs a name."})

    def __init__(self, *args, tops, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.tops = {top.pk: top for top in tops}
        self.fields["parent"].choices = [("", "Choose a category"),
                                         *((top.pk, top.name) for top in tops)]

    def clean_parent(self):
        return self.tops[self.cleaned_data["parent"]]


class CategoryRenameForm(forms.Form):
    name = forms.CharField(label="New name", max_length=100,
                           error_messages={"required": "A category needs a name."})

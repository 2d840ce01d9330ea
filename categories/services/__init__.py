"""Category writes: categorisation in the pipeline, manual choices, rules, crowd."""

from .categorize import (
    Item,
    categorize_items,
    categorize_records,
    compile_rules,
    seller_key_for,
)
from .imported import categories_from_file
from .manual import (
    category_create,
    category_delete,
    category_rename,
    crowd_recount,
    crowd_vote,
    rule_create,
    rule_delete,
    rule_update,
    transaction_categorize,
)
from .recategorize import (
    transactions_in_flight,
    transactions_recategorize_seller,
    transactions_recategorize_user,
    transactions_still_in_flight,
)

__all__ = [
    "Item",
    "categories_from_file",
    "categorize_items",
    "categorize_records",
    "category_create",
    "category_delete",
    "category_rename",
    "compile_rules",
    "crowd_recount",
    "crowd_vote",
    "rule_create",
    "rule_delete",
    "rule_update",
    "seller_key_for",
    "transaction_categorize",
    "transactions_in_flight",
    "transactions_recategorize_seller",
    "transactions_recategorize_user",
    "transactions_still_in_flight",
]

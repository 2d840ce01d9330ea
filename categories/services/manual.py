"""Manual category choices, rules, users' own categories and crowd learning (writes)."""

from __future__ import annotations

from decimal import Decimal
from functools import partial

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db import connection as db
from django.db.models import F

from accounts.models import Connection
from budgets.services import SpendingDelta, spending_apply
from transactions.models import Transaction

from ..engine import categorizer
from ..models import Category, CrowdSeller, Rule, SellerTally, SellerVote
from ..selectors import categories_for, category_name, uncategorized_id
from .categorize import rows_scope, rule_scope, seller_key_for


def _enqueue_user(user_id: int, *rules: Rule, deleted: bool = False) -> None:
    """Recategorise the user's past rows that these rules' conditions match (as they are
    now: pass a rule before and after a change, or as it was before its deletion);
    no other row, so that an earlier choice "leave the past as it is" still holds."""
    from ..tasks import recategorize_user

    # The last rule is the one in force; those before it are rules as they were (before
    # a change, or a deleted one): their filed rows are in the scope too.
    # A deleted rule's scope is the rows it filed only.
    scope = [rule_scope(rule, filed=(i < len(rules) - 1 or deleted), matched=not deleted)
             for i, rule in enumerate(rules)]
    transaction.on_commit(partial(recategorize_user.delay, user_id, 0, scope))


def _lock_connections(user_id: int) -> None:
    """Waits for the user's refreshes and imports in flight, and holds them off until
    the commit: an ingest holds its connection's lock while it reads the user's rules
    and files its rows, so a rule's "apply to the past", enqueued after this commits,
    finds every row written with the rules as they were before (in id order, as
    category_delete and the imports take them: no deadlock)."""
    list(Connection.objects.select_for_update().filter(user_id=user_id).order_by("pk")
         .values_list("pk", flat=True))


def _own_category_held(category_id: int) -> bool:
    """Locks a user's own category FOR KEY SHARE until the commit; False when it is gone
    (deleted meanwhile). category_delete locks its category FOR UPDATE before it reads
    its rows a last time: a row filed here is either moved up with them, or, the
    deletion first, refused. (SQLite: one writer at a time, nothing goes meanwhile.)"""
    if db.vendor != "postgresql":
        return True
    with db.cursor() as cursor:
        cursor.execute(f"SELECT 1 FROM {Category._meta.db_table} "  # noqa: S608
                       "WHERE id = %s FOR KEY SHARE", [category_id])
        return cursor.fetchone() is not None


def _enqueue_seller(seller_key: str) -> None:
    transaction.on_commit(partial(_recategorize_seller_after_commit, seller_key))


def _recategorize_seller_after_commit(seller_key: str) -> None:
    """The seller's rows now, and again once the transactions open at the commit have
    ended: an ingest among them may have looked the crowd up before the new default and
    write its rows of the seller after the first pass went by. (Checked by the task, not
    waited for here: the ingest pays nothing for it.)"""
    from ..tasks import recategorize_seller
    from .recategorize import transactions_in_flight

    recategorize_seller.delay(seller_key, 0, transactions_in_flight())


# --- users' own categories ---------------------------------------------------------------

@transaction.atomic
def category_create(*, user, parent: Category, name: str) -> Category:
    """A user's own sub-category under a top-level category of the shared taxonomy."""
    name = category_name(name)
    if not name:
        raise ValidationError({"name": "A category needs a name."})
    if parent.parent_id is not None or parent.user_id is not None:
        raise ValidationError({"parent": "Choose a top-level category of the taxonomy."})
    _name_free(user=user, parent=parent, name=name)
    try:
        with transaction.atomic():  # a savepoint: the caller's transaction goes on
            return Category.objects.create(
                user=user, parent=parent, name=name,
                is_income=parent.is_income, is_transfer=parent.is_transfer,
            )
    except IntegrityError:
        # The same name created at the same moment (a double click, two devices): the
        # check above passed for both, the unique constraint refused the second.
        raise ValidationError({"name": f"“{parent.name} › {name}” already exists."}) from None


def _name_free(*, user, parent: Category, name: str, other_than: int | None = None) -> None:
    # Compared here, not with name__iexact: SQLite folds the case of ASCII letters only
    # ("CAFÉ" would not find "Café"). A parent has a few dozen children at most.
    taken = (categories_for(user=user).filter(parent=parent).exclude(pk=other_than)
             .values_list("name", flat=True))
    folded = name.casefold()
    if any(category_name(existing).casefold() == folded for existing in taken):
        raise ValidationError({"name": f"“{parent.name} › {name}” already exists."})


@transaction.atomic
def category_rename(*, category: Category, name: str) -> Category:
    """Renames a user's own sub-category (the shared taxonomy keeps Mint's names)."""
    if category.user_id is None:
        raise ValidationError({"name": "Mint's categories keep their names; only your own "
                                       "can be renamed."})
    name = category_name(name)
    if not name:
        raise ValidationError({"name": "A category needs a name."})
    _name_free(user=category.user, parent=category.parent, name=name, other_than=category.pk)
    category.name = name
    try:
        with transaction.atomic():  # a savepoint, as in category_create
            category.save(update_fields=["name"])  # (summaries show top-level names only)
    except IntegrityError:
        # The name taken at the same moment by another request (the check above passed).
        raise ValidationError({"name": f"“{category.parent.name} › {name}” already "
                                       "exists."}) from None
    return category


# --- manual choice ---------------------------------------------------------------------

@transaction.atomic
def transaction_categorize(
    *, user, transaction_id: int, category: Category | None = None, always: bool = False,
    rename_to: str = "",
) -> tuple[Transaction, Rule | None]:
    """The user files a transaction under ``category`` by hand (``None``: the category
    it has, for a rename alone).

    1. The row is locked and marked ``manual``: nothing automatic changes it again (nor
       the name it was given).
    2. A category chosen is the user's vote for the seller's crowd category (one vote per
       user and seller, their latest choice); a rename alone votes for nothing.
    3. ``always``: a rule for the seller (Mint's "always do this for …"), applied to the
       user's past non-manual transactions in the background.
    """
    if always:  # a rule for the past: its lock first, before the row's (as an ingest)
        _lock_connections(user.id)
    tx = Transaction.objects.select_for_update().get(user=user, id=transaction_id)
    chosen = category is not None
    if category is None:
        category = tx.category or Category.objects.get(id=uncategorized_id())
    if not categories_for(user=user).filter(id=category.id).exists():
        raise ValidationError({"category": "Unknown category."})
    if category.user_id is not None and not _own_category_held(category.id):
        raise ValidationError({"category": f"“{category.name}” has just been deleted: "
                                           "choose another category."})
    if tx.category_id != category.id:
        delta = SpendingDelta()
        delta.move(user_id=user.id, old=(tx.posted_on, tx.category_id, tx.amount),
                   new=(tx.posted_on, category.id, tx.amount))
        spending_apply(delta)
    shown = tx.seller  # the name the rule shows, before a rename
    tx.category = category
    tx.category_source = Transaction.CategorySource.MANUAL
    if rename_to:
        tx.seller = rename_to[:200]
    tx.save(update_fields=["category", "category_source", "seller", "updated_at"])
    if tx.seller_key and chosen:
        crowd_vote(user=user, seller_key=tx.seller_key, category=category)
    rule = None
    if always:
        if not tx.seller_key:
            raise ValidationError({"always": "This transaction names no seller to make a rule for."})
        # Saying it twice for one seller changes the seller's rule, not adds another.
        # Twins of it (made before twins were refused) never won: they go.
        same = list(Rule.objects.filter(
            user=user, seller_key=tx.seller_key, description_contains="", amount_min=None,
            amount_max=None, account=None,
        ).order_by("-id"))
        rule = same[0] if same else None
        for twin in same[1:]:
            rule_delete(rule=twin)
        if rule is None:
            # The rule matches the key this row has: "apple store" must not be read
            # again as a description (it would become "apple", matching nothing of it).
            rule = rule_create(user=user, category=category,
                               seller=(shown or tx.seller_key)[:200], rename_to=rename_to,
                               apply_to_past=True, _seller_key=tx.seller_key)
        else:
            # No new name keeps the rule's: choosing another category must not undo the
            # name its rows were given (the Rules page clears it).
            rule = rule_update(rule=rule, category=category,
                               rename_to=rename_to or rule.rename_to, apply_to_past=True)
    return tx, rule


# --- rules -----------------------------------------------------------------------------

class DuplicateRule(ValidationError):
    """A rule with the same conditions as the one being saved exists: ``rule`` (change or
    delete that one). A ValidationError like any refusal (code ``duplicate_rule``), with
    the rule for a caller that shows it (the API gives its id)."""

    def __init__(self, message: str, *, rule: Rule):
        super().__init__(message, code="duplicate_rule")
        self.rule = rule


_RULE_FIELDS = ("seller", "description_contains", "amount_min", "amount_max", "account",
                "category", "rename_to")


def _rule_validate(*, user, rule: Rule, seller_key: str | None = None) -> None:
    rule.seller = " ".join(rule.seller.split())
    rule.description_contains = " ".join(rule.description_contains.split())
    rule.rename_to = " ".join(rule.rename_to.split())
    if seller_key is None:
        seller_key = seller_key_for(rule.seller) if rule.seller else ""
    rule.seller_key = seller_key
    if rule.seller and not rule.seller_key:
        raise ValidationError({"seller": "This seller name has no letters or digits."})
    if not (rule.seller_key or rule.description_contains or rule.account_id
            or rule.amount_min is not None or rule.amount_max is not None):
        raise ValidationError("A rule needs at least one condition: seller, description "
                              "text, amount range or account.")
    if (rule.amount_min is not None and rule.amount_max is not None
            and rule.amount_min > rule.amount_max):
        raise ValidationError({"amount_max": "amount_max is below amount_min."})
    for value in (rule.amount_min, rule.amount_max):
        if value is not None and not isinstance(value, Decimal):
            raise ValidationError("Amounts are decimals.")
    if not categories_for(user=user).filter(id=rule.category_id).exists():
        raise ValidationError({"category": "Unknown category."})
    if rule.account_id is not None and rule.account.user_id != user.id:
        raise ValidationError({"account": "Unknown account."})
    # Two rules with the same conditions: the newer one always wins, the older one never
    # does, and the list would show both as if they were in force.
    # The text compared here, not with __iexact, for the reason category_create gives.
    same = (Rule.objects.filter(
        user=user, seller_key=rule.seller_key,
        amount_min=rule.amount_min, amount_max=rule.amount_max, account_id=rule.account_id,
    ).exclude(pk=rule.pk).select_related("category").order_by("id"))
    text = rule.description_contains.casefold()
    twin = next((r for r in same if r.description_contains.casefold() == text), None)
    if twin is not None:
        named = (f"for {twin.seller}" if twin.seller else
                 f"for “{twin.description_contains}”" if twin.description_contains else
                 "with these conditions")
        raise DuplicateRule(f"A rule {named} already files them under {twin.category}: "
                            "change or delete that one.", rule=twin)


@transaction.atomic
def rule_create(*, user, category: Category, apply_to_past: bool = False,
                _seller_key: str | None = None, **fields) -> Rule:
    """``_seller_key``: a stored row's seller key to match exactly (the "always" choice),
    instead of the key worked out from ``seller``."""
    unknown = set(fields) - set(_RULE_FIELDS)
    if unknown:
        raise TypeError(f"unknown rule fields: {sorted(unknown)}")
    if apply_to_past:
        _lock_connections(user.id)
    rule = Rule(user=user, category=category,
                **{k: ("" if v is None and k in ("seller", "description_contains", "rename_to")
                       else v) for k, v in fields.items()})
    _rule_validate(user=user, rule=rule, seller_key=_seller_key)
    rule.save()
    if apply_to_past:
        _enqueue_user(user.id, rule)
    return rule


@transaction.atomic
def rule_update(*, rule: Rule, apply_to_past: bool = False, **fields) -> Rule:
    if apply_to_past:
        _lock_connections(rule.user_id)
    rule = Rule.objects.select_for_update().get(id=rule.id)
    before = Rule(**{f.attname: getattr(rule, f.attname) for f in Rule._meta.concrete_fields})
    for name, value in fields.items():
        if name not in _RULE_FIELDS:
            raise TypeError(f"unknown rule field: {name}")
        if value is None and name in ("seller", "description_contains", "rename_to"):
            value = ""
        setattr(rule, name, value)
    # The key is worked out again only from a new seller: an "always" rule keeps the
    # exact key of the row it was made from, also when a client sends its seller back
    # unchanged (a PUT of what GET gave: "Apple" read again would be "apple store").
    new_seller = "seller" in fields and " ".join((rule.seller or "").split()) != before.seller
    _rule_validate(user=rule.user, rule=rule,
                   seller_key=None if new_seller else rule.seller_key)
    rule.save()
    if apply_to_past:
        _enqueue_user(rule.user_id, before, rule)
    return rule


@transaction.atomic
def rule_delete(*, rule: Rule, apply_to_past: bool = False) -> None:
    """Deleting a rule leaves past transactions as they are, unless ``apply_to_past``
    (then they are categorised again without it)."""
    user_id = rule.user_id
    if apply_to_past:
        _lock_connections(user_id)
        _enqueue_user(user_id, rule, deleted=True)  # its conditions, read before it goes
    rule.delete()


# --- crowd learning --------------------------------------------------------------------

def _vote_category(category: Category) -> int | None:
    """What a manual choice votes for: a shared category (a user's own sub-category
    votes for its shared parent); Uncategorized is no opinion."""
    if category.user_id is not None:
        category = category.parent
        if category is None or category.user_id is not None:
            return None
    if category.id == uncategorized_id() or category.parent_id == uncategorized_id():
        return None
    return category.id


def crowd_vote(*, user, seller_key: str, category: Category) -> CrowdSeller | None:
    """Records a user's latest choice for a seller and updates the seller's default.

    1. Lock the seller's ``CrowdSeller`` row (created if needed): votes for one seller
       are serialised, so the default below is computed from every committed vote.
    2. The user's ``SellerVote`` (one row per user and seller) moves its one vote from
       the old category to the new: ``votes = votes ± 1`` in SQL, never read-modify-write.
       A choice that is no opinion (Uncategorized) takes the user's vote back.
    3. The default is the top category once it has ≥ CROWD_MIN_USERS votes and ≥
       CROWD_MIN_PERCENT of all; a changed default recategorises that seller's
       transactions (those no rule, dictionary, file or person decided) in the background.
    """
    voted = _vote_category(category)
    if not seller_key or (voted is None and not SellerVote.objects.filter(
            seller_key=seller_key, user=user, category__isnull=False).exists()):
        return None  # no opinion, and none given before to take back
    with transaction.atomic():
        CrowdSeller.objects.bulk_create([CrowdSeller(seller_key=seller_key)],
                                        ignore_conflicts=True)
        crowd = CrowdSeller.objects.select_for_update().get(seller_key=seller_key)
        SellerVote.objects.bulk_create(
            [SellerVote(seller_key=seller_key, user=user, category=None)], ignore_conflicts=True
        )
        vote = SellerVote.objects.select_for_update().get(seller_key=seller_key, user=user)
        if vote.category_id == voted:
            return crowd
        if vote.category_id is not None:
            SellerTally.objects.filter(seller_key=seller_key, category_id=vote.category_id
                                       ).update(votes=F("votes") - 1)
        if voted is not None:  # (None: the latest choice is no opinion, the vote is taken back)
            SellerTally.objects.bulk_create(
                [SellerTally(seller_key=seller_key, category_id=voted, votes=0)],
                ignore_conflicts=True,
            )
            SellerTally.objects.filter(seller_key=seller_key, category_id=voted
                                       ).update(votes=F("votes") + 1)
        vote.category_id = voted
        vote.save(update_fields=["category", "updated_at"])
        _crowd_decide(crowd)
    return crowd


def _crowd_decide(crowd: CrowdSeller) -> None:
    """Recomputes a locked seller's default from its tallies."""
    tallies = list(
        SellerTally.objects.filter(seller_key=crowd.seller_key, votes__gt=0)
        .order_by("-votes", "category_id").values_list("category_id", "votes")
    )
    voters = sum(votes for _, votes in tallies)
    default = None
    if tallies:
        top, top_votes = tallies[0]
        if (top_votes >= settings.CROWD_MIN_USERS
                and top_votes * 100 >= settings.CROWD_MIN_PERCENT * voters):
            default = top
    changed = default != crowd.category_id
    crowd.category_id = default
    crowd.voters = voters
    crowd.save(update_fields=["category", "voters", "updated_at"])
    if changed and crowd.seller_key not in categorizer().dictionary:
        _enqueue_seller(crowd.seller_key)


@transaction.atomic
def crowd_recount(*, seller_key: str) -> CrowdSeller | None:
    """Rebuilds a seller's tallies from the votes (after users were deleted, say)."""
    crowd = CrowdSeller.objects.select_for_update().filter(seller_key=seller_key).first()
    if crowd is None:
        return None
    counts: dict[int, int] = {}
    for category_id in SellerVote.objects.filter(
        seller_key=seller_key, category__isnull=False
    ).values_list("category_id", flat=True):
        counts[category_id] = counts.get(category_id, 0) + 1
    SellerTally.objects.filter(seller_key=seller_key).exclude(category_id__in=counts).delete()
    for category_id, votes in counts.items():
        SellerTally.objects.update_or_create(
            seller_key=seller_key, category_id=category_id, defaults={"votes": votes}
        )
    _crowd_decide(crowd)
    return crowd


@transaction.atomic
def category_delete(*, category: Category) -> None:
    """Deletes a user's own category: its transactions move to its parent (a shared
    top-level category), with their monthly spending, in the same transaction; its rules
    go with it, and the rows they filed are filed again without them (in the background).
    The shared taxonomy is not deleted this way."""
    if category.user_id is None:
        raise ValidationError("The shared taxonomy cannot be deleted.")
    # No row may be filed under it after its rows are moved: an ingest holds its
    # connection's lock while it files rows (by rules read under that lock), and a
    # recategorising batch locks the categories it files rows under (recategorize.py),
    # after its rows. Here too, rows first (in id order, as a batch locks its own: the
    # two cannot deadlock), then the categories, then the rows again: a batch that had
    # its lock on them first has filed its rows by then.
    _lock_connections(category.user_id)
    ids = [category.id, *Category.objects.filter(parent=category).values_list("id", flat=True)]
    rows = (Transaction.objects.filter(user_id=category.user_id, category_id__in=ids)
            .select_for_update().order_by("id"))
    list(rows.values_list("id", flat=True))
    list(Category.objects.select_for_update().filter(pk__in=ids).order_by("pk")
         .values_list("id", flat=True))
    target = category.parent_id or uncategorized_id()
    # Its rules go with it (a cascade); the rows they filed, moved up below, are filed
    # again without them after the commit, as a rule deleted with "apply to the past":
    # a Starbucks row a rule put under "Boba" goes back to Coffee Shops, not to a
    # "rule" with no rule. (Rows filed by hand stay in the parent, still by hand.)
    rows = list(rows.values("id", "posted_on", "amount", "category_id", "category_source"))
    ruled = [row["id"] for row in rows if row["category_source"] == Transaction.CategorySource.RULE]
    if ruled and Rule.objects.filter(user_id=category.user_id, category_id__in=ids).exists():
        from ..tasks import recategorize_user

        # By id: the parent may hold rows other rules filed there (rules since deleted
        # with "keep the past"), which are not this category's to put back. A user's own
        # category holds a few thousand rows at most: 10,000 ids ≈ 70 KB of task message.
        transaction.on_commit(partial(recategorize_user.delay, category.user_id, 0,
                                      [rows_scope(ruled)]))
    delta = SpendingDelta()
    for row in rows:
        delta.move(user_id=category.user_id,
                   old=(row["posted_on"], row["category_id"], row["amount"]),
                   new=(row["posted_on"], target, row["amount"]))
    Transaction.objects.filter(id__in=[row["id"] for row in rows]).update(category_id=target)
    # A file's category kept under a rule's (Transaction.file_category) moves up too.
    Transaction.objects.filter(user_id=category.user_id, file_category_id__in=ids).update(
        file_category_id=target)
    spending_apply(delta)
    category.delete()

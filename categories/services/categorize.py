"""Categorisation with the user's data: the precedence, for new and for stored rows.

    manual (never changed here) › the user's rules › the category the imported file names
    › seller dictionary › crowd-learned › description heuristics › Uncategorized

``categorize_records`` runs inside the pipeline (step 5). ``categorize_items`` is the
same for anything shaped like a transaction (stored rows being recategorised). Each
answer is ``(seller, seller_key, category_id, category_source)``.

Cost per batch: one query for the user's rules, one for crowd defaults of the sellers
the dictionary does not know; the rest is in memory (``engine.Categorizer``, cached).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from accounts.providers import TransactionRecord

from ..engine import SellerMatch, categorizer
from ..models import Rule
from ..selectors import (
    category_id_for_name,
    category_id_for_path,
    crowd_defaults,
    rules_for,
    uncategorized_id,
)
from ..sellers import match_key
from ..sellers.keys import latin_key

Result = tuple[str, str, int | None, str]

SELLER, CROWD, RULE, HEURISTIC, IMPORT, NONE = "seller", "crowd", "rule", "heuristic", "import", ""


class Item(NamedTuple):
    """What categorisation looks at in a transaction (a tuple: built once per row)."""

    description: str
    memo: str
    amount: Decimal
    account_id: int | None
    source_category: str = ""  # a category named by the imported file (Mint CSV)
    source_name: str = ""  # the name the file shows for it (Mint CSV's Description)


@dataclass(frozen=True, slots=True)
class CompiledRule:
    id: int
    seller_key: str
    contains: str  # upper-cased
    amount_min: Decimal | None
    amount_max: Decimal | None
    account_id: int | None
    category_id: int
    rename_to: str

    @classmethod
    def of(cls, rule: Rule) -> CompiledRule:
        return cls(
            id=rule.id, seller_key=current_seller_key(rule.seller_key),
            contains=" ".join(rule.description_contains.upper().split()),
            amount_min=rule.amount_min, amount_max=rule.amount_max,
            account_id=rule.account_id, category_id=rule.category_id,
            rename_to=rule.rename_to,
        )

    @property
    def conditions(self) -> int:
        return sum(1 for c in (self.seller_key, self.contains, self.account_id) if c) + (
            self.amount_min is not None or self.amount_max is not None
        )

    def matches(self, item: Item, match: SellerMatch) -> bool:
        if self.seller_key and self.seller_key != match.key and (
                match.key.isascii() or latin_key(match.key) != self.seller_key):
            # (A seller named partly in another script, "KAFE PUSHKIN МОСКВА", was keyed
            # by its Latin words alone until December 2026: a rule made then still holds.)
            return False
        return self.matches_besides_seller(item)

    def matches_besides_seller(self, item: Item) -> bool:
        """The conditions other than the seller (account, amount range, text)."""
        if self.account_id is not None and self.account_id != item.account_id:
            return False
        if self.amount_min is not None and item.amount < self.amount_min:
            return False
        if self.amount_max is not None and item.amount > self.amount_max:
            return False
        if self.contains:
            text = " ".join(f"{item.description} {item.memo}".upper().split())
            if self.contains not in text:
                return False
        return True


def rule_scope(rule: Rule, *, filed: bool = False, matched: bool = True) -> dict:
    """A rule's conditions as JSON (for a task): which rows it matches. ``filed``: also
    the rows it filed (source "rule" with its category, and its name if it gives one),
    for a rule as it was before a change or a deletion — rows it filed under earlier
    conditions, or under a seller key the dictionary has since changed. ``matched=False``
    leaves out the rows it matches but did not file (a deleted rule: its going changes
    nothing for them, and an "apply to the past" they were never given must not come
    to them through it)."""
    return {"seller_key": rule.seller_key, "contains": rule.description_contains,
            "amount_min": None if rule.amount_min is None else str(rule.amount_min),
            "amount_max": None if rule.amount_max is None else str(rule.amount_max),
            "account_id": rule.account_id,
            "filed": [rule.category_id, rule.rename_to] if filed else None,
            "matched": matched}


def rows_scope(ids: Iterable[int]) -> dict:
    """A scope entry for these rows by id, whatever matches them (rows moved out of a
    deleted category: those and no others are filed again)."""
    return {"ids": sorted(ids)}


def in_scope(scope: list[dict], matchers: list[CompiledRule | frozenset], row: dict) -> bool:
    """Whether a stored row (``description``, ``memo``, ``amount``, ``account_id``,
    ``seller_key``, ``seller``, ``category_id``, ``category_source``) is one of the
    scope's: a rule matches it now (the row's stored seller key standing in for the
    seller it names today, which the dictionary may have changed), or the rule filed
    it. A stored key alone is not enough: a rule for a seller's charges over $100 is
    not one for all the seller's rows."""
    item = Item(row["description"], row["memo"], row["amount"], row["account_id"])
    match = seller_match(item)
    for conditions, matcher in zip(scope, matchers, strict=True):
        if isinstance(matcher, frozenset):  # rows_scope
            if row["id"] in matcher:
                return True
            continue
        if conditions.get("matched", True) and (
                matcher.matches(item, match)
                or (conditions["seller_key"] and row["seller_key"] == conditions["seller_key"]
                    and matcher.matches_besides_seller(item))):
            return True
        filed = conditions.get("filed")
        if filed and row["category_source"] == RULE and row["category_id"] == filed[0] and (
                not filed[1] or row["seller"] == filed[1]):
            return True
    return False


def scope_matchers(scope: list[dict]) -> list[CompiledRule | frozenset]:
    """``rule_scope`` dicts back as matchers (category and name do not matter here);
    a ``rows_scope`` as the set of its ids."""
    return [frozenset(c["ids"]) if "ids" in c else CompiledRule(
        id=0, seller_key=c["seller_key"], contains=" ".join(c["contains"].upper().split()),
        amount_min=None if c["amount_min"] is None else Decimal(c["amount_min"]),
        amount_max=None if c["amount_max"] is None else Decimal(c["amount_max"]),
        account_id=c["account_id"], category_id=0, rename_to="") for c in scope]


_OLD_ACH = "orig co name "


def current_seller_key(key: str) -> str:
    """A seller key as the normaliser makes it today, for one a rule stored earlier:
    until December 2026 Chase's ACH lines were keyed "orig co name <company> orig"
    (``ORIG CO NAME:GEICO ORIG ID:…``); now the company is the seller ("geico"), and a
    rule made for such a line goes on matching it."""
    if not key.startswith(_OLD_ACH):
        return key
    name = key[len(_OLD_ACH):].removesuffix(" orig")
    return categorizer().match(name).key or name


def compile_rules(rules: Iterable[Rule]) -> list[CompiledRule]:
    """Most conditions first, then the newest: the first rule that matches wins."""
    compiled = [CompiledRule.of(rule) for rule in rules]
    compiled.sort(key=lambda r: (-r.conditions, -r.id))
    return compiled


def seller_match(item: Item, engine=None) -> SellerMatch:
    """The description's seller; the memo's when the description names none (some banks
    put ``POS PURCHASE`` in NAME and the shop in MEMO)."""
    engine = engine or categorizer()
    match = engine.match(item.description)
    if not match.key and match.heuristic is None and item.memo:
        from_memo = engine.match(item.memo)
        if from_memo.key or from_memo.heuristic is not None:
            return from_memo
    return match


def categorize_items(
    *, items: Sequence[Item], rules: list[CompiledRule], user=None,
    crowd: dict[str, int] | None = None,
) -> list[Result]:
    """The precedence for each item (``rules`` from :func:`compile_rules`; ``crowd``
    looked up when not given). ``user`` is needed only for import categories naming one
    of the user's own categories."""
    # A rule may look at the exact amount and the account: then the whole item is the key.
    keys = items if rules else [
        _text_key(item.description, item.memo, item.source_category, item.amount,
                  item.source_name)
        for item in items
    ]
    return _answers(keys, dict(zip(keys, items, strict=True)), rules=rules, user=user,
                    crowd=crowd)


def _text_key(description: str, memo: str, source_category: str, amount: Decimal,
              source_name: str = "") -> tuple:
    """Without rules an answer depends on the texts, the file's category and name and the
    sign of the amount only."""
    return (description, memo, source_category, amount > 0, source_name)


UNKNOWN_MONEY_IN = "Income"  # see _without_rules


def _answers(keys: list, distinct: dict, *, rules: list[CompiledRule], user,
             crowd: dict[str, int] | None) -> list[Result]:
    """The answer for each key, worked out once per distinct key (``distinct``: key →
    an item it stands for): rows that repeat a line (a subscription, a payroll, a shop
    that prints no codes) are answered once. In bench/ingest.py's statements 14 % of the
    rows repeat one; lines with order numbers or dates in them are all distinct."""
    engine = categorizer()
    matches = {key: seller_match(item, engine) for key, item in distinct.items()}
    if crowd is None:
        unknown = {m.key for m in matches.values() if m.key and m.path is None}
        crowd = crowd_defaults(keys=unknown)
    fallback = (uncategorized_id(), category_id_for_path(UNKNOWN_MONEY_IN))
    named: dict[str, int | None] = {}
    answers: dict = {}
    for key, item in distinct.items():
        m = matches[key]
        for rule in rules:
            if rule.matches(item, m):
                answers[key] = (rule.rename_to or item.source_name or m.seller, m.key,
                                rule.category_id, RULE)
                break
        else:
            answers[key] = _without_rules(item, m, crowd, named, fallback, user)
            if item.source_name:
                answers[key] = (item.source_name, *answers[key][1:])
    return [answers[key] for key in keys]


def _without_rules(item: Item, m: SellerMatch, crowd: dict[str, int],
                   named: dict[str, int | None], fallback: tuple[int | None, int | None],
                   user) -> Result:
    if item.source_category:
        name = item.source_category
        if name not in named:
            named[name] = category_id_for_name(user=user, name=name)
        # A file's bare "Uncategorized" is no opinion: the dictionary and the word rules
        # still file the row (and money in with no clue goes under Income, not spending).
        if named[name] is not None and named[name] != fallback[0]:
            return (m.seller, m.key, named[name], IMPORT)
    path = m.path_for(1 if item.amount > 0 else -1)
    if path is not None and (found := category_id_for_path(path)) is not None:
        return (m.seller, m.key, found, SELLER)
    if m.key and m.key in crowd:
        return (m.seller, m.key, crowd[m.key], CROWD)
    if (
        m.heuristic is not None
        and (path := m.heuristic.path(1 if item.amount > 0 else -1)) is not None
        and (found := category_id_for_path(path)) is not None
    ):
        return (m.seller, m.key, found, HEURISTIC)
    if item.amount > 0 and m.heuristic is None and fallback[1] is not None:
        # Money in with no clue at all (no word rule either: "LATE FEE REVERSAL" stays
        # Uncategorized) is most often income, a payroll in words we do not know; as
        # Uncategorized, a spending category, it would count as a refund and could make
        # the month's spending negative.
        return (m.seller, m.key, fallback[1], HEURISTIC)
    return (m.seller, m.key, fallback[0], NONE)


def categorize_records(
    *, user, records: Sequence[TransactionRecord], account_ids: Sequence[int | None] | None = None,
    ruled: dict[int, int] | None = None,
) -> list[Result]:
    """(seller, seller_key, category_id, category_source) for each parsed record, in
    order. ``account_ids``: the account each record lands on (for rules on an account).
    ``ruled`` gets index → the category the record's file named, for the records a rule
    filed elsewhere (``Transaction.file_category``); only a user with rules has any."""
    if not records:
        return []
    if account_ids is None:
        account_ids = [None] * len(records)
    rules = compile_rules(rules_for(user=user).select_related(None))  # ids are enough
    if rules:
        items = [
            Item(r.description or "", r.memo or "", r.amount, account_id,
                 r.source_category or "", r.source_name or "")
            for r, account_id in zip(records, account_ids, strict=True)
        ]
        answers = categorize_items(items=items, rules=rules, user=user)
        if ruled is not None:
            ruled.update(_file_categories_ruled(user=user, items=items, answers=answers))
        return answers
    return _answers_without_rules(records, user=user)


def _file_categories_ruled(*, user, items: Sequence[Item], answers: Sequence[Result]
                           ) -> dict[int, int]:
    uncategorized = uncategorized_id()
    named: dict[str, int | None] = {}
    out: dict[int, int] = {}
    for i, (item, answer) in enumerate(zip(items, answers, strict=True)):
        if answer[3] == RULE and item.source_category:
            name = item.source_category
            if name not in named:
                named[name] = category_id_for_name(user=user, name=name)
            if named[name] is not None and named[name] != uncategorized:
                out[i] = named[name]
    return out


def _answers_without_rules(records: Sequence[TransactionRecord], *, user) -> list[Result]:
    """``_answers`` for records when the user has no rules, with the same results. Without
    rules an answer depends on the seller match (the engine caches it per raw text and
    digit shape), the file's category and name and the sign of the amount only: most
    lines are distinct texts (order numbers, dates, store numbers) but there are few such
    combinations, so each is worked out once."""
    engine = categorizer()
    match = engine.match
    matches: list[SellerMatch] = []
    for r in records:
        m = match(r.description or "")
        if not m.key and m.heuristic is None and r.memo:  # as seller_match
            from_memo = match(r.memo)
            if from_memo.key or from_memo.heuristic is not None:
                m = from_memo
        matches.append(m)
    unknown = {m.key for m in matches if m.key and m.path is None}
    crowd = crowd_defaults(keys=unknown)
    fallback = (uncategorized_id(), category_id_for_path(UNKNOWN_MONEY_IN))
    named: dict[str, int | None] = {}
    answers: dict[tuple, Result] = {}
    out: list[Result] = []
    # id(m): every match is held by ``matches`` until the end, so no id is reused here.
    for r, m in zip(records, matches, strict=True):
        key = (id(m), r.source_category, r.amount > 0, r.source_name)
        answer = answers.get(key)
        if answer is None:
            item = Item(r.description or "", r.memo or "", r.amount, None,
                        r.source_category or "", r.source_name or "")
            answer = _without_rules(item, m, crowd, named, fallback, user)
            if item.source_name:
                answer = (item.source_name, *answer[1:])
            answers[key] = answer
        out.append(answer)
    return out


def seller_key_for(text: str) -> str:
    """The key a rule's ``seller`` is stored under: a seller's name → its match key; a raw
    description → its normalised seller's key."""
    key = match_key(text)
    if not key:
        return ""
    match = categorizer().match(text)
    return (match.key or key)[:200]  # as the engine cuts a row's key (the column's size)

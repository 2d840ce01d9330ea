"""Crowd learning: one vote per user and seller, thresholds, poisoning, concurrent voters."""

import threading
from datetime import date
from decimal import Decimal

import pytest
from django.db import close_old_connections
from django.db import connection as db

from categories.models import Category, CrowdSeller, Rule, SellerTally, SellerVote
from categories.services import (
    crowd_recount,
    crowd_vote,
    rule_create,
    rule_update,
    transaction_categorize,
)
from tests.factories import FinancialAccountFactory, UserFactory
from transactions.models import Transaction

SELLER = "zqx florbnik"  # in no dictionary


def cat(name):
    return Category.objects.get(user=None, name=name)


def tx(user, n, *, description="ZQX FLORBNIK 99", seller_key=SELLER, source="", category=None):
    account = FinancialAccountFactory(user=user)
    return Transaction.objects.create(
        user=user, account=account, external_id=f"x{n}", posted_on=date(2026, 1, n % 28 + 1),
        amount=Decimal("-9.99"), description=description, seller="Zqx Florbnik",
        seller_key=seller_key, category=category or cat("Uncategorized"),
        category_source=source,
    )


def tallies(key=SELLER):
    return dict(SellerTally.objects.filter(seller_key=key, votes__gt=0)
                .values_list("category__name", "votes"))


def default(key=SELLER):
    crowd = CrowdSeller.objects.filter(seller_key=key).select_related("category").first()
    return crowd.category.name if crowd and crowd.category else None


def users(n):
    return [UserFactory() for _ in range(n)]


def test_three_users_who_agree_set_the_default(db):
    first, second, third = users(3)
    crowd_vote(user=first, seller_key=SELLER, category=cat("Hobbies"))
    crowd_vote(user=second, seller_key=SELLER, category=cat("Hobbies"))
    assert default() is None  # two users are not enough

    crowd_vote(user=third, seller_key=SELLER, category=cat("Hobbies"))

    assert default() == "Hobbies"
    assert CrowdSeller.objects.get(seller_key=SELLER).voters == 3


def test_the_top_category_needs_sixty_percent_of_the_votes(db):
    voters = users(6)
    for user in voters[:3]:
        crowd_vote(user=user, seller_key=SELLER, category=cat("Hobbies"))
    for user in voters[3:]:
        crowd_vote(user=user, seller_key=SELLER, category=cat("Books"))
    assert default() is None  # 3 of 6 = 50 %

    crowd_vote(user=voters[5], seller_key=SELLER, category=cat("Hobbies"))  # a change of mind

    assert tallies() == {"Hobbies": 4, "Books": 2}
    assert default() == "Hobbies"  # 4 of 6 ≥ 60 %


def test_thresholds_are_settings(db, settings):
    settings.CROWD_MIN_USERS = 2
    first, second = users(2)
    crowd_vote(user=first, seller_key=SELLER, category=cat("Hobbies"))
    crowd_vote(user=second, seller_key=SELLER, category=cat("Hobbies"))
    assert default() == "Hobbies"


def test_a_users_latest_choice_is_their_one_vote(db):
    (user,) = users(1)
    for name in ["Hobbies", "Books", "Gift", "Books"]:
        crowd_vote(user=user, seller_key=SELLER, category=cat(name))
    assert tallies() == {"Books": 1}
    assert SellerVote.objects.filter(seller_key=SELLER).count() == 1


def test_one_users_thousand_overrides_change_nobody_elses_category(db):
    mallory, alice = users(2)
    alices = tx(alice, 1)
    for n in range(1000):
        mine = tx(mallory, 1000 + n) if n < 50 else None  # 50 rows, each overridden 20 times
        target = mine or Transaction.objects.filter(user=mallory)[n % 50]
        transaction_categorize(user=mallory, transaction_id=target.id, category=cat("Gift"))

    assert tallies() == {"Gift": 1}
    assert default() is None
    alices.refresh_from_db()
    assert (alices.category.name, alices.category_source) == ("Uncategorized", "")


def test_a_new_default_recategorises_other_users_transactions_but_not_chosen_ones(
    db, django_capture_on_commit_callbacks
):
    voters = users(3)
    dave, erin, frank = users(3)
    daves = tx(dave, 1)  # Uncategorized: the crowd may decide
    daves_heuristic = tx(dave, 2, source="heuristic", category=cat("Shopping"))
    erins_manual = tx(erin, 3, source="manual", category=cat("Books"))
    franks_rule = tx(frank, 4, source="rule", category=cat("Gift"))
    other_seller = tx(dave, 5, seller_key="other seller")

    for n, user in enumerate(voters):
        mine = tx(user, 10 + n)
        with django_capture_on_commit_callbacks(execute=True):
            transaction_categorize(user=user, transaction_id=mine.id, category=cat("Hobbies"))

    def state(t):
        t.refresh_from_db()
        return t.category.name, t.category_source

    assert state(daves) == ("Hobbies", "crowd")
    assert state(daves_heuristic) == ("Hobbies", "crowd")
    assert state(erins_manual) == ("Books", "manual")
    assert state(franks_rule) == ("Gift", "rule")
    assert state(other_seller) == ("Uncategorized", "")


def test_a_new_default_leaves_a_rule_made_not_for_the_past_out_of_the_past(
    db, django_capture_on_commit_callbacks
):
    # given Dave's row of the seller, and his rule for the seller made not for the past
    dave = UserFactory()
    daves = tx(dave, 1)
    rule_create(user=dave, category=cat("Books"), seller="Zqx Florbnik")

    # when the crowd agrees on a default for the seller
    with django_capture_on_commit_callbacks(execute=True):
        for user in users(3):
            crowd_vote(user=user, seller_key=SELLER, category=cat("Hobbies"))

    # then his row gets the crowd's category, not his rule's
    daves.refresh_from_db()
    assert (daves.category.name, daves.category_source) == ("Hobbies", "crowd")


def test_when_the_crowd_changes_its_mind_its_rows_follow(
    db, settings, django_capture_on_commit_callbacks
):
    settings.RECATEGORIZE_BATCH_SIZE = 2  # several batches, each its own task
    voters = users(5)
    dave = UserFactory()
    daves = [tx(dave, n) for n in range(5)]
    with django_capture_on_commit_callbacks(execute=True):
        for user in voters[:3]:
            crowd_vote(user=user, seller_key=SELLER, category=cat("Hobbies"))
    assert {t.category.name for t in Transaction.objects.filter(user=dave)} == {"Hobbies"}

    with django_capture_on_commit_callbacks(execute=True):
        for user in voters[:2]:
            crowd_vote(user=user, seller_key=SELLER, category=cat("Books"))
        crowd_vote(user=voters[3], seller_key=SELLER, category=cat("Books"))
        crowd_vote(user=voters[4], seller_key=SELLER, category=cat("Books"))

    assert default() == "Books"  # 4 of 5
    assert {(t.category.name, t.category_source)
            for t in Transaction.objects.filter(user=dave)} == {("Books", "crowd")}
    assert len(daves) == 5


def test_a_default_that_loses_its_majority_goes_back_to_the_heuristics(
    db, django_capture_on_commit_callbacks
):
    voters = users(4)
    dave = UserFactory()
    daves = tx(dave, 1, description="ZQX FLORBNIK BARBERSHOP", seller_key="zqx florbnik barbershop")
    with django_capture_on_commit_callbacks(execute=True):
        for user in voters[:3]:
            crowd_vote(user=user, seller_key="zqx florbnik barbershop", category=cat("Hobbies"))
    daves.refresh_from_db()
    assert daves.category_source == "crowd"

    with django_capture_on_commit_callbacks(execute=True):
        crowd_vote(user=voters[0], seller_key="zqx florbnik barbershop", category=cat("Books"))
        crowd_vote(user=voters[3], seller_key="zqx florbnik barbershop", category=cat("Books"))

    daves.refresh_from_db()
    assert (daves.category.name, daves.category_source) == ("Hair", "heuristic")


def test_dictionary_sellers_keep_the_dictionarys_category(db, django_capture_on_commit_callbacks):
    voters = users(3)
    dave = UserFactory()
    daves = tx(dave, 1, description="STARBUCKS #123", seller_key="starbucks",
               source="seller", category=cat("Coffee Shops"))
    with django_capture_on_commit_callbacks(execute=True):
        for user in voters:
            crowd_vote(user=user, seller_key="starbucks", category=cat("Books"))
    daves.refresh_from_db()
    assert (daves.category.name, daves.category_source) == ("Coffee Shops", "seller")


def test_uncategorized_is_no_vote_and_own_categories_vote_for_their_parent(db):
    alice, bob = users(2)
    crowd_vote(user=alice, seller_key=SELLER, category=cat("Uncategorized"))
    mine = Category.objects.create(user=bob, parent=cat("Shopping"), name="Board games")
    crowd_vote(user=bob, seller_key=SELLER, category=mine)
    assert tallies() == {"Shopping": 1}


def test_a_later_choice_of_uncategorized_takes_the_users_vote_back(db):
    voters = users(3)
    for user in voters:
        crowd_vote(user=user, seller_key=SELLER, category=cat("Hobbies"))
    assert default() == "Hobbies"

    crowd_vote(user=voters[0], seller_key=SELLER, category=cat("Uncategorized"))

    assert tallies() == {"Hobbies": 2}
    assert default() is None  # two users are not enough any more
    assert CrowdSeller.objects.get(seller_key=SELLER).voters == 2
    assert SellerVote.objects.get(user=voters[0], seller_key=SELLER).category_id is None


def test_recount_rebuilds_tallies_after_users_leave(db):
    voters = users(4)
    for user in voters:
        crowd_vote(user=user, seller_key=SELLER, category=cat("Hobbies"))
    voters[0].delete()
    voters[1].delete()
    assert tallies() == {"Hobbies": 4}  # the cascade does not see the counters

    crowd_recount(seller_key=SELLER)

    assert tallies() == {"Hobbies": 2}
    assert default() is None


def test_deleting_a_user_withdraws_a_default_that_needed_their_vote(db, admin_client):
    from accounts.services import user_delete

    voters = users(4)
    for user in voters:
        crowd_vote(user=user, seller_key=SELLER, category=cat("Hobbies"))
    crowd_vote(user=voters[0], seller_key="zqx other", category=cat("Hobbies"))

    user_delete(user=voters[0])
    assert (tallies(), default()) == ({"Hobbies": 3}, "Hobbies")
    assert tallies("zqx other") == {}

    # Support deletes users in the admin: the same service.
    response = admin_client.post(f"/admin/accounts/user/{voters[1].pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert (tallies(), default()) == ({"Hobbies": 2}, None)


def test_manual_choice_through_the_service_creates_a_rule_when_asked(
    db, django_capture_on_commit_callbacks
):
    (alice,) = users(1)
    mine = tx(alice, 1)
    other = tx(alice, 2)
    with django_capture_on_commit_callbacks(execute=True):
        _, rule = transaction_categorize(user=alice, transaction_id=mine.id,
                                         category=cat("Hobbies"), always=True)
    assert Rule.objects.get(id=rule.id).seller_key == SELLER
    other.refresh_from_db()
    assert (other.category.name, other.category_source) == ("Hobbies", "rule")


def test_always_folds_twin_rules_made_before_twins_were_refused(db):
    (alice,) = users(1)
    mine = tx(alice, 1)
    for name in ("Hobbies", "Hobbies"):  # as an older version let them be made
        Rule.objects.create(user=alice, seller=SELLER, seller_key=SELLER,
                            category=cat(name))

    _, rule = transaction_categorize(user=alice, transaction_id=mine.id,
                                     category=cat("Hobbies"), always=True)

    assert list(Rule.objects.filter(user=alice).values_list("id", flat=True)) == [rule.id]


def test_a_rule_sent_back_unchanged_keeps_the_exact_key_it_was_made_with(db):
    (alice,) = users(1)
    rule = rule_create(user=alice, category=cat("Hobbies"), seller="Apple",
                       _seller_key="apple")  # an "always" rule from an APPLE row

    rule_update(rule=rule, seller="Apple", category=cat("Hobbies"))
    assert Rule.objects.get(id=rule.id).seller_key == "apple"
    rule_update(rule=rule, seller="Zqx Florbnik")  # a new seller: its own key
    assert Rule.objects.get(id=rule.id).seller_key == SELLER


# --- concurrent voters on real PostgreSQL -----------------------------------------------

def run_concurrently(functions):
    barrier = threading.Barrier(len(functions))
    errors = []

    def run(fn):
        try:
            barrier.wait(timeout=10)
            fn()
        except Exception as exc:
            errors.append(exc)
        finally:
            close_old_connections()
            db.close()

    threads = [threading.Thread(target=run, args=(fn,)) for fn in functions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors


@pytest.fixture
def postgres(transactional_db, taxonomy):
    if db.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL (SQLite serialises every writer)")


def test_concurrent_votes_are_all_counted(postgres):
    voters = users(12)
    hobbies = cat("Hobbies")
    run_concurrently([
        (lambda user=user: crowd_vote(user=user, seller_key=SELLER, category=hobbies))
        for user in voters
    ])
    assert tallies() == {"Hobbies": 12}
    crowd = CrowdSeller.objects.get(seller_key=SELLER)
    assert (crowd.voters, crowd.category_id) == (12, hobbies.id)


def test_one_users_concurrent_votes_count_once(postgres):
    (user,) = users(1)
    names = ["Hobbies", "Books", "Gift", "Books", "Hobbies", "Gift", "Books", "Hobbies"]
    categories = [cat(name) for name in names]
    run_concurrently([
        (lambda c=c: crowd_vote(user=user, seller_key=SELLER, category=c)) for c in categories
    ])
    assert sum(tallies().values()) == 1
    vote = SellerVote.objects.get(seller_key=SELLER, user=user)
    assert tallies() == {vote.category.name: 1}


def test_always_twice_for_one_seller_keeps_one_rule(db, django_capture_on_commit_callbacks):
    (alice,) = users(1)
    first, second = tx(alice, 1), tx(alice, 2)
    with django_capture_on_commit_callbacks(execute=True):
        transaction_categorize(user=alice, transaction_id=first.id, category=cat("Hobbies"),
                               always=True)
        transaction_categorize(user=alice, transaction_id=second.id, category=cat("Books"),
                               always=True)
    assert list(Rule.objects.filter(user=alice).values_list("category__name", flat=True)) == [
        "Books"]


def test_always_again_without_a_name_keeps_the_name_the_rule_gives(
        db, django_capture_on_commit_callbacks):
    (alice,) = users(1)
    first, second, third = tx(alice, 1), tx(alice, 2), tx(alice, 3)
    with django_capture_on_commit_callbacks(execute=True):
        transaction_categorize(user=alice, transaction_id=first.id, category=cat("Hobbies"),
                               always=True, rename_to="Corner Books")
        transaction_categorize(user=alice, transaction_id=second.id, category=cat("Books"),
                               always=True)
    rule = Rule.objects.get(user=alice)
    third.refresh_from_db()
    assert (rule.category.name, rule.rename_to) == ("Books", "Corner Books")
    assert (third.seller, third.category.name, third.category_source) == (
        "Corner Books", "Books", "rule")


def test_a_category_deleted_while_a_batch_files_rows_under_it_leaves_no_row_there(postgres):
    """category_delete holds its category locked, with its rows moved, when a batch that
    read the category's rule before it went tries to file rows under it: the batch waits,
    finds it gone and leaves those rows for the next run."""
    from django.db import transaction

    from budgets.services.recompute import current_totals, totals_from_rows
    from categories.services import category_delete, transactions_recategorize_user

    (user,) = users(1)
    mine = Category.objects.create(user=user, parent=cat("Shopping"), name="Widgets")
    mine_id = mine.id  # (the delete clears the instance's)
    for n in range(3):
        tx(user, n)
    Rule.objects.create(user=user, seller_key=SELLER, category=mine)
    from budgets.services.recompute import spending_recompute

    spending_recompute(user_id=user.id)
    deleting, release = threading.Event(), threading.Event()

    def delete():
        with transaction.atomic():
            category_delete(category=mine)
            deleting.set()
            release.wait(10)  # the batch starts meanwhile, and waits for this commit

    def batch():
        deleting.wait(10)
        threading.Timer(1.0, release.set).start()
        transactions_recategorize_user(user_id=user.id)

    run_concurrently([delete, batch])

    assert not Transaction.objects.filter(category_id=mine_id).exists()
    assert not Category.objects.filter(pk=mine_id).exists()
    assert current_totals(user.id) == {k: v for k, v in totals_from_rows(user.id).items()
                                       if any(v)}


def test_a_rule_for_the_past_waits_for_a_refresh_in_flight_and_files_its_rows(postgres):
    """A refresh read the user's rules before the rule existed and writes its rows under
    its connection's lock; the rule made meanwhile with "apply to the past" waits for
    that commit, so its task finds the refresh's rows too."""

    from categories.services import rule_create
    from tests.factories import ConnectionFactory
    from tests.test_rules_api import filed, ingest, record

    (user,) = users(1)
    bank = ConnectionFactory(user=user)
    ingest(bank, [record("old", "ZQX FLORBNIK 99")])
    written, release = threading.Event(), threading.Event()

    def refresh():  # the rule is made meanwhile, and waits for this commit
        _refresh_in_flight(bank, written, release)

    def make_rule():
        written.wait(10)
        threading.Timer(1.0, release.set).start()
        rule_create(user=user, category=cat("Hobbies"), seller="Zqx Florbnik",
                    apply_to_past=True)

    run_concurrently([refresh, make_rule])

    assert filed(user, "old")[:2] == ("Shopping › Hobbies", "rule")
    assert filed(user, "new")[:2] == ("Shopping › Hobbies", "rule")


def test_filing_by_hand_while_the_category_is_deleted_leaves_no_row_there(postgres):
    """The choice holds its category locked until it commits: the deletion waits and
    moves the row up with the others; a choice after the deletion is refused."""
    from django.core.exceptions import ValidationError
    from django.db import transaction

    from budgets.services.recompute import current_totals, spending_recompute, totals_from_rows
    from categories.services import category_delete

    (user,) = users(1)
    mine = Category.objects.create(user=user, parent=cat("Shopping"), name="Widgets")
    mine_id = mine.id
    first, second = tx(user, 1), tx(user, 2)
    spending_recompute(user_id=user.id)  # (tx() writes the rows alone)
    chosen, release = threading.Event(), threading.Event()
    refused = []

    def choose():
        with transaction.atomic():
            transaction_categorize(user=user, transaction_id=first.id,
                                   category=Category.objects.get(pk=mine_id))
            chosen.set()
            release.wait(10)  # the deletion starts meanwhile, and waits for this commit
        try:
            transaction_categorize(user=user, transaction_id=second.id, category=mine)
        except ValidationError as error:
            refused.append(error)

    def delete():
        chosen.wait(10)
        threading.Timer(1.0, release.set).start()
        category_delete(category=Category.objects.get(pk=mine_id))

    run_concurrently([choose, delete])

    first.refresh_from_db()
    second.refresh_from_db()
    assert not Category.objects.filter(pk=mine_id).exists()
    assert (first.category.name, first.category_source) == ("Shopping", "manual")
    assert refused and (second.category.name, second.category_source) == ("Uncategorized", "")
    assert current_totals(user.id) == {k: v for k, v in totals_from_rows(user.id).items()
                                       if any(v)}


def test_a_new_default_files_the_rows_of_a_refresh_that_commits_meanwhile(postgres):
    """A refresh looked the crowd up before the default existed and commits its rows
    after the default's first pass went by: a second pass, once every transaction open
    when the default changed has ended, files them."""

    from tests.factories import ConnectionFactory
    from tests.test_rules_api import filed

    (user,) = users(1)
    bank = ConnectionFactory(user=user)
    written, release = threading.Event(), threading.Event()

    def refresh():  # the crowd agrees meanwhile
        _refresh_in_flight(bank, written, release)

    def vote():
        written.wait(10)
        threading.Timer(0.5, release.set).start()
        for voter in users(3):
            crowd_vote(user=voter, seller_key=SELLER, category=cat("Hobbies"))

    run_concurrently([refresh, vote])

    assert filed(user, "new")[:2] == ("Shopping › Hobbies", "crowd")


def test_the_second_pass_waits_for_a_long_transaction_with_backoff(postgres, monkeypatch):
    """A transaction open when the default changed, still open after a second: the pass
    is checked again later; once it has ended, the pass runs."""
    from django.db import transaction

    from categories import tasks
    from categories.services import transactions_in_flight

    open_, done = threading.Event(), threading.Event()
    later, scanned = [], []
    monkeypatch.setattr(tasks.recategorize_seller_again, "apply_async",
                        lambda args, countdown: later.append((args[2], countdown)))
    monkeypatch.setattr(tasks.recategorize_seller, "delay",
                        lambda *args: scanned.append(args))

    def long_import():
        with transaction.atomic():
            UserFactory()  # a write: an open transaction like an import's
            open_.set()
            done.wait(10)

    def check():
        open_.wait(10)
        try:
            in_flight = transactions_in_flight()
            assert in_flight
            tasks.recategorize_seller_again(SELLER, in_flight)  # still open: later
            assert later == [(1, 5)] and not scanned
            done.set()
            tasks.recategorize_seller_again(SELLER, in_flight, 1)  # ended: the pass
            assert scanned == [(SELLER,)]
        finally:
            done.set()

    run_concurrently([long_import, check])


def _refresh_in_flight(bank, written, release):
    """A refresh of ``bank`` that writes a ZQX FLORBNIK row, says so (``written``), and
    holds its transaction and its connection's lock open until ``release``."""
    from django.db import transaction

    from accounts.models import Connection
    from tests.test_rules_api import ingest, record

    with transaction.atomic():
        Connection.objects.select_for_update().get(pk=bank.pk)  # as refresh.py does
        ingest(bank, [record("new", "ZQX FLORBNIK 99")])
        written.set()
        release.wait(10)

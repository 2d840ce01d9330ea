"""The support admin: staff may look at everything, and change data only through the
services (which keep monthly spending, crowd counters, alerts and caches right)."""

import json
import re
from datetime import date
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.contrib import admin
from django.forms.models import model_to_dict

from accounts.crypto import encrypt_credentials
from accounts.models import Connection, FinancialAccount
from budgets.services.recompute import current_totals, totals_from_rows
from categories.models import Category, Rule
from categories.services import rule_create
from notifications.models import Delivery, Notification, Webhook
from tests.factories import (
    ConnectionFactory,
    FinancialAccountFactory,
    UserFactory,
    ingest_statement,
)
from tests.test_spending import rec
from transactions.models import ImportJob, RawDump, RefreshRun, Transaction

CARD = "4111111111111111"  # a card's full number, as an OFX <CCACCTFROM><ACCTID> gives it
PASSWORD = "bank-password-never-shown"


@pytest.fixture
def root(db):
    return UserFactory(email="root@example.com", is_staff=True, is_superuser=True)


@pytest.fixture
def support(client, root):
    client.force_login(root)
    client.raise_request_exception = False  # a crash is a 500 to assert on, not a raise
    return client


@pytest.fixture
def data(alice):
    """One of everything support looks at: a connection with credentials, a checking
    account with two rows (and their raw dump), a card account, a rule, an import job, a
    refresh run, a notification and a webhook."""
    connection = ConnectionFactory(
        user=alice, secret=encrypt_credentials(login="alice-login", password=PASSWORD)
    )
    ingest_statement(alice, connection, [rec("a", "-40.00"), rec("b", "-2.00")])
    card = FinancialAccountFactory(connection=connection, user=alice, external_id=CARD,
                                   kind="credit_card", mask="1111", name="Visa …1111")
    category = Category.objects.filter(user=None, parent__name="Auto & Transport").first()
    rule = rule_create(user=alice, category=category, seller="Shell")
    dump = RawDump.objects.get(user=alice)
    job = ImportJob.objects.create(user=alice, account=card, filename="visa.ofx", format="ofx",
                                   dump=dump)
    run = RefreshRun.objects.create(user=alice, connection=connection, trigger="manual",
                                    status="succeeded", dump=dump)
    notification = Notification.objects.create(user=alice, kind="refresh_finished",
                                               title="Refreshed", dedupe_key="done")
    webhook = Webhook.objects.create(user=alice, url="https://hooks.example.com/mint",
                                     secret=encrypt_credentials(login="-", password="whsec"))
    return {"connection": connection, "card": card, "rule": rule, "dump": dump, "job": job,
            "run": run, "notification": notification, "webhook": webhook,
            "transaction": Transaction.objects.get(user=alice, external_id="a")}


def url(obj_or_model, view, pk=None):
    opts = obj_or_model._meta
    if view == "changelist":
        return f"/admin/{opts.app_label}/{opts.model_name}/"
    if view == "add":
        return f"/admin/{opts.app_label}/{opts.model_name}/add/"
    return f"/admin/{opts.app_label}/{opts.model_name}/{obj_or_model.pk}/{view}/"


def form_data(obj, **changes):
    """What the change form posts for ``obj`` as it is, with ``changes``: the editable
    fields, foreign keys by id, unchecked boxes left out."""
    data = {}
    for name, value in {**model_to_dict(obj), **changes}.items():
        if value is None or value is False:
            continue
        if value is True:
            value = "on"
        elif isinstance(value, dict | list):
            value = json.dumps(value)
        data[name] = str(value)
    return data


class _Inputs(HTMLParser):
    """The values a browser would post from a page's forms (inputs and text areas)."""

    def __init__(self):
        super().__init__()
        self.data = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "input" and attrs.get("name") and attrs.get("type") not in (
            "submit", "checkbox", "radio", "button"
        ):
            self.data[attrs["name"]] = attrs.get("value") or ""
        elif tag == "textarea" and attrs.get("name"):
            self.data[attrs["name"]] = ""


def posted_as_is(client, page_url):
    """Opens a page and clicks Save without filling anything in."""
    page = client.get(page_url)
    if page.status_code != 200:
        return page
    parser = _Inputs()
    parser.feed(page.content.decode())
    return client.post(page_url, parser.data)


# --- add pages ---------------------------------------------------------------------------

def test_every_add_page_works_or_is_absent(support, data):
    # given every model registered in the admin
    answers = {}
    for model in admin.site._registry:
        # when support opens its add page and saves it empty
        opened = support.get(url(model, "add"))
        saved = posted_as_is(support, url(model, "add"))
        answers[model._meta.label] = (opened.status_code, saved.status_code)

    # then it is a form (that asks for what is missing) or it is not offered: never a 500
    broken = {label: codes for label, codes in answers.items()
              if not set(codes) <= {200, 403, 404}}
    assert broken == {}
    addable = {label for label, (opened, _) in answers.items() if opened == 200}
    assert addable == {"auth.Group", "accounts.User"}


# --- transactions ------------------------------------------------------------------------

def test_support_cannot_edit_or_delete_a_transaction_and_spending_stays_exact(
    support, data, alice, bob
):
    # given Alice's row and spending that matches her rows
    row = data["transaction"]
    assert current_totals(alice.id) == totals_from_rows(alice.id) != {}

    # when support posts a new amount and another owner, then deletes it
    changed = support.post(url(row, "change"),
                           form_data(row, amount="-400.00", user=bob.id))
    deleted = support.post(url(row, "delete"), {"post": "yes"})

    # then nothing changed: the row is Alice's, as it was, and spending still adds up
    assert (changed.status_code, deleted.status_code) == (403, 403)
    row.refresh_from_db()
    assert (row.user, row.amount) == (alice, Decimal("-40.00"))
    assert current_totals(alice.id) == totals_from_rows(alice.id)


def test_support_can_still_list_search_filter_and_open_transactions(support, data):
    row = data["transaction"]

    pages = [support.get(url(Transaction, "changelist") + query)
             for query in ("", "?q=alice@example.com", "?pending__exact=0",
                           "?category_source__exact=heuristic")]
    detail = support.get(url(row, "change"))

    assert [page.status_code for page in pages] == [200] * 4
    assert all("SHELL OIL" in page.content.decode() for page in pages[:3])
    assert detail.status_code == 200
    html = detail.content.decode()
    assert "-40.00" in html
    assert 'name="amount"' not in html and 'name="_save"' not in html


@pytest.mark.parametrize("model", ["transactions.Transaction", "budgets.MonthlySpending",
                                   "transactions.RefreshRun", "transactions.RawDump"])
def test_the_big_tables_lists_cost_the_same_however_many_rows(support, data, alice, model):
    from django.apps import apps
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from budgets.models import MonthlySpending
    from categories.models import Category

    model = apps.get_model(model)
    changelist = url(model, "changelist")

    def queries() -> list[str]:
        with CaptureQueriesContext(connection) as captured:
            assert support.get(changelist).status_code == 200
        return [q["sql"] for q in captured.captured_queries]

    queries()  # (the first request of the hour also notes that support was active)
    few = queries()
    subs = Category.objects.filter(user=None, parent__isnull=False)[:40]
    MonthlySpending.objects.bulk_create(
        MonthlySpending(user=alice, month=date(2020 + i // 12, i % 12 + 1, 1), category=c,
                        total=Decimal("-1"), count=1)
        for i in range(24) for c in subs)
    many = queries()

    assert len(many) == len(few)  # not one query per row
    table = model._meta.db_table
    counts = [q for q in many if "COUNT(" in q.upper() and table in q]
    assert counts and all("LIMIT" in q.upper() for q in counts), counts  # counted up to a cap


# --- accounts ------------------------------------------------------------------------------

def test_an_account_cannot_be_given_to_another_user_or_connection(support, data, alice, bob):
    # given Alice's card account and a connection of Bob's
    card = data["card"]
    elsewhere = ConnectionFactory(user=bob)

    # when support posts it over to Bob, under another id
    response = support.post(url(card, "change"), form_data(
        card, user=bob.id, connection=elsewhere.pk, external_id="4000000000000002"))

    # then it stays Alice's, on her connection, under its id
    assert response.status_code == 403
    card.refresh_from_db()
    assert (card.user, card.connection, card.external_id) == (alice, data["connection"], CARD)


def test_a_card_number_is_never_shown_in_full(support, data):
    # given a card account whose bank id is the card's number
    card = data["card"]

    # when support lists accounts, finds the card by its number and opens it, its
    # connection and its deletion page
    listing = support.get(url(FinancialAccount, "changelist"))
    found = support.get(url(FinancialAccount, "changelist") + f"?q={CARD}")
    pages = [support.get(url(card, "change")), support.get(url(card, "delete")),
             support.get(url(data["connection"], "change"))]

    # then every page shows its last four digits, never the number (the search box
    # echoes what was typed, and only that)
    assert [page.status_code for page in [listing, found, *pages]] == [200] * 5
    for page in [listing, *pages]:
        assert CARD not in page.content.decode()
    assert "…1111" in listing.content.decode() and "…1111" in pages[0].content.decode()
    found_html = found.content.decode()
    assert "Visa …1111" in found_html
    echoes = (f'value="{CARD}"', f"q={CARD}", f"q%3D{CARD}")  # search box, links keeping it
    assert CARD not in re.sub("|".join(map(re.escape, echoes)), "", found_html)
    # and a partial number finds nothing: search by it is exact
    partial = support.get(url(FinancialAccount, "changelist") + "?q=41111111").content.decode()
    assert "Visa …1111" not in partial


# --- everything else support only reads ----------------------------------------------------

@pytest.mark.parametrize(("name", "field", "value"), [
    ("rule", "seller", "Chevron"),
    ("dump", "key", "k/overwritten"),
    ("job", "status", "succeeded"),
    ("run", "status", "failed"),
    ("notification", "title", "Rewritten"),
])
def test_support_cannot_edit_or_delete_what_the_services_write(support, data, name, field,
                                                               value):
    obj = data[name]
    before = getattr(obj, field)

    changed = support.post(url(obj, "change"), form_data(obj, **{field: value}))
    deleted = support.post(url(obj, "delete"), {"post": "yes"})
    opened = support.get(url(obj, "change"))

    assert (changed.status_code, deleted.status_code, opened.status_code) == (403, 403, 200)
    obj.refresh_from_db()
    assert getattr(obj, field) == before


def test_a_shared_category_cannot_be_renamed_or_given_to_a_user(support, data, alice):
    groceries = Category.objects.get(user=None, name="Groceries")

    response = support.post(url(groceries, "change"),
                            form_data(groceries, name="Food", user=alice.id))

    assert response.status_code == 403
    groceries.refresh_from_db()
    assert (groceries.name, groceries.user) == ("Groceries", None)


def test_a_webhook_is_turned_off_through_the_service_and_keeps_its_secret(support, data):
    webhook = data["webhook"]
    secret = webhook.secret

    response = support.post(url(webhook, "change"), {})  # "active" unchecked

    assert response.status_code == 302
    webhook.refresh_from_db()
    assert (webhook.active, webhook.secret, webhook.url) == (
        False, secret, "https://hooks.example.com/mint")


def test_every_admin_page_opens_and_none_shows_credentials_or_a_card_number(support, data):
    # given one of everything
    pages = {}
    for model in admin.site._registry:
        # when support opens each model's list and the first rows' pages
        pages[url(model, "changelist")] = support.get(url(model, "changelist"))
        for obj in model._default_manager.order_by("pk")[:3]:
            pages[url(obj, "change")] = support.get(url(obj, "change"))
    for obj in data.values():
        pages[url(obj, "change")] = support.get(url(obj, "change"))

    # then every page opens, and none holds a password, a stored secret or a card number
    assert {page_url: page.status_code for page_url, page in pages.items()
            if page.status_code != 200} == {}
    html = "".join(page.content.decode() for page in pages.values())
    for secret in (PASSWORD, data["connection"].secret, data["webhook"].secret, CARD):
        assert secret not in html
    assert 'name="secret"' not in html


# --- support staff without superuser rights ----------------------------------------------

def test_support_deletes_and_retries_only_with_the_permission_for_it(client, charlie, data,
                                                                      alice):
    # given Charlie, who may view connections and categories, and Alice's own category
    from django.contrib.auth.models import Permission

    mine = Category.objects.create(user=alice, parent=Category.objects.get(name="Auto & Transport"),
                                   name="Tolls")
    charlie.user_permissions.add(*Permission.objects.filter(
        codename__in=["view_connection", "view_category"]))
    client.force_login(charlie)
    connection = data["connection"]

    # when he tries to delete the category and to retry the connection's refresh
    deleted = client.post(url(mine, "delete"), {"post": "yes"})
    client.post(url(connection, "changelist"),
                {"action": "retry_refresh", "_selected_action": [str(connection.pk)]})

    # then neither happens: both need more than the view permission
    assert deleted.status_code == 403
    assert Category.objects.filter(pk=mine.pk).exists()
    assert not connection.runs.filter(trigger="manual").exclude(pk=data["run"].pk).exists()


def test_deletes_through_the_services_take_the_read_only_rows_with_them(support, data, alice):
    # given Alice's card account (with an import job and a rule on it), her own category
    # with a rule, her webhook with a delivery, and her whole history
    card, connection = data["card"], data["connection"]
    mine = Category.objects.create(user=alice, parent=Category.objects.get(name="Auto & Transport"),
                                   name="Tolls")
    rule_create(user=alice, category=mine, account=card, seller="Tolls")
    Delivery.objects.create(user=alice, notification=data["notification"], channel="webhook",
                            webhook=data["webhook"])

    # when support deletes them one by one, then Alice
    answers = [support.post(url(obj, "delete"), {"post": "yes"}).status_code
               for obj in (mine, card, data["webhook"], connection, alice)]

    # then each went (through its service), with what depends on it
    assert answers == [302] * 5
    assert not Rule.objects.filter(user=alice).exists()
    assert not Transaction.objects.filter(user=alice).exists()
    assert not Delivery.objects.exists()
    assert not type(alice).objects.filter(pk=alice.pk).exists()


# --- deleting a user with a long history ---------------------------------------------------

def _long_history(alice, data, rows=300):
    """Alice's rows in ``data``, plus ``rows`` transactions on her card, her own category
    (with a rule on the card) and a delivery of her notification by her webhook."""
    from datetime import date

    card = data["card"]
    Transaction.objects.bulk_create(
        Transaction(user=alice, account=card, external_id=f"h{n}", posted_on=date(2024, 1, 1),
                    amount=Decimal("-1.00"), description=f"COFFEE {n}")
        for n in range(rows)
    )
    mine = Category.objects.create(user=alice, parent=Category.objects.get(name="Auto & Transport"),
                                   name="Tolls")
    rule_create(user=alice, category=mine, account=card, seller="Tolls")
    Delivery.objects.create(user=alice, notification=data["notification"], channel="webhook",
                            webhook=data["webhook"])


def _as_django_lists_them(objs, user):
    """Django's own answer (its collector reads every row): model counts and protected."""
    from django.contrib.admin.utils import get_deleted_objects
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    request.user = user
    _deleted, counts, _perms, protected = get_deleted_objects(objs, request, admin.site)
    return counts, protected


def test_a_users_deletion_page_counts_what_goes_with_them_instead_of_listing_it(
    support, data, alice, root, django_assert_max_num_queries
):
    # given Alice with 302 transactions and one of everything else
    _long_history(alice, data)

    # when support opens the page that confirms her deletion
    with django_assert_max_num_queries(30):  # 27: none per row
        page = support.get(url(alice, "delete"))

    # then it shows how many rows of each model go, as Django counts them, and no row
    html = page.content.decode()
    assert page.status_code == 200
    for line in ("Users: 1", "Transactions: 302", "Financial accounts: 2", "Connections: 1",
                 "Rules: 2", "Categories: 1", "Deliveries: 1"):
        assert f"<li>{line}</li>" in html
    assert dict(page.context["model_count"]) == _as_django_lists_them([alice], root)[0]
    assert not re.search(r"/admin/transactions/transaction/\d+/", html) and "COFFEE" not in html
    assert len(page.content) < 20_000
    assert 'name="post"' in html  # and it can be confirmed


def test_a_user_is_deleted_through_the_service_with_every_row_of_theirs(
    support, data, alice, bob, monkeypatch, django_capture_on_commit_callbacks
):
    # given Alice with a long history, and Bob with rows of his own
    from transactions.tasks import raw_dumps_delete

    _long_history(alice, data)
    ingest_statement(bob, ConnectionFactory(user=bob), [rec("b1", "-5.00")])
    dumps_deleted = []
    monkeypatch.setattr(raw_dumps_delete, "delay", dumps_deleted.append)

    # when support confirms her deletion
    with django_capture_on_commit_callbacks(execute=True):
        response = support.post(url(alice, "delete"), {"post": "yes"})

    # then she is gone with all her rows, her raw dumps are to be deleted (the service
    # did it), and Bob keeps his
    assert response.status_code == 302
    assert not type(alice).objects.filter(pk=alice.pk).exists()
    for model in (Transaction, FinancialAccount, Rule, Category, Delivery, RawDump):
        assert not model.objects.filter(user_id=alice.pk).exists(), model
    assert dumps_deleted == [alice.pk]
    assert Transaction.objects.filter(user=bob).count() == 1


def test_delete_selected_users_counts_too_and_deletes_through_the_service(
    support, data, alice, bob, root, monkeypatch
):
    # given Alice with a long history, and Bob
    from transactions.tasks import raw_dumps_delete

    _long_history(alice, data)
    monkeypatch.setattr(raw_dumps_delete, "delay", lambda user_id: None)
    selected = {"action": "delete_selected", "_selected_action": [str(alice.pk), str(bob.pk)]}

    as_django_counts = _as_django_lists_them(
        type(alice).objects.filter(pk__in=[alice.pk, bob.pk]), root)[0]

    # when support picks them in the list, asks to delete them, then confirms
    page = support.post(url(type(alice), "changelist"), selected)
    confirmed = support.post(url(type(alice), "changelist"), {**selected, "post": "yes"})

    # then the page counted their rows, and both went, with their rows
    html = page.content.decode()
    assert page.status_code == 200
    assert "<li>Users: 2</li>" in html and "<li>Transactions: 302</li>" in html
    assert not re.search(r"/admin/transactions/transaction/\d+/", html)
    assert len(page.content) < 20_000
    assert dict(page.context["model_count"]) == as_django_counts
    assert confirmed.status_code == 302
    assert not type(alice).objects.filter(pk__in=[alice.pk, bob.pk]).exists()
    assert not Transaction.objects.filter(user_id=alice.pk).exists()


def test_staff_delete_a_user_only_with_the_permission_to_delete_users(client, charlie, data,
                                                                      alice, monkeypatch):
    # given Charlie, who may view users, and Alice
    from django.contrib.auth.models import Permission

    from transactions.tasks import raw_dumps_delete

    monkeypatch.setattr(raw_dumps_delete, "delay", lambda user_id: None)
    charlie.user_permissions.add(Permission.objects.get(codename="view_user"))
    client.force_login(charlie)

    # when he opens her deletion page and confirms it
    refused = [client.get(url(alice, "delete")), client.post(url(alice, "delete"), {"post": "yes"})]
    # and again once he may delete users (not transactions: the service answers for them)
    charlie.user_permissions.add(Permission.objects.get(codename="delete_user"))
    page = client.get(url(alice, "delete"))
    deleted = client.post(url(alice, "delete"), {"post": "yes"})

    # then the first time nothing happened, and the second she went
    assert [response.status_code for response in refused] == [403, 403]
    assert (page.status_code, deleted.status_code) == (200, 302)
    assert "<li>Transactions: 2</li>" in page.content.decode()
    assert not type(alice).objects.filter(pk=alice.pk).exists()


@pytest.mark.parametrize("on_delete", ["PROTECT", "RESTRICT"])
def test_a_row_that_protects_what_goes_still_stops_the_deletion(support, data, alice, bob,
                                                                root, monkeypatch, on_delete):
    # given a rule of Bob's on Alice's card (no service makes one: a rule that stops her
    # deletion), while rules stop the deletion of their account
    from django.db import models

    bobs = Rule.objects.create(user=bob, account=data["card"], seller="Bob's",
                               category=Category.objects.get(user=None, name="Groceries"))
    account = Rule._meta.get_field("account")
    monkeypatch.setattr(account.remote_field, "on_delete", getattr(models, on_delete))

    # when support opens her deletion page and confirms it
    page = support.get(url(alice, "delete"))
    confirmed = support.post(url(alice, "delete"), {"post": "yes"})

    # then the page names Bob's rule, as Django does, and she stays
    assert page.status_code == confirmed.status_code == 200
    assert "Cannot delete user" in page.content.decode()
    assert page.context["protected"] == _as_django_lists_them([alice], root)[1]
    assert len(page.context["protected"]) == 1
    assert f'href="{url(bobs, "change")}"' in page.content.decode()
    assert type(alice).objects.filter(pk=alice.pk).exists()


def test_a_restricting_row_the_deletion_takes_anyway_does_not_stop_it(support, data, alice,
                                                                      monkeypatch):
    # given Alice's rule on her card, while rules restrict the deletion of their account
    from django.db import models

    rule_create(user=alice, category=Category.objects.get(user=None, name="Groceries"),
                account=data["card"], seller="Corner shop")
    monkeypatch.setattr(Rule._meta.get_field("account").remote_field, "on_delete",
                        models.RESTRICT)

    # when support opens her deletion page
    page = support.get(url(alice, "delete"))

    # then she may go: her rule goes with her
    assert page.status_code == 200
    assert page.context["protected"] == [] and "<li>Rules: 2</li>" in page.content.decode()


def test_a_connections_deletion_page_counts_the_transactions_the_service_deletes(
    support, data, alice
):
    # The rows go by (user, account) in the service, not by a cascade (no index leads
    # with the account): the page counts them all the same.
    _long_history(alice, data)
    card = data["card"]
    expected = Transaction.objects.filter(account__connection=card.connection).count()

    connection_page = support.get(url(card.connection, "delete")).content.decode()
    account_page = support.get(url(card, "delete")).content.decode()

    assert f"<li>Transactions: {expected}</li>" in connection_page
    assert (f"<li>Transactions: {Transaction.objects.filter(account=card).count()}</li>"
            in account_page)


def test_a_deleted_account_comes_back_whole_at_the_next_refresh_and_support_is_told(
        support, data):
    connection, card = data["connection"], data["card"]
    Connection.objects.filter(pk=connection.pk).update(cursor="2026-03-01")

    answer = support.post(url(card, "delete"), {"post": "yes"}, follow=True)

    connection.refresh_from_db()
    assert connection.cursor == ""  # the next refresh fetches the whole history again
    assert answer.redirect_chain[-1][0] == url(FinancialAccount, "changelist")  # not /admin/
    assert "it comes back at the next refresh, with its whole history" in \
        answer.content.decode()


def test_delete_selected_refuses_a_selection_holding_a_shared_category(support, alice):
    shared = Category.objects.get(user=None, name="Auto & Transport")
    mine = Category.objects.create(user=alice, parent=shared, name="Tolls")
    selected = {"action": "delete_selected", "_selected_action": [str(shared.pk), str(mine.pk)]}

    confirm = support.post(url(Category, "changelist"), selected)
    done = support.post(url(Category, "changelist"), {**selected, "post": "yes"})

    assert "categories of the shared taxonomy" in confirm.content.decode()
    assert done.status_code == 403
    assert Category.objects.filter(pk__in=[shared.pk, mine.pk]).count() == 2
    alone = support.post(url(Category, "changelist"),
                         {"action": "delete_selected", "_selected_action": [str(mine.pk)],
                          "post": "yes"})
    assert alone.status_code == 302 and not Category.objects.filter(pk=mine.pk).exists()


def test_staff_who_may_change_users_cannot_raise_themselves_or_set_a_password(
        client, charlie, alice):
    """Charlie may change users (to turn an account off), not make himself superuser,
    nor set Alice's password and log in as her."""
    from django.contrib.auth.models import Permission

    charlie.user_permissions.add(*Permission.objects.filter(
        codename__in=["view_user", "change_user", "add_user"]))
    client.force_login(charlie)
    password = alice.password

    own = client.get(url(charlie, "change")).content.decode()
    client.post(url(charlie, "change"), {
        "email": "charlie@example.com", "is_active": "on", "is_staff": "on",
        "is_superuser": "on", "first_name": "", "last_name": "", "timezone": "UTC"})
    set_password = client.post(f"/admin/accounts/user/{alice.pk}/password/",
                               {"password1": "Hijacked-pw-5555", "password2": "Hijacked-pw-5555"})
    add_page = client.get(url(type(alice), "add"))

    charlie.refresh_from_db()
    alice.refresh_from_db()
    assert not charlie.is_superuser and charlie.is_staff
    assert 'name="is_superuser"' not in own and 'name="user_permissions"' not in own
    assert "/password/" not in own
    assert set_password.status_code == 403 and alice.password == password
    assert add_page.status_code == 403


def test_a_superuser_still_manages_staff(support, charlie):
    page = support.get(url(charlie, "change")).content.decode()

    assert 'name="is_superuser"' in page and 'name="is_staff"' in page
    assert support.get(f"/admin/accounts/user/{charlie.pk}/password/").status_code == 200


def test_a_webhooks_url_shows_its_host_only_and_is_not_searchable(support, alice):
    """Chat services put the credential in the URL's path or query."""
    hook = Webhook.objects.create(user=alice, url="https://hooks.example.com/services/T0/SECRET9?token=TOKEN7",
                                  secret=encrypt_credentials(login="-", password="whsec"))
    notification = Notification.objects.create(user=alice, kind="refresh_finished",
                                               title="Refreshed", dedupe_key="hooked")
    Delivery.objects.create(user=alice, notification=notification, channel="webhook",
                            webhook=hook, status="failed")

    pages = [support.get(p).content.decode() for p in (
        url(Webhook, "changelist"), url(hook, "change"), url(Delivery, "changelist"),
        url(Delivery.objects.get(webhook=hook), "change"))]
    found = [support.get(f"{url(model, 'changelist')}?q={q}").content.decode()
             for model in (Webhook, Delivery) for q in ("SECRET9", "TOKEN7")]

    assert all("https://hooks.example.com/…" in page for page in pages[:2])
    assert not any("SECRET9" in page or "TOKEN7" in page for page in pages)
    assert not any("hooks.example.com" in page for page in found)


def test_retrying_from_the_admin_is_written_in_the_objects_history(support, root, data, alice):
    from django.contrib.admin.models import LogEntry

    connection = data["connection"]
    notification = Notification.objects.create(user=alice, kind="refresh_finished",
                                               title="Refreshed", dedupe_key="again")
    failed = Delivery.objects.create(user=alice, notification=notification, channel="email",
                                     status="failed")

    support.post(url(connection, "changelist"),
                 {"action": "retry_refresh", "_selected_action": [str(connection.pk)]})
    support.post(url(Delivery, "changelist"),
                 {"action": "retry_failed", "_selected_action": [str(failed.pk)]})

    logged = {(entry.object_id, entry.get_change_message()) for entry in
              LogEntry.objects.filter(user=root)}
    run = connection.runs.filter(trigger="manual").exclude(pk=data["run"].pk).get()
    assert (str(connection.pk), f"Retried the refresh from the admin (run {run.pk}).") in logged
    assert (str(failed.pk), "Sent again from the admin.") in logged
    history = support.get(url(connection, "history")).content.decode()
    assert "Retried the refresh from the admin" in history


def test_a_support_account_views_everything_retries_and_changes_no_one(client, data, alice,
                                                                       monkeypatch):
    from django.core.management import call_command

    from accounts.models import User

    monkeypatch.setenv("DJANGO_SUPPORT_PASSWORD", "Support-pass-8831")
    call_command("support_staff", "Help@Example.com", "--noinput")
    helper = User.objects.get(email="help@example.com")
    assert helper.is_staff and not helper.is_superuser
    assert helper.check_password("Support-pass-8831")
    client.force_login(helper)
    connection = data["connection"]

    pages = {url(model, "changelist"): client.get(url(model, "changelist")).status_code
             for model in admin.site._registry if model._meta.app_label != "auth"}
    client.post(url(connection, "changelist"),
                {"action": "retry_refresh", "_selected_action": [str(connection.pk)]})
    deleted = client.post(url(data["rule"], "delete"), {"post": "yes"})
    raised = client.post(url(helper, "change"), {
        "email": "help@example.com", "is_active": "on", "is_staff": "on",
        "is_superuser": "on", "first_name": "", "last_name": "", "timezone": "UTC"})

    assert {page: code for page, code in pages.items() if code != 200} == {}
    assert connection.runs.filter(trigger="manual").exclude(pk=data["run"].pk).exists()
    assert deleted.status_code == 403 and Rule.objects.filter(pk=data["rule"].pk).exists()
    helper.refresh_from_db()
    assert raised.status_code == 403 and not helper.is_superuser
    # run again: the group is brought up to date, the password left alone
    call_command("support_staff", "help@example.com", "--noinput")
    helper.refresh_from_db()
    assert helper.check_password("Support-pass-8831") and helper.groups.count() == 1


def test_a_users_page_leads_to_each_list_of_theirs_filtered_to_them(support, data, alice, bob):
    Transaction.objects.create(user=bob, account=FinancialAccountFactory(user=bob),
                               external_id="bobs", posted_on=date(2026, 3, 1),
                               amount=Decimal("-1.00"), description="BOBS ROW")
    page = support.get(url(alice, "change")).content.decode()

    links = re.findall(r'href="(/admin/[a-z]+/[a-z]+/\?user__id__exact=(\d+))"', page)
    assert len(links) == 10 and {pk for _, pk in links} == {str(alice.pk)}
    opened = {link: support.get(link.replace("&amp;", "&")) for link, _ in links}
    assert {link: r.status_code for link, r in opened.items() if r.status_code != 200} == {}
    transactions = next(r for link, r in opened.items() if "/transaction/" in link)
    assert "BOBS ROW" not in transactions.content.decode()
    assert "SHELL OIL" in transactions.content.decode()


def test_refresh_runs_tell_a_users_connections_to_one_bank_apart(support, data, alice):
    other = ConnectionFactory(user=alice)
    RefreshRun.objects.create(user=alice, connection=other, trigger="manual",
                              status="failed", error="refused")

    page = support.get(url(RefreshRun, "changelist")).content.decode()

    for connection in (data["connection"], other):
        assert f'/admin/accounts/connection/{connection.pk}/change/' in page
        assert str(connection.pk)[:8] in page


def test_a_customers_account_becomes_support_only_when_asked_to(alice):
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="--promote"):
        call_command("support_staff", alice.email, "--noinput")
    alice.refresh_from_db()
    assert not alice.is_staff

    call_command("support_staff", alice.email, "--noinput", "--promote")
    alice.refresh_from_db()
    assert alice.is_staff and alice.groups.filter(name="Support").exists()


# --- lists and pages that cost the same at any size ----------------------------------------

def _queries(support, link) -> list[str]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        page = support.get(link)
    assert page.status_code == 200
    return [q["sql"] for q in captured.captured_queries]


def _runs(alice, connection, numbers):
    from datetime import UTC, datetime, timedelta

    start = datetime(2026, 1, 1, tzinfo=UTC)
    for number in numbers:
        run = RefreshRun.objects.create(user=alice, connection=connection, trigger="nightly",
                                        status="succeeded", error=f"run-{number:03}-of-old")
        RefreshRun.objects.filter(pk=run.pk).update(created_at=start + timedelta(days=number))


def test_a_connections_page_shows_its_newest_20_runs_and_leads_to_all_of_them(
    support, data, alice, bob
):
    # given a connection with 31 runs (the data's and 30 nightly ones), and one of Bob's
    connection = data["connection"]
    _runs(alice, connection, range(30))
    other = ConnectionFactory(user=bob)
    RefreshRun.objects.create(user=bob, connection=other, trigger="manual",
                              status="failed", error="bobs-run")
    support.get(url(connection, "change"))  # (the first request notes support was active)

    # when support opens the connection
    few = _queries(support, url(connection, "change"))
    page = support.get(url(connection, "change")).content.decode()

    # then the newest 20 are shown (the data's, made today, and 11 to 29), and a link leads
    # to the list of all 31
    assert [n for n in range(30) if f"run-{n:03}-of-old" in page] == list(range(11, 30))
    link = f"/admin/transactions/refreshrun/?connection__id__exact={connection.pk}"
    assert f'href="{link}"' in page and "All 31 runs" in page
    listed = support.get(link).content.decode()
    assert "run-000-of-old" in listed and "bobs-run" not in listed
    # and the page reads the runs once, however many there are
    _runs(alice, connection, range(30, 60))
    many = _queries(support, url(connection, "change"))
    assert len(many) == len(few)
    assert sum("transactions_refreshrun" in q for q in many) == 2  # the 20, and the count


def test_the_transactions_search_is_exact_on_the_whole_table_and_by_text_for_one_user(
    support, data, alice, bob
):
    # given Alice's SHELL OIL rows and one of Bob's
    Transaction.objects.create(user=bob, account=FinancialAccountFactory(user=bob),
                               external_id="bobs", posted_on=date(2026, 3, 1),
                               amount=Decimal("-1.00"), description="SHELL BOBS ROW")
    changelist = url(Transaction, "changelist")
    row = data["transaction"]

    # when support searches the whole table
    by_text = support.get(changelist + "?q=shell").content.decode()
    by_email = support.get(changelist + "?q=Alice@Example.com").content.decode()
    by_id = support.get(changelist + f"?q={row.pk}").content.decode()
    sql = _queries(support, changelist + "?q=shell")

    # then only an email or an id finds rows, and no text is compared
    assert "SHELL" not in by_text
    assert "SHELL OIL" in by_email and "BOBS" not in by_email
    assert by_id.count("SHELL OIL") == 1
    assert not any("LIKE" in q.upper() for q in sql), sql

    # and on Alice's list the text is searched, among her rows only
    hers = support.get(changelist + f"?user__id__exact={alice.pk}&q=shell").content.decode()
    assert "SHELL OIL" in hers and "BOBS" not in hers


def test_runs_dumps_imports_and_notifications_are_found_by_id_key_start_or_email(
    support, data, alice
):
    run, dump, job = data["run"], data["dump"], data["job"]
    notification = data["notification"]

    def found(model, query, shown):
        return shown in support.get(url(model, "changelist") + query).content.decode()

    # a run by its id (a word that is not one finds nothing, and does not fail)
    assert found(RefreshRun, f"?q={run.pk}", url(run, "change"))
    assert not found(RefreshRun, f"?q={str(run.pk)[:8]}", url(run, "change"))
    assert not found(RefreshRun, "?q=heavy", url(run, "change"))
    # a dump by the start of its key, not a piece from its middle
    assert found(RawDump, f"?q={dump.key[:8]}", dump.key)
    assert not found(RawDump, f"?q={dump.key[4:]}", dump.key)
    # an import by its id, or its file's name on Alice's list
    assert found(ImportJob, f"?q={job.pk}", "visa.ofx")
    assert not found(ImportJob, "?q=visa", "visa.ofx")
    assert found(ImportJob, f"?user__id__exact={alice.pk}&q=visa", "visa.ofx")
    # a notification by its title on Alice's list only
    assert not found(Notification, "?q=refreshed", "Refreshed")
    assert found(Notification, f"?user__id__exact={alice.pk}&q=refreshed", "Refreshed")
    assert found(Notification, f"?q={notification.pk}", "Refreshed")


@pytest.mark.parametrize(("model", "query", "ordering"), [
    (Transaction, "?user__id__exact={alice}", ["-posted_on", "-id"]),
    (RefreshRun, "", ["-created_at"]),
    (RawDump, "", ["-created_at"]),
    (ImportJob, "", ["-created_at"]),
])
def test_lists_are_newest_first_in_the_order_an_index_reads(support, data, alice, model,
                                                            query, ordering):
    page = support.get(url(model, "changelist") + query.format(alice=alice.pk))

    assert page.context["cl"].queryset.query.order_by[:len(ordering)] == tuple(ordering)


@pytest.mark.parametrize("model", ["accounts.User", "notifications.Notification",
                                   "notifications.Delivery", "transactions.ImportJob",
                                   "categories.Rule", "accounts.Connection",
                                   "accounts.FinancialAccount"])
def test_every_list_counts_its_rows_up_to_a_cap_only(support, data, model):
    from django.apps import apps

    model = apps.get_model(model)
    support.get(url(model, "changelist"))

    queries = _queries(support, url(model, "changelist"))

    table = model._meta.db_table
    counts = [q for q in queries if "COUNT(" in q.upper() and table in q]
    assert counts and all("LIMIT" in q.upper() for q in counts), counts
    assert not any("DISTINCT" in q.upper() for q in queries), queries


def test_the_imports_format_filter_offers_every_format_and_filters(support, data, alice):
    ImportJob.objects.create(user=alice, filename="other.qif", format="qif")

    page = support.get(url(ImportJob, "changelist") + "?format=ofx").content.decode()

    assert "?format=mint" in page and "?format=csv" in page
    assert "visa.ofx" in page and "other.qif" not in page

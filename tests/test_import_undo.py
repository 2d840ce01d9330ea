"""Undoing an import: what it added goes, with its spending; what was there stays."""

import threading
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection as db
from django.db import connections, transaction

from accounts.models import FinancialAccount
from budgets.services.recompute import current_totals, totals_from_rows
from categories.models import Category
from tests.conftest import api_client_for
from tests.test_api_imports import upload
from transactions.models import ImportJob, Transaction
from transactions.services.imports import import_create, import_undo

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("object_store")]

HEAD = b"Transaction ID,Date,Description,Amount\n"
JANUARY = HEAD + b"a1,2026-01-05,TRADER JOE'S #552,-40.00\na2,2026-01-09,SHELL OIL 5744,-30.00\n"
# a2 again as it was, a1 corrected by the bank, and a new row.
FEBRUARY = HEAD + (b"a2,2026-01-09,SHELL OIL 5744,-30.00\na1,2026-01-05,TRADER JOE'S #552,-45.00\n"
                   b"a3,2026-02-02,NETFLIX.COM,-15.49\n")


def undo(client, job_id):
    return client.post(f"/api/v1/imports/{job_id}/undo/")


def spending_matches_rows(user) -> bool:
    return current_totals(user.id) == {k: v for k, v in totals_from_rows(user.id).items() if any(v)}


def test_undo_removes_what_the_import_added_its_new_accounts_and_their_spending(api, alice):
    body = upload(api, "two_accounts.ofx").json()
    assert body["created"] > 0 and len(body["accounts"]) == 2

    response = undo(api, body["id"])

    assert response.status_code == 200, response.json()
    undone = response.json()
    assert undone["removed"] == body["created"]
    assert undone["undone_at"] is not None
    assert not Transaction.objects.filter(user=alice).exists()
    assert not FinancialAccount.objects.filter(pk__in=body["accounts"]).exists()
    assert current_totals(alice.id) == {}
    again = undo(api, body["id"])
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "not_undoable"
    assert "undone already" in again.json()["error"]["message"]


def test_undo_keeps_the_rows_that_were_there_before_and_the_account(api, alice):
    first = upload(api, "bank.csv", JANUARY, options='{"account_name": "Checking"}').json()
    second = upload(api, "bank.csv", FEBRUARY, options='{"account_name": "Checking"}').json()
    assert (second["created"], second["updated"], second["duplicates"]) == (1, 1, 1)

    undone = undo(api, second["id"]).json()

    assert undone["removed"] == 1
    left = dict(Transaction.objects.filter(user=alice).values_list("external_id", "amount"))
    # a1 keeps the second file's correction: undo takes back rows, not values.
    assert left == {"a1": Decimal("-45.00"), "a2": Decimal("-30.00")}
    assert FinancialAccount.objects.filter(pk__in=first["accounts"]).exists()
    assert spending_matches_rows(alice)


@pytest.mark.usefixtures("taxonomy")
def test_undo_leaves_rows_a_later_import_changed_and_takes_the_rest_with_hand_categories(
        api, alice):
    first = upload(api, "bank.csv", JANUARY, options='{"account_name": "Checking"}').json()
    shell = Transaction.objects.get(user=alice, external_id="a2")
    travel = Category.objects.get(name="Travel", parent=None)
    assert api.patch(f"/api/v1/transactions/{shell.pk}/", {"category": travel.pk},
                     format="json").status_code == 200
    upload(api, "bank.csv", FEBRUARY, options='{"account_name": "Checking"}')

    undone = undo(api, first["id"]).json()

    assert undone["removed"] == 1  # a2, categorised by hand since; a1 is the later file's
    assert set(Transaction.objects.filter(user=alice).values_list("external_id", flat=True)) == {
        "a1", "a3"}
    assert FinancialAccount.objects.filter(pk__in=first["accounts"]).exists()  # not empty
    assert spending_matches_rows(alice)


def test_an_import_into_a_chosen_account_undone_leaves_that_account(api, alice):
    account = upload(api, "bank.csv", JANUARY).json()["accounts"][0]
    third = HEAD + b"b1,2026-03-01,WALGREENS #1234,-12.00\n"
    job = upload(api, "march.csv", third, account=account).json()

    assert undo(api, job["id"]).json()["removed"] == 1
    assert FinancialAccount.objects.filter(pk=account).exists()
    assert Transaction.objects.filter(user=alice).count() == 2


def test_what_cannot_be_undone_says_why(api, alice, bob):
    failed = ImportJob.objects.create(user=alice, filename="x.csv", format="csv",
                                      status=ImportJob.Status.FAILED, error="bad")
    queued = ImportJob.objects.create(user=alice, filename="y.csv", format="csv")
    body = upload(api, "bank.csv", JANUARY).json()
    ImportJob.objects.filter(pk=body["id"]).update(rows_since=None)  # as before undo existed

    answers = {name: undo(api, job_id) for name, job_id in
               [("failed", failed.pk), ("queued", queued.pk), ("old", body["id"])]}
    bobs = undo(api_client_for(bob), body["id"])

    assert {name: r.status_code for name, r in answers.items()} == {
        "failed": 409, "queued": 409, "old": 409}
    assert "added nothing" in answers["failed"].json()["error"]["message"]
    assert "not finished" in answers["queued"].json()["error"]["message"]
    assert "before imports could be undone" in answers["old"].json()["error"]["message"]
    assert bobs.status_code == 404
    assert Transaction.objects.filter(user=alice).count() == 2


def test_the_dashboard_asks_then_undoes_and_shows_it(client, alice):
    client.force_login(alice)
    posted = client.post("/import/", {"file": SimpleUploadedFile("bank.csv", JANUARY),
                                      "format": "", "account_name": "Checking"})
    job = ImportJob.objects.get(user=alice)
    assert posted.status_code == 302
    detail = client.get(f"/import/{job.pk}/").content.decode()
    assert f"/import/{job.pk}/undo/" in detail

    asked = client.get(f"/import/{job.pk}/undo/")
    done = client.post(f"/import/{job.pk}/undo/", follow=True)

    assert asked.status_code == 200
    assert "deletes the transactions it added (2 when it ran)" in asked.content.decode()
    assert "data-later-imports" not in asked.content.decode()
    page = done.content.decode()
    assert "Undid the import of bank.csv: 2 transactions removed." in page
    assert "data-import-undone" in page
    assert f"/import/{job.pk}/undo/" not in page  # no second undo offered
    assert not Transaction.objects.filter(user=alice).exists()
    assert client.get(f"/import/{job.pk}/undo/").status_code == 302


def test_an_import_whose_accounts_are_gone_says_so_and_offers_no_undo(client, alice, api):
    body = upload(api, "bank.csv", JANUARY).json()
    client.force_login(alice)
    [account] = FinancialAccount.objects.filter(pk__in=body["accounts"])
    client.post(f"/accounts/{account.pk}/remove/")

    page = client.get(f"/import/{body['id']}/").content.decode()

    assert "data-accounts-gone" in page
    assert f"/import/{body['id']}/undo/" not in page and "See the transactions" not in page


def test_undo_keeps_the_rows_of_an_import_that_took_the_lock_first(alice):
    """The second import's transaction began first, then waited while the first import
    ran and committed; it then corrected one of the first's rows. Undoing the second
    takes back its own row only: the corrected row was the first's (it was there when
    the second got the lock)."""
    if db.vendor != "postgresql":
        pytest.skip("one writer at a time on SQLite: the order cannot interleave")
    began, first_done, second = threading.Event(), threading.Event(), {}

    def import_second():
        try:
            with transaction.atomic():
                with db.cursor() as cursor:
                    cursor.execute("SELECT 1")  # the transaction (and its now()) starts
                began.set()
                first_done.wait(10)
                second["job"] = import_create(user=alice, data=FEBRUARY, filename="feb.csv",
                                              options={"account_name": "Checking"})
        except Exception as exc:  # pragma: no cover - reported below
            second["error"] = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=import_second)
    thread.start()
    began.wait(10)
    import_create(user=alice, data=JANUARY, filename="jan.csv",
                  options={"account_name": "Checking"})
    first_done.set()
    thread.join(30)
    assert "error" not in second, second

    undone = import_undo(job=ImportJob.objects.get(pk=second["job"].pk))

    assert undone.removed == 1  # a3
    assert sorted(Transaction.objects.filter(user=alice).values_list("external_id", flat=True)
                  ) == ["a1", "a2"]


def test_the_undo_page_warns_of_later_imports_into_the_same_accounts(client, alice, api):
    first = upload(api, "bank.csv", JANUARY, options='{"account_name": "Checking"}').json()
    upload(api, "bank.csv", FEBRUARY, options='{"account_name": "Checking"}')
    upload(api, "other.csv", HEAD + b"z1,2026-03-01,WALGREENS #1,-2.00\n",
           options='{"account_name": "Savings"}')  # another account: no warning for it
    client.force_login(alice)

    asked = client.get(f"/import/{first['id']}/undo/").content.decode()

    assert "1 later import went into the same accounts" in asked


def test_imports_list_only_the_accounts_that_still_exist_in_one_query(api, alice):
    from django.db import connection as default_db
    from django.test.utils import CaptureQueriesContext

    # given an import undone (its two new accounts went with it) and one whose account
    # is still there
    undone = upload(api, "two_accounts.ofx").json()
    kept = upload(api, "bank.csv", JANUARY, options='{"account_name": "Checking"}').json()
    assert len(undone["accounts"]) == 2 and len(kept["accounts"]) == 1
    after_undo = undo(api, undone["id"]).json()

    # when the app lists and opens them
    with CaptureQueriesContext(default_db) as two_imports:
        listed = {job["id"]: job["accounts"] for job in api.get("/api/v1/imports/").json()[
            "results"]}

    # then an account that no longer exists is not listed; one that does still is
    assert after_undo["accounts"] == []
    assert listed == {undone["id"]: [], kept["id"]: kept["accounts"]}
    assert api.get(f"/api/v1/imports/{undone['id']}/").json()["accounts"] == []
    assert api.get(f"/api/v1/imports/{kept['id']}/").json()["accounts"] == kept["accounts"]

    # and once the file connection is unlinked, none of its accounts is listed either
    [files] = [c for c in api.get("/api/v1/accounts/").json()["results"]
               if c["provider"] == "file"]
    assert api.delete(f"/api/v1/accounts/{files['id']}/").status_code == 204
    upload(api, "bank.csv", FEBRUARY, options='{"account_name": "Savings"}')
    upload(api, "bank.csv", JANUARY, options='{"account_name": "Other"}')
    with CaptureQueriesContext(default_db) as four_imports:
        jobs = api.get("/api/v1/imports/").json()["results"]
    assert len(jobs) == 4
    assert {job["id"]: job["accounts"] for job in jobs}[kept["id"]] == []
    assert all(FinancialAccount.objects.filter(pk__in=job["accounts"]).count()
               == len(job["accounts"]) for job in jobs)
    # one query for every import's accounts, not one per import
    assert len(four_imports.captured_queries) == len(two_imports.captured_queries)

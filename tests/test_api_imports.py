"""POST /api/v1/imports/: the same pipeline as a refresh, raw dump first."""

from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from budgets.models import MonthlySpending
from tests.conftest import api_client_for
from tests.factories import FinancialAccountFactory
from transactions.models import ImportJob, RawDump, Transaction

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("object_store")]
FIXTURES = Path(__file__).parent / "fixtures"


def upload(client, name, data=None, **fields):
    data = data if data is not None else (
        FIXTURES / ("ofx" if name.endswith((".ofx", ".qfx")) else "imports") / name
    ).read_bytes()
    return client.post("/api/v1/imports/", {"file": SimpleUploadedFile(name, data), **fields},
                       format="multipart")


def test_an_ofx_statement_imports_with_counts_and_its_raw_dump(api, alice):
    response = upload(api, "two_accounts.ofx")

    assert response.status_code == 201, response.json()
    body = response.json()
    stored = Transaction.objects.filter(user=alice)
    assert body["created"] == stored.count() > 0
    assert body["duplicates"] == 0
    assert stored.values("account").distinct().count() == 2
    assert body["accounts"] == sorted(stored.values_list("account", flat=True).distinct())
    assert not stored.filter(dump__isnull=True).exists()
    job = ImportJob.objects.get(pk=body["id"])
    assert job.dump.size == (FIXTURES / "ofx" / "two_accounts.ofx").stat().st_size


def test_imported_accounts_are_listed_unlinked_but_never_refreshed_through_the_api(api, alice):
    created = upload(api, "two_accounts.ofx").json()["created"]

    listed = api.get("/api/v1/accounts/").json()["results"]
    [files] = [c for c in listed if c["provider"] == "file"]
    refresh = api.post(f"/api/v1/accounts/{files['id']}/refresh/")
    rows_before = Transaction.objects.filter(user=alice).count()
    unlinked = api.delete(f"/api/v1/accounts/{files['id']}/")

    assert len(files["accounts"]) == 2 and rows_before == created
    assert refresh.status_code == 400
    assert "not refreshed" in refresh.json()["error"]["message"]
    assert unlinked.status_code == 204
    assert not Transaction.objects.filter(user=alice).exists()


def test_importing_the_same_file_twice_adds_nothing(api, alice):
    first = upload(api, "bank_sgml_cp1252.ofx").json()

    second = upload(api, "bank_sgml_cp1252.ofx").json()

    assert second["created"] == 0
    assert second["duplicates"] == first["created"]
    assert Transaction.objects.filter(user=alice).count() == first["created"]


def test_a_name_for_a_new_account_an_ofx_file_does_not_use_is_said_not_dropped(api, alice):
    body = upload(api, "bank_v2.ofx", options='{"account_name": "My Checking"}').json()

    assert body["notes"] == ["The name given for a new account was not used: an OFX file "
                             "names its own accounts."]


def test_an_import_whose_dates_could_be_day_first_says_how_it_read_them(api, alice):
    csv = b"Date,Description,Amount\n05/01/2024,TESCO,-4.00\n06/01/2024,PRET,-3.00\n"

    body = upload(api, "monzo.csv", csv).json()

    assert len(body["notes"]) == 1 and "read month first" in body["notes"][0]


def test_latin1_descriptions_survive(api, alice):
    upload(api, "bank_sgml_cp1252.ofx")

    assert Transaction.objects.filter(user=alice, description__contains="É").exists()


def test_mint_csv_export_keeps_its_categories(api, alice, taxonomy):
    response = upload(api, "mint_export.csv")

    assert response.status_code == 201, response.json()
    coffee = Transaction.objects.filter(user=alice, description__icontains="STARBUCKS")
    assert coffee.count() == 2  # two identical coffees on one day stay two
    assert {str(t.category) for t in coffee} == {"Food & Dining › Coffee Shops"}
    assert {t.category_source for t in coffee} == {"import"}
    # how its dates were read is kept, for a replay of the file to read them so again
    assert ImportJob.objects.get(pk=response.json()["id"]).options == {"day_first": False}
    assert all(t.amount == Decimal("-4.75") for t in coffee)
    pay = Transaction.objects.get(user=alice, description__icontains="PAYROLL")
    assert pay.amount > 0 and pay.category.name == "Paycheck"


def test_mint_csv_export_keeps_the_names_mint_showed(api, alice, taxonomy):
    upload(api, "mint_export.csv")

    pay = Transaction.objects.get(user=alice, description__icontains="PAYROLL")
    coffee = Transaction.objects.filter(user=alice, description__icontains="STARBUCKS").first()
    assert pay.seller == "Acme Corp" and coffee.seller == "Starbucks"
    # Filing again (an operator's recategorize) keeps the file's name and category.
    from categories.services import transactions_recategorize_user

    transactions_recategorize_user(user_id=alice.id)
    pay.refresh_from_db()
    assert pay.seller == "Acme Corp" and pay.category.name == "Paycheck"


def test_a_rule_for_the_past_refiles_mint_rows_but_keeps_the_names_mint_showed(
        api, alice, taxonomy):
    from categories.models import Category
    from categories.services import rule_create, transactions_recategorize_user

    upload(api, "mint_export.csv")
    pay = Transaction.objects.get(user=alice, description__icontains="PAYROLL")
    bonus = Category.objects.get(parent__name="Income", name="Bonus", user=None)
    # a rule for the payroll line that names no other name, applied to the past
    rule_create(user=alice, category=bonus, description_contains="PAYROLL")
    transactions_recategorize_user(user_id=alice.id)
    pay.refresh_from_db()
    assert (pay.seller, pay.category_id, pay.category_source) == ("Acme Corp", bonus.id, "rule")


def test_a_files_category_comes_back_when_the_rule_that_took_it_goes(api, alice, taxonomy):
    from categories.models import Category

    bonus = Category.objects.get(parent__name="Income", name="Bonus", user=None)
    # a rule made after the import, for the past; another in force before an import
    upload(api, "mint_export.csv")
    later = api.post("/api/v1/rules/", {"description_contains": "PAYROLL", "category": bonus.id,
                                        "apply_to_past": True}, format="json").json()["id"]
    early = api.post("/api/v1/rules/", {"description_contains": "STARBUCKS",
                                        "category": bonus.id}, format="json").json()["id"]
    more = ('"1/23/2024","Starbucks","STARBUCKS STORE 999 SEATTLE WA","3.10","debit",'
            '"Coffee Shops","Everyday Checking","",""\n')
    upload(api, "mint2.csv", (MINT_HEADER + more).encode())

    def filed(text):
        t = Transaction.objects.select_related("category").get(
            user=alice, description__contains=text)
        return t.category.name, t.category_source, t.seller

    assert filed("PAYROLL") == ("Bonus", "rule", "Acme Corp")
    assert filed("STORE 999") == ("Bonus", "rule", "Starbucks")

    api.delete(f"/api/v1/rules/{later}/?apply_to_past=true")
    api.delete(f"/api/v1/rules/{early}/")  # not for the past: it stays Bonus …
    assert filed("STORE 999") == ("Bonus", "rule", "Starbucks")
    from categories.services import transactions_recategorize_user

    transactions_recategorize_user(user_id=alice.id)  # … until the rows are filed again

    assert filed("PAYROLL") == ("Paycheck", "import", "Acme Corp")
    assert filed("STORE 999") == ("Coffee Shops", "import", "Starbucks")
    assert not Transaction.objects.filter(user=alice, file_category__isnull=False).exists()


def test_a_kept_file_category_that_is_deleted_moves_to_its_parent(api, alice, taxonomy):
    from categories.models import Category

    rows = '"1/05/2024","Soccer Club","SOCCER CLUB 123","40.00","debit","Kids Soccer","Chk","",""\n'
    upload(api, "mint.csv", (MINT_HEADER + rows).encode())
    own = Category.objects.get(user=alice)
    gift = Category.objects.get(user=None, name="Gift")
    api.post("/api/v1/rules/", {"description_contains": "SOCCER", "category": gift.id,
                                "apply_to_past": True}, format="json")
    assert Transaction.objects.get(user=alice).file_category_id == own.id

    assert api.delete(f"/api/v1/categories/{own.id}/").status_code == 204

    assert Transaction.objects.get(user=alice).file_category_id == own.parent_id


MINT_HEADER = ('"Date","Description","Original Description","Amount","Transaction Type",'
               '"Category","Account Name","Labels","Notes"\n')


def test_rows_mint_hid_from_budgets_and_trends_stay_out_of_spending(api, alice, taxonomy):
    from categories.models import Category

    rows = ('"1/05/2024","Venmo","VENMO CASHOUT","250.00","debit","Hide from Budgets & '
            'Trends","Chk","",""\n'
            '"1/08/2024","Starbucks","STARBUCKS 1","4.00","debit","Coffee Shops","Chk","",""\n')
    assert upload(api, "mint.csv", (MINT_HEADER + rows).encode()).status_code == 201

    hidden = Category.objects.get(user=alice)
    assert (str(hidden), hidden.is_transfer) == ("Transfer › Hide from Budgets & Trends", True)
    assert api.get("/api/v1/summary/?month=2024-01").json()["spent"] == "4.00"


def test_a_files_bare_uncategorized_is_no_opinion(api, alice, taxonomy):
    rows = ('"10/05/2026","Starbucks","STARBUCKS STORE 12345","4.75","debit","Uncategorized",'
            '"Chk","",""\n'
            '"10/06/2026","Zorblax","ZORBLAX WIDGETS LLC","1500.00","credit","uncategorized","Chk",'
            '"",""\n'
            '"10/07/2026","Check","CHECK 1234","80.00","debit","Check","Chk","",""\n')
    assert upload(api, "mint.csv", (MINT_HEADER + rows).encode()).status_code == 201

    filed = {t.description.split()[0]: (str(t.category), t.category_source)
             for t in Transaction.objects.filter(user=alice)}
    summary = api.get("/api/v1/summary/?month=2026-10").json()

    assert filed == {"STARBUCKS": ("Food & Dining › Coffee Shops", "seller"),
                     "ZORBLAX": ("Income", "heuristic"),
                     "CHECK": ("Uncategorized › Check", "import")}  # Mint's Check is one
    assert (summary["spent"], summary["income"]) == ("84.75", "1500.00")


def test_rows_imported_as_uncategorized_before_that_was_no_opinion_are_filed_again(
        alice, taxonomy):
    from categories.models import Category
    from categories.services import transactions_recategorize_user
    from tests.factories import FinancialAccountFactory

    uncategorized = Category.objects.get(user=None, parent=None, name="Uncategorized")
    account = FinancialAccountFactory(connection__user=alice)
    row = Transaction.objects.create(
        user=alice, account=account, external_id="s1", posted_on="2026-10-05",
        amount=Decimal("-4.75"), description="STARBUCKS STORE 12345", seller="Starbucks",
        category=uncategorized, category_source="import")

    transactions_recategorize_user(user_id=alice.id)

    row.refresh_from_db()
    assert (row.category.name, row.category_source) == ("Coffee Shops", "seller")


def test_mint_categories_that_differ_only_by_case_folding_are_one(api, alice, taxonomy):
    from categories.models import Category

    rows = ('"1/05/2024","Parking","PARK 1","3.00","debit","STRASSE","Chk","",""\n'
            '"1/06/2024","Parking","PARK 2","4.00","debit","Straße","Chk","",""\n')
    assert upload(api, "mint.csv", (MINT_HEADER + rows).encode()).status_code == 201

    [own] = Category.objects.filter(user=alice)
    assert {(t.category_id, t.category_source)
            for t in Transaction.objects.filter(user=alice)} == {(own.id, "import")}


def test_mint_categories_the_taxonomy_lacks_become_the_users_own(api, alice, taxonomy, client):
    from categories.models import Category

    rows = (
        '"1/05/2024","Soccer Club","SOCCER CLUB 123","40.00","debit","Robot Hobby","Chk","",""\n'
        '"1/06/2024","Soccer Club","SOCCER CLUB 123","40.00","debit","robot  hobby","Chk","",""\n'
        '"1/07/2024","Etsy","ETSY PAYOUT","300.00","credit","Side Gig","Chk","",""\n'
        '"1/08/2024","Starbucks","STARBUCKS 1","4.00","debit","Coffee Shops","Chk","",""\n'
    )
    response = upload(api, "mint.csv", (MINT_HEADER + rows).encode())

    assert response.status_code == 201, response.json()
    own = {str(c) for c in Category.objects.filter(user=alice)}
    assert own == {"Uncategorized › Robot Hobby", "Income › Side Gig"}
    kids = Transaction.objects.filter(user=alice, description__startswith="SOCCER")
    assert {str(t.category) for t in kids} == {"Uncategorized › Robot Hobby"}
    assert {t.category_source for t in kids} == {"import"}
    notes = response.json()["notes"]
    assert len(notes) == 2 and any("“Uncategorized › Robot Hobby” for the 2 "
                                   "transactions" in note for note in notes)
    client.force_login(alice)
    page = client.get(f"/import/{response.json()['id']}/").content.decode()
    assert page.count("data-import-note") == 2 and "Income › Side Gig" in page
    again = upload(api, "mint.csv", (MINT_HEADER + rows).encode())
    assert again.json()["notes"] == [] and Category.objects.filter(user=alice).count() == 2


def test_a_mint_category_with_accents_files_its_rows_under_the_new_category(
    api, alice, taxonomy
):
    rows = ('"1/05/2024","Marché","MARCHE 12","12.00","debit","Épicerie","Chk","",""\n'
            '"1/06/2024","Marché","MARCHE 12","9.00","debit","ÉPICERIE","Chk","",""\n')

    response = upload(api, "mint.csv", (MINT_HEADER + rows).encode())

    assert response.status_code == 201, response.json()
    rows = Transaction.objects.filter(user=alice)
    assert {(str(t.category), t.category_source) for t in rows} == {
        ("Uncategorized › Épicerie", "import")}


def test_byte_order_marks_inside_a_mint_export_are_dropped(api, alice, taxonomy):
    rows = '"1/05/2024","Café \ufeffNul","CAFE NUL 12","4.00","debit","Coffee Shops","Chk","",""\n'
    data = "\ufeff".encode() + (MINT_HEADER + rows).encode("utf-8-sig")  # two BOMs

    response = upload(api, "mint.csv", data)

    assert response.status_code == 201, response.json()
    assert Transaction.objects.get(user=alice).seller == "Café Nul"


def test_a_nul_in_a_csv_is_dropped(api, alice):
    csv = b"Date,Description,Amount\n2024-02-01,THI\x00NG,-3.50\n"

    response = upload(api, "nul.csv", csv)

    assert response.status_code == 201, response.json()
    assert Transaction.objects.get(user=alice).description == "THING"


def test_a_bank_csvs_own_categories_make_no_new_ones(api, alice, taxonomy):
    from categories.models import Category

    csv = (b"Date,Description,Amount,Category\n"
           b"2024-02-01,STARBUCKS STORE 123,-3.50,Food & Drink\n"
           b"2024-02-02,SHELL OIL 5744,-40.00,Gas\n")
    response = upload(api, "bank.csv", csv)

    assert response.status_code == 201, response.json()
    assert response.json()["notes"] == []
    assert not Category.objects.filter(user=alice).exists()
    coffee = Transaction.objects.get(user=alice, description__startswith="STARBUCKS")
    assert str(coffee.category) == "Food & Dining › Coffee Shops"


def test_a_running_balance_reaches_the_chosen_account_too(api, alice):
    account = FinancialAccountFactory(connection__user=alice)

    response = upload(api, "chase_checking.csv", account=account.id)

    account.refresh_from_db()
    assert response.status_code == 201
    assert (account.balance, account.balance_at.date().isoformat()) == (
        Decimal("2846.51"), "2024-01-18")


def test_a_csv_with_a_column_mapping_goes_into_the_chosen_account(api, alice):
    account = FinancialAccountFactory(connection__user=alice)
    csv = b"Posted,Payee,Amount\n2024-02-01,COFFEE BAR,-3.50\n2024-02-02,PAYCHECK,1200.00\n"

    response = api.post(
        "/api/v1/imports/",
        {"file": SimpleUploadedFile("x.csv", csv), "account": account.id, "format": "csv",
         "options": '{"date": "Posted", "description": "Payee", "amount": "Amount"}'},
        format="multipart",
    )

    assert response.status_code == 201, response.json()
    assert response.json()["created"] == 2
    assert set(Transaction.objects.values_list("account_id", flat=True)) == {account.id}


def test_importing_into_someone_elses_account_is_refused(api, bob):
    bobs = FinancialAccountFactory(connection__user=bob)

    response = upload(api, "bank_v2.ofx", account=bobs.id)

    assert response.status_code == 400
    assert not Transaction.objects.exists()


@pytest.mark.parametrize("name", ["truncated.ofx", "bad_amount.ofx", "missing_dtposted.ofx",
                                  "entity_bomb.ofx", "external_entity.ofx", "empty.ofx",
                                  "not_ofx.ofx"])
def test_a_malformed_file_gets_a_400_and_nothing_is_stored(api, alice, name):
    upload(api, "bank_v2.ofx")
    before = (Transaction.objects.count(), RawDump.objects.count(), ImportJob.objects.count())

    response = upload(api, name)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] in ("invalid_file", "invalid") and len(error["message"]) > 10
    assert (Transaction.objects.count(), RawDump.objects.count(),
            ImportJob.objects.count()) == before


def test_the_error_names_the_line(api):
    response = upload(api, "bad_amount.ofx")

    assert "line" in response.json()["error"]["message"]
    assert response.json()["error"]["details"]["line"] > 0


def test_a_pending_csv_row_is_replaced_when_the_next_export_has_it_posted(api, alice):
    header = b"Type,Started Date,Completed Date,Description,Amount,Currency,State\n"
    before = header + b"CARD_PAYMENT,2024-01-30 18:30:00,,Tesco,-12.00,GBP,PENDING\n"
    after = header + (b"CARD_PAYMENT,2024-01-30 18:30:00,2024-02-01 09:00:00,Tesco,-12.00,GBP,"
                      b"COMPLETED\n")

    named = '{"account_name": "Revolut"}'
    assert upload(api, "revolut.csv", before, options=named).status_code == 201
    assert upload(api, "revolut.csv", after, options=named).status_code == 201

    rows = Transaction.objects.filter(user=alice)
    assert [(r.posted_on.isoformat(), r.amount, r.pending) for r in rows] == [
        ("2024-02-01", Decimal("-12.00"), False)]


REVOLUT = b"Type,Started Date,Completed Date,Description,Amount,Currency,State\n"
REVOLUT_NAMED = '{"account_name": "Revolut"}'
# An evening's export, newest first: coffee B still pending above coffee A, posted, both
# of the same day, amount and seller.
TWO_COFFEES = REVOLUT + (
    b"CARD_PAYMENT,2026-03-30 10:05:00,,Blue Bottle,-5.00,USD,PENDING\n"
    b"CARD_PAYMENT,2026-03-30 09:00:00,2026-03-30 09:00:05,Blue Bottle,-5.00,USD,COMPLETED\n")
TWO_COFFEES_POSTED = REVOLUT + (  # the next export: B posted on the 31st, A unchanged
    b"CARD_PAYMENT,2026-03-30 10:05:00,2026-03-31 08:00:00,Blue Bottle,-5.00,USD,COMPLETED\n"
    b"CARD_PAYMENT,2026-03-30 09:00:00,2026-03-30 09:00:05,Blue Bottle,-5.00,USD,COMPLETED\n")


def stored_rows(user) -> list[tuple[str, Decimal, bool]]:
    return sorted((r.posted_on.isoformat(), r.amount, r.pending)
                  for r in Transaction.objects.filter(user=user))


def test_two_equal_coffees_of_a_day_stay_two_when_the_pending_one_posts(api, alice):
    # given an export with one coffee pending and an equal one posted that day
    upload(api, "revolut.csv", TWO_COFFEES, options=REVOLUT_NAMED)

    # when the next export has the pending one posted
    response = upload(api, "revolut.csv", TWO_COFFEES_POSTED, options=REVOLUT_NAMED)

    # then there are two coffees, not three
    assert response.status_code == 201
    assert stored_rows(alice) == [("2026-03-30", Decimal("-5.00"), False),
                                  ("2026-03-31", Decimal("-5.00"), False)]


@pytest.mark.parametrize("data", [TWO_COFFEES, REVOLUT + (
    b"CARD_PAYMENT,2026-03-02 10:00:00,2026-03-03 10:00:00,Shell,-40.00,USD,COMPLETED\n"
    b"CARD_PAYMENT,2026-03-10 18:00:00,,Tesco,-8.00,USD,PENDING\n")])
def test_a_file_stored_when_pending_rows_were_counted_with_posted_ones_adds_nothing_again(
        api, alice, monkeypatch, data):
    from transactions.importers._fields import ExternalIds

    # given the file imported when made ids numbered equal rows in the file's order
    monkeypatch.setattr(ExternalIds, "for_rows", lambda made, rows: [
        None if r is None else made.next(account=r[0], posted_on=r[1], amount=r[2],
                                         description=r[3]) for r in rows])
    upload(api, "revolut.csv", data, options=REVOLUT_NAMED)
    before = stored_rows(alice)
    monkeypatch.undo()

    # when it is imported again
    again = upload(api, "revolut.csv", data, options=REVOLUT_NAMED).json()

    # then its rows are there once, the pending ones still pending
    assert again["created"] == 0
    assert stored_rows(alice) == before


REFERENCES = b"Date,Description,Amount,Reference\n"
UK_NAMED = '{"account_name": "UK"}'
REFERENCES_JAN_MAR = REFERENCES + (b"2026-01-05,TESCO,-12.50,CARD012345\n"
                                   b"2026-02-05,SHELL,-40.00,CARD023456\n"
                                   b"2026-03-05,NETFLIX,-9.99,DD0345678\n")
REFERENCES_FEB_APR = REFERENCES + (b"2026-02-05,SHELL,-40.00,CARD023456\n"
                                   b"2026-03-05,NETFLIX,-9.99,DD0345678\n")


@pytest.mark.parametrize("april", [
    b"2026-04-05,JOHN SMITH,-50.00,BIRTHDAY\n",  # a reference of words, not an id
    b"2026-04-05,JOHN SMITH,-50.00,FP0456789\n" * 2,  # two equal payments, one reference
])
def test_overlapping_exports_with_references_share_their_rows_whatever_one_row_holds(
        api, alice, april):
    # given an export whose references all read as ids
    upload(api, "uk.csv", REFERENCES_JAN_MAR, options=UK_NAMED)

    # when the next, overlapping one has a row whose reference is no id, or one twice
    upload(api, "uk.csv", REFERENCES_FEB_APR + april, options=UK_NAMED)

    # then the rows of both are there once, and each of April's
    assert [r[:2] for r in stored_rows(alice)] == [
        ("2026-01-05", Decimal("-12.50")), ("2026-02-05", Decimal("-40.00")),
        ("2026-03-05", Decimal("-9.99")),
        *(("2026-04-05", Decimal("-50.00")) for _ in range(april.count(b"\n")))]


@pytest.mark.parametrize("april", [b"2026-04-05,JOHN SMITH,-50.00,BIRTHDAY\n",
                                   b"2026-04-05,JOHN SMITH,-50.00,FP0456789\n" * 2])
def test_a_file_whose_references_were_all_left_unread_adds_nothing_imported_again(
        api, alice, april):
    # given a file stored when one reference that was no id (or repeated) had every row
    # take ids made from its date, amount and description (as a column of another name)
    data = REFERENCES_FEB_APR + april
    upload(api, "uk.csv", data.replace(b",Reference\n", b",Ref\n", 1), options=UK_NAMED)

    # when it is imported again
    again = upload(api, "uk.csv", data, options=UK_NAMED).json()

    # then nothing is added
    assert (again["created"], again["duplicates"]) == (0, 2 + april.count(b"\n"))
    assert len(stored_rows(alice)) == 2 + april.count(b"\n")


IDS = b"Date,Description,Amount,Transaction ID\n"
X_NAMED = '{"account_name": "X"}'


def ofx_of(*rows: tuple[str, str, str, str]) -> bytes:
    """A bank statement of rows (YYYYMMDD, amount, FITID, name)."""
    trns = "".join(f"<STMTTRN><TRNTYPE>DEBIT<DTPOSTED>{d}<TRNAMT>{a}<FITID>{f}<NAME>{n}"
                   "</STMTTRN>\n" for d, a, f, n in rows)
    return ("OFXHEADER:100\nDATA:OFXSGML\nVERSION:102\nSECURITY:NONE\nENCODING:USASCII\n"
            "CHARSET:1252\nCOMPRESSION:NONE\nOLDFILEUID:NONE\nNEWFILEUID:NONE\n\n"
            "<OFX><BANKMSGSRSV1><STMTTRNRS><TRNUID>1<STATUS><CODE>0<SEVERITY>INFO</STATUS>"
            "<STMTRS><CURDEF>USD<BANKACCTFROM><BANKID>121000248<ACCTID>99887766"
            "<ACCTTYPE>CHECKING</BANKACCTFROM><BANKTRANLIST><DTSTART>20260101<DTEND>20260430\n"
            + trns + "</BANKTRANLIST><LEDGERBAL><BALAMT>100.00<DTASOF>20260430</LEDGERBAL>"
            "</STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>\n").encode()


def described(user) -> list[tuple[str, str, Decimal]]:
    return sorted((r.posted_on.isoformat(), r.description, r.amount)
                  for r in Transaction.objects.filter(user=user))


JANUARY_DESCRIBED = [
    ("2026-01-01", "SHELL", Decimal("-40.00")), ("2026-01-03", "ALDI", Decimal("-5.00")),
    ("2026-01-04", "LIDL", Decimal("-6.00"))]


@pytest.mark.parametrize(("name", "january", "later"), [
    ("x.csv", IDS + b"2026-01-01,SHELL,-40.00,T1\n2026-01-03,ALDI,-5.00,T3\n"
                    b"2026-01-04,LIDL,-6.00,T3\n",
     IDS + b"2026-01-04,LIDL,-6.00,T3\n2026-01-09,TESCO,-9.00,T4\n"),
    ("x.ofx", ofx_of(("20260101", "-40.00", "T1", "SHELL"), ("20260103", "-5.00", "T3", "ALDI"),
                     ("20260104", "-6.00", "T3", "LIDL")),
     ofx_of(("20260104", "-6.00", "T3", "LIDL"), ("20260109", "-9.00", "T4", "TESCO"))),
])
def test_an_id_the_bank_gave_twice_names_the_same_rows_in_an_overlapping_file(
        api, alice, name, january, later):
    # given a file in which the bank gave two transactions one id
    upload(api, name, january, options=X_NAMED)

    # when a later file starts on the day of the second, which it lists alone
    upload(api, name, later, options=X_NAMED)

    # then each transaction is there once
    assert described(alice) == [*JANUARY_DESCRIBED, ("2026-01-09", "TESCO", Decimal("-9.00"))]


@pytest.mark.parametrize(("name", "stored", "again"), [
    ("x.csv", IDS + b"2026-01-01,SHELL,-40.00,T1\n2026-01-03,ALDI,-5.00,T3\n"
                    b"2026-01-04,LIDL,-6.00,T3#2\n",
     [b"2026-01-01,SHELL,-40.00,T1\n", b"2026-01-03,ALDI,-5.00,T3\n",
      b"2026-01-04,LIDL,-6.00,T3\n"]),
    ("x.ofx", ofx_of(("20260101", "-40.00", "T1", "SHELL"), ("20260103", "-5.00", "T3", "ALDI"),
                     ("20260104", "-6.00", "T3#2", "LIDL")),
     [("20260101", "-40.00", "T1", "SHELL"), ("20260103", "-5.00", "T3", "ALDI"),
      ("20260104", "-6.00", "T3", "LIDL")]),
])
@pytest.mark.parametrize("newest_first", [False, True])
def test_a_file_stored_when_a_repeated_id_was_named_with_its_number_adds_nothing_again(
        api, alice, name, stored, again, newest_first):
    # given a file whose second row under one id was stored as "T3#2"
    upload(api, name, stored, options=X_NAMED)

    # when it is imported again, in either order
    rows = again[::-1] if newest_first else again
    data = IDS + b"".join(rows) if name.endswith(".csv") else ofx_of(*rows)
    response = upload(api, name, data, options=X_NAMED).json()

    # then nothing is added
    assert response["created"] == 0
    assert described(alice) == JANUARY_DESCRIBED


def test_a_name_given_before_names_had_accounts_of_their_own_finds_its_account(api, alice):
    from accounts.models import FinancialAccount

    # As imports under a name were stored until December 2026: in the format's one
    # account ("csv"), which took the name.
    data = (FIXTURES / "imports" / "chase_checking.csv").read_bytes()
    first = upload(api, "chase.csv", data).json()
    FinancialAccount.objects.filter(user=alice, external_id="csv").update(name="Chase")

    again = upload(api, "chase.csv", data, options='{"account_name": "chase"}').json()

    assert (again["created"], again["duplicates"]) == (0, first["created"])
    assert list(FinancialAccount.objects.filter(user=alice).values_list("name", flat=True)) == [
        "Chase"]


def test_a_file_over_the_size_cap_is_refused(api, settings):
    settings.IMPORT_MAX_BYTES = 100

    response = upload(api, "bank_v2.ofx")

    assert response.status_code == 400
    assert "limit" in response.json()["error"]["message"]


def test_a_big_file_is_imported_in_the_background_and_polled(api, alice, settings):
    settings.IMPORT_INLINE_MAX_ROWS = 1

    response = upload(api, "two_accounts.ofx")

    assert response.status_code == 202
    job_id = response.json()["id"]
    polled = api.get(f"/api/v1/imports/{job_id}/").json()
    assert polled["status"] == "succeeded"  # the eager worker already ran it
    assert polled["created"] == Transaction.objects.filter(user=alice).count() > 0
    assert api_client_for(None).get(f"/api/v1/imports/{job_id}/").status_code == 401


@pytest.fixture
def queued_job(api, alice, settings, monkeypatch):
    """An import queued for the worker, which has not run it yet."""
    from transactions import tasks

    settings.IMPORT_INLINE_MAX_ROWS = 1
    monkeypatch.setattr(tasks.import_file, "delay", lambda job_id: None)
    job_id = upload(api, "two_accounts.ofx").json()["id"]
    return ImportJob.objects.get(pk=job_id)


def _ingest_raising(monkeypatch, exc):
    from transactions.services import imports

    def fail(**kwargs):
        raise exc

    monkeypatch.setattr(imports, "transactions_ingest", fail)


def test_a_queued_import_that_hits_an_error_ends_failed_with_a_reason(
        queued_job, monkeypatch, caplog):
    from django.db import DataError

    from transactions.services.imports import import_execute

    _ingest_raising(monkeypatch, DataError("numeric field overflow"))
    with pytest.raises(DataError):  # raised, for the worker's log
        import_execute(job_id=queued_job.pk, final_attempt=False)

    queued_job.refresh_from_db()
    assert queued_job.status == "failed" and "error on our side" in queued_job.error
    assert not Transaction.objects.exists()
    assert f"import {queued_job.pk} failed" in caplog.text


def test_a_queued_import_retries_an_unavailable_database_then_ends_failed(
        queued_job, monkeypatch):
    from django.db import OperationalError

    from transactions.services.imports import import_execute

    _ingest_raising(monkeypatch, OperationalError("server closed the connection"))
    with pytest.raises(OperationalError):
        import_execute(job_id=queued_job.pk, final_attempt=False)
    queued_job.refresh_from_db()
    assert queued_job.status == "queued"  # back in the queue, for the retry to claim

    with pytest.raises(OperationalError):
        import_execute(job_id=queued_job.pk, final_attempt=True)
    queued_job.refresh_from_db()
    assert queued_job.status == "failed" and "upload the file again" in queued_job.error


def test_a_job_another_worker_holds_is_left_to_it_until_its_lease_runs_out(
        queued_job, settings):
    from datetime import timedelta

    from django.utils import timezone

    from transactions.services.imports import import_execute

    taken = timezone.now()
    ImportJob.objects.filter(pk=queued_job.pk).update(status="running", started_at=taken)
    import_execute(job_id=queued_job.pk)  # a second message for the job
    assert not Transaction.objects.exists()
    # a job running since before leases were recorded: left alone as long as a lease
    ImportJob.objects.filter(pk=queued_job.pk).update(started_at=None)
    import_execute(job_id=queued_job.pk)
    assert not Transaction.objects.exists()

    lapsed = taken - timedelta(seconds=settings.REFRESH_LEASE_SECONDS + 1)
    ImportJob.objects.filter(pk=queued_job.pk).update(started_at=lapsed)  # its worker died
    import_execute(job_id=queued_job.pk)
    queued_job.refresh_from_db()
    assert queued_job.status == "succeeded" and queued_job.created == Transaction.objects.count() > 0


def test_imports_whose_message_was_lost_are_enqueued_again(
        api, alice, settings, monkeypatch):
    from datetime import timedelta

    from django.utils import timezone

    from transactions import tasks
    from transactions.services.imports import import_requeue_stale

    settings.IMPORT_INLINE_MAX_ROWS = 1
    sent = []
    monkeypatch.setattr(tasks.import_file, "delay", sent.append)
    ids = [upload(api, name).json()["id"] for name in ("two_accounts.ofx", "bank_v2.ofx",
                                                        "bank_sgml_cp1252.ofx")]
    old = timezone.now() - timedelta(hours=2)
    lost, fresh, died = ids
    ImportJob.objects.filter(pk=lost).update(created_at=old)
    ImportJob.objects.filter(pk=died).update(created_at=old, status="running", started_at=old)
    sent.clear()

    assert import_requeue_stale(older_than_seconds=3600) == 2
    assert sorted(sent) == sorted([lost, died])
    tasks.import_file.run(lost)  # the worker, at last
    assert ImportJob.objects.get(pk=lost).status == "succeeded"
    sent.clear()
    assert import_requeue_stale(older_than_seconds=3600) == 1 and sent == [died]
    assert fresh not in sent


def test_a_queued_import_into_an_account_unlinked_before_it_ran_fails_and_files_nothing(
        api, alice, settings, monkeypatch):
    from accounts.models import FinancialAccount
    from transactions import tasks
    from transactions.services.imports import import_execute

    settings.IMPORT_INLINE_MAX_ROWS = 1
    monkeypatch.setattr(tasks.import_file, "delay", lambda job_id: None)
    account = FinancialAccountFactory(connection__user=alice)
    job_id = upload(api, "bank_v2.ofx", account=account.id).json()["id"]
    assert api.delete(f"/api/v1/accounts/{account.connection.pk}/").status_code == 204

    import_execute(job_id=job_id)

    job = api.get(f"/api/v1/imports/{job_id}/").json()
    assert job["status"] == "failed" and "unlinked" in job["error"]
    assert not FinancialAccount.objects.filter(user=alice).exists()
    assert not Transaction.objects.exists()


def test_an_import_that_fails_while_writing_leaves_no_job_behind(api, alice, monkeypatch):
    _ingest_raising(monkeypatch, ValueError("a bug"))
    api.raise_request_exception = False

    response = upload(api, "two_accounts.ofx")

    assert response.status_code == 500
    assert not ImportJob.objects.exists() and not RawDump.objects.exists()


def test_bob_cannot_see_alices_import(api, bob):
    job_id = upload(api, "bank_v2.ofx").json()["id"]

    assert api_client_for(bob).get(f"/api/v1/imports/{job_id}/").status_code == 404


@hsettings(max_examples=40, deadline=None,
           suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(blob=st.binary(max_size=400), name=st.sampled_from(["a.ofx", "a.csv", "a.qif", "a.bin"]))
def test_any_upload_is_a_201_or_a_400_never_a_server_error(api, alice, blob, name):
    before = Transaction.objects.count()

    response = upload(api, name, data=blob)

    assert response.status_code in (201, 400)
    if response.status_code == 400:
        assert Transaction.objects.count() == before


def test_a_late_failure_never_overwrites_an_import_another_worker_finished(api, alice,
                                                                          settings, monkeypatch):
    from transactions import tasks
    from transactions.services import imports

    settings.IMPORT_INLINE_MAX_ROWS = 1
    monkeypatch.setattr(tasks.import_file, "delay", lambda job_id: None)
    job_id = upload(api, "bank_v2.ofx").json()["id"]
    imports.import_execute(job_id=job_id)  # the first delivery finishes it
    stale = ImportJob.objects.get(pk=job_id)
    stale.status = ImportJob.Status.RUNNING  # as a second delivery read it, before that

    imports._fail(stale, "the second delivery's error")

    job = ImportJob.objects.get(pk=job_id)
    assert job.status == ImportJob.Status.SUCCEEDED and job.error == ""


def test_a_queued_import_shows_its_progress_while_it_runs(queued_job, api, client, alice,
                                                          monkeypatch):
    """Its rows go in one transaction, invisible until the commit: the count of rows
    written goes through the cache, for the API and the import page to show."""
    from transactions.services import imports, ingest
    from transactions.services.imports import import_execute

    monkeypatch.setattr(ingest, "BATCH_SIZE", 2)
    seen, pages = [], []
    set_progress = imports._progress_set

    def watched(job_id, done, total):
        set_progress(job_id, done, total)
        seen.append(api.get(f"/api/v1/imports/{job_id}/").json()["progress"])
        client.force_login(alice)
        pages.append(client.get(f"/import/{job_id}/").content.decode())

    monkeypatch.setattr(imports, "_progress_set", watched)
    before = api.get(f"/api/v1/imports/{queued_job.pk}/").json()

    import_execute(job_id=queued_job.pk)

    assert before["status"] == "queued" and before["progress"] is None
    total = seen[0]["total"]
    assert total > 2
    assert [p["done"] for p in seen] == [0, *range(2, total, 2), total][: len(seen)]
    assert seen[-1] == {"done": total, "total": total}
    assert {p["total"] for p in seen} == {total}
    assert f"{total} of {total}</span> transactions written" in pages[-1]
    after = api.get(f"/api/v1/imports/{queued_job.pk}/").json()
    assert after["status"] == "succeeded" and after["progress"] is None


def test_a_file_the_reader_negated_replays_as_it_was_read(api, alice, bob):
    """An Amex export is negated because its header says so; the stored file, read again
    to rebuild monthly spending, must be read the same way, and so must a file imported
    before the reader made that choice (as it was read then: not negated)."""
    from budgets.services.recompute import spending_recompute
    from tests.test_csv_import_quirks import AMEX_SHORT

    response = upload(api, "activity.csv", AMEX_SHORT)

    assert response.status_code == 201
    job = ImportJob.objects.get(pk=response.json()["id"])
    assert job.options["negate"] is True and job.options["day_first"] is False
    assert sorted(Transaction.objects.filter(user=alice).values_list("amount", flat=True)) == [
        Decimal("-412.60"), Decimal("500.00")]
    assert spending_recompute(user_id=alice.id, from_raw=True, dry_run=True).differences == {}

    # Bob's import from before: read as given, its options saying nothing of negate
    older = upload(api_client_for(bob), "activity.csv", AMEX_SHORT, options='{"negate": false}')
    ImportJob.objects.filter(pk=older.json()["id"]).update(options={})
    assert sorted(Transaction.objects.filter(user=bob).values_list("amount", flat=True)) == [
        Decimal("-500.00"), Decimal("412.60")]
    assert spending_recompute(user_id=bob.id, from_raw=True, dry_run=True).differences == {}


def test_a_stored_file_the_reader_now_refuses_stops_the_rebuild_from_the_dumps(api, alice):
    """A file read once that today's stricter reader refuses (an unclosed quote used to
    swallow the rest of the file) must not stop the rebuild of anyone's spending."""
    from budgets.services.recompute import spending_recompute

    response = upload(api, "plain.csv", b"Date,Description,Amount\n2024-03-03,SHOP,-3.00\n")
    job = ImportJob.objects.get(pk=response.json()["id"])
    from transactions.objectstore import get_store

    store = get_store()
    broken = job.dump.key + "-broken"
    store.put_new(broken, b'Date,Description,Amount\n2024-03-03,"SHOP,-3.00\n', "text/csv")
    RawDump.objects.filter(pk=job.dump_id).update(key=broken)

    from budgets.services.recompute import current_totals

    before = current_totals(alice.id)
    result = spending_recompute(user_id=alice.id, from_raw=True)

    # its rows are still there: replayed without them the table would lose their money
    assert result.unreadable_dumps == 1 and not result.written
    assert current_totals(alice.id) == before != {}


CHASE_HEADER = "Transaction Date,Post Date,Description,Category,Type,Amount,Memo"


def chase(*rows: str) -> bytes:
    return "\n".join([CHASE_HEADER, *rows, ""]).encode()


def test_a_pending_charge_that_posts_with_a_tip_leaves_when_the_next_file_covers_its_day(
        api, alice):
    first = upload(api, "card.csv", chase("03/20/2024,,OLIVE GARDEN 55,Food & Drink,Sale,-50.00,",
                                          "03/21/2024,03/21/2024,SHELL 123,Gas,Sale,-40.00,"),
                   options='{"account_name": "Sapphire"}')
    assert first.json()["created"] == 2
    assert Transaction.objects.filter(user=alice, pending=True).count() == 1

    # the next export: the weeks around it, the charge posted with a tip (another amount,
    # dated by its post date)
    second = upload(api, "card.csv", chase(
        "03/14/2024,03/15/2024,TARGET 0042,Shopping,Sale,-9.00,",
        "03/20/2024,03/22/2024,OLIVE GARDEN 55,Food & Drink,Sale,-60.00,",
        "03/21/2024,03/21/2024,SHELL 123,Gas,Sale,-40.00,"),
        options='{"account_name": "Sapphire"}')

    assert second.status_code == 201
    rows = Transaction.objects.filter(user=alice).order_by("amount")
    assert [(t.amount, t.pending) for t in rows] == [
        (Decimal("-60.00"), False), (Decimal("-40.00"), False), (Decimal("-9.00"), False)]
    spent = sum(m.total for m in MonthlySpending.objects.filter(user=alice))
    assert spent == Decimal("-109.00")


def test_a_pending_charge_that_posts_with_a_tip_in_the_next_months_file_leaves(api, alice):
    # given March's export, its last charge still pending
    upload(api, "revolut.csv", REVOLUT + (
        b"CARD_PAYMENT,2026-03-02 10:00:00,2026-03-03 10:00:00,Shell,-40.00,USD,COMPLETED\n"
        b"CARD_PAYMENT,2026-03-30 18:00:00,,Joes Diner,-50.00,USD,PENDING\n"),
        options=REVOLUT_NAMED)

    # when April's export, from April 1, has it posted with a tip
    upload(api, "revolut.csv", REVOLUT + (
        b"CARD_PAYMENT,2026-03-30 18:00:00,2026-04-01 10:00:00,Joes Diner,-60.00,USD,COMPLETED\n"
        b"CARD_PAYMENT,2026-04-10 10:00:00,2026-04-11 10:00:00,Shell,-40.00,USD,COMPLETED\n"),
        options=REVOLUT_NAMED)

    # then the pending row is gone, its spending with it
    assert stored_rows(alice) == [("2026-03-03", Decimal("-40.00"), False),
                                  ("2026-04-01", Decimal("-60.00"), False),
                                  ("2026-04-11", Decimal("-40.00"), False)]
    spent = sum(m.total for m in MonthlySpending.objects.filter(user=alice))
    assert spent == Decimal("-140.00")


def test_a_pending_row_before_the_next_files_days_stays_when_only_its_pending_rows_show(
        api, alice):
    # given a pending charge on March 30
    upload(api, "card.csv", chase("03/30/2024,,OLIVE GARDEN 55,Food & Drink,Sale,-50.00,"),
           options='{"account_name": "Sapphire"}')

    # when the next file, from April 1, shows pending rows but nothing of that seller
    upload(api, "card.csv", chase("04/01/2024,,CVS 7781,Health,Sale,-5.00,"),
           options='{"account_name": "Sapphire"}')

    # then it stays: that file does not cover its day
    assert sorted(Transaction.objects.filter(user=alice, pending=True)
                  .values_list("description", flat=True)) == ["CVS 7781", "OLIVE GARDEN 55"]


def test_a_pending_row_outside_the_next_files_days_or_in_a_chosen_account_stays(api, alice):
    upload(api, "card.csv", chase("03/20/2024,,OLIVE GARDEN 55,Food & Drink,Sale,-50.00,"),
           options='{"account_name": "Sapphire"}')
    account = Transaction.objects.get(user=alice).account

    later = upload(api, "card.csv", chase("03/25/2024,03/25/2024,SHELL 123,Gas,Sale,-40.00,"),
                   options='{"account_name": "Sapphire"}')
    chosen = upload(api, "card.csv", chase("03/01/2024,03/01/2024,TARGET,Shop,Sale,-9.00,",
                                           "03/31/2024,03/31/2024,TARGET,Shop,Sale,-8.00,"),
                    account=account.pk)

    assert later.status_code == chosen.status_code == 201
    assert Transaction.objects.filter(user=alice, pending=True).count() == 1


def test_a_posted_only_file_covering_a_pending_rows_day_takes_nothing_away(api, alice):
    """Many banks' downloads leave pending rows out: a later file without the pending row,
    and without a posted row of its seller, is no sign that it went."""
    upload(api, "card.csv", chase("03/20/2024,,OLIVE GARDEN 55,Food & Drink,Sale,-50.00,",
                                  "03/21/2024,03/21/2024,SHELL 123,Gas,Sale,-40.00,"),
           options='{"account_name": "Sapphire"}')

    posted_only = upload(api, "card.csv", chase(
        "03/19/2024,03/19/2024,TARGET 0042,Shopping,Sale,-9.00,",
        "03/22/2024,03/22/2024,CVS 7781,Health,Sale,-5.00,"),
        options='{"account_name": "Sapphire"}')

    assert posted_only.status_code == 201
    assert list(Transaction.objects.filter(user=alice, pending=True)
                .values_list("amount", flat=True)) == [Decimal("-50.00")]


def test_a_file_that_shows_pending_rows_takes_away_those_it_no_longer_shows(api, alice):
    upload(api, "card.csv", chase("03/20/2024,,OLIVE GARDEN 55,Food & Drink,Sale,-50.00,"),
           options='{"account_name": "Sapphire"}')

    upload(api, "card.csv", chase("03/19/2024,03/19/2024,TARGET 0042,Shopping,Sale,-9.00,",
                                  "03/22/2024,,CVS 7781,Health,Sale,-5.00,"),
           options='{"account_name": "Sapphire"}')

    assert list(Transaction.objects.filter(user=alice, pending=True)
                .values_list("description", flat=True)) == ["CVS 7781"]

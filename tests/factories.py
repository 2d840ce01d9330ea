import factory

from accounts.crypto import encrypt_credentials
from accounts.models import Connection, FinancialAccount, User


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("email",)
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    @factory.post_generation
    def password(self, create, extracted, **kwargs):
        self.set_password(extracted or "correct-horse-battery")
        if create:
            self.save(update_fields=["password"])


class ConnectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Connection

    user = factory.SubFactory(UserFactory)
    provider = Connection.Provider.SANDBOX
    url = "sandbox://demo"
    institution = "Mint Demo Bank"
    secret = factory.LazyFunction(lambda: encrypt_credentials(login="demo", password="pw"))


class FinancialAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FinancialAccount

    connection = factory.SubFactory(ConnectionFactory)
    user = factory.SelfAttribute("connection.user")
    external_id = factory.Sequence(lambda n: f"acct-{n}")
    name = "Checking"


def ingest_statement(user, connection, records, account=None):
    """Writes parsed records as the pipeline does (a raw dump row, then the rows) in one
    transaction; accounts come from the records' ``account_external_id`` ("chk")."""
    import uuid

    from django.db import transaction

    from accounts.providers import AccountRecord, Statement
    from transactions.models import RawDump
    from transactions.services.ingest import transactions_ingest

    dump = RawDump.objects.create(user=user, connection=connection,
                                  key=f"k/{user.id}/{uuid.uuid4().hex}",
                                  media_type="application/json", size=1, sha256="0")
    statement = Statement(accounts=[AccountRecord(external_id="chk", name="Checking")],
                          transactions=records, cursor="x")
    with transaction.atomic():
        return transactions_ingest(user=user, connection=connection, statement=statement,
                                   dump=dump, account=account)


def form_csrf_token(page: str, action: str):
    """The CSRF token input of the page's form posting to ``action`` (a match whose group 1
    is the token), or None when that form carries none."""
    import re

    return re.search(rf'action="{re.escape(action)}"[^>]*>\s*<input type="hidden" '
                     r'name="csrfmiddlewaretoken" value="([^"]+)"', page)


def top_category(name: str):
    """One of Mint's shared top-level categories, by name."""
    from categories.models import Category

    return Category.objects.get(user=None, parent=None, name=name)


def sub_category(name: str):
    """One of Mint's shared sub-categories, by name."""
    from categories.models import Category

    return Category.objects.get(user=None, name=name, parent__isnull=False)


def spend(user, month, category, amount, count: int = 1) -> None:
    """Sets a user's monthly spending in a category (negative: money out) directly."""
    from decimal import Decimal

    from budgets.models import MonthlySpending

    MonthlySpending.objects.update_or_create(
        user=user, month=month, category=category,
        defaults={"total": Decimal(amount), "count": count},
    )

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

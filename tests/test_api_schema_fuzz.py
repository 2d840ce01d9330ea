"""Every operation of the published OpenAPI schema, fuzzed by Schemathesis: generated
requests (valid and invalid) against the in-process WSGI app, as a signed-in user who
has linked the demo bank (a year of transactions). No answer may be a server error, and every answer
must match what the schema says (status codes, content type, body).

20 requests per operation in the suite; ``API_FUZZ_EXAMPLES=500`` searches deeper."""

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from mint.wsgi import application
from tests.conftest import api_client_for
from tests.factories import UserFactory

schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", application)


# Every check of an answer. Not those of the request: "schema-valid request rejected"
# (the schema cannot say which cursors this API gave, that a password must not be all
# digits or that a category id must exist) and "schema-violating request accepted" (the
# API is lenient on purpose: an empty query parameter means "not given", a decimal may
# come as a JSON number, form encodings are read though only JSON is documented).
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]


@pytest.fixture
def signed_in(db, taxonomy, object_store):
    """A user with something to read: the demo bank linked (its year of transactions).
    Returns the headers of its calls: the Authorization, and no compression (the WSGI
    transport hands schemathesis the gzipped bytes as they are, where an HTTP client
    would unpack them)."""
    user = UserFactory()
    client = api_client_for(user)
    assert client.post("/api/v1/accounts/", {"provider": "sandbox", "account_url": "sandbox://demo",
                                             "account_login": "fuzz"}, format="json").status_code in (200, 201, 202)
    return {"Authorization": client._credentials["HTTP_AUTHORIZATION"],
            "Accept-Encoding": "identity"}


@pytest.fixture
def one_db_connection(signed_in):
    """Schemathesis calls the WSGI app directly, not through Django's test client, which
    keeps Django from closing the database connection at each request: on PostgreSQL
    that closed the test's connection, transaction and all. Done here as the client does
    (after ``signed_in``: the test client connects the receiver again after each call)."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(max_examples=int(os.environ.get("API_FUZZ_EXAMPLES", "20")), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
def test_the_api_answers_as_its_schema_says(case, signed_in, one_db_connection):
    case.call_and_validate(headers=signed_in, checks=CHECKS)

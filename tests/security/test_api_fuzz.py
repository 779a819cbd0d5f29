"""Fuzz the REST API from its own OpenAPI schema with schemathesis, in process over WSGI.

Each operation gets a bounded number of generated requests (FUZZ_EXAMPLES, default 25),
sent with a moderator's token so the write paths run too. No response may be a 5xx, and
each must match the schema (status code documented, body shaped as declared).

schemathesis' own pytest plugin does not work with pytest 9 (it rewrites a node attribute
pytest no longer has), so the operations are parametrised here and each one is driven
through schemathesis' Python API: ``operation.as_strategy()`` with a Hypothesis ``@given``.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode
from schemathesis.checks import negative_data_rejection, positive_data_acceptance

from tests.factories import ModeratorFactory, VerdictFactory

FUZZ_EXAMPLES = int(os.environ.get("TAGLENS_FUZZ_EXAMPLES", "25"))


def operation_labels() -> list[str]:
    """``METHOD /path`` of every operation in the schema, read without an HTTP round trip."""
    import django

    django.setup()
    from drf_spectacular.generators import SchemaGenerator

    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    return [f"{method.upper()} {path}" for path, item in paths.items() for method in item]


@pytest.fixture
def moderator_token(db) -> str:  # type: ignore[no-untyped-def]
    VerdictFactory()  # something to read, override and page through
    return Token.objects.create(user=ModeratorFactory()).key


@pytest.fixture
def _keep_test_connection() -> Any:
    """Requests go straight to the WSGI app, whose request signals would close the database
    connection that holds the test's transaction (fatal on PostgreSQL). Django's test client
    disconnects the same handler for the same reason."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def api_schema(db, settings, moderator_token: str, _keep_test_connection: None) -> Any:  # type: ignore[no-untyped-def]
    from config.wsgi import application

    # The fuzzer is one client sending many requests: throttles would only answer 429.
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"search_anon": "100000/minute", "search_user": "100000/minute"},
    }
    settings.TAGLENS_UPLOADS_PER_HOUR = 0
    schema = schemathesis.openapi.from_wsgi("/api/schema/", application)

    # Registered as schemathesis auth (not plain headers) so its auth checks can take the
    # token away or spoil it and expect 401/403.
    class ModeratorToken:
        def get(self, case: Any, ctx: Any) -> str:
            return moderator_token

        def set(self, case: Any, data: str, ctx: Any) -> None:
            case.headers = {**(case.headers or {}), "Authorization": f"Token {data}"}

    schema.auth(refresh_interval=None)(ModeratorToken)
    return schema


def test_the_schema_lists_the_operations_worth_fuzzing() -> None:
    labels = operation_labels()
    assert "GET /api/search/" in labels
    assert "POST /api/posts/" in labels
    assert "PATCH /api/posts/{id}/" in labels
    assert len(labels) >= 20


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize("label", operation_labels())
def test_the_api_answers_generated_requests_without_error_and_as_documented(
    api_schema: Any, label: str, mode: GenerationMode
) -> None:
    operation = api_schema.find_operation_by_label(label)
    raw = operation.definition.raw
    if mode is GenerationMode.NEGATIVE and not (raw.get("parameters") or raw.get("requestBody")):
        pytest.skip(f"{label} takes no parameters or body: there is no input to spoil")

    @given(case=operation.as_strategy(generation_mode=mode, auth_storage=api_schema.auth))
    @settings(
        max_examples=FUZZ_EXAMPLES,
        deadline=None,
        database=None,  # no .hypothesis/ folder in the checkout
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        # Schema-valid input may still break a rule the schema cannot express (the rule
        # grammar, the hashtag alphabet, an image's bytes): a 400 saying so is right. And
        # the API is lenient on purpose where DRF is (unknown fields are ignored, an empty
        # ?page= is the first page), so schema-violating input need not always be refused.
        # What is always checked: no 5xx, documented status codes, content types and bodies.
        case.call_and_validate(excluded_checks=[positive_data_acceptance, negative_data_rejection])

    run()

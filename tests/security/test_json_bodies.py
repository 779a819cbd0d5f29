"""Every JSON endpoint in the OpenAPI schema answers a deeply nested body (~1,100 levels,
which makes Python's JSON decoder raise RecursionError) and a malformed one with 400, and
changes nothing."""

from __future__ import annotations

import re
from typing import Any

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from moderation.judging.overrides import verdict_override
from moderation.models import AuditEvent, Concept, KeywordMapping, Rule, Verdict
from tests.factories import ModeratorFactory, PostFactory, VerdictFactory

pytestmark = pytest.mark.django_db

NESTED = b"[" * 1100 + b"]" * 1100
NESTED_IN_OBJECT = b'{"reason": ' + b'{"a": ' * 1100 + b"1" + b"}" * 1100 + b"}"
MALFORMED = b'{"caption": "unfinished'


@pytest.fixture
def moderator_api(settings) -> tuple[APIClient, dict[str, int]]:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    moderator = ModeratorFactory()
    post = PostFactory(author=moderator)
    verdict = VerdictFactory(post=post)
    verdict_override(verdict=verdict, relevant=True, by=moderator, note="", reason="")
    ids = {
        "posts": post.pk,
        "verdicts": verdict.pk,
        "concepts": Concept.objects.order_by("pk").first().pk,  # type: ignore[union-attr]
        "rules": Rule.objects.order_by("pk").first().pk,  # type: ignore[union-attr]
        "keywords": KeywordMapping.objects.order_by("pk").first().pk,  # type: ignore[union-attr]
        "audit": AuditEvent.objects.order_by("pk").first().pk,  # type: ignore[union-attr]
    }
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=moderator).key}")
    return api, ids


def json_operations(api: APIClient, ids: dict[str, int]) -> list[tuple[str, str]]:
    schema = api.get("/api/schema/", {"format": "json"}).json()
    found = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" not in content:
                continue
            collection = path.split("/")[2]
            url = re.sub(r"\{[^}]+\}", str(ids.get(collection, 1)), path)
            found.append((method, url))
    return found


def send(api: APIClient, method: str, url: str, body: bytes) -> Any:
    return getattr(api, method)(url, data=body, content_type="application/json")


def test_the_schema_lists_the_json_endpoints_the_walk_covers(moderator_api) -> None:
    api, ids = moderator_api
    operations = json_operations(api, ids)
    assert ("post", "/api/auth/token/") in operations
    assert ("patch", f"/api/posts/{ids['posts']}/") in operations
    assert ("post", f"/api/verdicts/{ids['verdicts']}/override/") in operations
    assert len(operations) >= 10


@pytest.mark.parametrize("body", [NESTED, NESTED_IN_OBJECT], ids=["array", "object"])
def test_a_deeply_nested_body_is_a_400_on_every_json_endpoint(moderator_api, body: bytes) -> None:
    api, ids = moderator_api
    before = (Rule.objects.count(), Concept.objects.count(), AuditEvent.objects.count())
    for method, url in json_operations(api, ids):
        response = send(api, method, url, body)
        assert response.status_code == 400, (method, url, response.status_code)
        assert "nested more than" in response.json()["detail"], (method, url)
    assert (Rule.objects.count(), Concept.objects.count(), AuditEvent.objects.count()) == before


def test_a_malformed_body_is_a_400_on_every_json_endpoint(moderator_api) -> None:
    api, ids = moderator_api
    for method, url in json_operations(api, ids):
        response = send(api, method, url, MALFORMED)
        assert response.status_code == 400, (method, url, response.status_code)
        assert "JSON parse error" in response.json()["detail"], (method, url)


def test_an_anonymous_nested_body_to_the_token_endpoint_is_a_400_not_a_500(client) -> None:
    response = client.post("/api/auth/token/", data=NESTED, content_type="application/json")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"


def test_brackets_inside_strings_do_not_count_as_nesting(moderator_api) -> None:
    api, ids = moderator_api
    note = "[" * 2000
    response = api.post(
        f"/api/verdicts/{ids['verdicts']}/override/",
        {"relevant": False, "note": note[:200], "reason": ""},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert Verdict.objects.get(pk=ids["verdicts"]).override is False

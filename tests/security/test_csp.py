"""Every page carries a Content-Security-Policy that allows scripts and styles only from this
site, and no page of ours needs an inline script (the browser test checks they still work)."""

from __future__ import annotations

import re

import pytest

from tests.factories import ModeratorFactory, VerdictFactory

pytestmark = pytest.mark.django_db

# A script element that runs (JSON data blocks do not, and CSP leaves them alone).
INLINE_SCRIPT = re.compile(
    r'<script(?![^>]*\b(?:src=|type="application/json"))[^>]*>', re.IGNORECASE
)
INLINE_STYLE = re.compile(r"<style\b", re.IGNORECASE)


def policy(response) -> dict[str, str]:  # type: ignore[no-untyped-def]
    header = response["Content-Security-Policy"]
    return {
        part.split()[0]: " ".join(part.split()[1:]) for part in header.split(";") if part.strip()
    }


def test_the_policy_allows_scripts_and_styles_only_from_this_site(client) -> None:
    directives = policy(client.get("/"))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'" and directives["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in directives["script-src"]


def test_every_kind_of_page_carries_the_policy_and_no_inline_script_or_style_block(
    client,
) -> None:
    verdict = VerdictFactory()
    client.force_login(ModeratorFactory(is_staff=True))
    for url in [
        "/",
        f"/explore/tags/{verdict.hashtag.name}/",
        f"/p/{verdict.post_id}/",
        "/upload/",
        "/admin/",
        "/admin/posts/post/",
        "/admin/moderation/review/",
        "/admin/moderation/dashboard/",
        "/api/docs/",
        "/api/posts/",
        "/health/",
    ]:
        response = client.get(url, HTTP_ACCEPT="text/html")
        assert response.status_code == 200, url
        assert "script-src 'self'" in response["Content-Security-Policy"], url
        body = response.content.decode()
        assert not INLINE_SCRIPT.search(body), (url, INLINE_SCRIPT.search(body))
        assert not INLINE_STYLE.search(body), url


def test_swagger_ui_is_served_from_this_site_not_a_cdn(client) -> None:
    body = client.get("/api/docs/").content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', body)
    assert any("swagger-ui-bundle.js" in s for s in sources)
    assert all(s.startswith("/") for s in sources), sources

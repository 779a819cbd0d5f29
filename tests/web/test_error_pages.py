"""Missing pages and server errors get the site's own pages, not Django's bare ones."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import path

from posts.models import Post

pytestmark = pytest.mark.django_db


def test_a_missing_page_and_a_missing_post_get_the_sites_404(client: Client) -> None:
    for url in (
        "/nope/",
        f"/p/{(Post.objects.order_by('-pk').values_list('pk', flat=True).first() or 0) + 1}/",
    ):
        response = client.get(url)
        assert response.status_code == 404
        body = response.content.decode()
        assert "Page not found" in body and 'href="/"' in body, url
        assert "URLconf" not in body  # no debug listing of the URL patterns


def boom(request):  # type: ignore[no-untyped-def]
    raise RuntimeError("a bug")


urlpatterns = [path("boom/", boom)]


@pytest.mark.urls(__name__)
def test_a_server_error_gets_the_sites_500_page() -> None:
    response = Client(raise_request_exception=False).get("/boom/")
    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()

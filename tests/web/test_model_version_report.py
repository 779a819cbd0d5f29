"""The admin shows a version's stored cross-validation report, per concept and per hashtag."""

from __future__ import annotations

from html import unescape

import numpy as np
import pytest
from django.urls import reverse

from mlmodels.training.crossval import cross_validate
from moderation.ingest.model_versions import model_version_register
from moderation.ingest.training import Evaluation
from moderation.rules.starter import CONCEPTS
from tests.factories import ModeratorFactory, PostFactory

pytestmark = pytest.mark.django_db
KEYS = tuple(key for key, *_ in CONCEPTS)


def _cv(seed: int):  # type: ignore[no-untyped-def]
    """A cross-validation of 60 random rows over the starter concepts."""
    rng = np.random.default_rng(seed)
    labels = (rng.uniform(size=(60, len(KEYS))) < 0.3).astype(np.int8)
    return cross_validate(
        rng.normal(size=(60, 6)), [{}] * 60, labels, KEYS,
        groups=np.array([f"repo-{i % 6}" for i in range(60)]), folds=3, inner_folds=2,
        l2_grid=(1.0,),
    )  # fmt: skip


def test_the_version_page_lists_search_precision_per_hashtag(client) -> None:
    cv = _cv(seed=0)
    evaluation = Evaluation.of(cv, None)
    version = model_version_register(
        name="synthetic+heads",
        backbone="fake",
        concepts=list(KEYS),
        heads=b"",
        thresholds={"food": 0.7550994662503308, "adult": 0.5},
        metrics=evaluation.report({"backbone": "fake"}),
        training={"photos": 60, "signal_sources": ["people@v1", "x@v2"], "folders": {"food": 3}},
    )
    client.force_login(ModeratorFactory(is_staff=True))

    page = client.get(reverse("admin:moderation_modelversion_change", args=[version.pk]))

    html = page.content.decode()
    assert "grouped by source" in html
    romance = next(h for h in evaluation.hashtags if h.hashtag == "연애")
    assert "#연애" in html and f"{romance.metrics.precision:.3f}" in html
    assert "gym on photos of people that are not gym photos" in html
    gym = next(c for c in evaluation.checks if c.name.startswith("gym on photos"))
    outcome = "target met" if gym.passed else "target MISSED"
    assert (
        f"gym on photos of people that are not gym photos: {gym.hits} of {gym.n} ({outcome})"
        in html
    )
    assert "food 0.755 · adult 0.500" in html and "0.7550994662503308" not in html
    n = evaluation.cv.adult_child["n"]
    assert f"adult vs child n {n}, accuracy" in html
    for reason in evaluation.missed():
        assert f"<li>{reason}</li>" in unescape(html)
    assert "<strong>signal_sources</strong>: people@v1, x@v2" in html
    assert "<strong>folders</strong>: food 3" in html
    assert 'name="_save"' not in html and 'name="_continue"' not in html  # nothing to save here


def test_the_version_page_names_the_photos_behind_each_hashtags_errors(client) -> None:
    cv, dog = _cv(seed=1), KEYS.index("dog")
    post = PostFactory()
    cv.labels[0] = -1  # an overridden post: only the hidden hashtag's concept is known ...
    cv.labels[0, dog], cv.decisions[0, dog] = 0, True  # ... and it is still shown under #강아지
    files = [f"post:{post.pk}"] + [f"cat/photo-{i}.jpg" for i in range(1, 60)]
    evaluation = Evaluation.of(cv, None, files)
    version = model_version_register(
        name="synthetic+errors", backbone="fake", concepts=list(KEYS), heads=b"",
        thresholds={}, metrics=evaluation.report({}), training={},
    )  # fmt: skip
    client.force_login(ModeratorFactory(is_staff=True))

    html = client.get(reverse("admin:moderation_modelversion_change", args=[version.pk]))
    html = html.content.decode()

    dogs = next(h for h in evaluation.hashtags if h.hashtag == "강아지").metrics
    assert f"#강아지: {dogs.fp} shown wrongly, {dogs.fn} missed</summary>" in html
    link = reverse("admin:posts_post_change", args=[post.pk])
    assert f'shown, not relevant: <a href="{link}">post {post.pk}</a>' in html
    assert "· labelled not dog · decided " in unescape(html)
    listed = [e for e in evaluation.errors if e.file.startswith("cat/")]
    assert listed and all(e.file in html for e in listed)

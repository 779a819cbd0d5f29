"""The admin shows a version's stored cross-validation report, per concept and per hashtag."""

from __future__ import annotations

import numpy as np
import pytest
from django.urls import reverse

from mlmodels.training.crossval import cross_validate
from moderation.ingest.model_versions import model_version_register
from moderation.ingest.training import Evaluation
from moderation.rules.starter import CONCEPTS
from tests.factories import ModeratorFactory

pytestmark = pytest.mark.django_db


def test_the_version_page_lists_search_precision_per_hashtag(client) -> None:
    keys = tuple(key for key, *_ in CONCEPTS)
    rng = np.random.default_rng(0)
    labels = (rng.uniform(size=(60, len(keys))) < 0.3).astype(np.int8)
    cv = cross_validate(
        rng.normal(size=(60, 6)), [{}] * 60, labels, keys,
        groups=np.array([f"repo-{i % 6}" for i in range(60)]), folds=3, inner_folds=2,
        l2_grid=(1.0,),
    )  # fmt: skip
    evaluation = Evaluation.of(cv, None)
    version = model_version_register(
        name="synthetic+heads",
        backbone="fake",
        concepts=list(keys),
        heads=b"",
        thresholds={},
        metrics=evaluation.report({"backbone": "fake"}),
        training={},
    )
    client.force_login(ModeratorFactory(is_staff=True))

    page = client.get(reverse("admin:moderation_modelversion_change", args=[version.pk]))

    html = page.content.decode()
    assert "grouped by source" in html
    romance = next(h for h in evaluation.hashtags if h.hashtag == "연애")
    assert "#연애" in html and f"{romance.metrics.precision:.3f}" in html
    assert "gym on photos of people that are not gym photos" in html

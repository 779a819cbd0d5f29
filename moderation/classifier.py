"""The configured concept classifier, loaded once per process from a dotted path."""

from __future__ import annotations

from django.conf import settings

from mlmodels.base import Classifier, load_classifier


def get_classifier() -> Classifier:
    return load_classifier(settings.TAGLENS_CLASSIFIER, model_dir=str(settings.TAGLENS_MODEL_DIR))

"""The model's command-line face: one JSON line per image, no database rows."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mlmodels.cli import classify_paths
from moderation.ingest.classifier import get_active_classifier
from moderation.selectors.catalog import concept_catalog


class Command(BaseCommand):
    help = "Classify image files or folders and print one JSON line per image."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "paths", nargs="+", help="Image files or folders (searched recursively)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        classifier = get_active_classifier()
        # Thresholds are the moderators' (stored with the concepts), not the model's defaults.
        thresholds = {key: info.threshold for key, info in concept_catalog().items()}
        rows = 0
        for row in classify_paths(options["paths"], classifier, thresholds):
            self.stdout.write(json.dumps(row, ensure_ascii=False))
            rows += 1
        if not rows:  # only empty folders: silence would read as success
            raise CommandError(f"No files found in {', '.join(options['paths'])}.")

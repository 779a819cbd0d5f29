"""Train concept heads on the stored embeddings and register a new model version."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from mlmodels.dataset import source_key
from mlmodels.training.cli import fold_count, precision_target
from mlmodels.training.metrics import PRECISION_TARGET
from moderation.ingest.activation import model_version_activate
from moderation.ingest.classifier import get_backbone, get_signal_sources
from moderation.ingest.training import (
    Evaluation,
    HeadsUnchanged,
    model_version_train,
    training_set_build,
)
from moderation.models import ModelVersion


class Command(BaseCommand):
    help = (
        "Train concept heads from a folder of labelled photos (<concept>/*.jpg) and "
        "moderators' overrides; cross-validate, print the report and register a new, "
        "inactive model version (--activate to switch to it)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--photos",
            type=Path,
            default=None,
            help=f"labelled photo folder (default: {settings.TAGLENS_PHOTOS_DIR} if present)",
        )
        parser.add_argument("--no-photos", action="store_true", help="train on overrides only")
        parser.add_argument("--no-overrides", action="store_true")
        parser.add_argument("--folds", type=fold_count, default=5)
        parser.add_argument("--precision-target", type=precision_target, default=PRECISION_TARGET)
        parser.add_argument("--name", default=None)
        parser.add_argument("--activate", action="store_true")
        parser.add_argument(
            "--if-missing",
            action="store_true",
            help="do nothing when a trained version for the configured backbone and signal "
            "source versions exists "
            "(or, without a photo folder, say what stays unsupported)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["if_missing"]:
            backbone = get_backbone().version
            wanted = sorted(source_key(s) for s in get_signal_sources())
            trained = [
                sorted((v.training or {}).get("signal_sources") or [])
                for v in ModelVersion.objects.filter(
                    kind=ModelVersion.Kind.HEADS, backbone=backbone
                ).only("training")
            ]
            if wanted in trained:
                self.stdout.write("Trained concept heads exist already; not training again.")
                return
            if trained:
                self.stdout.write(
                    "The trained concept heads read other signal versions than these "
                    f"({', '.join(wanted)}): training again."
                )
            photos_dir = options["photos"] or Path(settings.TAGLENS_PHOTOS_DIR)
            if not photos_dir.is_dir():
                self.stdout.write(
                    self.style.WARNING(
                        f"No labelled photos at {photos_dir}: the ImageNet roll-up stays active "
                        "and cannot see adult, child, nail art or clothing (set TAGLENS_PHOTOS "
                        "and run manage.py train_concepts --activate)."
                    )
                )
                return
        photos: Path | None = None
        if not options["no_photos"]:
            photos = options["photos"] or Path(settings.TAGLENS_PHOTOS_DIR)
            if not photos.is_dir():
                raise CommandError(f"{photos} is not a folder (or pass --no-photos).")
        if options["name"] and ModelVersion.objects.filter(name=options["name"]).exists():
            raise CommandError(f"A model version named {options['name']} exists already.")
        try:
            data = training_set_build(photos=photos, include_overrides=not options["no_overrides"])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Training set: {data.counts}")
        bar = tqdm(total=options["folds"], desc="cross-validation", unit="fold")

        def progress(done: int, total: int, what: str) -> None:
            bar.total = total
            bar.update(done - bar.n)

        evaluation: Evaluation | None
        try:
            version, evaluation = model_version_train(
                data=data,
                folds=options["folds"],
                precision_target=options["precision_target"],
                name=options["name"],
                progress=progress,
            )
        except HeadsUnchanged as exc:
            version, evaluation = exc.version, None
            self.stdout.write(self.style.WARNING(str(exc)))
        except ValueError as exc:  # too few sources for the folds
            raise CommandError(str(exc)) from exc
        finally:
            bar.close()
        if evaluation is not None:
            self.stdout.write(evaluation.table())
            for reason in evaluation.missed():
                self.stdout.write(self.style.WARNING(f"target missed: {reason}"))
            self.stdout.write(
                self.style.SUCCESS(
                    f"Registered {version.name} (report in {version.training['report_dir']})."
                )
            )
        if options["activate"] and version.is_active:
            self.stdout.write(f"{version.name} is already active.")
        elif options["activate"]:
            model_version_activate(version=version)
            self.stdout.write("Activated; every post is being rescored from stored embeddings.")

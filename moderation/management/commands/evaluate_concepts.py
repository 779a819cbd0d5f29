"""Per-concept precision, recall, F1 and support on a folder-per-concept photo set."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from mlmodels.base import ALL_CONCEPTS
from mlmodels.training.cli import fold_count, precision_target
from mlmodels.training.deals import deals_json, deals_table
from mlmodels.training.metrics import PRECISION_TARGET, Metrics
from moderation.ingest.classifier import score_embeddings, vector_bytes
from moderation.ingest.training import concepts_evaluate, training_set_build
from moderation.models import Embedding, ModelVersion


class Command(BaseCommand):
    help = (
        "Evaluate concepts on DIR (folders named after concepts: cat, dog, food, other …). "
        "By default heads are trained and measured by cross-validation on DIR, so no photo is "
        "scored by heads that saw it; --model-version NAME instead scores DIR with a stored "
        "version (only honest if DIR was not part of its training). "
        "Writes report.json and chart.png."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("dir", type=Path)
        parser.add_argument("--out", type=Path, default=None)
        parser.add_argument("--folds", type=fold_count, default=5)
        parser.add_argument("--precision-target", type=precision_target, default=PRECISION_TARGET)
        parser.add_argument(
            "--model-version", default=None, help="score with this stored model version"
        )
        parser.add_argument(
            "--seeds",
            type=int,
            nargs="+",
            default=[0],
            help="deal the sources to folds once per seed; more than one adds a table over the "
            "deals (deals.json; the first seed's report in --out, the others' in seed-N/)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        root: Path = options["dir"]
        if not root.is_dir():
            raise CommandError(f"{root} is not a folder.")
        out = options["out"] or Path(settings.VAR_DIR) / "reports" / f"evaluate-{root.name}"
        try:
            data = training_set_build(photos=root, include_overrides=False)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if options["model_version"]:
            self._score_with_version(options["model_version"], data, out)
            return
        deals = []
        for i, seed in enumerate(options["seeds"]):
            try:
                evaluation = concepts_evaluate(
                    data=data,
                    folds=options["folds"],
                    precision_target=options["precision_target"],
                    seed=seed,
                )
            except ValueError as exc:  # too few sources for the folds
                raise CommandError(str(exc)) from exc
            deals.append(evaluation.deal())
            where = out if i == 0 else out / f"seed-{seed}"
            evaluation.write(where, {"dir": str(root), **data.counts})
            if i == 0:
                self.stdout.write(evaluation.table())
                for reason in evaluation.missed():
                    self.stdout.write(self.style.WARNING(f"target missed: {reason}"))
            self.stdout.write(f"Report: {where / 'report.json'}  Chart: {where / 'chart.png'}")
            if evaluation.errors:
                self.stdout.write(f"Each hashtag's wrong photos: {where / 'errors.csv'}")
        if len(deals) > 1:
            self.stdout.write(deals_table(deals))
            (out / "deals.json").write_text(json.dumps(deals_json(deals), ensure_ascii=False))
            self.stdout.write(f"Over the deals: {out / 'deals.json'}")

    def _score_with_version(self, name: str, data: Any, out: Path) -> None:
        version = ModelVersion.objects.filter(name=name).first()
        if version is None:
            raise CommandError(f"No model version named {name}.")
        rows = [
            Embedding(vector=vector_bytes(e), dim=e.size, base_scores={}, signals=s)
            for e, s in zip(data.embeddings, data.signals, strict=True)
        ]
        for row, signals in zip(rows, data.signals, strict=True):
            row.base_scores = {
                k.split(":", 1)[1]: v for k, v in signals.items() if k.startswith("imagenet:")
            }
        scored = score_embeddings(version, rows)
        report: dict[str, Any] = {"version": name, "dir": str(data.counts), "concepts": {}}
        self.stdout.write(f"{'concept':<10} {'P':>6} {'R':>6} {'F1':>6} {'n':>5}")
        for j, concept in enumerate(ALL_CONCEPTS):
            known = data.labels[:, j] >= 0
            if concept not in version.concepts or not known.any():
                continue
            threshold = float(version.thresholds.get(concept, 0.5))
            predicted = np.array([s.get(concept, 0.0) >= threshold for s, _ in scored])[known]
            m = Metrics.of(predicted, data.labels[known, j] == 1)
            report["concepts"][concept] = m.as_dict()
            self.stdout.write(
                f"{concept:<10} {m.precision:6.3f} {m.recall:6.3f} {m.f1:6.3f} {m.support:5d}"
            )
        out.mkdir(parents=True, exist_ok=True)
        (out / "report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False))
        self.stdout.write(f"Report: {out / 'report.json'}")

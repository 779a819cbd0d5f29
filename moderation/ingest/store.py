"""Storing a batch's results: embeddings, then the active version's scores (COPY on PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from django.db import connection
from django.utils import timezone

from mlmodels.base import Classifier, Prediction
from moderation.ingest.classifier import (
    score_embeddings,
    vector_bytes,
)
from moderation.models import Classification, Embedding, ModelVersion


def embedding_row(
    post_id: int,
    prediction: Prediction,
    backbone: Classifier,
    extra: Mapping[str, float],
    versions: Mapping[str, str],
) -> Embedding:
    signals = {**(getattr(prediction, "signals", {}) or {}), **extra}
    return Embedding(
        post_id=post_id,
        backbone=backbone.version,
        vector=vector_bytes(prediction.embedding),
        dim=int(np.size(prediction.embedding)),
        base_scores={k: float(v) for k, v in prediction.scores.items()},
        signals={k: float(v) for k, v in signals.items()},
        signal_versions=dict(versions),
        top_labels=[[name, float(p)] for name, p in prediction.top_labels],
    )


def embeddings_store(
    *,
    predictions: dict[int, Prediction],
    backbone: Classifier,
    extra: Mapping[int, Mapping[str, float]] | None = None,
    versions: Mapping[int, Mapping[str, str]] | None = None,
) -> list[Embedding]:
    """Upsert one embedding per post (by post and backbone), in one statement, with the
    signal sources' ``extra`` signals and the ``versions`` that made them."""
    if not predictions:
        return []
    extra, versions = extra or {}, versions or {}
    rows = [
        embedding_row(post_id, p, backbone, extra.get(post_id, {}), versions.get(post_id, {}))
        for post_id, p in predictions.items()
    ]
    if connection.vendor == "postgresql":
        _embeddings_copy(rows)
        return rows
    Embedding.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["post", "backbone"],
        update_fields=["vector", "dim", "base_scores", "signals", "signal_versions", "top_labels"],
    )
    if all(row.pk is not None for row in rows):
        # The database returns each row's id: no reading back 5 KB vectors.
        return rows
    stored = Embedding.objects.filter(post_id__in=list(predictions), backbone=backbone.version)
    by_post = {e.post_id: e for e in stored}
    return [by_post[post_id] for post_id in predictions]


def _upsert_by_copy(
    rows: list[Embedding] | list[Classification],
    *,
    load: str,
    columns: str,
    values: Callable[[Any], tuple[object, ...]],
    upsert: str,
    params: list[Any],
    returning: bool,
) -> None:
    """PostgreSQL: COPY rows into temp table ``load``, then run ``upsert`` with ``params`` plus
    ``created_at`` as its last placeholder; ``returning``: set the rows' ids by post."""
    if not rows:
        return
    now = timezone.now()
    for row in rows:
        row.created_at = now
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {load} ({columns})")
        cursor.execute(f"TRUNCATE {load}")
        with cursor.cursor.copy(f"COPY {load} FROM STDIN") as copy:
            for row in rows:
                copy.write_row(values(row))
        cursor.execute(upsert + (" RETURNING post_id, id" if returning else ""), [*params, now])
        if not returning:
            return
        ids = dict(cursor.fetchall())
    for row in rows:
        row.pk = ids[row.post_id]
        row._state.adding = False
        row._state.db = connection.alias


def _embeddings_copy(rows: list[Embedding]) -> None:
    """Upsert these rows through COPY and set their ids (see docs/scaling.md on why COPY)."""
    _upsert_by_copy(
        rows,
        load="taglens_embedding_load",
        columns="post_id bigint, backbone text, vector bytea, dim integer, base_scores text, "
        "signals text, signal_versions text, top_labels text",
        values=lambda row: (
            row.post_id,
            row.backbone,
            row.vector,
            row.dim,
            json.dumps(row.base_scores),
            json.dumps(row.signals),
            json.dumps(row.signal_versions),
            json.dumps(row.top_labels),
        ),
        upsert=f"INSERT INTO {connection.ops.quote_name(Embedding._meta.db_table)} (post_id, "
        "backbone, vector, dim, base_scores, signals, signal_versions, top_labels, created_at) "
        "SELECT post_id, backbone, vector, dim, base_scores::jsonb, signals::jsonb, "
        "signal_versions::jsonb, top_labels::jsonb, %s FROM taglens_embedding_load "
        "ON CONFLICT (post_id, backbone) DO UPDATE SET vector = EXCLUDED.vector, "
        "dim = EXCLUDED.dim, base_scores = EXCLUDED.base_scores, signals = EXCLUDED.signals, "
        "signal_versions = EXCLUDED.signal_versions, top_labels = EXCLUDED.top_labels",
        params=[],
        returning=True,
    )


def classifications_compute(
    *, version: ModelVersion, embeddings: list[Embedding], copy: bool = False
) -> list[Classification]:
    """Score embeddings with ``version`` and upsert the result; the rows returned carry their
    ids except with ``copy=True`` (a rescoring's million rows, via PostgreSQL COPY)."""
    rows = [
        Classification(
            post_id=e.post_id,
            model_version=version,
            embedding=e,
            scores=scores,
            unsupported=unsupported,
        )
        for e, (scores, unsupported) in zip(
            embeddings, score_embeddings(version, embeddings), strict=True
        )
    ]
    if connection.vendor == "postgresql":
        _classifications_copy(rows, returning=not copy)
        return rows
    Classification.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["post", "model_version"],
        update_fields=["embedding", "scores", "unsupported"],
    )
    return rows


def _classifications_copy(rows: list[Classification], *, returning: bool) -> None:
    """Upsert these rows (one model version's) through COPY; ``returning``: set their ids."""
    if not rows:
        return
    _upsert_by_copy(
        rows,
        load="taglens_classification_load",
        columns="post_id bigint, embedding_id bigint, scores text, unsupported text",
        values=lambda row: (
            row.post_id,
            row.embedding_id,
            json.dumps(row.scores),
            json.dumps(row.unsupported),
        ),
        upsert=f"INSERT INTO {connection.ops.quote_name(Classification._meta.db_table)} "
        "(post_id, model_version_id, embedding_id, scores, unsupported, created_at) SELECT "
        "post_id, %s, embedding_id, scores::jsonb, unsupported::jsonb, %s FROM "
        "taglens_classification_load ON CONFLICT (post_id, model_version_id) DO UPDATE SET "
        "embedding_id = EXCLUDED.embedding_id, scores = EXCLUDED.scores, "
        "unsupported = EXCLUDED.unsupported",
        params=[rows[0].model_version_id],
        returning=returning,
    )

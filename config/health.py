"""GET /health/: can this deployment do its work? 200 JSON when every check passes, 503 JSON
naming what failed. For load balancers and monitoring; reads nothing a visitor could change."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django_q.brokers import get_broker

from mlmodels.network.modelfiles import ModelFilesMissing, read_manifest
from mlmodels.text.ocr import TesseractReader
from moderation.ingest.classifier import get_backbone


def _database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        row = cursor.fetchone()
    return "" if row and row[0] == 1 else "SELECT 1 gave no answer"


def _cache() -> str:
    # Throttles, lockouts and search counts live here: a write must be readable back.
    key, value = f"health:{uuid.uuid4().hex}", uuid.uuid4().hex
    cache.set(key, value, timeout=10)
    back = cache.get(key)
    cache.delete(key)
    return "" if back == value else "a value written to the cache could not be read back"


def _broker() -> str:
    broker = get_broker()
    return "" if broker.ping() else f"the task broker ({broker.info()}) did not answer"


def _model_files() -> str:
    folder = Path(settings.TAGLENS_MODEL_DIR)
    manifest = read_manifest(folder)
    if manifest is None:
        return f"no model manifest in {folder} (run `make model`)"
    files = manifest.get("files")
    if not isinstance(files, dict) or not files:
        return f"the model manifest in {folder} lists no files"
    missing = [name for name in files if not (folder / name).is_file()]
    if missing:
        return f"missing in {folder}: {', '.join(missing)}"
    check = getattr(get_backbone(), "check_files", None)
    try:
        if check is not None:
            check()
    except ModelFilesMissing as exc:
        return str(exc)
    return ""


def _tesseract() -> str:
    if not settings.TAGLENS_OCR:
        return ""  # reading text is switched off (TAGLENS_OCR=false): nothing to need
    return TesseractReader(timeout=settings.TAGLENS_OCR_TIMEOUT).problem()


CHECKS: dict[str, Callable[[], str]] = {
    "database": _database,
    "cache": _cache,
    "broker": _broker,
    "model_files": _model_files,
    "tesseract": _tesseract,
}


def _run(check: Callable[[], str]) -> str:
    try:
        return check()
    except Exception as exc:  # a failing dependency is the answer, not a 500
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        return f"{type(exc).__name__}: {first_line}"[:300]


@never_cache
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    problems = {name: _run(check) for name, check in CHECKS.items()}
    failed = [name for name, problem in problems.items() if problem]
    return JsonResponse(
        {
            "status": "failing" if failed else "ok",
            "failed": failed,
            "checks": {
                name: {"ok": not problem, **({"problem": problem} if problem else {})}
                for name, problem in problems.items()
            },
        },
        status=503 if failed else 200,
    )

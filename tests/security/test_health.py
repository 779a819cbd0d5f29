"""GET /health/: 200 JSON when the database, cache, broker, model files and Tesseract are all
there; 503 JSON naming what is not."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest
from django.test import override_settings

from mlmodels.text import ocr, tesseract
from mlmodels.text.ocr import TesseractReader
from mlmodels.text.tesseract import TesseractMissing

pytestmark = pytest.mark.django_db


def test_health_answers_200_json_with_every_check_passing(client, settings) -> None:
    settings.TAGLENS_OCR = TesseractReader().available()
    response = client.get("/health/")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ok" and body["failed"] == []
    assert set(body["checks"]) == {"database", "cache", "broker", "model_files", "tesseract"}
    assert all(check["ok"] for check in body["checks"].values())
    assert "no-cache" in response["Cache-Control"]


def test_health_answers_503_naming_missing_model_files(client, settings, tmp_path: Path) -> None:
    settings.TAGLENS_MODEL_DIR = tmp_path / "no-models"
    response = client.get("/health/")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "failing" and body["failed"] == ["model_files"]
    assert "no model manifest" in body["checks"]["model_files"]["problem"]


def test_health_names_a_model_file_the_manifest_lists_but_is_gone(
    client, settings, tmp_path: Path
) -> None:
    (tmp_path / "manifest.json").write_text('{"files": {"net.tflite": "abc"}}')
    settings.TAGLENS_MODEL_DIR = tmp_path
    body = client.get("/health/").json()
    assert "net.tflite" in body["checks"]["model_files"]["problem"]


@pytest.mark.model
def test_health_names_the_pairs_missing_lite0_files_beside_mobilenets(
    client, settings, tmp_path: Path
) -> None:
    built = Path(settings.TAGLENS_MODEL_DIR)
    manifest = json.loads((built / "manifest.json").read_text())
    for name in ["manifest.json", *manifest["files"]]:
        (tmp_path / name).symlink_to(built / name)
    settings.TAGLENS_MODEL_DIR = tmp_path
    settings.TAGLENS_CLASSIFIER = "mlmodels.network.pair.MobileNetV2Lite0Classifier"
    response = client.get("/health/")
    assert response.status_code == 503
    problem = response.json()["checks"]["model_files"]["problem"]
    assert "efficientnet_lite0_int8.tflite" in problem and "mlmodels.build" in problem
    settings.TAGLENS_CLASSIFIER = "mlmodels.network.tf_mobilenet.MobileNetV2Int8RollupClassifier"
    assert client.get("/health/").json()["checks"]["model_files"]["ok"]


def test_health_answers_503_when_the_cache_cannot_be_reached(client) -> None:
    # A port nothing listens on: the connection is refused at once. Scoped to the request,
    # so the fixtures that clear the cache afterwards find the real one again.
    unreachable = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    with override_settings(CACHES=unreachable):
        response = client.get("/health/")
    assert response.status_code == 503
    assert "cache" in response.json()["failed"]
    assert response.json()["checks"]["cache"]["problem"]


def test_health_answers_503_when_tesseract_is_missing_and_ocr_is_on(
    client, settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    def missing() -> str:
        raise TesseractMissing("libtesseract.so.5 was not found (test)")

    settings.TAGLENS_OCR = True
    monkeypatch.setattr(tesseract, "version", missing)
    monkeypatch.setattr(ocr, "installed", functools.cache(ocr.installed.__wrapped__))
    response = client.get("/health/")
    assert response.status_code == 503
    assert response.json()["failed"] == ["tesseract"]
    assert "not found" in response.json()["checks"]["tesseract"]["problem"]


def test_health_answers_503_when_the_database_fails(client, monkeypatch) -> None:
    from config import health

    class Broken:
        def __enter__(self) -> Broken:
            raise OSError("database is down")

        def __exit__(self, *args: object) -> None:
            return None

    monkeypatch.setattr(health.connection, "cursor", lambda: Broken())
    response = client.get("/health/")
    assert response.status_code == 503
    assert "database" in response.json()["failed"]
    assert "database is down" in response.json()["checks"]["database"]["problem"]

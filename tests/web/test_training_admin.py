"""Training a new version from the admin: queued, progress on the page, the comparison with
the active version from the cross-validated figures, then activate or discard; failures,
a second training and non-moderators refused. Trains for real, on made-up coloured pictures
embedded by the fake backbone (mean colour): plumbing, not accuracy."""

from __future__ import annotations

import re
from io import StringIO
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.urls import reverse
from django_q.brokers import get_broker
from django_q.conf import Conf
from PIL import Image

from mlmodels.fake import FakeClassifier
from mlmodels.training.predictions import predictions_from_bytes
from moderation import tasks
from moderation.ingest import training_runs
from moderation.ingest.model_versions import model_version_active, model_version_register
from moderation.models import AuditEvent, Concept, ModelVersion, TrainingRun
from tests.factories import ModeratorFactory, UserFactory
from tests.security.test_csp import INLINE_SCRIPT

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:moderation_modelversion_changelist"
COLOURS = {
    "food": (190, 60, 50),
    "flower": (70, 170, 70),
    "sea": (50, 90, 190),
    "beverage": (170, 140, 60),
    "other": (120, 120, 120),
}
CELL = re.compile(r"<td[^>]*>(.*?)</td>", re.S)


def write_photos(root: Path, folders: dict[str, int], seed: int) -> None:
    """Noisy colours per folder, wide enough that some photos fall on the wrong side."""
    rng = np.random.default_rng(seed)
    for folder, count in folders.items():
        (root / folder).mkdir(parents=True, exist_ok=True)
        for i in range(count):
            colour = np.clip(np.array(COLOURS[folder]) + rng.normal(0, 45, 3), 0, 255)
            pixels = np.broadcast_to(colour.astype(np.uint8), (16, 16, 3))
            Image.fromarray(np.ascontiguousarray(pixels)).save(root / folder / f"{seed}-{i}.jpg")


@pytest.fixture
def photos(settings, tmp_path: Path) -> Path:
    root = tmp_path / "photos"
    write_photos(root, {"food": 14, "flower": 12, "sea": 12, "other": 14}, seed=1)
    settings.TAGLENS_PHOTOS_DIR = root
    settings.VAR_DIR = tmp_path / "var"
    return root


@pytest.fixture
def moderator(client):  # type: ignore[no-untyped-def]
    user = ModeratorFactory(is_staff=True)
    client.force_login(user)
    return user


@pytest.fixture
def rollup() -> ModelVersion:
    return model_version_active(backbone=FakeClassifier())


def train(client, capture) -> Any:  # type: ignore[no-untyped-def]
    """Press the button; django-q2 runs the task inline at commit (tests' sync); the list."""
    with capture(execute=True):
        client.post(reverse("admin:moderation_train"))
    return client.get(reverse(CHANGELIST))


def row_cells(html: str, attribute: str, value: str) -> list[str]:
    match = re.search(rf'<tr {attribute}="{re.escape(value)}">(.*?)</tr>', html, re.S)
    assert match, f"no row {attribute}={value}"
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in CELL.findall(match.group(1))]


def fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def change(new: float, old: float) -> str:
    delta = round(new - old, 4)
    return f"{delta:+.3f}".replace("-", "−")


def search_figures(version: ModelVersion, keys: tuple[str, ...]) -> tuple[float, float]:
    """Precision and recall of a rule "k1 or k2 …" on the version's stored out-of-fold
    decisions, by hand (numpy), not through the rule engine the page uses."""
    predictions = predictions_from_bytes(bytes(version.predictions))
    columns = [predictions.concepts.index(k) for k in keys]
    labels, decisions = predictions.labels[:, columns], predictions.decisions[:, columns]
    assert (labels >= 0).all()  # these folders label food and beverage everywhere
    relevant, shown = (labels == 1).any(axis=1), decisions.any(axis=1)
    tp = int((relevant & shown).sum())
    return tp / int(shown.sum()), tp / int(relevant.sum())


def test_the_button_queues_a_task_and_the_request_does_not_train(
    client, moderator, photos: Path, django_capture_on_commit_callbacks
) -> None:
    Conf.SYNC = False  # a real queue: the ORM's table or Redis (the fixture restores it)
    broker = get_broker()
    queued = broker.queue_size()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:moderation_train"), follow=True)

    run = TrainingRun.objects.get()
    assert (run.status, run.in_progress, run.requested_by) == ("queued", True, moderator)
    assert broker.queue_size() == queued + 1
    assert ModelVersion.objects.filter(kind="heads").count() == 0
    page = response.content.decode()
    assert "Training queued" in page
    assert 'data-in-progress="true"' in page and "training-progress.js" in page
    assert not INLINE_SCRIPT.search(page)  # the poll is a static file: the CSP allows it
    # The submit button is disabled while a training is queued.
    assert re.search(r'value="Train a new version"\s+disabled', page)

    with django_capture_on_commit_callbacks(execute=True):
        again = client.post(reverse("admin:moderation_train"), follow=True).content.decode()
    assert "A training is already queued or running" in again
    assert TrainingRun.objects.count() == 1 and broker.queue_size() == queued + 1


def test_progress_is_stored_and_shown_while_the_worker_trains(
    client, moderator, photos: Path, rollup: ModelVersion, monkeypatch
) -> None:
    Conf.SYNC = False
    run = training_runs.training_request(by=moderator)
    seen: list[tuple[str, int, str, dict[str, Any]]] = []
    real = training_runs.model_version_train

    def watched(**kwargs: Any) -> Any:
        progress = kwargs["progress"]

        def look(done: int, total: int, what: str) -> None:
            progress(done, total, what)
            page = client.get(reverse(CHANGELIST)).content.decode()
            status = client.get(reverse("admin:moderation_train_status", args=[run.pk])).json()
            stage = re.search(r'data-field="stage">([^<]*)<', page)
            bar = re.search(r'<progress max="100" value="(\d+)"', page)
            assert stage and bar
            seen.append((stage.group(1), int(bar.group(1)), what, status))

        return real(**{**kwargs, "progress": look})

    embedding: list[tuple[str, int]] = []
    real_build = training_runs.training_set_build

    def watched_build(**kwargs: Any) -> Any:
        progress = kwargs["progress"]

        def look(done: int, total: int, what: str) -> None:
            progress(done, total, what)
            run.refresh_from_db()
            embedding.append((run.stage, run.percent))

        return real_build(**{**kwargs, "progress": look})

    monkeypatch.setattr(training_runs, "model_version_train", watched)
    monkeypatch.setattr(training_runs, "training_set_build", watched_build)
    tasks.train_model_version(run.pk)  # what the worker runs

    assert embedding[-1] == ("embedding: 52/52 photos embedded", 35)
    stages = [stage for stage, *_ in seen]
    assert stages[:2] == [
        "cross-validation: 1/5 outer fold 1/5",
        "cross-validation: 2/5 outer fold 2/5",
    ]
    assert stages[-1] == "training the final heads on every row; writing the report"
    percents = [percent for _, percent, *_ in seen]
    assert percents == sorted(percents) and 35 < percents[0] < percents[-1] == 95
    assert all(status["in_progress"] and status["status"] == "running" for *_, status in seen)
    assert seen[2][3]["percent"] == seen[2][1]
    run.refresh_from_db()
    assert (run.status, run.percent, run.in_progress) == ("done", 100, False)
    assert run.model_version is not None and run.model_version.is_active is False
    # A second delivery of the same task (the ORM broker's retry) trains nothing more.
    assert "not queued" in tasks.train_model_version(run.pk)
    assert ModelVersion.objects.filter(kind="heads").count() == 1


def test_the_comparison_shows_the_reports_figures_per_concept_and_per_rule(
    client, moderator, photos: Path, rollup: ModelVersion, django_capture_on_commit_callbacks
) -> None:
    page = train(client, django_capture_on_commit_callbacks).content.decode()
    first = ModelVersion.objects.get(kind="heads")
    assert (
        f'Trained <a href="{reverse("admin:moderation_modelversion_change", args=[first.pk])}'
        in page
    )
    assert first.is_active is False and ModelVersion.objects.get(is_active=True) == rollup

    html = client.get(reverse("admin:moderation_modelversion_change", args=[first.pk])).content
    html_text = html.decode()
    report = first.metrics["concepts"]["food"]
    cells = row_cells(html_text, "data-concept", "food")
    # The fake backbone gives no ImageNet signals: the roll-up scores nothing, shown as such.
    assert report["imagenet"] is None
    assert cells[2:5] == [fmt(report["selected"]["precision"]), "—", ""]
    assert cells[8] == fmt(report["selected"]["f1"])
    assert cells[1] == str(report["selected"]["support"])
    assert "roll-up, measured in this training" in html_text
    precision, recall = search_figures(first, ("food",))
    food = row_cells(html_text, "data-hashtag", "음식")
    assert re.fullmatch(r"#음식 \+\d+ mapped", food[0]) and food[1] == "food"
    assert "#food " in html_text  # the mapped hashtags, in the title
    # New precision, the roll-up's (it shows nothing: none), recall, the roll-up's (none found).
    assert [food[4], food[5], food[7], food[8]] == [fmt(precision), "—", fmt(recall), "0.000"]

    # Activate it, train again on more photos: now the comparison is against the first.
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("admin:moderation_modelversion_activate", args=[first.pk]), {"confirm": "on"}
        )
    write_photos(photos, {"beverage": 12, "food": 6}, seed=2)
    train(client, django_capture_on_commit_callbacks)
    second = ModelVersion.objects.filter(kind="heads").exclude(pk=first.pk).get()
    html_text = client.get(
        reverse("admin:moderation_modelversion_change", args=[second.pk])
    ).content.decode()

    for key in ("food", "beverage", "sea"):
        new = second.metrics["concepts"][key]["selected"]
        old = first.metrics["concepts"][key]["selected"]
        cells = row_cells(html_text, "data-concept", key)
        assert cells[5:8] == [
            fmt(new["recall"] if new["support"] else None),
            fmt(old["recall"] if old["support"] else None),
            change(new["recall"], old["recall"]) if new["support"] and old["support"] else "",
        ], key
    new_p, new_r = search_figures(second, ("food", "beverage"))
    old_p, old_r = search_figures(first, ("food", "beverage"))
    cafe = row_cells(html_text, "data-hashtag", "카페")
    assert cafe[1] == "food or beverage"
    assert cafe[4:10] == [
        fmt(new_p),
        fmt(old_p),
        change(round(new_p, 4), round(old_p, 4)),
        fmt(new_r),
        fmt(old_r),
        change(round(new_r, 4), round(old_r, 4)),
    ]
    assert "Activate this version" in html_text and "Discard" in html_text


def test_discard_deletes_the_candidate_and_its_report_and_is_audited(
    client, moderator, photos: Path, rollup: ModelVersion, django_capture_on_commit_callbacks
) -> None:
    train(client, django_capture_on_commit_callbacks)
    version = ModelVersion.objects.get(kind="heads")
    report_dir = Path(version.training["report_dir"])
    assert (report_dir / "report.json").is_file()
    url = reverse("admin:moderation_modelversion_discard", args=[version.pk])

    unconfirmed = client.post(url, {"reason": "worse"}, follow=True).content.decode()
    assert "Tick the box" in unconfirmed and ModelVersion.objects.filter(pk=version.pk).exists()

    with django_capture_on_commit_callbacks(execute=True):
        page = client.post(url, {"reason": "worse on #카페", "confirm": "on"}, follow=True)
    assert f"{version.name[1:]} and its report files are deleted" in page.content.decode()
    assert not ModelVersion.objects.filter(pk=version.pk).exists()
    assert not report_dir.exists()
    event = AuditEvent.objects.get(action=AuditEvent.Action.MODEL_DISCARD)
    assert (event.actor, event.reason, event.before["version"]) == (
        moderator,
        "worse on #카페",
        version.name,
    )
    assert ModelVersion.objects.get(is_active=True) == rollup
    assert "Its version has since been discarded" in page.content.decode()


def test_activate_from_the_page_uses_the_activation_path(
    client, moderator, photos: Path, rollup: ModelVersion, django_capture_on_commit_callbacks
) -> None:
    train(client, django_capture_on_commit_callbacks)
    version = ModelVersion.objects.get(kind="heads")
    activate = reverse("admin:moderation_modelversion_activate", args=[version.pk])
    unticked = client.post(activate, {"reason": "oops"}, follow=True).content.decode()
    assert "Tick the box to confirm" in unticked
    version.refresh_from_db()
    assert not version.is_active and not AuditEvent.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        page = client.post(
            activate, {"reason": "better on every rule", "confirm": "on"}, follow=True
        ).content.decode()
    version.refresh_from_db()
    assert version.is_active and version.rescore_status == ModelVersion.Rescore.DONE
    assert "is active; rescoring" in page and "Activate this version" not in page
    panel = client.get(reverse(CHANGELIST)).content.decode()
    assert "which is\n    now the active version" in panel
    assert "then activate or discard" not in panel
    event = AuditEvent.objects.get(action=AuditEvent.Action.MODEL_ACTIVATE)
    assert (event.actor, event.reason) == (moderator, "better on every rule")
    assert Concept.objects.get(key="food").threshold == pytest.approx(version.thresholds["food"])
    # A version that has been active is kept for rollback.
    discard = reverse("admin:moderation_modelversion_discard", args=[version.pk])
    refused = client.post(discard, {"confirm": "on"}, follow=True).content.decode()
    assert "kept for rollback" in refused and ModelVersion.objects.filter(pk=version.pk).exists()


def test_a_failed_training_shows_its_error_and_leaves_the_active_version(
    client,
    moderator,
    settings,
    tmp_path: Path,
    rollup: ModelVersion,
    django_capture_on_commit_callbacks,
) -> None:
    settings.TAGLENS_PHOTOS_DIR = tmp_path / "no-photos-here"
    settings.VAR_DIR = tmp_path / "var"
    thresholds = dict(Concept.objects.values_list("key", "threshold"))

    page = train(client, django_capture_on_commit_callbacks).content.decode()

    run = TrainingRun.objects.get()
    assert (run.status, run.in_progress) == ("failed", False)
    assert "Nothing to train on" in run.error
    assert "Training failed: ValueError: Nothing to train on" in page
    assert "The active version is unchanged" in page
    assert ModelVersion.objects.get(is_active=True) == rollup
    assert ModelVersion.objects.filter(kind="heads").count() == 0
    assert dict(Concept.objects.values_list("key", "threshold")) == thresholds
    # The failure does not block the next request.
    Conf.SYNC = False
    client.post(reverse("admin:moderation_train"))
    assert TrainingRun.objects.filter(status="queued").count() == 1


def test_training_again_on_the_same_rows_names_the_version_it_gave_again(
    client, moderator, photos: Path, rollup: ModelVersion, django_capture_on_commit_callbacks
) -> None:
    train(client, django_capture_on_commit_callbacks)
    first = ModelVersion.objects.get(kind="heads")

    page = train(client, django_capture_on_commit_callbacks).content.decode()

    assert TrainingRun.objects.count() == 2
    latest = TrainingRun.objects.first()
    assert latest is not None
    assert (latest.status, latest.in_progress, latest.model_version) == ("done", False, first)
    assert "Training failed" not in page
    link = reverse("admin:moderation_modelversion_change", args=[first.pk])
    assert f'Nothing changed since <a href="{link}">{first.name}</a>' in page
    assert ModelVersion.objects.filter(kind="heads").count() == 1
    assert ModelVersion.objects.get(is_active=True) == rollup


def test_the_command_trained_again_on_the_same_rows_activates_what_it_gave(
    photos: Path, rollup: ModelVersion
) -> None:
    call_command("train_concepts", photos=photos, no_overrides=True, folds=3, stdout=StringIO())
    first = ModelVersion.objects.get(kind="heads")
    out = StringIO()

    call_command(
        "train_concepts", photos=photos, no_overrides=True, folds=3, activate=True, stdout=out
    )

    assert f"Nothing changed since {first.name} was trained" in out.getvalue()
    assert ModelVersion.objects.filter(kind="heads").count() == 1
    first.refresh_from_db()
    assert first.is_active


def test_a_run_that_stopped_reporting_is_failed_so_another_can_start(
    client, moderator, photos: Path, settings
) -> None:
    Conf.SYNC = False
    stuck = training_runs.training_request(by=moderator)
    TrainingRun.objects.filter(pk=stuck.pk).update(status="running", stage="cross-validation")
    settings.TAGLENS_TRAIN_TIMEOUT = 0  # every heartbeat is older than that

    page = client.get(reverse(CHANGELIST)).content.decode()

    stuck.refresh_from_db()
    assert (stuck.status, stuck.in_progress) == ("failed", False)
    assert "the worker stopped or timed out" in page
    settings.TAGLENS_TRAIN_TIMEOUT = 1800
    client.post(reverse("admin:moderation_train"))
    assert TrainingRun.objects.filter(in_progress=True).count() == 1


def test_staff_who_are_not_moderators_cannot_train_see_progress_or_discard(
    client, photos: Path, rollup: ModelVersion
) -> None:
    staff = UserFactory(is_staff=True)
    for codename in ("view_modelversion", "change_modelversion", "delete_modelversion"):
        staff.user_permissions.add(Permission.objects.get(codename=codename))
    Conf.SYNC = False
    run = training_runs.training_request(by=None)
    client.force_login(staff)

    listing = client.get(reverse(CHANGELIST)).content.decode()
    assert listing.count("Train a new version") == 1  # the heading; no button
    assert client.post(reverse("admin:moderation_train")).status_code == 403
    status = client.get(reverse("admin:moderation_train_status", args=[run.pk]))
    assert status.status_code == 403
    assert TrainingRun.objects.count() == 1
    candidate = model_version_register(
        name="fake-1+heads-candidate",
        backbone=FakeClassifier.version,
        concepts=["food"],
        heads=b"",
        thresholds={"food": 0.5},
        metrics={},
        training={},
    )
    for action in ("activate", "discard"):
        url = reverse(f"admin:moderation_modelversion_{action}", args=[candidate.pk])
        assert client.post(url, {"confirm": "on"}).status_code == 403
    candidate.refresh_from_db()
    assert candidate.is_active is False

    client.logout()
    anonymous = client.post(reverse("admin:moderation_train"))
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]
    assert TrainingRun.objects.count() == 1

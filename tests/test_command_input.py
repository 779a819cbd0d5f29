"""Commands refuse input they cannot use with a plain message, not a traceback: training and
evaluation register nothing, classification does not pass silence off as success."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from PIL import Image

from mlmodels.training.cli import main as training_main
from moderation.models import ModelVersion

pytestmark = pytest.mark.django_db
COMMANDS = (
    ("evaluate_concepts", lambda root: ([str(root)], {})),
    ("train_concepts", lambda root: ([], {"photos": root, "no_overrides": True})),
)


def _photo(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (160, 160), (200, 120, 40)).save(path)


@pytest.mark.parametrize(("command", "arguments"), COMMANDS)
def test_a_folder_without_labelled_photos_is_refused(command, arguments, tmp_path) -> None:
    (tmp_path / "photos").mkdir()
    args, options = arguments(tmp_path / "photos")

    with pytest.raises(CommandError, match="holds no photos in folders named after labels"):
        call_command(command, *args, **options)

    assert not ModelVersion.objects.exists()


@pytest.mark.parametrize(("command", "arguments"), COMMANDS)
def test_a_folder_named_after_no_label_is_named_back(command, arguments, tmp_path) -> None:
    _photo(tmp_path / "photos" / "cats" / "a.jpg")
    args, options = arguments(tmp_path / "photos")

    with pytest.raises(CommandError, match=r"\['cats'\]; name each folder after one of adult, "):
        call_command(command, *args, **options)


@pytest.mark.parametrize(("command", "arguments"), COMMANDS)
def test_too_few_sources_cannot_fill_the_folds(command, arguments, tmp_path, settings) -> None:
    settings.VAR_DIR = tmp_path / "var"
    _photo(tmp_path / "photos" / "cat" / "a.jpg")
    _photo(tmp_path / "photos" / "dog" / "b.jpg")  # no MANIFEST.csv: one group per photo
    args, options = arguments(tmp_path / "photos")

    with pytest.raises(CommandError, match="2 groups cannot fill 5 folds"):
        call_command(command, *args, **options)

    assert not ModelVersion.objects.exists()


@pytest.mark.parametrize(
    ("folder", "message"),
    [
        ("empty", "holds no photos in folders named after labels"),
        ("odd", "['cats']; name each"),
        ("one", "1 groups cannot fill 5 folds"),
    ],
)
def test_the_training_program_names_what_is_wrong_before_building(
    folder, message, tmp_path, capsys
) -> None:
    (tmp_path / "empty").mkdir()
    _photo(tmp_path / "odd" / "cats" / "a.jpg")
    _photo(tmp_path / "one" / "cat" / "a.jpg")
    models = tmp_path / "models"

    with pytest.raises(SystemExit) as exit_:
        training_main(
            [str(tmp_path / folder), "--out", str(tmp_path / "out"), "--model-dir", str(models)]
        )

    assert exit_.value.code == 2 and message in capsys.readouterr().err
    assert not models.exists() and not (tmp_path / "out").exists()


def test_classifying_only_empty_folders_is_an_error(tmp_path) -> None:
    (tmp_path / "empty").mkdir()

    with pytest.raises(CommandError, match="No files found in"):
        call_command("classify_images", str(tmp_path / "empty"))


@pytest.mark.parametrize(("command", "arguments"), COMMANDS)
@pytest.mark.parametrize(
    ("option", "message"),
    [
        ({"folds": "1"}, "1 folds: cross-validation needs 2 at least"),
        ({"precision_target": "2"}, "2 is not a precision"),
        ({"precision_target": "0"}, "0 is not a precision"),
    ],
)
def test_folds_and_precision_targets_that_mean_nothing_are_refused(
    command, arguments, option, message, tmp_path
) -> None:
    _photo(tmp_path / "photos" / "cat" / "a.jpg")
    args, options = arguments(tmp_path / "photos")
    flags = [f"--{key.replace('_', '-')}={value}" for key, value in option.items()]

    with pytest.raises(CommandError, match=message):
        call_command(command, *args, *flags, **options)

    assert not ModelVersion.objects.exists()

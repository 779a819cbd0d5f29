"""Training and evaluation commands refuse a photo folder they cannot use with a plain message,
and register nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from PIL import Image

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

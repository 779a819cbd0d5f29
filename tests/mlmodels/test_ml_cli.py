from __future__ import annotations

from pathlib import Path

from PIL import Image

from mlmodels.cli import classify_paths
from mlmodels.concepts.rollup import DEFAULT_THRESHOLDS
from mlmodels.fake import FakeClassifier
from mlmodels.network.tf_mobilenet import MobileNetV2RollupClassifier


def test_real_model_on_a_folder_with_a_broken_file(
    tmp_path: Path,
    classifier: MobileNetV2RollupClassifier,
    coffee: Image.Image,
    chelsea: Image.Image,
) -> None:
    coffee.save(tmp_path / "a_coffee.jpg")
    (tmp_path / "b_broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    chelsea.save(tmp_path / "c_chelsea.png")

    results = list(classify_paths([tmp_path], classifier, DEFAULT_THRESHOLDS))

    assert [Path(r["path"]).name for r in results] == [
        "a_coffee.jpg",
        "b_broken.jpg",
        "c_chelsea.png",
    ]
    ok = [r for r in results if "error" not in r]
    errors = [r for r in results if "error" in r]
    assert len(ok) == 2 and len(errors) == 1
    assert "b_broken.jpg" in errors[0]["error"]
    coffee_r, chelsea_r = ok
    assert "beverage" in coffee_r["present"]
    assert {"animal", "cat"} <= set(chelsea_r["present"])
    assert coffee_r["model_version"] == classifier.version
    assert coffee_r["unsupported"] == ["adult", "child", "nail", "clothing"]
    assert set(coffee_r["scores"]) == classifier.concepts


def test_batches_of_sixteen_and_explicit_files(tmp_path: Path, fake: type[FakeClassifier]) -> None:
    for i in range(20):
        Image.new("RGB", (8, 8), (i * 10, 0, 0)).save(tmp_path / f"img{i:02d}.png")
    (tmp_path / ".hidden.png").write_bytes(b"")
    fake.next_scores = {"sea": 0.7, "mountain": 0.2}

    results = list(
        classify_paths(
            [tmp_path, tmp_path / "missing.jpg"], FakeClassifier(), {"sea": 0.5, "mountain": 0.5}
        )
    )

    assert fake.calls == 2 and fake.images_seen == 20  # 16 + 4
    assert len(results) == 21
    assert all(r["present"] == ["sea"] for r in results[:20])
    assert "error" in results[20] and "missing.jpg" in results[20]["error"]


def test_no_images_means_no_model_call(tmp_path: Path, fake: type[FakeClassifier]) -> None:
    (tmp_path / "bad.gif").write_text("GIF89a nope")
    results = list(classify_paths([tmp_path], FakeClassifier(), DEFAULT_THRESHOLDS))
    assert len(results) == 1 and "error" in results[0]
    assert fake.calls == 0

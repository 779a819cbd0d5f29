from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from mlmodels.base import ImageDecodeError, load_image


def _jpeg_bytes(img: Image.Image, **kwargs: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=90, **kwargs)
    return buf.getvalue()


def _two_colour(size: tuple[int, int] = (40, 20)) -> Image.Image:
    """Left half red, right half blue."""
    img = Image.new("RGB", size, (255, 0, 0))
    img.paste((0, 0, 255), (size[0] // 2, 0, size[0], size[1]))
    return img


def test_zero_byte_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    with pytest.raises(ImageDecodeError, match="empty file"):
        load_image(path)


def test_text_file_named_jpg(tmp_path: Path) -> None:
    path = tmp_path / "notes.jpg"
    path.write_text("this is not a picture\n")
    with pytest.raises(ImageDecodeError, match="not a recognised image"):
        load_image(path)


def test_truncated_jpeg(tmp_path: Path, coffee: Image.Image) -> None:
    data = _jpeg_bytes(coffee)
    path = tmp_path / "cut.jpg"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageDecodeError, match="truncated or corrupt") as info:
        load_image(path)
    assert "cut.jpg" in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ImageDecodeError, match="cannot read"):
        load_image(tmp_path / "nope.jpg")


def test_disallowed_format(tmp_path: Path) -> None:
    path = tmp_path / "scan.tiff"
    _two_colour().save(path, format="TIFF")
    with pytest.raises(ImageDecodeError, match="allowed formats"):
        load_image(path)


def test_exif_rotated_jpeg_comes_out_upright(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: display rotated 90 degrees clockwise
    path = tmp_path / "phone.jpg"
    path.write_bytes(_jpeg_bytes(_two_colour((40, 20)), exif=exif.tobytes()))

    img = load_image(path)
    assert img.size == (20, 40)  # portrait now
    top, bottom = img.getpixel((10, 5)), img.getpixel((10, 35))
    assert top[0] > 200 and top[2] < 60  # the left (red) half went to the top
    assert bottom[2] > 200 and bottom[0] < 60


def test_large_jpeg_is_decoded_at_reduced_size(tmp_path: Path) -> None:
    path = tmp_path / "big.jpg"
    path.write_bytes(_jpeg_bytes(_two_colour((2048, 1536))))
    img = load_image(path)
    assert img.mode == "RGB"
    assert 256 <= min(img.size) < 1536  # DCT-scaled, still enough for the 256-px resize
    assert load_image(path, draft_size=None).size == (2048, 1536)


def test_large_png_is_reduced_after_decoding(tmp_path: Path) -> None:
    path = tmp_path / "big.png"
    _two_colour((2048, 1536)).save(path)
    img = load_image(path)
    assert img.mode == "RGB"
    assert 256 <= min(img.size) < 512  # box-reduced: a batch of them stays small in memory
    assert img.size[0] / img.size[1] == pytest.approx(2048 / 1536, rel=0.01)
    assert img.getpixel((10, img.size[1] // 2))[0] > 200  # still the same picture (red left)
    assert load_image(path, draft_size=None).size == (2048, 1536)


def test_png_with_alpha_becomes_rgb_on_white(tmp_path: Path) -> None:
    path = tmp_path / "logo.png"
    Image.new("RGBA", (10, 10), (0, 0, 0, 0)).save(path)
    img = load_image(path)
    assert img.mode == "RGB" and img.getpixel((5, 5)) == (255, 255, 255)


def test_gif_first_frame(tmp_path: Path) -> None:
    path = tmp_path / "anim.gif"
    frames = [Image.new("RGB", (8, 8), c) for c in ((255, 0, 0), (0, 255, 0))]
    frames[0].save(path, save_all=True, append_images=frames[1:])
    img = load_image(path)
    assert img.mode == "RGB"
    assert img.getpixel((4, 4))[0] > 200


@pytest.mark.parametrize("fmt", ["PNG", "WEBP", "BMP"])
def test_other_allowed_formats_from_file_objects(fmt: str) -> None:
    buf = io.BytesIO()
    _two_colour().save(buf, format=fmt)
    buf.seek(5)  # load_image rewinds
    assert load_image(buf).size == (40, 20)

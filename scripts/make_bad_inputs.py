"""Write a corpus of malformed and hostile upload files, each with its expected outcome.

Everything is generated here (Pillow, numpy, zlib and scikit-image's bundled sample
photos); nothing is downloaded. The tests build the corpus in a temporary folder; to look
at the files yourself::

    python scripts/make_bad_inputs.py /tmp/taglens-bad-inputs

which writes the files and a ``manifest.json`` listing, for each file, ``accepted`` or
the refusal code (see ``posts.uploads``) and a piece of the message the user sees.
"""

from __future__ import annotations

import argparse
import io
import json
import struct
import zlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, PngImagePlugin

ACCEPTED = "accepted"
# A payload that must never reach the stored copy of an accepted file.
PAYLOAD = b"<?php system($_GET['c']); ?><script>alert(1)</script>"


@dataclass(frozen=True)
class Case:
    """One file and what TagLens must do with it."""

    name: str  # the file name the client sends (may lie about the type)
    outcome: str  # "accepted" or the UploadRejected code: empty, format, corrupt, ...
    message: str  # a piece of the user-facing message (empty for accepted files)
    why: str  # what the file is, in words
    # For accepted files: what the stored copy must be.
    stored_format: str = ""
    size: tuple[int, int] = (0, 0)  # displayed width, height
    mode: str = ""
    first_pixel: tuple[int, ...] = field(default_factory=tuple)  # approx. colour at (2, 2)


def _save(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **options)
    return out.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png(width: int, height: int, depth: int, colour: int, rows: bytes) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", rows)
        + _png_chunk(b"IEND", b"")
    )


def coffee_jpeg() -> bytes:
    from skimage import data

    return _save(Image.fromarray(data.coffee()), "JPEG", quality=90)


def _rgb16_png() -> bytes:
    width, height = 48, 40
    row = b"".join(struct.pack(">HHH", 60000, 30000, 1000) for _ in range(width))
    return _png(width, height, 16, 2, zlib.compress((b"\x00" + row) * height))


def _gray16_png() -> bytes:
    # A left-to-right ramp over the full 16-bit range: clipping to 8 bits would turn most of
    # it white, scaling keeps the ramp.
    ramp = np.linspace(0, 65535, 64).astype(">u2")
    return _png(64, 40, 16, 0, zlib.compress((b"\x00" + ramp.tobytes()) * 40))


def _bomb_png() -> bytes:
    # 10000 x 10000 1-bit pixels (100 megapixels) from a 12 kB file: every row is zeros.
    side = 10_000
    row = b"\x00" * (1 + side // 8)
    packer = zlib.compressobj(9)
    rows = b"".join(packer.compress(row * 1000) for _ in range(side // 1000)) + packer.flush()
    return _png(side, side, 1, 0, rows)


def _bomb_gif() -> bytes:
    # A 65535 x 65535 logical screen (4.3 gigapixels) in a few dozen bytes: beyond even
    # Pillow's own decompression-bomb limit.
    return (
        b"GIF89a"
        + struct.pack("<HHBBB", 65535, 65535, 0, 0, 0)
        + b"\x2c"
        + struct.pack("<HHHHB", 0, 0, 65535, 65535, 0)
        + b"\x02\x02\x44\x01\x00\x3b"
    )


def _exif_rotated_gps_jpeg() -> bytes:
    # Stored 80 wide x 40 high, left half red; orientation 6 shows it 40 x 80 with red on top.
    pixels = np.zeros((40, 80, 3), dtype=np.uint8)
    pixels[:, :40] = (220, 20, 20)
    pixels[:, 40:] = (20, 20, 220)
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "TagLensCam"
    exif.get_ifd(0x8825).update({1: "N", 2: (37.0, 33.0, 59.5), 3: "E", 4: (126.0, 58.0, 41.2)})
    return _save(Image.fromarray(pixels), "JPEG", quality=95, exif=exif)


def _polyglot_jpeg() -> bytes:
    # A real JPEG carrying PHP and HTML in its comment segment and after its end marker.
    image = Image.new("RGB", (64, 64), (30, 160, 60))
    return _save(image, "JPEG", comment=PAYLOAD) + b"\n" + PAYLOAD


def _png_with_script_text() -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", PAYLOAD.decode())
    return _save(Image.new("RGB", (64, 64), (250, 250, 0)), "PNG", pnginfo=info)


def _palette_png() -> bytes:
    image = Image.new("P", (64, 64), 1)
    image.putpalette([0, 0, 0, 250, 100, 0] + [0] * (254 * 3))
    for x in range(8):
        for y in range(8):
            image.putpixel((x, y), 0)
    return _save(image, "PNG", transparency=0)


def _animated(fmt: str) -> bytes:
    frames = [Image.new("RGB", (64, 64), c) for c in ((230, 0, 0), (0, 0, 230), (0, 230, 0))]
    return _save(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)


def _bad_crc_png() -> bytes:
    data = bytearray(_save(Image.new("RGB", (64, 64), (0, 90, 200)), "PNG"))
    kind = data.index(b"IDAT")
    (length,) = struct.unpack(">I", data[kind - 4 : kind])
    data[kind + 4 + length] ^= 0xFF  # first byte of the chunk's CRC
    return bytes(data)


def _zip() -> bytes:
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("photo.jpg", coffee_jpeg()[:2000])
    return out.getvalue()


def _pdf() -> bytes:
    return (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R/OpenAction<</S/JavaScript/JS(app.alert(1))>>"
        b">>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
    )


def _fake_heic() -> bytes:
    # An ISO-BMFF header with the HEIC brand (no HEVC encoder here, so no real pixels).
    ftyp = b"ftypheic" + b"\x00\x00\x00\x00" + b"mif1heic"
    return struct.pack(">I", 8 + len(ftyp) - 4) + ftyp + b"\x00" * 64


def cases() -> list[tuple[Case, Callable[[], bytes]]]:
    """Every file of the corpus with its builder."""
    jpeg_red = lambda: _save(Image.new("RGB", (64, 64), (220, 0, 0)), "JPEG")  # noqa: E731
    cmyk = Image.new("CMYK", (64, 48), (0, 255, 255, 0))  # pure red in CMYK
    return [
        # ---- accepted: real photos and awkward but honest images -----------------------
        (
            Case(
                "coffee.jpg",
                ACCEPTED,
                "",
                "a real photo (scikit-image's coffee)",
                "JPEG",
                (600, 400),
                "RGB",
            ),
            coffee_jpeg,
        ),
        (
            Case(
                "rotated_gps.jpg",
                ACCEPTED,
                "",
                "EXIF orientation 6 and a GPS location",
                "JPEG",
                (40, 80),
                "RGB",
                (220, 20, 20),
            ),
            _exif_rotated_gps_jpeg,
        ),
        (
            Case(
                "cmyk.jpg",
                ACCEPTED,
                "",
                "a CMYK JPEG (print workflow)",
                "JPEG",
                (64, 48),
                "RGB",
                (255, 0, 0),
            ),
            lambda: _save(cmyk, "JPEG", quality=95),
        ),
        (
            Case(
                "gray16.png",
                ACCEPTED,
                "",
                "16-bit greyscale PNG with a full-range ramp",
                "PNG",
                (64, 40),
                "L",
                (8,),
            ),
            _gray16_png,
        ),
        (
            Case(
                "rgb16.png", ACCEPTED, "", "16-bit RGB PNG", "PNG", (48, 40), "RGB", (234, 117, 3)
            ),
            _rgb16_png,
        ),
        (
            Case(
                "palette_alpha.png",
                ACCEPTED,
                "",
                "palette PNG with a transparent index",
                "PNG",
                (64, 64),
                "RGBA",
                (0, 0, 0, 0),
            ),
            _palette_png,
        ),
        (
            Case(
                "animated.gif",
                ACCEPTED,
                "",
                "animated GIF, three frames",
                "PNG",
                (64, 64),
                "RGB",
                (230, 0, 0),
            ),
            lambda: _animated("GIF"),
        ),
        (
            Case(
                "animated.webp",
                ACCEPTED,
                "",
                "animated WebP, three frames",
                "WEBP",
                (64, 64),
                "RGB",
                (230, 0, 0),
            ),
            lambda: _animated("WEBP"),
        ),
        (
            Case(
                "alpha.webp",
                ACCEPTED,
                "",
                "WebP with an alpha channel",
                "WEBP",
                (64, 64),
                "RGBA",
                (0, 120, 255, 128),
            ),
            lambda: _save(Image.new("RGBA", (64, 64), (0, 120, 255, 128)), "WEBP", lossless=True),
        ),
        (
            Case(
                "polyglot.jpg",
                ACCEPTED,
                "",
                "JPEG with PHP/HTML in a comment and after its end",
                "JPEG",
                (64, 64),
                "RGB",
                (30, 160, 60),
            ),
            _polyglot_jpeg,
        ),
        (
            Case(
                "text_chunk.png",
                ACCEPTED,
                "",
                "PNG with a script in a text chunk",
                "PNG",
                (64, 64),
                "RGB",
                (250, 250, 0),
            ),
            _png_with_script_text,
        ),
        (
            Case(
                "really_a_jpeg.png",
                ACCEPTED,
                "",
                "a JPEG named .png: the bytes decide",
                "JPEG",
                (64, 64),
                "RGB",
                (220, 0, 0),
            ),
            jpeg_red,
        ),
        (
            Case(
                "smallest.png",
                ACCEPTED,
                "",
                "exactly the minimum side (32 px)",
                "PNG",
                (32, 32),
                "RGB",
                (10, 10, 10),
            ),
            lambda: _save(Image.new("RGB", (32, 32), (10, 10, 10)), "PNG"),
        ),
        # ---- refused ---------------------------------------------------------------------
        (Case("empty.jpg", "empty", "is empty (0 bytes)", "zero bytes"), lambda: b""),
        (
            Case("truncated.jpg", "corrupt", "damaged or incomplete", "a photo cut in half"),
            lambda: coffee_jpeg()[: len(coffee_jpeg()) // 2],
        ),
        (
            Case(
                "header_only.jpg",
                "corrupt",
                "damaged or incomplete",
                "a JPEG start marker followed by garbage",
            ),
            lambda: b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4,
        ),
        (
            Case("bad_crc.png", "corrupt", "damaged or incomplete", "PNG whose IDAT CRC is wrong"),
            _bad_crc_png,
        ),
        (
            Case("page.jpg", "format", "text file", "an HTML page named .jpg"),
            lambda: b"<!doctype html><html><body><script>alert(document.cookie)</script>",
        ),
        (
            Case("drawing.svg", "format", "SVG", "an SVG with a script"),
            lambda: (
                b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" '
                b'onload="alert(1)"><script>alert(2)</script></svg>'
            ),
        ),
        (
            Case("shell.php.jpg", "format", "text file", "a PHP web shell named .jpg"),
            lambda: PAYLOAD,
        ),
        (
            Case(
                "gif_js_polyglot.gif",
                "corrupt",
                "damaged or incomplete",
                "GIF header that is also JavaScript",
            ),
            lambda: b"GIF89a/*\x00\x00\x00\x00\x00*/=1;alert(1);//",
        ),
        (Case("archive.jpg", "format", "ZIP", "a ZIP archive named .jpg"), _zip),
        (Case("document.jpg", "format", "PDF", "a PDF with JavaScript named .jpg"), _pdf),
        (
            Case(
                "bomb.png",
                "too_many_pixels",
                "megapixels",
                "10000x10000 PNG of 12 kB (decompression bomb)",
            ),
            _bomb_png,
        ),
        (
            Case(
                "bomb.gif",
                "too_many_pixels",
                "megapixels",
                "65535x65535 GIF of 40 bytes (beyond Pillow's own limit)",
            ),
            _bomb_gif,
        ),
        (
            Case("scan.tif", "format", "TIFF", "a TIFF image"),
            lambda: _save(Image.new("RGB", (64, 64), (1, 2, 3)), "TIFF"),
        ),
        (
            Case("paint.bmp", "format", "BMP", "a BMP image"),
            lambda: _save(Image.new("RGB", (64, 64), (1, 2, 3)), "BMP"),
        ),
        (Case("iphone.heic", "format", "HEIC", "an HEIC container header"), _fake_heic),
        (
            Case("pixel.png", "too_small", "at least 32", "a 1x1 tracking pixel"),
            lambda: _save(Image.new("RGB", (1, 1), (0, 0, 0)), "PNG"),
        ),
        (
            Case("noise.jpg", "format", "not a photo", "random bytes named .jpg"),
            lambda: np.random.default_rng(7).bytes(4096),
        ),
        (
            Case(
                "huge.png",
                "too_large",
                "too large",
                "a real 10.8 MB PNG of noise, over the 10.5 MB default limit",
            ),
            lambda: _save(
                Image.fromarray(
                    np.random.default_rng(1).integers(0, 256, (1900, 1900, 3), dtype=np.uint8)
                ),
                "PNG",
                compress_level=1,
            ),
        ),
    ]


def write_corpus(folder: Path) -> list[Case]:
    """Write every file and manifest.json into ``folder``; return the cases."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for case, build in cases():
        (folder / case.name).write_bytes(build())
        written.append(case)
    manifest = [asdict(case) for case in written]
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False))
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    folder = parser.parse_args().folder
    written = write_corpus(folder)
    refused = sum(case.outcome != ACCEPTED for case in written)
    accepted = len(written) - refused
    print(f"{len(written)} files in {folder} ({refused} to refuse, {accepted} to accept)")


if __name__ == "__main__":
    main()

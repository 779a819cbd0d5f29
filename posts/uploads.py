"""Upload validation: what a file is, from its bytes, and a clean copy (docs/security.md)."""

from __future__ import annotations

import io
import struct
import warnings
from dataclasses import dataclass
from typing import IO, Final

import numpy as np
from django.conf import settings
from PIL import Image, ImageOps, UnidentifiedImageError

__all__ = [
    "ACCEPTED_FORMATS",
    "THUMBNAIL_SIZE",
    "CleanImage",
    "UploadRejected",
    "amount_text",
    "image_clean",
    "request_body_too_large",
    "sniff_format",
]

THUMBNAIL_SIZE: Final = 320
# Pillow format name -> (stored format, stored suffix). GIF is kept as its first frame in PNG.
ACCEPTED_FORMATS: Final[dict[str, tuple[str, str]]] = {
    "JPEG": ("JPEG", ".jpg"),
    "PNG": ("PNG", ".png"),
    "WEBP": ("WEBP", ".webp"),
    "GIF": ("PNG", ".png"),
}
EMPTY_FILE = "The file is empty (0 bytes)."
ACCEPTED_TEXT: Final = "JPEG, PNG, WebP or GIF"

# Refused formats we recognise, with the reason shown to the user.
_REFUSED: Final[dict[str, str]] = {
    "HEIC": "HEIC/HEIF photos are not supported (no decoder is installed here); "
    "export the photo as JPEG and upload it again.",
    "TIFF": "TIFF images are not accepted.",
    "BMP": "BMP images are not accepted; save the picture as PNG or JPEG.",
    "PDF": "This is a PDF document, not a photo.",
    "ZIP": "This is a ZIP archive (or an Office document), not a photo.",
    "MARKUP": "This is a text file (HTML, SVG, XML or a script), not a photo.",
    "SVG": "SVG drawings are not accepted (they can carry scripts).",
}

_HEIF_BRANDS: Final = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}
_AVIF_BRANDS: Final = {b"avif", b"avis"}


class UploadRejected(ValueError):
    """An upload TagLens refuses. ``code`` names the kind (``too_large`` maps to HTTP 413)."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class CleanImage:
    """What is stored for an accepted upload."""

    data: bytes  # the re-encoded photo, no metadata
    suffix: str  # ".jpg", ".png" or ".webp", from the decoded format
    thumbnail: bytes  # a THUMBNAIL_SIZE square JPEG
    width: int  # as displayed (orientation applied)
    height: int
    source_format: str  # what the bytes were: "JPEG", "PNG", "WEBP" or "GIF"


def request_body_too_large(content_length: str | None) -> bool:
    """True when a request announces a body far beyond the upload limit, so it can be
    refused before Django reads and spools it to disk."""
    try:
        length = int(content_length or 0)
    except ValueError:
        return False
    return length > settings.TAGLENS_MAX_UPLOAD_BYTES + 1024 * 1024


def sniff_format(head: bytes) -> str | None:
    """The format the first bytes announce, accepted or not; None when unrecognised."""
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _HEIF_BRANDS or brand in _AVIF_BRANDS:
            return "HEIC"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "TIFF"
    if head.startswith(b"BM"):
        return "BMP"
    if head.startswith(b"%PDF"):
        return "PDF"
    if head.startswith(b"PK\x03\x04"):
        return "ZIP"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith(b"<"):
        return "SVG" if b"<svg" in head.lower() else "MARKUP"
    return None


def _read_limited(file: IO[bytes], limit: int) -> bytes:
    size = getattr(file, "size", None)
    if size is not None and size > limit:
        raise _too_large(size, limit)
    file.seek(0)
    data = file.read(limit + 1)
    if len(data) > limit:
        raise _too_large(None, limit)
    return data


def amount_text(size: float) -> str:
    """A byte count as people read it: "12.3 MB", "800 kB"."""
    return f"{size / 1e6:.1f} MB" if size >= 100_000 else f"{size / 1e3:.0f} kB"


def _too_large(size: int | None, limit: int) -> UploadRejected:
    shown = f" ({amount_text(size)})" if size else ""
    return UploadRejected(
        f"The file is too large{shown}; the limit is {amount_text(limit)}.", code="too_large"
    )


def _eight_bit(image: Image.Image) -> Image.Image:
    """RGB, RGBA or L, 8 bits per channel, with palette transparency kept as alpha."""
    if image.mode in ("RGB", "RGBA", "L"):
        return image
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        # 16-bit greyscale: keep the top 8 bits (convert("L") would clip at 255 → white).
        values = np.asarray(image).astype(np.uint32)
        return Image.fromarray((np.clip(values, 0, 65535) >> 8).astype(np.uint8), "L")
    if image.mode in ("LA", "PA", "RGBa", "La") or (
        image.mode == "P" and "transparency" in image.info
    ):
        return image.convert("RGBA")
    if image.mode == "1":
        return image.convert("L")
    # CMYK, YCbCr, LAB, P without transparency, F …
    return image.convert("RGB")


def _on_white(image: Image.Image) -> Image.Image:
    if image.mode == "RGBA":
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, image).convert("RGB")
    return image.convert("RGB")


def _encode(image: Image.Image, fmt: str, icc_profile: bytes | None) -> bytes:
    out = io.BytesIO()
    # Pillow falls back to image.info for some blocks (the JPEG comment): empty it.
    image.info = {}
    options: dict[str, object] = {}
    if icc_profile:
        options["icc_profile"] = icc_profile
    if fmt == "JPEG":
        image.save(out, format="JPEG", quality=95, **options)
    elif fmt == "WEBP":
        image.save(out, format="WEBP", quality=95, method=4, **options)
    else:
        image.save(out, format="PNG", **options)
    return out.getvalue()


def _thumbnail(image: Image.Image) -> bytes:
    square = ImageOps.fit(image, (THUMBNAIL_SIZE, THUMBNAIL_SIZE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    square.save(out, format="JPEG", quality=82, optimize=True)
    return out.getvalue()


def _open_checked(data: bytes, fmt: str) -> Image.Image:
    """Open with only the decoder the bytes asked for, check size limits, decode frame 0."""
    max_pixels = settings.TAGLENS_MAX_IMAGE_PIXELS
    min_side = settings.TAGLENS_MIN_IMAGE_SIDE
    with warnings.catch_warnings():
        # Our own pixel limit is the one that speaks; Pillow's warning would only be noise.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with Image.open(io.BytesIO(data), formats=[fmt]) as probe:
            probe.verify()  # structure and checksums, without decoding pixels
        image = Image.open(io.BytesIO(data), formats=[fmt])
    width, height = image.size
    if width * height > max_pixels:
        raise UploadRejected(
            f"The image is {width}×{height} pixels ({width * height / 1e6:.1f} megapixels); "
            f"the limit is {max_pixels / 1e6:.1f} megapixels.",
            code="too_many_pixels",
        )
    if min(width, height) < min_side:
        raise UploadRejected(
            f"The image is {width}×{height} pixels; each side must be at least {min_side} "
            "pixels for TagLens to judge it.",
            code="too_small",
        )
    image.seek(0)  # the first frame of an animation
    image.load()  # decode now, so truncated data is refused here
    return image


def image_clean(file: IO[bytes]) -> CleanImage:
    """Validate an uploaded file and return the copy to store, or raise UploadRejected."""
    limit = settings.TAGLENS_MAX_UPLOAD_BYTES
    data = _read_limited(file, limit)
    if not data:
        raise UploadRejected(EMPTY_FILE, code="empty")
    fmt = sniff_format(data[:512])
    if fmt is None:
        raise UploadRejected(
            f"This file is not a photo TagLens accepts ({ACCEPTED_TEXT}).", code="format"
        )
    if fmt not in ACCEPTED_FORMATS:
        raise UploadRejected(_REFUSED[fmt], code="format")
    try:
        image = _open_checked(data, fmt)
    except UploadRejected:
        raise
    except Image.DecompressionBombError as exc:
        # Pillow's own, larger limit, met while reading the header.
        megapixels = settings.TAGLENS_MAX_IMAGE_PIXELS / 1e6
        raise UploadRejected(
            f"The image has far too many pixels; the limit is {megapixels:.1f} megapixels.",
            code="too_many_pixels",
        ) from exc
    except UnidentifiedImageError as exc:
        raise UploadRejected(
            f"The file starts like a {fmt} image but is damaged or incomplete and cannot be read.",
            code="corrupt",
        ) from exc
    except (OSError, SyntaxError, ValueError, EOFError, struct.error, MemoryError) as exc:
        # How Pillow and its plugins report truncation, bad checksums and malformed headers.
        raise UploadRejected(
            f"The {fmt} image is damaged or incomplete and cannot be read ({exc}).",
            code="corrupt",
        ) from exc
    source_mode = image.mode
    icc_profile = image.info.get("icc_profile")
    upright = ImageOps.exif_transpose(image) or image
    pixels = _eight_bit(upright)
    stored_format, suffix = ACCEPTED_FORMATS[fmt]
    if stored_format == "JPEG" and pixels.mode == "RGBA":
        pixels = _on_white(pixels)
    if stored_format == "WEBP" and pixels.mode == "L":
        pixels = pixels.convert("RGB")
    keep_icc = icc_profile if pixels.mode == source_mode else None
    return CleanImage(
        data=_encode(pixels, stored_format, keep_icc),
        suffix=suffix,
        thumbnail=_thumbnail(_on_white(pixels)),
        width=pixels.width,
        height=pixels.height,
        source_format=fmt,
    )

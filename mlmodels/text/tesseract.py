"""libtesseract through ctypes, in process: one persistent engine per thread and language set."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import threading
from dataclasses import dataclass

from PIL import Image

LIBRARY = "libtesseract.so.5"
SPARSE_TEXT = 11  # page segmentation: text scattered over a photo (signs, menus)
# Lines read below this mean confidence are read again inverted (light letters on a dark sign).
INVERT_BELOW = "0.5"

_VOID = ctypes.c_void_p
_SIGNATURES: dict[str, tuple[list[type], type | None]] = {
    "TessVersion": ([], ctypes.c_char_p),
    "TessBaseAPICreate": ([], _VOID),
    "TessBaseAPIDelete": ([_VOID], None),
    "TessBaseAPIInit3": ([_VOID, ctypes.c_char_p, ctypes.c_char_p], ctypes.c_int),
    "TessBaseAPISetVariable": ([_VOID, ctypes.c_char_p, ctypes.c_char_p], ctypes.c_int),
    "TessBaseAPISetPageSegMode": ([_VOID, ctypes.c_int], None),
    "TessBaseAPISetImage": (
        [_VOID, ctypes.c_char_p, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int],
        None,
    ),
    "TessBaseAPISetSourceResolution": ([_VOID, ctypes.c_int], None),
    "TessBaseAPIRecognize": ([_VOID, _VOID], ctypes.c_int),
    "TessBaseAPIGetTsvText": ([_VOID, ctypes.c_int], _VOID),
    "TessBaseAPIGetUTF8Text": ([_VOID], _VOID),
    "TessBaseAPIClear": ([_VOID], None),
    "TessDeleteText": ([_VOID], None),
    "TessMonitorCreate": ([], _VOID),
    "TessMonitorDelete": ([_VOID], None),
    "TessMonitorSetDeadlineMSecs": ([_VOID, ctypes.c_int], None),
}


class TesseractMissing(RuntimeError):
    """libtesseract or a language's data is not installed; ``str(exc)`` says which."""


class RecognitionFailed(RuntimeError):
    """Tesseract ran and gave no result (deadline passed, bad image)."""


@dataclass(frozen=True)
class Token:
    """One word as Tesseract read it: its line (block, paragraph, line), box and confidence."""

    text: str
    conf: float  # 0..100, Tesseract's own
    line: tuple[int, int, int]
    box: tuple[int, int, int, int]  # left, top, width, height
    glued: bool = False  # no space before it in the photo (a Korean syllable of a word)


def parse_tsv(tsv: str, text: str = "") -> list[Token]:
    """Words (level 5 rows with text) of Tesseract's TSV output, in reading order. ``text``:
    its plain text output, which alone says where words have no space between them: the
    Korean model makes each syllable a word, and 마라탕 comes out as 마, 라, 탕."""
    tokens = []
    at = 0
    for row in tsv.splitlines():
        cells = row.split("\t")
        if len(cells) != 12 or cells[0] != "5" or not cells[11].strip():
            continue
        block, par, line, _, left, top, width, height = (int(c) for c in cells[2:10])
        word = cells[11].strip()
        found = text.find(word, at)
        glued = found == at and at > 0 and not text[at - 1].isspace()
        at = found + len(word) if found >= 0 else at
        tokens.append(
            Token(word, float(cells[10]), (block, par, line), (left, top, width, height), glued)
        )
    return tokens


_lock = threading.Lock()
_lib: ctypes.CDLL | None = None


def library() -> ctypes.CDLL:
    """libtesseract, loaded once. One OpenMP thread: with more, Tesseract took 4x the CPU on
    this 2-core machine (docs/moderation.md); workers parallelise instead."""
    global _lib
    with _lock:
        if _lib is None:
            os.environ.setdefault("OMP_THREAD_LIMIT", "1")
            try:
                lib = ctypes.CDLL(ctypes.util.find_library("tesseract") or LIBRARY)
            except OSError as exc:
                raise TesseractMissing(f"{LIBRARY} was not found ({exc})") from exc
            for name, (args, result) in _SIGNATURES.items():
                function = getattr(lib, name)
                function.argtypes, function.restype = args, result
            _leptonica_quiet()
            _lib = lib
        return _lib


LEPTONICA = "liblept.so.5"
LEPTONICA_SILENT = 6  # L_SEVERITY_NONE


def _leptonica_quiet() -> None:
    """Silence Leptonica's "Error in …" lines on ordinary photos (Tesseract reports failures)."""
    try:
        lept = ctypes.CDLL(ctypes.util.find_library("lept") or LEPTONICA)
    except OSError:
        return
    lept.setMsgSeverity.argtypes, lept.setMsgSeverity.restype = [ctypes.c_int], ctypes.c_int
    lept.setMsgSeverity(LEPTONICA_SILENT)


def version() -> str:
    return str(library().TessVersion().decode())


class Engine:
    """One initialised ``TessBaseAPI`` (not thread-safe: :func:`engine` keeps one per thread)."""

    def __init__(self, languages: str) -> None:
        lib = library()
        self._lib = lib
        self._handle = lib.TessBaseAPICreate()
        if lib.TessBaseAPIInit3(self._handle, None, languages.encode()) != 0:
            lib.TessBaseAPIDelete(self._handle)
            self._handle = None
            raise TesseractMissing(f"language data missing: {languages}")
        lib.TessBaseAPISetPageSegMode(self._handle, SPARSE_TEXT)
        for name, value in (
            ("invert_threshold", INVERT_BELOW),
            ("debug_file", "/dev/null"),
        ):
            lib.TessBaseAPISetVariable(self._handle, name.encode(), value.encode())

    def set_variable(self, name: str, value: str) -> None:
        """Set one of Tesseract's parameters (``tesseract --print-parameters``)."""
        if not self._lib.TessBaseAPISetVariable(self._handle, name.encode(), value.encode()):
            raise ValueError(f"tesseract has no parameter {name!r}")

    def __del__(self) -> None:
        handle = getattr(self, "_handle", None)
        if handle:
            self._lib.TessBaseAPIDelete(handle)

    def read(self, gray: Image.Image, deadline_ms: int) -> list[Token]:
        """The words of a grayscale image; raises :class:`RecognitionFailed` past the deadline."""
        if gray.mode != "L":
            raise ValueError(f"expected a grayscale (L) image, got {gray.mode}")
        lib, handle = self._lib, self._handle
        pixels = gray.tobytes()
        lib.TessBaseAPISetImage(handle, pixels, gray.width, gray.height, 1, gray.width)
        lib.TessBaseAPISetSourceResolution(handle, 70)  # a phone photo, not a 300 dpi scan
        monitor = lib.TessMonitorCreate()
        try:
            lib.TessMonitorSetDeadlineMSecs(monitor, max(1, deadline_ms))
            if lib.TessBaseAPIRecognize(handle, monitor) != 0:
                raise RecognitionFailed(f"no result within {deadline_ms} ms")
            tsv, text = lib.TessBaseAPIGetTsvText(handle, 0), lib.TessBaseAPIGetUTF8Text(handle)
            try:
                return parse_tsv(_decoded(tsv), _decoded(text))
            finally:
                lib.TessDeleteText(tsv)
                lib.TessDeleteText(text)
        finally:
            lib.TessMonitorDelete(monitor)
            lib.TessBaseAPIClear(handle)


def _decoded(pointer: int | None) -> str:
    return ctypes.string_at(pointer).decode("utf-8", "replace") if pointer else ""


_local = threading.local()


def engine(languages: str) -> Engine:
    """This thread's engine for ``languages`` (e.g. ``"eng"``), made on first use."""
    engines: dict[str, Engine] = _local.__dict__.setdefault("engines", {})
    if languages not in engines:
        engines[languages] = Engine(languages)
    return engines[languages]

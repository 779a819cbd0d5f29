"""Torch-free reader for PyTorch's *legacy* (pre-1.6, non-zip) ``.pth`` files."""

from __future__ import annotations

import collections
import io
import pickle
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C

_STORAGE_DTYPES: dict[str, np.dtype] = {
    "FloatStorage": np.dtype("<f4"),
    "DoubleStorage": np.dtype("<f8"),
    "HalfStorage": np.dtype("<f2"),
    "LongStorage": np.dtype("<i8"),
    "IntStorage": np.dtype("<i4"),
    "ShortStorage": np.dtype("<i2"),
    "CharStorage": np.dtype("i1"),
    "ByteStorage": np.dtype("u1"),
    "BoolStorage": np.dtype("?"),
}


class TorchLegacyFormatError(ValueError):
    """The file is not a legacy torch pickle we can read."""


@dataclass(frozen=True)
class _StorageType:
    name: str

    @property
    def dtype(self) -> np.dtype:
        return _STORAGE_DTYPES[self.name]


@dataclass
class _Storage:
    """Placeholder filled with data once the trailing raw bytes have been read."""

    key: str
    dtype: np.dtype
    numel: int
    data: np.ndarray | None = None


@dataclass
class _PendingTensor:
    """A tensor whose storage data is not read yet (data follows all pickles)."""

    storage: _Storage
    offset: int
    size: tuple[int, ...]
    stride: tuple[int, ...]

    def materialise(self) -> np.ndarray:
        assert self.storage.data is not None
        base = self.storage.data
        itemsize = base.dtype.itemsize
        if not self.size:  # 0-d tensor
            return np.array(base[self.offset])
        view = np.lib.stride_tricks.as_strided(
            base[self.offset :],
            shape=self.size,
            strides=tuple(s * itemsize for s in self.stride),
            writeable=False,
        )
        return np.ascontiguousarray(view)


def _rebuild_tensor_v2(
    storage: _Storage,
    storage_offset: int,
    size: tuple[int, ...],
    stride: tuple[int, ...],
    requires_grad: bool = False,
    backward_hooks: Any = None,
    metadata: Any = None,
) -> _PendingTensor:
    return _PendingTensor(storage, int(storage_offset), tuple(size), tuple(stride))


def _rebuild_tensor(
    storage: _Storage, storage_offset: int, size: tuple[int, ...], stride: tuple[int, ...]
) -> _PendingTensor:
    return _PendingTensor(storage, int(storage_offset), tuple(size), tuple(stride))


def _rebuild_parameter(
    data: _PendingTensor, requires_grad: bool, backward_hooks: Any
) -> _PendingTensor:
    return data


_ALLOWED: dict[tuple[str, str], Any] = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
}


class _LegacyUnpickler(pickle.Unpickler):
    def __init__(self, file: BinaryIO, storages: dict[str, _Storage]) -> None:
        super().__init__(file)
        self._storages = storages

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED:
            return _ALLOWED[(module, name)]
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name)
        raise TorchLegacyFormatError(f"refusing to unpickle global {module}.{name}")

    def persistent_load(self, pid: Any) -> Any:
        if not (isinstance(pid, tuple) and pid and pid[0] == "storage"):
            raise TorchLegacyFormatError(f"unsupported persistent id {pid!r}")
        _, storage_type, key, _location, numel, view_metadata = pid
        if view_metadata is not None:
            # Storage views were only produced by very old torch versions; not needed here.
            raise TorchLegacyFormatError("storage views are not supported")
        if key not in self._storages:
            self._storages[key] = _Storage(str(key), storage_type.dtype, int(numel))
        return self._storages[key]


def _plain_load(f: BinaryIO) -> Any:
    # The header pickles contain only builtins; still refuse any global.
    class _NoGlobals(pickle.Unpickler):
        def find_class(self, module: str, name: str) -> Any:
            raise TorchLegacyFormatError(f"unexpected global {module}.{name} in header")

    return _NoGlobals(f).load()


def load_legacy_state_dict(source: str | Path | BinaryIO) -> dict[str, np.ndarray]:
    """Read a legacy-format torch ``.pth`` state dict into ``{name: numpy array}``."""
    if isinstance(source, (str, Path)):
        with open(source, "rb") as fh:
            return load_legacy_state_dict(io.BytesIO(fh.read()))
    f = source
    magic = _plain_load(f)
    if magic != LEGACY_MAGIC:
        raise TorchLegacyFormatError("not a legacy torch file (bad magic number)")
    _protocol_version = _plain_load(f)
    sys_info = _plain_load(f)
    if not sys_info.get("little_endian", True):
        raise TorchLegacyFormatError("big-endian torch files are not supported")

    storages: dict[str, _Storage] = {}
    obj = _LegacyUnpickler(f, storages).load()
    keys = _plain_load(f)
    for key in keys:
        storage = storages[key]
        (numel,) = struct.unpack("<q", f.read(8))
        nbytes = numel * storage.dtype.itemsize
        raw = f.read(nbytes)
        if len(raw) != nbytes:
            raise TorchLegacyFormatError(f"storage {key} truncated")
        storage.data = np.frombuffer(raw, dtype=storage.dtype)

    if not isinstance(obj, dict):
        raise TorchLegacyFormatError(f"expected a state dict, got {type(obj).__name__}")
    return {
        name: t.materialise() if isinstance(t, _PendingTensor) else t for name, t in obj.items()
    }

from __future__ import annotations

import io
import os
import pickle

import numpy as np
import pytest

from mlmodels.build import source_weights_path
from mlmodels.convert.torch_legacy import (
    LEGACY_MAGIC,
    TorchLegacyFormatError,
    load_legacy_state_dict,
)


@pytest.fixture(scope="module")
def state_dict() -> dict[str, np.ndarray]:
    return load_legacy_state_dict(source_weights_path())


def test_reads_torchvision_mobilenet_v2(state_dict: dict[str, np.ndarray]) -> None:
    assert len(state_dict) == 314
    assert state_dict["features.0.0.weight"].shape == (32, 3, 3, 3)
    assert state_dict["features.1.conv.0.0.weight"].shape == (32, 1, 3, 3)  # depthwise
    assert state_dict["features.18.0.weight"].shape == (1280, 320, 1, 1)
    assert state_dict["classifier.1.weight"].shape == (1000, 1280)
    assert state_dict["classifier.1.bias"].shape == (1000,)
    assert state_dict["features.0.0.weight"].dtype == np.float32
    # int64 storages and 0-d tensors come through too
    assert state_dict["features.0.1.num_batches_tracked"].shape == ()
    assert state_dict["features.0.1.num_batches_tracked"].dtype == np.int64


def test_values_are_plausible_trained_weights(state_dict: dict[str, np.ndarray]) -> None:
    for name, arr in state_dict.items():
        assert np.isfinite(arr).all(), name
    assert (state_dict["features.0.1.running_var"] > 0).all()
    assert 0.01 < float(np.abs(state_dict["classifier.1.weight"]).mean()) < 1.0


def _header() -> bytes:
    return pickle.dumps(LEGACY_MAGIC) + pickle.dumps(1001) + pickle.dumps({"little_endian": True})


def test_refuses_arbitrary_globals() -> None:
    payload = _header() + pickle.dumps(os.system)  # pickled as a global reference
    with pytest.raises(TorchLegacyFormatError, match="refusing to unpickle"):
        load_legacy_state_dict(io.BytesIO(payload))


def test_rejects_non_legacy_files() -> None:
    with pytest.raises(TorchLegacyFormatError, match="magic"):
        load_legacy_state_dict(io.BytesIO(pickle.dumps(123)))

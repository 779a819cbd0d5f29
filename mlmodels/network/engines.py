"""Inference back-ends for the converted MobileNetV2: TFLite (default) and Keras."""

from __future__ import annotations

import os
import threading
import warnings
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from mlmodels.convert.keras_mobilenet import EMBEDDING_DIM, NUM_CLASSES, TEXTURE_DIM, build_model
from mlmodels.network.backbones import MOBILENET_V2

DEFAULT_BACKEND = "tflite"


class Engine(Protocol):
    def run(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...


def with_texture(embedding: np.ndarray, texture: np.ndarray | None) -> np.ndarray:
    """The embedding the heads read: the network's, then its texture where it has one."""
    return embedding if texture is None else np.concatenate([embedding, texture], axis=-1)


def _quiet_tf() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def tflite_interpreter_class() -> Any:
    # tf.lite.Interpreter is deprecated in favour of ai_edge_litert: prefer that when installed.
    try:
        from ai_edge_litert.interpreter import Interpreter

        return Interpreter
    except ImportError:
        _quiet_tf()
        import tensorflow as tf

        return tf.lite.Interpreter


class _FixedBatchInterpreter:
    """One TFLite interpreter sized for a fixed batch: resizing makes XNNPACK re-plan the graph."""

    def __init__(self, interpreter_cls: Any, model_path: Path, threads: int, batch: int) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            self._interp = interpreter_cls(model_path=str(model_path), num_threads=threads)
        detail = self._interp.get_input_details()[0]
        self._input = detail["index"]
        self._interp.resize_tensor_input(self._input, [batch, *detail["shape"][1:]])
        self._interp.allocate_tensors()
        # Outputs are told apart by width: the converter does not keep the signature's order.
        outputs = {int(d["shape"][-1]): d["index"] for d in self._interp.get_output_details()}
        self._logits, self._embedding = outputs[NUM_CLASSES], outputs[EMBEDDING_DIM]
        self._texture = outputs.get(TEXTURE_DIM)  # EfficientNet-Lite0's files have none

    def run(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        self._interp.set_tensor(self._input, np.ascontiguousarray(batch, dtype=np.float32))
        self._interp.invoke()
        texture = None if self._texture is None else self._interp.get_tensor(self._texture)
        embedding = with_texture(self._interp.get_tensor(self._embedding), texture)
        return self._interp.get_tensor(self._logits), embedding


class TFLiteEngine:
    """tf.lite interpreter (XNNPACK) running chunks of ``SUB_BATCH`` images, the rest one by one:
    larger batches lose their cache fit (figures in docs/model.md)."""

    SUB_BATCH = 4

    def __init__(
        self, model_dir: Path, threads: int, filename: str = MOBILENET_V2.tflite_file
    ) -> None:
        self._interpreter_cls = tflite_interpreter_class()
        self._model_path = model_dir / filename
        self._threads = threads
        self._runners: dict[int, _FixedBatchInterpreter] = {}
        self._lock = threading.Lock()  # an interpreter must not be invoked concurrently
        self._runner(1)  # fail early (bad file) and cover the common single-image case

    def _runner(self, size: int) -> _FixedBatchInterpreter:
        runner = self._runners.get(size)
        if runner is None:
            runner = _FixedBatchInterpreter(
                self._interpreter_cls, self._model_path, self._threads, size
            )
            self._runners[size] = runner
        return runner

    def run(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        logits, embeddings = [], []
        with self._lock:
            start, n = 0, len(batch)
            while start < n:
                size = self.SUB_BATCH if n - start >= self.SUB_BATCH else 1
                lg, emb = self._runner(size).run(batch[start : start + size])
                logits.append(lg)
                embeddings.append(emb)
                start += size
        return np.concatenate(logits), np.concatenate(embeddings)


class KerasEngine:
    """The Keras model with a compiled (tf.function) forward pass."""

    def __init__(self, model_dir: Path, threads: int) -> None:
        _quiet_tf()
        import tensorflow as tf

        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(1)
        except RuntimeError:
            pass  # TF already initialised in this process; keep its settings
        self._model = build_model()
        self._model.load_weights(str(model_dir / MOBILENET_V2.weights_file))
        self._fn = tf.function(lambda x: self._model(x, training=False), reduce_retracing=True)

    def run(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        logits, embedding, texture = self._fn(batch)
        return np.asarray(logits), with_texture(np.asarray(embedding), np.asarray(texture))


def make_engine(backend: str, model_dir: Path, threads: int, tflite_file: str) -> Engine:
    if backend == "tflite":
        return TFLiteEngine(model_dir, threads, tflite_file)
    if backend == "keras":
        return KerasEngine(model_dir, threads)
    raise ValueError(f"unknown backend {backend!r} (expected 'tflite' or 'keras')")


def _flatbuffer_interpreter(flatbuffer: bytes) -> Any:
    import tensorflow as tf

    with warnings.catch_warnings():  # tf.lite.Interpreter's deprecation notice
        warnings.simplefilter("ignore")
        return tf.lite.Interpreter(model_content=flatbuffer, num_threads=2)


def flatbuffer_tensor_names(flatbuffer: bytes) -> list[str]:
    return [detail["name"] for detail in _flatbuffer_interpreter(flatbuffer).get_tensor_details()]


def run_flatbuffer(flatbuffer: bytes, x: np.ndarray) -> dict[str, np.ndarray]:
    """Each output of a TFLite model on the batch ``x``, by output name (build-time checks)."""
    interp = _flatbuffer_interpreter(flatbuffer)
    index = interp.get_input_details()[0]["index"]
    interp.resize_tensor_input(index, list(x.shape))
    interp.allocate_tensors()
    interp.set_tensor(index, x)
    interp.invoke()
    return {d["name"]: interp.get_tensor(d["index"]) for d in interp.get_output_details()}

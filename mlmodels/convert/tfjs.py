"""Load TensorFlow.js *graph models* (``model.json`` + ``.bin`` shards) into plain TensorFlow."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

# TF.js stores these dtypes in the shards (after dequantisation, for quantised entries).
_DTYPES: dict[str, Any] = {
    "float32": np.float32,
    "int32": np.int32,
    "bool": np.bool_,
}
_QUANT_DTYPES: dict[str, Any] = {
    "float16": np.float16,
    "uint8": np.uint8,
    "uint16": np.uint16,
}
# The TF.js converter's own fused op names mapped to the TensorFlow kernels they came from. TF.js
# drops the leading underscore that marks TensorFlow's internal (grappler-created) fused ops.
_OP_RENAMES: dict[str, str] = {
    "FusedDepthwiseConv2dNative": "_FusedDepthwiseConv2dNative",
}


# TensorFlow's fused kernels, which the TF.js converter keeps, and the post-ops their CPU kernels
# implement. TF.js also fuses ops TensorFlow cannot ("Prelu"): those must fail loudly.
_FUSED_OPS = frozenset({"_FusedConv2D", "_FusedDepthwiseConv2dNative", "_FusedMatMul"})
_FUSED_POST_OPS = frozenset({"BiasAdd", "Relu", "Relu6", "Elu", "LeakyRelu"})


class TfjsFormatError(ValueError):
    """The model.json or its shards are not a TF.js graph model this loader understands."""


def read_model_json(model_json: str | Path) -> dict[str, Any]:
    data = json.loads(Path(model_json).read_text())
    if not isinstance(data, dict) or data.get("format") != "graph-model":
        raise TfjsFormatError(f"{model_json}: not a TF.js graph model (format != 'graph-model')")
    return data


def _check_room(buf: memoryview, offset: int, nbytes: int, name: str, path: str) -> None:
    if offset + nbytes > len(buf):
        raise TfjsFormatError(f"{path}: shards too short for weight {name!r}")


def _decode_entry(
    entry: dict[str, Any], buf: memoryview, offset: int, path: str
) -> tuple[np.ndarray, int]:
    """Decode one manifest entry starting at ``offset``; returns (array, next offset)."""
    name = entry["name"]
    dtype_name = entry["dtype"]
    shape = [int(d) for d in entry.get("shape", [])]
    count = int(np.prod(shape, dtype=np.int64)) if shape else 1
    if dtype_name not in _DTYPES:
        raise TfjsFormatError(f"{path}: weight {name!r} has unsupported dtype {dtype_name!r}")
    quant = entry.get("quantization")
    if quant:
        qname = quant.get("dtype")
        if qname not in _QUANT_DTYPES:
            raise TfjsFormatError(f"{path}: weight {name!r} uses unsupported quantisation {quant}")
        qdtype = np.dtype(_QUANT_DTYPES[qname]).newbyteorder("<")
        nbytes = count * qdtype.itemsize
        _check_room(buf, offset, nbytes, name, path)
        raw = np.frombuffer(buf[offset : offset + nbytes], dtype=qdtype, count=count)
        if qname == "float16":
            values = raw.astype(np.float32)
        else:
            # Affine quantisation: value = q * scale + min (TF.js converter's quantize.py).
            if "scale" not in quant or "min" not in quant:
                raise TfjsFormatError(f"{path}: weight {name!r}: {qname} without scale/min")
            values = raw.astype(np.float32) * np.float32(quant["scale"]) + np.float32(quant["min"])
        values = values.astype(_DTYPES[dtype_name])
    else:
        dtype = np.dtype(_DTYPES[dtype_name])
        if dtype != np.bool_:
            dtype = dtype.newbyteorder("<")  # TF.js writes little-endian
        nbytes = count * dtype.itemsize
        _check_room(buf, offset, nbytes, name, path)
        values = np.frombuffer(buf[offset : offset + nbytes], dtype=dtype, count=count)
    return values.reshape(shape).copy(), offset + nbytes


def read_weights(model: dict[str, Any], base_dir: str | Path) -> dict[str, np.ndarray]:
    """All weights of a graph model, name -> array, read from the shard files next to it."""
    out: dict[str, np.ndarray] = {}
    for group in model.get("weightsManifest", []):
        paths: Sequence[str] = group["paths"]
        # A group's shards are one buffer cut into files; entries may span shard boundaries.
        data = b"".join((Path(base_dir) / p).read_bytes() for p in paths)
        buf = memoryview(data)
        offset = 0
        label = ",".join(paths)
        for entry in group["weights"]:
            values, offset = _decode_entry(entry, buf, offset, label)
            out[entry["name"]] = values
        if offset != len(buf):
            raise TfjsFormatError(f"{label}: {len(buf) - offset} unread bytes after the weights")
    return out


def _restore_fused_attrs(node: Any, path: Path) -> None:
    """Put back the ``TArgs`` attr the TF.js converter strips from fused ops (one ``T`` per
    extra argument); without it ``import_graph_def`` rejects the node."""
    fused = [s.decode() for s in node.attr["fused_ops"].list.s]
    unsupported = [op for op in fused if op not in _FUSED_POST_OPS]
    if unsupported:
        raise TfjsFormatError(f"{path}: node {node.name!r} fuses {unsupported}, not a TF kernel")
    from tensorflow.python.framework import op_def_registry

    op_def = op_def_registry.get(node.op)
    # Only some fused kernels declare TArgs (_FusedConv2D does, _FusedMatMul does not).
    if op_def is not None and "TArgs" not in node.attr:
        if any(a.name == "TArgs" for a in op_def.attr):
            num_args = node.attr["num_args"].i
            node.attr["TArgs"].list.type.extend([node.attr["T"].type] * num_args)


# Fused op -> (plain op, attrs it keeps). The TFLite converter knows only the plain ops.
_UNFUSED: dict[str, tuple[str, tuple[str, ...]]] = {
    "_FusedConv2D": (
        "Conv2D",
        ("T", "strides", "padding", "explicit_paddings", "data_format", "dilations"),
    ),
    "_FusedDepthwiseConv2dNative": (
        "DepthwiseConv2dNative",
        ("T", "strides", "padding", "explicit_paddings", "data_format", "dilations"),
    ),
    "_FusedMatMul": ("MatMul", ("T", "transpose_a", "transpose_b")),
}


def unfuse(graph_def: Any, ops: frozenset[str] = frozenset(_UNFUSED)) -> None:
    """Split each fused node whose op is in ``ops`` into the plain op and its post-ops (BiasAdd,
    Relu...); the last step keeps the node's name, so consumers need no rewiring."""
    import tensorflow as tf

    nodes = []
    for node in graph_def.node:
        if node.op not in ops:
            nodes.append(node)
            continue
        plain_op, keep = _UNFUSED[node.op]
        data = [name for name in node.input if not name.startswith("^")]
        control = [name for name in node.input if name.startswith("^")]
        fused = [s.decode() for s in node.attr["fused_ops"].list.s]
        unsupported = [op for op in fused if op not in _FUSED_POST_OPS]
        if unsupported:
            raise TfjsFormatError(f"node {node.name!r} fuses {unsupported}: cannot unfuse")
        conv = tf.compat.v1.NodeDef(
            name=node.name if not fused else f"{node.name}/unfused_{plain_op}", op=plain_op
        )
        conv.input.extend([*data[:2], *control])
        for key in keep:
            if key in node.attr:
                conv.attr[key].CopyFrom(node.attr[key])
        nodes.append(conv)
        previous, args = conv.name, data[2:]
        for i, op in enumerate(fused):
            step = tf.compat.v1.NodeDef(
                name=node.name if i == len(fused) - 1 else f"{node.name}/unfused_{i}", op=op
            )
            step.attr["T"].CopyFrom(node.attr["T"])
            if op == "BiasAdd":
                step.input.extend([previous, args[0]])
                if "data_format" in node.attr:
                    step.attr["data_format"].CopyFrom(node.attr["data_format"])
            else:
                step.input.append(previous)
                if op == "LeakyRelu":
                    step.attr["alpha"].f = node.attr["leakyrelu_alpha"].f
            nodes.append(step)
            previous = step.name
    del graph_def.node[:]
    graph_def.node.extend(nodes)


def relu6_from_clip(graph_def: Any) -> int:
    """Rewrite old Keras' ReLU6, ``Maximum(Minimum(Relu(x), 6), 0)``, as ``Relu6(x)``; the
    number rewritten. TFLite fuses Relu6 into the convolution before it; left as three ops, they
    became separate RELU6 ops that keep an int8 model off XNNPACK (4x slower, docs/people.md)."""
    import tensorflow as tf

    nodes = {node.name: node for node in graph_def.node}

    def feeds(node: Any, op: str) -> Any:
        found = nodes.get(node.input[0].split(":")[0]) if node.input else None
        return found if found is not None and found.op == op else None

    def constant(name: str) -> float | None:
        node = nodes.get(name.split(":")[0])
        if node is None or node.op != "Const":
            return None
        value = tf.make_ndarray(node.attr["value"].tensor)
        return float(value) if value.size == 1 else None

    rewritten = 0
    for node in graph_def.node:
        low = feeds(node, "Minimum") if node.op == "Maximum" else None
        relu = feeds(low, "Relu") if low is not None else None
        if low is None or relu is None:
            continue
        if constant(node.input[1]) != 0 or constant(low.input[1]) != 6:
            continue
        dtype = node.attr["T"]
        node.op = "Relu6"
        del node.input[:]
        node.input.append(relu.input[0])
        node.attr.clear()
        node.attr["T"].CopyFrom(dtype)
        rewritten += 1
    return rewritten


def load_graph_def(model_json: str | Path) -> tuple[Any, dict[str, Any]]:
    """Return ``(tf.compat.v1.GraphDef, model.json dict)`` with every weight filled in."""
    import tensorflow as tf
    from google.protobuf import json_format

    path = Path(model_json)
    model = read_model_json(path)
    weights = read_weights(model, path.parent)
    graph_def = tf.compat.v1.GraphDef()
    # ignore_unknown_fields: newer converters add keys the GraphDef proto does not have.
    json_format.ParseDict(model["modelTopology"], graph_def, ignore_unknown_fields=True)
    missing = set(weights)
    for node in graph_def.node:
        node.op = _OP_RENAMES.get(node.op, node.op)
        node.device = ""  # converter-recorded placements ("/device:CPU:0") are not ours to keep
        if node.op in _FUSED_OPS:
            _restore_fused_attrs(node, path)
        if node.op == "Const" and node.name in weights:
            node.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(weights[node.name]))
            node.attr["dtype"].type = node.attr["value"].tensor.dtype
            missing.discard(node.name)
    if missing:
        raise TfjsFormatError(f"{path}: weights with no Const node: {sorted(missing)[:5]}")
    # TensorFlow has no CPU kernel for fused depthwise convolutions; the others it runs fused
    unfuse(graph_def, frozenset({"_FusedDepthwiseConv2dNative"}))
    return graph_def, model


def load_function(model_json: str | Path, inputs: Sequence[str], outputs: Sequence[str]) -> Any:
    """A concrete TF function ``fn(*inputs) -> outputs``; names as in the graph ("input_1:0")."""
    graph_def, _ = load_graph_def(model_json)
    return graph_function(graph_def, inputs, outputs)


def graph_function(graph_def: Any, inputs: Sequence[str], outputs: Sequence[str]) -> Any:
    """``graph_def`` wrapped as a concrete function, eagerly callable and thread-safe."""
    import tensorflow as tf

    def _import() -> None:
        tf.compat.v1.import_graph_def(graph_def, name="")

    wrapped = tf.compat.v1.wrap_function(_import, [])
    graph = wrapped.graph
    return wrapped.prune(
        [graph.as_graph_element(n) for n in inputs], [graph.as_graph_element(n) for n in outputs]
    )

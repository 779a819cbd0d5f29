"""Post-processing of the TFLite people models in numpy (what the TF.js graphs did in-graph),
op for op, so a converted model can be checked against its whole graph (docs/people.md).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

MOVENET_STRIDE = 4  # heat-map cell = 4 input px
MOVENET_MAX_PEOPLE = 6
MOVENET_KEYPOINTS = 17
# Constants read from the graph (its Const nodes); the odd values are float16-rounded there.
_PEAK_POOL = 5
_PEAK_EPS = 1.0132789611816406e-06
_SNAP_SIGMA2 = 0.300048828125  # x min(grid h, w): squared-distance scale of the snapping weight
_KEYPOINT_MIN = 0.126953125  # keypoints scoring below do not count towards the person score

BLAZEFACE_SIZE = 256


def sigmoid(x: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(x, -80.0, 80.0))))


def _max_pool_same(x: np.ndarray, k: int) -> np.ndarray:
    pad = k // 2
    padded = np.pad(x, ((pad, pad), (pad, pad)), constant_values=-np.inf)
    rows = sliding_window_view(padded, k, axis=1).max(axis=-1)  # max is separable: k + k, not k²
    return np.asarray(sliding_window_view(rows, k, axis=0).max(axis=-1))


def movenet_decode(
    center: np.ndarray,
    heat: np.ndarray,
    regress: np.ndarray,
    offset: np.ndarray,
    box_scale: np.ndarray,
    box_offset: np.ndarray,
) -> np.ndarray:
    """One image's heads (H, W, C each, sigmoid already applied to ``center`` and ``heat``) ->
    (6, 56): 17 x (y, x, score) normalised to the input, box (ymin, xmin, ymax, xmax), score."""
    h, w = center.shape[:2]
    c = center[..., 0]
    peaks = c * (np.abs(c - _max_pool_same(c, _PEAK_POOL)) < _PEAK_EPS)
    flat = peaks.reshape(-1)
    # stable sort on -score keeps TopKV2's order among ties (lower index first)
    idx = np.argsort(-flat, kind="stable")[:MOVENET_MAX_PEOPLE]
    scores = flat[idx]
    cy, cx = (idx // w).astype(np.float32), (idx % w).astype(np.float32)
    iy, ix = idx // w, idx % w

    size = np.maximum(box_scale[iy, ix], 0.0)
    off = box_offset[iy, ix]
    y0 = np.clip(cy + off[:, 0] - size[:, 0] * 0.5, 0.0, h)
    x0 = np.clip(cx + off[:, 1] - size[:, 1] * 0.5, 0.0, w)
    y1 = np.clip(cy + off[:, 0] + size[:, 0] * 0.5, 0.0, h)
    x1 = np.clip(cx + off[:, 1] + size[:, 1] * 0.5, 0.0, w)
    box = np.stack([y0, x0, y1, x1], axis=1)  # grid units
    box_norm = np.clip(box / np.array([h, w, h, w], np.float32), 0.0, 1.0)

    reg = regress[iy, ix].reshape(-1, MOVENET_KEYPOINTS, 2)
    ky, kx = cy[:, None] + reg[..., 0], cx[:, None] + reg[..., 1]  # (6, 17)
    # exp(-(dy² + dx²)/s) and the in-box test both split into a row and a column factor: two
    # small arrays instead of four passes over (H, W, 6, 17)
    scale = min(h, w) * _SNAP_SIGMA2
    rows, cols = np.arange(h, dtype=np.float32), np.arange(w, dtype=np.float32)
    in_rows = (rows[:, None] >= box[:, 0]) & (rows[:, None] < box[:, 2])  # (H, 6)
    in_cols = (cols[:, None] >= box[:, 1]) & (cols[:, None] < box[:, 3])  # (W, 6)
    fy = np.exp(-((rows[:, None, None] - ky) ** 2) / scale) * in_rows[..., None]  # (H, 6, 17)
    fx = np.exp(-((cols[:, None, None] - kx) ** 2) / scale) * in_cols[..., None]  # (W, 6, 17)
    # The graph takes each (person, joint)'s argmax over the whole grid; the weights are zero
    # outside the person's box, so only the box is searched (nothing there: cell 0, as argmax).
    cells = np.zeros((2, MOVENET_MAX_PEOPLE, MOVENET_KEYPOINTS), np.int64)  # (y, x) of each
    for p in range(MOVENET_MAX_PEOPLE):
        r, q = np.flatnonzero(in_rows[:, p]), np.flatnonzero(in_cols[:, p])
        if not r.size or not q.size:
            continue
        r0, r1, c0, c1 = r[0], r[-1] + 1, q[0], q[-1] + 1
        weighted = (heat[r0:r1, c0:c1] * fy[r0:r1, None, p]) * fx[None, c0:c1, p]
        flat_w = weighted.reshape(-1, MOVENET_KEYPOINTS)
        arg = flat_w.argmax(axis=0)
        hit = flat_w[arg, np.arange(MOVENET_KEYPOINTS)] > 0
        cells[0, p] = np.where(hit, r0 + arg // (c1 - c0), 0)
        cells[1, p] = np.where(hit, c0 + arg % (c1 - c0), 0)
    py, px = cells.reshape(2, -1)
    joint = np.tile(np.arange(MOVENET_KEYPOINTS), MOVENET_MAX_PEOPLE)
    kp_off = offset.reshape(h, w, MOVENET_KEYPOINTS, 2)[py, px, joint]
    kp_y = (py + kp_off[:, 0]) / h
    kp_x = (px + kp_off[:, 1]) / w
    best = (heat[py, px, joint][:, None] * fy[py, :, joint]) * fx[px, :, joint]  # over people
    kp_s = best.max(axis=1).reshape(MOVENET_MAX_PEOPLE, MOVENET_KEYPOINTS)
    valid = kp_s > _KEYPOINT_MIN
    person = scores * (kp_s * valid).sum(axis=1) / np.maximum(valid.sum(axis=1), 1.0)
    kps = np.stack([kp_y, kp_x, kp_s.reshape(-1)], axis=1).reshape(MOVENET_MAX_PEOPLE, -1)
    return np.concatenate([kps, box_norm, person[:, None]], axis=1).astype(np.float32)


def blazeface_anchors(size: int = BLAZEFACE_SIZE) -> np.ndarray:
    """(896, 2) anchor centres (x, y) in input px: 2 per cell at stride 16, 6 at stride 32."""
    out = []
    for stride, per_cell in ((16, 2), (32, 6)):
        n = size // stride
        ys, xs = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
        centres = np.stack([xs.reshape(-1), ys.reshape(-1)], axis=1).astype(np.float32)
        out.append(np.repeat((centres + 0.5) * stride, per_cell, axis=0))
    return np.concatenate(out)


_ANCHORS = blazeface_anchors()


def blazeface_decode(
    logits: np.ndarray, raw: np.ndarray, min_score: float, iou: float = 0.3
) -> list[tuple[float, np.ndarray]]:
    """One image's (896,) logits and (896, 16) regressors -> [(score, x1 y1 x2 y2 in 0..1)]
    after non-maximum suppression, best first."""
    scores = sigmoid(logits)
    keep = np.flatnonzero(scores >= min_score)
    if keep.size == 0:
        return []
    centre = raw[keep, 0:2] + _ANCHORS[keep]
    half = raw[keep, 2:4] / 2
    boxes = np.concatenate([centre - half, centre + half], axis=1) / BLAZEFACE_SIZE
    return nms(scores[keep], boxes, iou)


def nms(scores: np.ndarray, boxes: np.ndarray, iou: float) -> list[tuple[float, np.ndarray]]:
    """Greedy non-maximum suppression over x1 y1 x2 y2 boxes."""
    order = np.argsort(-scores, kind="stable")
    areas = np.maximum(boxes[:, 2] - boxes[:, 0], 0) * np.maximum(boxes[:, 3] - boxes[:, 1], 0)
    kept: list[tuple[float, np.ndarray]] = []
    while order.size:
        i, rest = order[0], order[1:]
        kept.append((float(scores[i]), boxes[i]))
        lt = np.maximum(boxes[i, :2], boxes[rest, :2])
        rb = np.minimum(boxes[i, 2:], boxes[rest, 2:])
        inter = np.prod(np.maximum(rb - lt, 0), axis=1)
        overlap = inter / np.maximum(areas[i] + areas[rest] - inter, 1e-9)
        order = rest[overlap <= iou]
    return kept

"""Class-balanced L2 logistic regressions solved by truncated Newton in the data's row space."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from mlmodels.concepts.heads import sigmoid

L2_GRID: tuple[float, ...] = (0.01, 0.1, 1.0)  # on standardised features, loss averaged
# Signals are scaled by this after standardising: a few meaningful numbers among 1280 anonymous
# ones get a boost^2 times weaker penalty. Chosen per concept by the inner CV (docs/model.md).
BOOST_GRID: tuple[float, ...] = (1.0, 10.0)


@dataclass(frozen=True)
class Setting:
    l2: float
    boost: float = 1.0


def settings_grid(l2_grid: Sequence[float], boost_grid: Sequence[float]) -> list[Setting]:
    return [Setting(float(l2), float(b)) for b in boost_grid for l2 in l2_grid]


@dataclass(frozen=True)
class Basis:
    """Thin SVD of a standardised training matrix X = U S Vt."""

    z: np.ndarray  # (N, r) = U S
    v: np.ndarray  # (F, r)

    @classmethod
    def of(cls, x: np.ndarray) -> Basis:
        x = np.asarray(x, dtype=np.float64)
        if x.shape[0] < x.shape[1]:
            # Eigen-decomposition of the N x N Gram matrix: ~3x cheaper than an SVD when N < F.
            eig, u = np.linalg.eigh(x @ x.T)
            eig, u = eig[::-1], u[:, ::-1]
            keep = eig > max(float(eig[0]), 0.0) * 1e-12 if eig.size else eig > 0
            s, u = np.sqrt(eig[keep]), u[:, keep]
            return cls(z=u * s, v=(x.T @ u) / s)
        u, s, vt = np.linalg.svd(x, full_matrices=False)
        keep = s > s[0] * 1e-6 if s.size else s > 0
        return cls(z=u[:, keep] * s[keep], v=vt[keep].T)


def class_weights(y: np.ndarray) -> np.ndarray:
    """Balanced per column: positives and negatives weigh half each, ignored (-1) rows 0."""
    y2 = y.reshape(len(y), -1)
    n_pos, n_neg = (y2 == 1).sum(axis=0), (y2 == 0).sum(axis=0)
    n = n_pos + n_neg
    both = (n_pos > 0) & (n_neg > 0)
    w_pos = np.where(both, n / (2 * np.maximum(n_pos, 1)), 0.0)
    w_neg = np.where(both, n / (2 * np.maximum(n_neg, 1)), 0.0)
    w = np.where(y2 == 1, w_pos, np.where(y2 == 0, w_neg, 0.0))
    return w.reshape(y.shape)


def _cg(
    matvec: Callable[[np.ndarray], np.ndarray],
    rhs: np.ndarray,
    precond: np.ndarray,
    *,
    rtol: float,
    max_iter: int,
) -> np.ndarray:
    """Preconditioned CG for many independent SPD systems, one per column of ``rhs``."""
    sol = np.zeros_like(rhs)
    res = rhs.copy()
    zres = res / precond
    direction = zres.copy()
    rz = (res * zres).sum(axis=0)
    goal = rtol * np.linalg.norm(rhs, axis=0)
    for _ in range(max_iter):
        if np.all(np.linalg.norm(res, axis=0) <= goal):
            break
        hd = matvec(direction)
        curv = (direction * hd).sum(axis=0)
        alpha = np.divide(rz, curv, out=np.zeros_like(rz), where=curv > 0)
        sol += alpha * direction
        res -= alpha * hd
        zres = res / precond
        rz_new = (res * zres).sum(axis=0)
        beta = np.divide(rz_new, rz, out=np.zeros_like(rz), where=rz > 0)
        direction = zres + beta * direction
        rz = rz_new
    return sol


def fit_logistic_many(
    x: np.ndarray,
    y: np.ndarray,
    l2: Sequence[float] | np.ndarray,
    *,
    basis: Basis | None = None,
    init: tuple[np.ndarray, np.ndarray] | None = None,
    max_iter: int = 50,
    tol: float = 1e-10,
) -> tuple[np.ndarray, np.ndarray]:
    """Independent class-balanced logistic regressions sharing the features ``x`` (N, F): column
    k of ``y`` (N, K) in {1, 0, -1} with penalty ``l2[k]``. Returns weights (F, K), biases (K,)."""
    y = np.asarray(y).reshape(len(y), -1)
    n_cols = y.shape[1]
    if basis is None:
        basis = Basis.of(x)
    a = np.hstack([basis.z, np.ones((basis.z.shape[0], 1))])
    c = class_weights(y)
    t = (y == 1).astype(np.float64)
    n = np.maximum(c.sum(axis=0), 1.0)
    trainable = c.sum(axis=0) > 0
    penalty = np.repeat(np.asarray(l2, dtype=np.float64).reshape(1, -1), a.shape[1], axis=0)
    penalty[-1] = 1e-12  # the bias is unpenalised; a tiny value keeps the systems definite
    theta = np.zeros((a.shape[1], n_cols))
    if init is not None:
        theta[:-1] = basis.v.T @ init[0]
        theta[-1] = init[1]
    sign = 1.0 - 2.0 * t  # log-loss = log(1 + exp(sign * margin))

    def objective(th: np.ndarray) -> np.ndarray:
        loss = np.logaddexp(0.0, sign * (a @ th))
        value: np.ndarray = (c * loss).sum(axis=0) / n + 0.5 * (penalty * th * th).sum(axis=0)
        return value

    current = objective(theta)
    active = trainable.copy()
    a_sq = a * a
    for _ in range(max_iter):
        p = sigmoid(a @ theta)
        grad = a.T @ (c * (p - t)) / n + penalty * theta
        curvature = c * p * (1 - p) / n
        grad[:, ~active] = 0.0

        def hess_times(v: np.ndarray, curvature: np.ndarray = curvature) -> np.ndarray:
            out: np.ndarray = a.T @ (curvature * (a @ v)) + penalty * v
            return out

        precond = a_sq.T @ curvature + penalty
        step = _cg(hess_times, grad, precond, rtol=1e-6, max_iter=500)
        decrement = (grad * step).sum(axis=0)
        active &= decrement / 2 > tol
        if not active.any():
            break
        rate = np.where(active, 1.0, 0.0)
        for _ in range(30):
            candidate = theta - rate * step
            value = objective(candidate)
            bad = active & (value > current - 0.25 * rate * decrement)
            if not bad.any():
                break
            rate = np.where(bad, rate / 2, rate)
        theta = np.where(active, candidate, theta)
        current = np.where(active, value, current)
    weights = basis.v @ theta[:-1]
    bias = theta[-1].copy()
    # Degenerate columns: all positive -> always yes, otherwise (all negative / none) never.
    all_pos = ((y == 1).sum(axis=0) > 0) & ~trainable
    weights[:, ~trainable] = 0.0
    bias[~trainable] = np.where(all_pos[~trainable], 10.0, -10.0)
    return weights, bias


def fit_logistic(
    x: np.ndarray,
    y: np.ndarray,
    l2: float,
    *,
    basis: Basis | None = None,
    init: tuple[np.ndarray, float] | None = None,
) -> tuple[np.ndarray, float]:
    """One column of :func:`fit_logistic_many`: weights (F,) and bias."""
    init_many = None if init is None else (init[0][:, None], np.array([init[1]]))
    w, b = fit_logistic_many(x, np.asarray(y)[:, None], [l2], basis=basis, init=init_many)
    return w[:, 0], float(b[0])


@dataclass(frozen=True)
class Standardiser:
    mean: np.ndarray
    scale: np.ndarray

    @classmethod
    def of(cls, raw: np.ndarray) -> Standardiser:
        mean = raw.mean(axis=0)
        scale = raw.std(axis=0)
        # Constant features (e.g. a signal no photo has yet) stay 0 after standardising.
        scale = np.where(scale > 1e-6, scale, 1.0)
        return cls(mean.astype(np.float32), scale.astype(np.float32))

    def __call__(self, raw: np.ndarray) -> np.ndarray:
        out: np.ndarray = ((raw - self.mean) / self.scale).astype(np.float64)
        return out


def fit_all(
    x_raw: np.ndarray,
    labels: np.ndarray,
    settings: Sequence[Sequence[Setting]],
    n_signals: int = 0,
) -> tuple[Standardiser, list[list[tuple[np.ndarray, float]]]]:
    """Fit every concept j at every setting in ``settings[j]``, one batched solve per boost; the
    last ``n_signals`` features are the boosted ones. Weights apply to ``std(x_raw)``."""
    std = Standardiser.of(x_raw)
    x = std(x_raw)
    found: dict[tuple[int, int], tuple[np.ndarray, float]] = {}
    for boost in sorted({s.boost for grid in settings for s in grid}):
        cols = [
            (j, k, s.l2)
            for j, grid in enumerate(settings)
            for k, s in enumerate(grid)
            if s.boost == boost
        ]
        xb = x.copy()
        if n_signals:
            xb[:, -n_signals:] *= boost
        w, b = fit_logistic_many(
            xb, labels[:, [j for j, _, _ in cols]], [l2 for _, _, l2 in cols], basis=Basis.of(xb)
        )
        if n_signals:
            w[-n_signals:] *= boost  # the same model on unboosted features
        for c, (j, k, _) in enumerate(cols):
            found[j, k] = (w[:, c], float(b[c]))
    return std, [[found[j, k] for k in range(len(grid))] for j, grid in enumerate(settings)]


def predict(std: Standardiser, fit: tuple[np.ndarray, float], x_raw: np.ndarray) -> np.ndarray:
    return sigmoid(std(x_raw) @ fit[0] + fit[1])

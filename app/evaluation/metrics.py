"""Agreement metrics between predictions and human labels, with bootstrap intervals."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

Metric = Callable[[np.ndarray, np.ndarray], float]


def _ranks(values: np.ndarray) -> np.ndarray:
    """Average ranks (ties share their mean rank)."""
    order = np.argsort(values, kind="mergesort")
    ranks = np.empty(len(values), dtype=float)
    sorted_values = values[order]
    i = 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and sorted_values[j + 1] == sorted_values[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    x, y = np.asarray(x, float), np.asarray(y, float)
    if len(x) < 2 or x.std() == 0 or y.std() == 0:
        return float("nan")
    return float(np.corrcoef(x, y)[0, 1])


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    return pearson(_ranks(np.asarray(x, float)), _ranks(np.asarray(y, float)))


def mae(x: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(np.abs(np.asarray(x, float) - np.asarray(y, float))))


def rmse(x: np.ndarray, y: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.asarray(x, float) - np.asarray(y, float)) ** 2)))


def quadratic_weighted_kappa(x: np.ndarray, y: np.ndarray, low: int = 1, high: int = 5) -> float:
    """Cohen's kappa with quadratic weights on integer ratings low..high (NaN for non-finite ratings)."""
    if not (np.isfinite(np.asarray(x, float)).all() and np.isfinite(np.asarray(y, float)).all()):
        return float("nan")  # a NaN rating has no cell in the table (it used to index out of it)
    a = np.clip(np.rint(np.asarray(x, float)), low, high).astype(int) - low
    b = np.clip(np.rint(np.asarray(y, float)), low, high).astype(int) - low
    k = high - low + 1
    observed = np.zeros((k, k))
    for i, j in zip(a, b, strict=True):
        observed[i, j] += 1
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0)) / max(1, len(a))
    weights = np.array([[(i - j) ** 2 for j in range(k)] for i in range(k)]) / (k - 1) ** 2
    denominator = (weights * expected).sum()
    return float(1 - (weights * observed).sum() / denominator) if denominator else float("nan")


def bootstrap_ci(
    metric: Metric, x: Sequence[float], y: Sequence[float], n: int = 1000, seed: int = 7
) -> tuple[float, float]:
    """95% percentile interval of metric over resamples of the pairs."""
    xs, ys = np.asarray(x, float), np.asarray(y, float)
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(n):
        idx = rng.integers(0, len(xs), len(xs))
        value = metric(xs[idx], ys[idx])
        if not np.isnan(value):
            values.append(value)
    if not values:
        return (float("nan"), float("nan"))
    return (float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5)))

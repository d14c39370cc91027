"""Pairwise squared Euclidean distances of many long vectors, fast and accurate.

The Gram form ``|x|^2 + |y|^2 - 2 x.y`` turns n^2 / 2 vector differences into one BLAS
matrix product. It is computed in float64 over column blocks (bounded memory, no
float32 cancellation), after centring the columns, which leaves distances unchanged
and shrinks the terms that cancel.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from p2pfl.robust.base import Matrix

BLOCK = 1 << 16  # columns per block: n x 65536 float64 is 51 MB for n = 100


def pairwise_sq_distances(x: Matrix) -> NDArray[np.float64]:
    n, d = x.shape
    gram = np.zeros((n, n), dtype=np.float64)
    for start in range(0, d, BLOCK):
        block = np.asarray(x[:, start : start + BLOCK], dtype=np.float64)
        block = block - block.mean(axis=0, keepdims=True)
        gram += block @ block.T
    sq = np.diag(gram)
    dist = sq[:, None] + sq[None, :] - 2.0 * gram
    np.maximum(dist, 0.0, out=dist)
    np.fill_diagonal(dist, 0.0)
    return dist

"""Seeded shards of a labelled data set: IID and Dirichlet(alpha) non-IID."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from p2pfl.errors import ConfigError

IndexArray = NDArray[np.int64]


def iid_shards(num_samples: int, clients: int, seed: int) -> list[IndexArray]:
    """Shuffle ``range(num_samples)`` and cut it into ``clients`` near-equal shards."""
    if clients < 1:
        raise ConfigError("need at least one client")
    if num_samples < clients:
        raise ConfigError(f"{num_samples} samples cannot fill {clients} shards")
    order = np.random.default_rng(seed).permutation(num_samples).astype(np.int64)
    return [np.sort(part) for part in np.array_split(order, clients)]


def dirichlet_shards(
    labels: NDArray[np.integer], clients: int, alpha: float, seed: int, min_size: int = 10
) -> list[IndexArray]:
    """Label-skewed shards: each class is split across clients by Dirichlet(alpha).

    Small ``alpha`` gives each client few classes; large ``alpha`` tends to IID. The
    draw is repeated (with the same generator, so still seeded) until every shard
    holds at least ``min_size`` samples.
    """
    if clients < 1:
        raise ConfigError("need at least one client")
    if not alpha > 0:
        raise ConfigError(f"Dirichlet alpha must be positive, got {alpha}")
    if len(labels) < clients * min_size:
        raise ConfigError(f"{len(labels)} samples cannot give {clients} shards of {min_size}")
    rng = np.random.default_rng(seed)
    classes = np.unique(labels)
    for _ in range(1000):
        shards: list[list[IndexArray]] = [[] for _ in range(clients)]
        for c in classes:
            idx = rng.permutation(np.flatnonzero(labels == c)).astype(np.int64)
            share = rng.dirichlet(np.full(clients, alpha))
            cuts = (np.cumsum(share)[:-1] * len(idx)).astype(np.int64)
            for client, part in enumerate(np.split(idx, cuts)):
                shards[client].append(part)
        out = [np.sort(np.concatenate(parts)) for parts in shards]
        if min(len(s) for s in out) >= min_size:
            return out
    raise ConfigError(f"could not draw {clients} shards of >= {min_size} samples (alpha={alpha})")


def shards_of(
    labels: NDArray[np.integer], clients: int, alpha: float | None, seed: int
) -> list[IndexArray]:
    """The network's shards of a labelled set: IID when ``alpha`` is None, else
    Dirichlet(``alpha``) label-skewed. A node's shard of the bundled MNIST and a testnet
    operator's training file are both cut by this one function."""
    if alpha is None:
        return iid_shards(len(labels), clients, seed)
    return dirichlet_shards(labels, clients, alpha, seed)

"""A node's settings for the epoch protocol, and what a test network may inject."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from p2pfl.protocol.aggregate import Aggregation

# Testnet only: rewrites the aggregator's honest result before it is proven and posted.
# (aggregation, epoch, attempt, this operator) -> the result to post, or None: honest.
Tamper = Callable[[Aggregation, int, int, str], Aggregation | None]


@dataclass(frozen=True)
class NodeOptions:
    data_dir: Path
    model_seed: int = 0  # the genesis model's seed: must give the deployed genesis digest
    poll_s: float = 0.5
    grace_s: float = 3.0  # others do a designated operator's chore after this long
    participate: bool = True  # train and commit (an operator); False: a pure watcher
    challenge: bool = True  # challenge wrong results
    challenge_first: bool = False  # challenge at once (a dedicated watcher) or after grace
    stop_after: int | None = None  # stop once this epoch is finalized
    open_first: bool = True  # may open the very first epoch (a testnet opens it itself)
    fetch_timeout_s: float = 30.0
    prove_timeout_s: float = 300.0
    blob_retention_s: float = 900.0  # older updates and models leave memory and disk
    max_backoff_s: float = 10.0  # the longest wait between retries after faults
    clip: float = 10.0  # the deployment's clip norm C: the update norm bound follows from it

"""A node's settings for the epoch protocol, and what a test network may inject."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from p2pfl.net.availability import Attestation
from p2pfl.protocol.aggregate import Aggregation
from p2pfl.protocol.model import GlobalModel


@dataclass(frozen=True)
class Tamper:
    """Testnet only: misbehaviour injected into an otherwise honest node. The hooks
    rewrite the aggregator's honest output before it is posted (each returns what to post
    instead, or None: honest); ``withhold``: commit, never serve the update."""

    # (aggregation, epoch, attempt, this operator) -> the result to prove and post
    result: Callable[[Aggregation, int, int, str], Aggregation | None] | None = None
    # (the new model, epoch, attempt) -> the model to gossip and post the root of
    model: Callable[[GlobalModel, int, int], GlobalModel | None] | None = None
    # (the valid attestations, the committed operators, f_c, epoch, attempt) -> the
    # attestations to post instead
    attestations: (
        Callable[[list[Attestation], list[str], int, int, int], list[Attestation] | None] | None
    ) = None
    withhold: bool = False


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
    # After the close: how long a node fetches the committed updates before it attests
    # to what it holds, and how long an aggregator waits for every attestation (longer:
    # attesters that wait out a withheld update must still be heard).
    attest_timeout_s: float = 6.0
    attest_wait_s: float = 10.0
    prove_timeout_s: float = 300.0
    blob_retention_s: float = 900.0  # older updates and models leave memory and disk
    max_backoff_s: float = 10.0  # the longest wait between retries after faults
    clip: float = 10.0  # the deployment's clip norm C: the update norm bound follows from it

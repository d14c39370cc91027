"""What a node must remember across a crash, kept in its data directory.

The chain is the authority on what happened (commitments, results, status); this file
holds what only the node knows: which update it built for an epoch (written *before* the
commit transaction is sent, so a restart re-sends the same digest instead of training a
second, different update), and what it already did, so a restart does not redo it. Blobs
(updates and models) live beside it in the blob store, written atomically.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from p2pfl.errors import ConfigError

STATE_FILE = "node-state.json"


class EpochProgress(BaseModel):
    update_digest: str | None = None  # the update this node built (hex), stored as a blob
    revealed: bool = False  # the update is served: the epoch's commit phase has closed
    submitted_attempts: list[int] = Field(default_factory=list)  # as aggregator


class NodeState(BaseModel):
    operator: str
    epoch_manager: str
    epochs: dict[int, EpochProgress] = Field(default_factory=dict)

    def of(self, epoch: int) -> EpochProgress:
        return self.epochs.setdefault(epoch, EpochProgress())


def unrevealed(state: NodeState) -> set[bytes]:
    """This node's updates that must not be served yet (commit-reveal)."""
    return {
        bytes.fromhex(p.update_digest)
        for p in state.epochs.values()
        if p.update_digest is not None and not p.revealed
    }


class StateFile:
    """The node's state on disk; every ``save`` is atomic and flushed to the device."""

    def __init__(self, data_dir: Path, operator: str, epoch_manager: str) -> None:
        self.path = data_dir / STATE_FILE
        if self.path.exists():
            try:
                self.state = NodeState.model_validate_json(self.path.read_text())
            except (ValidationError, ValueError) as exc:
                raise ConfigError(
                    f"{self.path} is corrupt ({exc}); move it away to start over"
                ) from None
            if self.state.operator.lower() != operator.lower():
                raise ConfigError(
                    f"{data_dir} belongs to operator {self.state.operator}, not {operator}: "
                    "use one data directory per operator"
                )
            if self.state.epoch_manager.lower() != epoch_manager.lower():
                raise ConfigError(
                    f"{data_dir} holds state of the network at {self.state.epoch_manager}, "
                    f"not {epoch_manager}: use another --data-dir"
                )
        else:
            self.state = NodeState(operator=operator, epoch_manager=epoch_manager)

    def of(self, epoch: int) -> EpochProgress:
        return self.state.of(epoch)

    def forget_before(self, epoch: int) -> bool:
        """Drop the records of epochs before ``epoch`` (they are final on chain); True if
        any went (the caller saves)."""
        old = [e for e in self.state.epochs if e < epoch]
        for e in old:
            del self.state.epochs[e]
        return bool(old)

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        payload = json.dumps(self.state.model_dump(mode="json"), indent=1)
        with tmp.open("w") as out:
            out.write(payload)
            out.flush()
            os.fsync(out.fileno())
        tmp.replace(self.path)

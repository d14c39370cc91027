"""What a node reads from the chain, in one place: a snapshot of the current epoch per
poll, and cached views that do not change within an epoch (roster, peer bindings,
parameters, posted results). Every call blocks on JSON-RPC; the node runs them in a
worker thread."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from web3 import Web3

from p2pfl.chain.client import Chain
from p2pfl.chain.epochs import EpochInfo, EpochManager, Params


@dataclass(frozen=True)
class Snapshot:
    block: int
    epoch: int  # the current epoch; 0 before the first one opened
    info: EpochInfo | None
    committed: list[str]


@dataclass(frozen=True)
class PostedResult:
    """A ``ResultSubmitted`` event: the result a watcher checks."""

    epoch: int
    aggregator: str
    model_digest: bytes
    seed: bytes
    operators: list[str]
    sketches: list[list[int]]
    selected_mask: int
    flag_mask: int
    block: int
    # The hashes of the posted model's live leaves (``submitResult``'s calldata): its root
    # is theirs, and every leaf's proof follows from them.
    model_leaf_hashes: tuple[bytes, ...] = ()


@dataclass
class ChainView:
    chain: Chain
    epochs: EpochManager
    params: Params = field(init=False)
    service_manager: str = field(init=False)
    _rosters: dict[int, tuple[list[str], list[int]]] = field(default_factory=dict)
    _peers: dict[str, bytes] = field(default_factory=dict)
    _commitments: dict[tuple[int, str], bytes] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.params = self.epochs.params()
        self.service_manager = str(self.chain.call(self.epochs.contract.functions.serviceManager()))
        self._sm = self.chain.contract("P2pflServiceManager", self.service_manager)

    def head(self) -> int:
        """The latest block's number."""
        return int(self.chain.w3.eth.block_number)

    def snapshot(self) -> Snapshot:
        block = self.head()
        e = self.epochs.current_epoch()
        if e == 0:
            return Snapshot(block, 0, None, [])
        return Snapshot(block, e, self.epochs.epoch(e), self.epochs.committed(e))

    def roster(self, epoch: int) -> tuple[list[str], list[int]]:
        if epoch not in self._rosters:
            ops, stakes = self.epochs.roster(epoch)
            if not ops:
                return ops, stakes  # not open yet: do not cache
            self._rosters[epoch] = (ops, stakes)
        return self._rosters[epoch]

    def forget_before(self, epoch: int) -> None:
        """Drop the cached rosters of epochs before ``epoch``."""
        for e in [x for x in self._rosters if x < epoch]:
            del self._rosters[e]
        for key in [k for k in self._commitments if k[0] < epoch]:
            del self._commitments[key]

    def commitment(self, epoch: int, operator: str) -> bytes:
        """The update root ``operator`` committed for ``epoch`` (zero: none yet). A
        commitment never changes once made, so a non-zero one is read once."""
        key = (epoch, operator)
        if key not in self._commitments:
            digest = self.epochs.commitment(epoch, operator)
            if not any(digest):
                return digest  # not committed (yet): ask again next time
            self._commitments[key] = digest
        return self._commitments[key]

    def operators(self) -> tuple[list[str], list[int]]:
        """The service manager's operator set now, with stakes (not cached)."""
        ops, stakes = self.chain.call(self._sm.functions.operatorsWithStakes())
        return list(ops), [int(s) for s in stakes]

    def peer_id(self, operator: str) -> bytes:
        """The libp2p peer id the operator bound to its address on registration."""
        if operator not in self._peers:
            self._peers[operator] = bytes(self.chain.call(self._sm.functions.peerIdOf(operator)))
        return self._peers[operator]

    def stake(self, operator: str) -> int:
        return int(self.chain.call(self._sm.functions.stakeOf(operator)))

    def seed(self, info: EpochInfo) -> bytes:
        """``blockhash(closeBlock)``: the recorded seed, or the block's hash (the same
        value) before anyone recorded it. Call it only once the commit phase has closed
        (``EpochInfo.commit_closed``): before, the close block is not final."""
        if info.seed_recorded:
            return info.seed
        return bytes(self.chain.w3.eth.get_block(info.close_block)["hash"])

    def result(self, epoch: int, from_block: int) -> PostedResult | None:
        """The latest result posted for ``epoch`` (a voided one is followed by another)."""
        logs = self.epochs.contract.events.ResultSubmitted().get_logs(
            from_block=from_block, argument_filters={"epoch": epoch}
        )
        if not logs:
            return None
        ev: Any = max(logs, key=lambda log: (log["blockNumber"], log["logIndex"]))
        a = ev["args"]
        k = self.params.sketch_dim
        flat = [int(x) for x in a["sketches"]]
        return PostedResult(
            epoch=epoch,
            aggregator=Web3.to_checksum_address(a["aggregator"]),
            model_digest=bytes(a["modelDigest"]),
            seed=bytes(a["seed"]),
            operators=[Web3.to_checksum_address(o) for o in a["operators"]],
            sketches=[flat[i : i + k] for i in range(0, len(flat), k)],
            selected_mask=int(a["selectedMask"]),
            flag_mask=int(a["flagMask"]),
            block=int(ev["blockNumber"]),
            model_leaf_hashes=self._leaf_hashes(ev["transactionHash"]),
        )

    def _leaf_hashes(self, tx_hash: Any) -> tuple[bytes, ...]:
        """The posted model's leaf hashes, from the ``submitResult`` call's calldata (not
        logged: calldata is where the result makes them available, at no extra gas). An
        aggregator that submits through another contract leaves none here: the result's
        model then cannot be challenged from this node (reported by the challenger)."""
        tx: Any = self.chain.w3.eth.get_transaction(tx_hash)
        try:
            fn, args = self.epochs.contract.decode_function_input(tx["input"])
        except ValueError:
            return ()
        if fn.fn_name != "submitResult":
            return ()
        return tuple(bytes(h) for h in args["modelLeafHashes"])

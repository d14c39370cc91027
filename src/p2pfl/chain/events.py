"""Following contract events: decoded logs in chain order from a block cursor.

A node keeps the cursor (the next block to read) with its state, so a restarted node
resumes where it stopped and sees every event exactly once. Reads stop ``confirmations``
blocks behind the head (0 on anvil).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, cast

from eth_utils.crypto import keccak
from web3.contract import Contract

from p2pfl.chain.artifacts import type_str


@dataclass(frozen=True)
class Event:
    name: str
    block: int
    log_index: int
    tx: str
    args: dict[str, Any]


class EventFollower:
    def __init__(
        self, contract: Contract, start_block: int = 0, confirmations: int = 0, batch: int = 2000
    ) -> None:
        self.contract = contract
        self.cursor = start_block  # next block to read
        self.confirmations = confirmations
        self.batch = batch
        abi = cast(list[dict[str, Any]], contract.abi)
        self._by_topic = {
            keccak(text=f"{e['name']}({','.join(type_str(p) for p in e['inputs'])})"): e["name"]
            for e in abi
            if e.get("type") == "event"
        }

    def poll(self) -> list[Event]:
        """Every event from the cursor to the confirmed head, in order; advances the cursor."""
        w3 = self.contract.w3
        head = int(w3.eth.block_number) - self.confirmations
        out: list[Event] = []
        while self.cursor <= head:
            to = min(self.cursor + self.batch - 1, head)
            logs = w3.eth.get_logs(
                {"address": self.contract.address, "fromBlock": self.cursor, "toBlock": to}
            )
            for log in logs:
                out.extend(self._decode(log))
            self.cursor = to + 1
        out.sort(key=lambda e: (e.block, e.log_index))
        return out

    def follow(self, interval: float = 0.5, stop_after: float | None = None) -> Iterator[Event]:
        """Yield events as they arrive (until ``stop_after`` seconds, if given)."""
        deadline = None if stop_after is None else time.monotonic() + stop_after
        while deadline is None or time.monotonic() < deadline:
            yield from self.poll()
            time.sleep(interval)

    def _decode(self, log: Any) -> list[Event]:
        topics = log["topics"]
        name = self._by_topic.get(bytes(topics[0])) if topics else None
        if name is None:
            return []
        ev = getattr(self.contract.events, name)().process_log(log)
        return [
            Event(
                name=name,
                block=int(ev["blockNumber"]),
                log_index=int(ev["logIndex"]),
                tx="0x" + bytes(ev["transactionHash"]).hex(),
                args=dict(ev["args"]),
            )
        ]

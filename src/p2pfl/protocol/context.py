"""What every role of the node shares: the chain, the operator's key, the peer, the
blobs, the per-epoch book, the crash-safe state, the options and the event sink."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from eth_account.signers.local import LocalAccount

from p2pfl.chain.epochs import EpochManager
from p2pfl.events import Emit
from p2pfl.net.peer import Peer
from p2pfl.net.topics import Kind
from p2pfl.protocol.blobs import Blobs
from p2pfl.protocol.chainview import ChainView
from p2pfl.protocol.epochbook import EpochBook, EpochState
from p2pfl.protocol.options import NodeOptions
from p2pfl.protocol.state import StateFile
from p2pfl.protocol.threads import blocking

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class NodeContext:
    view: ChainView
    account: LocalAccount
    peer: Peer
    blobs: Blobs
    book: EpochBook
    state: StateFile
    opts: NodeOptions
    emit: Emit

    @property
    def me(self) -> str:
        return str(self.account.address)

    @property
    def em(self) -> EpochManager:
        return self.view.epochs

    async def call(self, fn: Callable[[], T]) -> T:
        """A chain read (blocking JSON-RPC, in a worker thread)."""
        return await blocking(fn)

    async def committed(self, st: EpochState) -> list[str]:
        """The epoch's committed operators, once its commit phase has closed (as the node
        saw them at the close; read from the chain if it did not see the close)."""
        if st.committed is None:
            e = st.epoch
            st.committed = await self.call(lambda: self.em.committed(e))
        return st.committed

    async def tx(self, what: str, fn: Callable[[], T]) -> T:
        """A transaction, signed with the operator's key and sent in a worker thread."""
        log.info("sending %s", what)
        return await blocking(fn)

    async def announce(self, kind: Kind, epoch: int, digest: bytes, size: int) -> None:
        """Sign and gossip an announcement of a blob this node serves (once per kind)."""
        st = self.book.get(epoch)
        if kind in st.announced:
            return
        mine = self.peer.board.get(kind, epoch).get(self.me)
        if mine is not None and mine.digest_bytes == digest:
            st.announced.add(kind)  # gossip already carries it (e.g. from before a restart)
            return
        key = self.account.key
        await self.peer.board.publish(self.peer.sign(key, kind, epoch, digest, size))
        st.announced.add(kind)

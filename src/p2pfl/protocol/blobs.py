"""The node's blobs, with one owner: the update and model bytes it stores and serves,
the global models it keeps decoded in memory, and how it finds the bytes it lacks
(the owner's registered peer first, then every connected peer)."""

from __future__ import annotations

import logging

import trio
from libp2p.peer.id import ID

from p2pfl.learn.codec import Update
from p2pfl.net.errors import NetError
from p2pfl.net.peer import Peer
from p2pfl.protocol.chainview import ChainView
from p2pfl.protocol.faults import TRANSIENT, describe
from p2pfl.protocol.model import GlobalModel
from p2pfl.protocol.threads import blocking

log = logging.getLogger(__name__)
RETRY_S = 0.5  # between attempts at a blob that failed, where the caller retries
MODEL_CACHE = 4  # decoded models kept in memory (the genesis, and the latest others)


class Blobs:
    def __init__(
        self, peer: Peer, view: ChainView, genesis: GlobalModel, fetch_timeout_s: float
    ) -> None:
        self.peer = peer
        self.view = view
        self.genesis = genesis
        self.spec = genesis.spec
        self.store = peer.blobs.store
        self.fetch_timeout_s = fetch_timeout_s
        self.models: dict[bytes, GlobalModel] = {genesis.digest: genesis}

    # ------------------------------------------------------------------ models
    async def model(self, digest: bytes, epoch: int) -> GlobalModel:
        """The model with ``digest``: cached, stored, or fetched from the network (from
        the peers that announced it as some epoch's model, and every connected peer)."""
        if digest in self.models:
            return self.models[digest]
        data = self.store.get(digest)
        if data is None:
            providers = await self.providers(None)
            for x in range(epoch - 1, max(epoch - 3, 0), -1):
                for ann in self.peer.board.get("model", x).values():
                    if ann.digest_bytes == digest:
                        providers.append(ID.from_base58(ann.peer))
            data = await self.peer.blobs.fetch(digest, providers)
        model = GlobalModel.from_safetensors(data, self.spec)
        self.keep(model)
        return model

    def keep(self, model: GlobalModel) -> int:
        """Serve ``model`` from the blob store and cache it decoded (the genesis and the
        latest few; older ones stay on disk until pruned). Returns its size in bytes."""
        data = self.store.get(model.digest)
        if data is None:
            data = model.to_safetensors()
            self.store.put(model.digest, data)
        self.models[model.digest] = model
        while len(self.models) > MODEL_CACHE:
            oldest = next(d for d in self.models if d != self.genesis.digest)
            del self.models[oldest]
        return len(data)

    # ------------------------------------------------------------------ updates
    async def updates(self, epoch: int, operators: list[str]) -> dict[str, Update]:
        """The committed update of every operator in ``operators``, from the store or the
        network, digest-checked; raises NetError naming each one that is missing."""
        out, failed = await self.gather(epoch, operators, self.fetch_timeout_s)
        missing = [op for op in operators if op not in out]
        if missing:
            why = "; ".join(f"{op}: {failed.get(op, 'timed out')}" for op in missing)
            raise NetError(f"epoch {epoch}: updates unavailable: {why}")
        return out

    async def gather(
        self, epoch: int, operators: list[str], timeout_s: float, *, retry: bool = False
    ) -> tuple[dict[str, Update], dict[str, str]]:
        """The committed updates of ``operators`` this node holds or can fetch within
        ``timeout_s``, digest-checked, and why each other one failed. ``retry``: try each
        failed one again (after ``RETRY_S``) until the time is up."""
        out: dict[str, Update] = {}
        failed: dict[str, str] = {}

        async def one(op: str) -> None:
            while True:
                try:
                    digest = await blocking(lambda: self.view.commitment(epoch, op))
                    data = self.store.get(digest)  # stored: no chain call for providers
                    if data is None:
                        data = await self.peer.blobs.fetch(digest, await self.providers(op))
                    out[op] = Update.from_safetensors(data, self.spec)
                    failed.pop(op, None)
                    return
                except TRANSIENT as exc:  # reported by the caller
                    failed[op] = describe(exc)
                if not retry:
                    return
                await self._announced(epoch, op, RETRY_S)

        with trio.move_on_after(timeout_s):
            async with trio.open_nursery() as nursery:
                for op in operators:
                    nursery.start_soon(one, op)
        return out, failed

    async def _announced(self, epoch: int, op: str, wait_s: float) -> None:
        """Wait ``wait_s``, or less if ``op`` announces its update of ``epoch`` meanwhile
        (it reveals once the commit phase has closed: until then its server refuses)."""
        if op in self.peer.board.get("updates", epoch):
            await trio.sleep(wait_s)  # announced already: the fetch failed otherwise
            return
        with trio.move_on_after(wait_s):
            async for ann in self.peer.board.watch("updates", epoch):
                if ann.operator == op:
                    return

    async def providers(self, owner: str | None) -> list[ID]:
        """``owner``'s registered peer id first (until the others have fetched it, only
        the owner holds its update), then every connected peer."""
        peers = list(self.peer.net.connected_peers())
        if owner is None:
            return peers
        raw = await blocking(lambda: self.view.peer_id(owner))
        if raw:
            try:
                pid = ID(raw)
            except Exception:
                return peers
            return [pid, *(p for p in peers if p != pid)]
        return peers

    # ------------------------------------------------------------------ retention
    def prune(self, own_update: bytes | None, older_than_s: float) -> int:
        """Drop stored blobs older than ``older_than_s`` from disk, and every blob of a
        past epoch from memory, keeping the models this node may still serve or need and
        its own update of the current epoch."""
        keep = set(self.models)
        if own_update is not None:
            keep.add(own_update)
        removed = self.store.prune(keep, older_than_s)
        if removed:
            log.info("pruned %d old blobs", removed)
        self.store.evict(keep)  # the rest stays on disk until retention ends
        return removed

"""Assembling a running node: chain connection, operator key, libp2p identity and peer,
the local trainer, the epoch loop, and (on a devnet only) the testnet's adversary;
shared by ``p2pfl node`` and ``p2pfl challenge watch`` (a node that does not train)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from functools import partial

import trio
from eth_account.signers.local import LocalAccount
from libp2p.crypto.keys import KeyPair
from libp2p.peer.id import ID

from p2pfl import memory
from p2pfl.chain.client import Chain
from p2pfl.chain.epochs import EpochManager
from p2pfl.chain.rpc import RPC_TIMEOUT_S
from p2pfl.errors import ConfigError
from p2pfl.events import Emit, Listening, Ready
from p2pfl.learn.codec import norm_bound_sq
from p2pfl.metrics import HealthTracker, NodeMetrics, peer_sampler, start_metrics
from p2pfl.net.config import NetConfig
from p2pfl.net.gossip_node import report_first_peer
from p2pfl.net.identity import load_or_create_identity
from p2pfl.net.peer import open_peer
from p2pfl.protocol.chainview import ChainView
from p2pfl.protocol.epoch_node import EpochNode
from p2pfl.protocol.model import GlobalModel, blob_digest
from p2pfl.protocol.options import NodeOptions
from p2pfl.protocol.state import StateFile, unrevealed
from p2pfl.protocol.threads import blocking
from p2pfl.protocol.trainer import Trainer, TrainerConfig
from p2pfl.testnet.adversary import Adversary
from p2pfl.zk import toolchain

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NodeSettings:
    rpc: str
    epoch_manager: str
    account: LocalAccount
    net: NetConfig
    options: NodeOptions
    trainer: TrainerConfig | None  # None: a watcher
    adversary: Adversary = field(default_factory=Adversary)  # testnet only
    metrics_port: int | None = None  # serve metrics and the AVS node API (0: any port)
    metrics_host: str = "127.0.0.1"
    rpc_timeout_s: float = RPC_TIMEOUT_S


def connect_chain(rpc: str, epoch_manager: str, timeout_s: float = RPC_TIMEOUT_S) -> ChainView:
    try:
        chain = Chain(rpc, timeout=timeout_s)
    except Exception as exc:
        raise ConfigError(f"cannot reach the chain at {rpc}: {type(exc).__name__}") from None
    code = chain.w3.eth.get_code(chain.w3.to_checksum_address(epoch_manager))
    if not code:
        raise ConfigError(f"no contract at {epoch_manager} on chain {chain.chain_id}")
    return ChainView(chain, EpochManager(chain, epoch_manager))


async def _check_start(settings: NodeSettings, view: ChainView, pair: KeyPair) -> None:
    """Refuse, with one clear line, a node that cannot take part as configured."""
    opts, me = settings.options, settings.account.address
    settings.adversary.check(view.chain.chain_id)
    if settings.trainer is not None:
        # An operator may be elected aggregator in any epoch: without the prover it would
        # miss the deadline and be slashed. Refuse to start instead.
        toolchain.node()
        toolchain.driver()
        toolchain.crs_dir()
        deployed = view.params.norm_bound_sq
        mine_sq = norm_bound_sq(opts.clip, view.params.model_dim)
        if mine_sq > deployed:
            raise ConfigError(
                f"--clip {opts.clip} lets updates pass the deployment's norm bound "
                f"(Σq² ≤ {deployed}): such an update is slashed; use a smaller --clip"
            )
        bound = await blocking(lambda: view.peer_id(me))
        if not bound:
            raise ConfigError(f"{me} is not a registered operator of {view.service_manager}")
        mine = ID.from_pubkey(pair.public_key)
        if bound != mine.to_bytes():
            raise ConfigError(
                f"this data directory's peer id {mine} is not the one {me} registered "
                f"({ID(bound)}): use the registered identity or update the binding"
            )
    genesis = GlobalModel.genesis(opts.model_seed)
    first_base = await blocking(view.epochs.latest_model)
    current = await blocking(view.epochs.current_epoch)
    if current == 0 and first_base != genesis.digest:
        raise ConfigError(
            f"the network's genesis model is 0x{first_base.hex()}, but --model-seed "
            f"{opts.model_seed} gives 0x{genesis.digest.hex()}"
        )


async def run_node(settings: NodeSettings, emit: Emit) -> None:
    """Run until cancelled, or until the configured last epoch is finalized.

    The peer opens first (so the node connects while its data and model load); the
    node reports ``ready`` once it is connected and its trainer is loaded and warmed up,
    and only then starts following the epochs."""
    started = time.monotonic()
    memory.limit_arenas()  # before worker threads allocate (see p2pfl.memory)
    metrics = None
    if settings.metrics_port is not None:
        services = ("p2p", "chain", "trainer") if settings.trainer else ("p2p", "chain")
        metrics = NodeMetrics(HealthTracker(services))
        emit = metrics.wrap(emit)
    opts = settings.options
    data_dir = opts.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    view = await blocking(
        lambda: connect_chain(settings.rpc, settings.epoch_manager, settings.rpc_timeout_s)
    )
    me = settings.account.address
    pair = load_or_create_identity(data_dir)
    await _check_start(settings, view, pair)
    genesis = GlobalModel.genesis(opts.model_seed)
    holder: list[EpochNode] = []

    def is_member(operator: str, epoch: int) -> bool:
        return bool(holder) and holder[0].is_member(operator, epoch)

    def window() -> tuple[int, int]:
        latest = holder[0].book.latest if holder else 0
        return (max(latest - 1, 1), max(latest, 1) + 1)

    # commit-reveal across restarts: updates not revealed yet are held from the start
    state = StateFile(data_dir, me, view.epochs.address)  # read once, handed to the node
    held = unrevealed(state.state)
    async with open_peer(
        settings.net,
        pair,
        chain_id=view.chain.chain_id,
        avs=view.service_manager,
        window=window,
        is_operator=is_member,
        digest_fn=partial(blob_digest, genesis.spec),
        blob_dir=data_dir / "blobs",
        held=frozenset(held),
    ) as peer:
        emit(
            Listening(
                peer_id=peer.net.peer_id.to_base58(),
                addrs=peer.net.addrs(),
                operator=me,
                role="operator" if settings.trainer else "watcher",
            )
        )
        async with trio.open_nursery() as nursery:
            if metrics is not None and settings.metrics_port is not None:
                phase = lambda: holder[0].phase if holder else "starting"  # noqa: E731
                metrics.sampler = peer_sampler(peer, phase)
                await start_metrics(
                    nursery, metrics, settings.metrics_host, settings.metrics_port, emit
                )
            nursery.start_soon(report_first_peer, peer, started, emit)
            trainer, warmup = None, 0.0
            if settings.trainer is not None:
                cfg, attack = settings.trainer, settings.adversary.make_attack()
                trainer = await blocking(lambda: Trainer(cfg, attack))
                warmup = await blocking(lambda: trainer.warm_up(genesis))
            await peer.net.discovery.first_peer.wait()
            emit(Ready(seconds=round(time.monotonic() - started, 3), warmup_s=round(warmup, 3)))
            node = EpochNode(
                view,
                settings.account,
                peer,
                trainer,
                opts,
                emit,
                settings.adversary.tamper(),
                state=state,
                genesis=genesis,
            )
            holder.append(node)
            await node.run()
            nursery.cancel_scope.cancel()

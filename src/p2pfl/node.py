"""Assembling a running node: chain connection, operator key, libp2p identity and peer,
the local trainer, and the epoch loop; shared by ``p2pfl node`` and ``p2pfl challenge
watch`` (a node that does not train)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from functools import partial

import trio
from eth_account.signers.local import LocalAccount
from libp2p.peer.id import ID

from p2pfl.chain.client import Chain
from p2pfl.chain.epochs import EpochManager
from p2pfl.errors import ConfigError
from p2pfl.net.config import NetConfig
from p2pfl.net.devnode import report_first_peer
from p2pfl.net.identity import load_or_create_identity
from p2pfl.net.peer import open_peer
from p2pfl.protocol.chainview import ChainView
from p2pfl.protocol.model import GlobalModel, blob_digest
from p2pfl.protocol.node import Emit, EpochNode, NodeOptions
from p2pfl.protocol.trainer import Trainer, TrainerConfig

log = logging.getLogger(__name__)
DEV_CHAIN_IDS = frozenset({31337, 1337})  # anvil / hardhat: where testnet-only options work


@dataclass(frozen=True)
class NodeSettings:
    rpc: str
    epoch_manager: str
    account: LocalAccount
    net: NetConfig
    options: NodeOptions
    trainer: TrainerConfig | None  # None: a watcher


def connect_chain(rpc: str, epoch_manager: str) -> ChainView:
    try:
        chain = Chain(rpc)
    except Exception as exc:
        raise ConfigError(f"cannot reach the chain at {rpc}: {type(exc).__name__}") from None
    code = chain.w3.eth.get_code(chain.w3.to_checksum_address(epoch_manager))
    if not code:
        raise ConfigError(f"no contract at {epoch_manager} on chain {chain.chain_id}")
    return ChainView(chain, EpochManager(chain, epoch_manager))


def check_testnet_only(view: ChainView, opts: NodeOptions, trainer: TrainerConfig | None) -> None:
    dishonest = bool(opts.cheat_epochs) or (trainer is not None and trainer.attack is not None)
    if dishonest and view.chain.chain_id not in DEV_CHAIN_IDS:
        raise ConfigError(
            f"--testnet-attack and --testnet-cheat-epoch are refused on chain "
            f"{view.chain.chain_id}: they exist to demonstrate the defenses on a local devnet"
        )


async def run_node(settings: NodeSettings, emit: Emit) -> None:
    """Run until cancelled, or until the configured last epoch is finalized."""
    started = time.monotonic()
    opts = settings.options
    data_dir = opts.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    view = await trio.to_thread.run_sync(connect_chain, settings.rpc, settings.epoch_manager)
    check_testnet_only(view, opts, settings.trainer)
    me = settings.account.address
    pair = load_or_create_identity(data_dir)
    if settings.trainer is not None:
        bound = await trio.to_thread.run_sync(view.peer_id, me)
        if not bound:
            raise ConfigError(f"{me} is not a registered operator of {view.service_manager}")
        mine = ID.from_pubkey(pair.public_key)
        if bound != mine.to_bytes():
            raise ConfigError(
                f"this data directory's peer id {mine} is not the one {me} registered "
                f"({ID(bound)}): use the registered identity or update the binding"
            )
    genesis = GlobalModel.genesis(opts.model_seed)
    first_base = await trio.to_thread.run_sync(view.epochs.latest_model)
    current = await trio.to_thread.run_sync(view.epochs.current_epoch)
    if current == 0 and first_base != genesis.digest:
        raise ConfigError(
            f"the network's genesis model is 0x{first_base.hex()}, but --model-seed "
            f"{opts.model_seed} gives 0x{genesis.digest.hex()}"
        )
    trainer = await trio.to_thread.run_sync(Trainer, settings.trainer) if settings.trainer else None
    holder: list[EpochNode] = []

    def is_member(operator: str, epoch: int) -> bool:
        return bool(holder) and holder[0].is_member(operator, epoch)

    def window() -> tuple[int, int]:
        snap_epoch = max(holder[0].members, default=1) if holder else 1
        return (max(snap_epoch - 1, 1), snap_epoch + 1)

    async with open_peer(
        settings.net,
        pair,
        chain_id=view.chain.chain_id,
        avs=view.service_manager,
        window=window,
        is_operator=is_member,
        digest_fn=partial(blob_digest, genesis.spec),
        blob_dir=data_dir / "blobs",
    ) as peer:
        node = EpochNode(view, settings.account, peer, trainer, opts, emit)
        holder.append(node)
        emit(
            {
                "event": "listening",
                "peer_id": peer.net.peer_id.to_base58(),
                "addrs": peer.net.addrs(),
                "operator": me,
                "role": "operator" if trainer else "watcher",
            }
        )
        async with trio.open_nursery() as nursery:
            nursery.start_soon(report_first_peer, peer, started, emit)
            await node.run()
            nursery.cancel_scope.cancel()

"""``p2pfl operator``: an operator joins, inspects and leaves a deployed network.

The network is named by a deployment file (``--deployment``) or by ``--rpc`` and
``--epoch-manager``; everything else (the EigenLayer core's addresses) is read from the
chain. The same commands work on the devnet and against the real core."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from p2pfl.chain.keystore import load_account, read_password
from p2pfl.cli import options
from p2pfl.errors import ConfigError

if TYPE_CHECKING:
    from p2pfl.chain.operator import Network

app = typer.Typer(
    help="Register with a p2pfl network, show an operator's state, deregister.",
    no_args_is_help=True,
)

DeploymentFile = Annotated[
    Path | None,
    typer.Option(help="A deployment file (p2pfl deploy --out); replaces --epoch-manager."),
]
Address = Annotated[
    str | None, typer.Option(help="The operator to show (default: the keystore's address).")
]


def _network(rpc: str | None, epoch_manager: str | None, deployment: Path | None) -> Network:
    from p2pfl.chain import operator as ops

    if deployment is not None:
        return ops.from_deployment(deployment, rpc)
    if rpc is None or epoch_manager is None:
        raise ConfigError("name the network: --deployment FILE, or --rpc URL --epoch-manager ADDR")
    return ops.discover(ops.connect(rpc), epoch_manager)


def _console() -> Console:
    """Rich output that never wraps a line (a log or a pipe keeps each whole)."""
    return Console(highlight=False, soft_wrap=True)


def _wad(value: int) -> str:
    return f"{value / 10**18:g}"


@app.command()
def register(
    stake: Annotated[
        str, typer.Option(help="Tokens to stake and allocate (e.g. 32); deposited if needed.")
    ],
    rpc: options.Rpc = None,
    epoch_manager: options.EpochManagerAddr = None,
    deployment: DeploymentFile = None,
    keystore: options.Keystore = None,
    password_env: options.PasswordEnv = None,
    password_file: options.PasswordFile = None,
    data_dir: options.DataDir = Path("~/.p2pfl"),
    allocate: Annotated[
        float,
        typer.Option(
            min=0.0, max=1.0, help="Fraction of the operator's stake to allocate (0 < x <= 1)."
        ),
    ] = 1.0,
    metadata_uri: Annotated[
        str, typer.Option(help="Operator metadata URI (registerAsOperator).")
    ] = "",
) -> None:
    """Register as an EigenLayer operator if needed, deposit, allocate to the AVS and
    join its operator set with this node's libp2p peer id (from --data-dir).

    Every step is checked before anything is sent; steps already done are skipped, so an
    interrupted registration can be run again."""
    from p2pfl.chain import operator as ops
    from p2pfl.chain.deploy import WAD, register_operator
    from p2pfl.net.identity import load_or_create_identity, peer_id_of

    if keystore is None:
        raise ConfigError("register needs --keystore FILE (the operator's Ethereum key)")
    amount = ops.tokens(stake)
    if not 0 < allocate <= 1:
        raise ConfigError(f"--allocate {allocate} must be in (0, 1]")
    net = _network(rpc, epoch_manager, deployment)
    account = load_account(keystore, read_password(env=password_env, file=password_file))
    peer = peer_id_of(load_or_create_identity(data_dir.expanduser()))
    console = _console()
    console.print(
        f"registering {account.address} with peer id {peer.to_base58()} "
        f"on chain {net.chain.chain_id} (service manager {net.avs.service_manager})"
    )
    done = register_operator(
        net.chain,
        net.core,
        net.avs,
        account,
        amount,
        peer.to_bytes(),
        magnitude=round(allocate * WAD),
        metadata_uri=metadata_uri,
        say=lambda msg: console.print(f"  {msg}"),
    )
    console.print(
        f"[green]registered[/] {done.operator}: stake {_wad(done.stake)} counted by the AVS "
        f"from block {done.effect_block}"
    )


@app.command()
def status(
    rpc: options.Rpc = None,
    epoch_manager: options.EpochManagerAddr = None,
    deployment: DeploymentFile = None,
    address: Address = None,
    keystore: options.Keystore = None,
    password_env: options.PasswordEnv = None,
    password_file: options.PasswordFile = None,
) -> None:
    """Show an operator's registration, stake, allocation, slashable window and past
    slashes (reads only). The address comes from --address or the keystore's public
    address field; a keystore without one (cast wallet) is decrypted with the password."""
    from p2pfl.chain import operator as ops

    who = address or _keystore_address(keystore, password_env, password_file)
    net = _network(rpc, epoch_manager, deployment)
    s = ops.status(net, who)
    slashes = ops.past_slashes(net, s.operator)
    console = _console()
    a = s.allocation
    pending = f" ({a.pending:+} magnitude at block {a.effect_block})" if a.effect_block else ""
    rows = [
        ("operator", s.operator),
        ("state", s.state),
        ("block", str(s.block)),
        ("stake counted by the AVS", f"{_wad(s.stake)} (minimum {_wad(s.minimum_stake)})"),
        ("delegated shares", _wad(s.shares)),
        ("token balance", _wad(s.token_balance)),
        ("allocated", f"{a.current / max(s.max_magnitude, 1):.0%} of magnitude{pending}"),
        (
            "slashable",
            ("yes" if s.slashable else "no")
            + (f" (for {s.deallocation_delay} blocks after leaving)" if s.member else ""),
        ),
        ("peer id", _peer(s.peer_id)),
        ("slashes", str(len(slashes))),
    ]
    for key, value in rows:
        console.print(f"[bold]{key:>25}[/]  {value}")
    for sl in slashes:
        console.print(f"{'':>27}epoch {sl.epoch}: {sl.fraction:.1%} for {sl.reason}")


def _keystore_address(
    keystore: Path | None, password_env: str | None, password_file: Path | None
) -> str:
    from p2pfl.chain.keystore import keystore_address

    if keystore is None:
        raise ConfigError("status needs --address ADDR or --keystore FILE")
    try:
        return keystore_address(keystore)
    except ConfigError:
        if password_env is None and password_file is None:
            raise
    return load_account(keystore, read_password(env=password_env, file=password_file)).address


def _peer(raw: bytes) -> str:
    if not raw:
        return "-"
    from libp2p.peer.id import ID

    return ID(raw).to_base58()


@app.command()
def deregister(
    rpc: options.Rpc = None,
    epoch_manager: options.EpochManagerAddr = None,
    deployment: DeploymentFile = None,
    keystore: options.Keystore = None,
    password_env: options.PasswordEnv = None,
    password_file: options.PasswordFile = None,
    keep_allocation: Annotated[
        bool,
        typer.Option(
            "--keep-allocation", help="Leave the operator set but keep the stake allocated."
        ),
    ] = False,
) -> None:
    """Leave the AVS's operator set and release the allocated stake. The operator stays
    slashable for the core's DEALLOCATION_DELAY blocks, as for any EigenLayer AVS."""
    from p2pfl.chain import operator as ops

    if keystore is None:
        raise ConfigError("deregister needs --keystore FILE")
    net = _network(rpc, epoch_manager, deployment)
    account = load_account(keystore, read_password(env=password_env, file=password_file))
    done = ops.deregister(net, account, deallocate=not keep_allocation)
    console = _console()
    parts = []
    if done.block is not None:
        parts.append(
            f"[green]deregistered[/] {done.operator} in block {done.block}; slashable until "
            f"block {done.slashable_until}"
        )
    if done.deallocated and done.deallocation_effect_block:
        parts.append(f"stake released at block {done.deallocation_effect_block}")
    elif done.deallocated:
        parts.append("stake released (no longer slashable)")
    console.print("; ".join(parts))


@app.command("set-peer-id")
def set_peer_id(
    rpc: options.Rpc = None,
    epoch_manager: options.EpochManagerAddr = None,
    deployment: DeploymentFile = None,
    keystore: options.Keystore = None,
    password_env: options.PasswordEnv = None,
    password_file: options.PasswordFile = None,
    data_dir: options.DataDir = Path("~/.p2pfl"),
) -> None:
    """Bind this node's libp2p peer id (from --data-dir) to the registered operator,
    e.g. after moving the node to a new machine with a new identity key."""
    from p2pfl.chain import operator as ops
    from p2pfl.net.identity import load_or_create_identity, peer_id_of

    if keystore is None:
        raise ConfigError("set-peer-id needs --keystore FILE")
    net = _network(rpc, epoch_manager, deployment)
    account = load_account(keystore, read_password(env=password_env, file=password_file))
    peer = peer_id_of(load_or_create_identity(data_dir.expanduser()))
    block = ops.update_peer_id(net, account, peer.to_bytes())
    _console().print(f"[green]bound[/] {peer.to_base58()} to {account.address} in block {block}")

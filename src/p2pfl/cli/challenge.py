"""``p2pfl challenge``: the watcher's side of DESIGN.md's challenge window.

``watch`` runs a node that does not train: it joins the network, recomputes every posted
result from the committed updates and challenges what is wrong at once (a sketch row in
chunks, the model at a wrong leaf, an update above the norm bound, a wrongful exclusion).
``sketch``, ``model``, ``norm`` and ``exclusion`` are the one-shot forms, from files
(``p2pfl.protocol.oneshot``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from p2pfl.chain.keystore import load_account, read_password
from p2pfl.chain.rpc import RPC_TIMEOUT_S
from p2pfl.cli import options
from p2pfl.cli.events import emitter
from p2pfl.cli.running import run_trio, setup_logging
from p2pfl.errors import ConfigError
from p2pfl.net.config import NetConfig

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount

    from p2pfl.protocol.chainview import ChainView

app = typer.Typer(
    help="Check aggregators' results and challenge wrong ones on chain.",
    no_args_is_help=True,
)


def _need(
    rpc: str | None, epoch_manager: str | None, keystore: Path | None
) -> tuple[str, str, Path]:
    if rpc is None or epoch_manager is None or keystore is None:
        raise ConfigError("this command needs --rpc URL, --epoch-manager ADDRESS, --keystore FILE")
    return rpc, epoch_manager, keystore


@app.command()
def watch(
    rpc: options.Rpc = None,
    rpc_timeout: options.RpcTimeout = RPC_TIMEOUT_S,
    epoch_manager: options.EpochManagerAddr = None,
    keystore: options.Keystore = None,
    password_env: options.PasswordEnv = None,
    password_file: options.PasswordFile = None,
    bootstrap: options.Bootstrap = None,
    listen: options.Listen = "/ip4/0.0.0.0/tcp/4002",
    data_dir: options.DataDir = Path("~/.p2pfl-watcher"),
    model_seed: options.ModelSeed = 0,
    epochs: options.Epochs = None,
    json_events: options.JsonEvents = False,
    verbose: options.Verbose = False,
) -> None:
    """Check every posted result and challenge what is wrong at once (bond from the key)."""
    rpc, epoch_manager, keystore = _need(rpc, epoch_manager, keystore)
    setup_logging(verbose)
    cfg = NetConfig.build(listen=listen, bootstrap=tuple(bootstrap or ()))
    account = load_account(keystore, read_password(env=password_env, file=password_file))
    from p2pfl.protocol.options import NodeOptions
    from p2pfl.runtime import NodeSettings, run_node

    settings = NodeSettings(
        rpc=rpc,
        epoch_manager=epoch_manager,
        account=account,
        net=cfg,
        options=NodeOptions(
            data_dir=data_dir.expanduser(),
            model_seed=model_seed,
            participate=False,
            challenge_first=True,
            stop_after=epochs,
            open_first=False,
        ),
        trainer=None,
        rpc_timeout_s=rpc_timeout,
    )
    emit = emitter(json_events)
    run_trio(emit, lambda: run_node(settings, emit))


def _connect(
    rpc: str | None,
    epoch_manager: str | None,
    keystore: Path | None,
    password_env: str | None,
    password_file: Path | None,
) -> tuple[Console, LocalAccount, ChainView]:
    """What every one-shot challenge needs: a console, the key, the chain."""
    rpc, epoch_manager, keystore = _need(rpc, epoch_manager, keystore)
    from p2pfl.runtime import connect_chain

    account = load_account(keystore, read_password(env=password_env, file=password_file))
    return Console(highlight=False), account, connect_chain(rpc, epoch_manager)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None


def _report(console: Console, what: str, upheld: bool, gas: tuple[int, ...], win: str) -> None:
    verdict = f"[bold green]upheld[/]: {win}" if upheld else "[red]not upheld[/]"
    console.print(f"{what}: {verdict}; {len(gas)} tx, gas {sum(gas):,}")


@app.command()
def sketch(
    epoch: Annotated[int, typer.Option(min=1, help="The epoch of the result.")],
    operator: Annotated[str, typer.Option(help="The operator whose posted sketch is wrong.")],
    update: Annotated[
        Path, typer.Option(help="The operator's committed update (safetensors, as served).")
    ],
    rpc: options.Rpc = None,
    epoch_manager: options.EpochManagerAddr = None,
    keystore: options.Keystore = None,
    password_env: options.PasswordEnv = None,
    password_file: options.PasswordFile = None,
    force: Annotated[
        bool,
        typer.Option(help="Send even when the sketch looks right (the bond is then lost)."),
    ] = False,
) -> None:
    """Challenge OPERATOR's posted sketch in EPOCH: open (bond), then prove each chunk."""
    console, account, view = _connect(rpc, epoch_manager, keystore, password_env, password_file)
    from p2pfl.protocol.oneshot import challenge_sketch

    out = challenge_sketch(
        view, account, epoch, operator, _read(update), console.print, force=force
    )
    _report(
        console,
        f"sketch challenge of epoch {epoch}, {out.detail}",
        out.upheld,
        out.gas,
        "result voided, aggregator slashed",
    )


@app.command()
def model(
    epoch: Annotated[int, typer.Option(min=1, help="The epoch of the result.")],
    base: Annotated[Path, typer.Option(help="The epoch's base model (safetensors).")],
    update: Annotated[
        list[Path],
        typer.Option(help="A selected operator's committed update (repeat for every one)."),
    ],
    rpc: options.Rpc = None,
    epoch_manager: options.EpochManagerAddr = None,
    keystore: options.Keystore = None,
    password_env: options.PasswordEnv = None,
    password_file: options.PasswordFile = None,
) -> None:
    """Challenge the model posted in EPOCH at its first wrong leaf (its bytes not needed)."""
    console, account, view = _connect(rpc, epoch_manager, keystore, password_env, password_file)
    from p2pfl.protocol.oneshot import challenge_model

    updates = [_read(p) for p in update]
    out = challenge_model(view, account, epoch, _read(base), updates, console.print)
    _report(
        console,
        f"model challenge of epoch {epoch}, {out.detail}",
        out.upheld,
        out.gas,
        "result voided, aggregator slashed",
    )


@app.command()
def norm(
    epoch: Annotated[int, typer.Option(min=1, help="The epoch of the update.")],
    operator: Annotated[str, typer.Option(help="The operator whose update is above the bound.")],
    update: Annotated[
        Path, typer.Option(help="The operator's committed update (safetensors, as served).")
    ],
    rpc: options.Rpc = None,
    epoch_manager: options.EpochManagerAddr = None,
    keystore: options.Keystore = None,
    password_env: options.PasswordEnv = None,
    password_file: options.PasswordFile = None,
) -> None:
    """Prove OPERATOR's update of EPOCH above the norm bound: the operator is slashed."""
    console, account, view = _connect(rpc, epoch_manager, keystore, password_env, password_file)
    from p2pfl.protocol.oneshot import prove_norm

    out = prove_norm(view, account, epoch, operator, _read(update), console.print)
    _report(console, f"norm proof of {out.detail}", out.upheld, out.gas, "operator slashed")


@app.command()
def exclusion(
    epoch: Annotated[int, typer.Option(min=1, help="The epoch of the result.")],
    operator: Annotated[str, typer.Option(help="The available operator the result left out.")],
    attestations: Annotated[
        Path,
        typer.Option(
            help="The epoch's attestations as a node saved them: "
            "<data-dir>/attestations/<epoch>.json."
        ),
    ],
    rpc: options.Rpc = None,
    epoch_manager: options.EpochManagerAddr = None,
    keystore: options.Keystore = None,
    password_env: options.PasswordEnv = None,
    password_file: options.PasswordFile = None,
) -> None:
    """Prove that EPOCH's result left out OPERATOR although 2·f_c + 1 others attest it."""
    console, account, view = _connect(rpc, epoch_manager, keystore, password_env, password_file)
    from p2pfl.protocol.attestfile import load
    from p2pfl.protocol.oneshot import challenge_exclusion

    out = challenge_exclusion(view, account, epoch, operator, load(attestations), console.print)
    _report(
        console,
        f"exclusion challenge of epoch {epoch}, {out.detail}",
        out.upheld,
        out.gas,
        "result voided, aggregator slashed",
    )

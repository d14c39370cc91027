"""``p2pfl challenge``: the watcher's side of DESIGN.md's challenge window.

``watch`` runs a node that does not train: it joins the network, recomputes every posted
result from the committed updates and challenges a wrong sketch at once. ``sketch`` is
the one-shot form: prove on chain that the sketch posted for one operator in one epoch
does not match that operator's committed update."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from p2pfl.chain.keystore import load_account, read_password
from p2pfl.cli import options
from p2pfl.cli.events import emitter
from p2pfl.cli.running import run_trio, setup_logging
from p2pfl.errors import ConfigError
from p2pfl.net.config import NetConfig

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
    """Check every posted result and challenge a wrong sketch at once (bond from the key)."""
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
    )
    emit = emitter(json_events)
    run_trio(emit, lambda: run_node(settings, emit))


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
    model_seed: options.ModelSeed = 0,
    force: Annotated[
        bool,
        typer.Option(
            help="Send even when the sketch looks right (the bond goes to the aggregator)."
        ),
    ] = False,
) -> None:
    """Challenge the sketch posted for OPERATOR in EPOCH with the operator's update bytes."""
    rpc, epoch_manager, keystore = _need(rpc, epoch_manager, keystore)
    from p2pfl.chain.epochs import Status
    from p2pfl.learn.codec import Update
    from p2pfl.protocol.model import GlobalModel
    from p2pfl.robust.sketch import sketch_many
    from p2pfl.runtime import connect_chain

    console = Console(highlight=False)
    account = load_account(keystore, read_password(env=password_env, file=password_file))
    view = connect_chain(rpc, epoch_manager)
    em = view.epochs
    info = em.epoch(epoch)
    block = int(view.chain.w3.eth.block_number)
    if info.status != Status.SUBMITTED:
        raise ConfigError(
            f"epoch {epoch} has no result under challenge (status {info.status.name})"
        )
    if block > info.challenge_deadline:
        raise ConfigError(
            f"the challenge window of epoch {epoch} closed at block {info.challenge_deadline}"
        )
    posted = view.result(epoch, info.open_block)
    if posted is None:
        raise ConfigError(f"no result event found for epoch {epoch}")
    wanted = operator.lower()
    rows = [i for i, op in enumerate(posted.operators) if op.lower() == wanted]
    if not rows:
        raise ConfigError(f"{operator} is not among the result's operators of epoch {epoch}")
    row = rows[0]
    try:
        data = update.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {update}: {exc.strerror}") from None
    upd = Update.from_safetensors(data, GlobalModel.genesis(model_seed).spec)
    committed = em.commitment(epoch, posted.operators[row])
    if upd.digest != committed:
        raise ConfigError(
            f"{update} is not the update {operator} committed in epoch {epoch} "
            f"(digest 0x{upd.digest.hex()}, committed 0x{committed.hex()})"
        )
    actual = sketch_many([upd.q], posted.seed, view.params.sketch_dim).tolist()[0]
    if actual == posted.sketches[row] and not force:
        raise ConfigError(
            f"the posted sketch of {operator} is correct: a challenge would lose the bond "
            "(--force sends it anyway)"
        )
    upheld, receipt = em.challenge_sketch(
        account, epoch, row, upd.canonical_bytes(), posted.sketches[row]
    )
    verdict = (
        "[bold green]upheld[/]: result voided, aggregator slashed"
        if upheld
        else "[red]rejected[/]: bond lost"
    )
    console.print(
        f"challenge of epoch {epoch}, row {row} ({posted.operators[row]}): {verdict}; "
        f"gas {receipt['gasUsed']:,}, tx 0x{bytes(receipt['transactionHash']).hex()}"
    )

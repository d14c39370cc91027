"""``p2pfl status``: the network as the chain sees it: the current epoch and its
deadlines, the operator set with stakes, and the last epochs' results, flags, slashes
and challenges."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from p2pfl.cli import options
from p2pfl.errors import ConfigError

WAD = 10**18


def _short(address: str) -> str:
    return address[:8] + "…" + address[-4:]


def status(
    rpc: options.Rpc = None,
    epoch_manager: options.EpochManagerAddr = None,
    last: Annotated[int, typer.Option(min=1, help="How many recent epochs to list.")] = 10,
) -> None:
    """Show the epoch, the operator set with stakes, and recent results and slashes."""
    if rpc is None or epoch_manager is None:
        raise ConfigError("status needs --rpc URL and --epoch-manager ADDRESS")
    from p2pfl.chain.epochs import Status
    from p2pfl.chain.events import EventFollower
    from p2pfl.protocol.history import History
    from p2pfl.runtime import connect_chain

    console = Console(highlight=False)
    view = connect_chain(rpc, epoch_manager)
    snap = view.snapshot()
    head = f"chain {view.chain.chain_id} block {snap.block}; epoch manager {view.epochs.address}"
    console.print(f"[bold]p2pfl[/] {head}")
    if snap.info is None:
        console.print("no epoch opened yet")
    else:
        i = snap.info
        console.print(
            f"epoch [bold]{snap.epoch}[/] {i.status.name.lower()} attempt {i.attempt}; "
            f"aggregator {i.aggregator}; commits {len(snap.committed)}; "
            f"deadlines commit {i.commit_deadline}, submit {i.submit_deadline}"
            + (f", challenge {i.challenge_deadline}" if i.status == Status.SUBMITTED else "")
        )
    ops, stakes = view.operators()
    table = Table(title="operators")
    for col in ("operator", "stake", "peer id"):
        table.add_column(col)
    for op, stake in zip(ops, stakes, strict=True):
        pid = view.peer_id(op)
        table.add_row(op, f"{stake / WAD:g}", pid.hex()[:16] + "…" if pid else "-")
    console.print(table)
    history = History(EventFollower(view.epochs.contract))
    history.refresh()
    recent = Table(title=f"last {last} epochs")
    for col in ("epoch", "aggregator", "commits", "flagged", "slashed", "challenges", "end"):
        recent.add_column(col)
    for e in sorted(history.epochs)[-last:]:
        r = history.epochs[e]
        end = "skipped" if r.skipped else ("finalized" if r.done else "open")
        final = r.final_result
        recent.add_row(
            str(e),
            " → ".join(_short(a) for a in r.aggregators),
            str(len(r.committed)),
            ", ".join(_short(a) for a in (final["flagged"] if final else [])) or "-",
            ", ".join(
                f"{_short(s.operator)} {s.wad / WAD:.0%} ({s.reason.describe})" for s in r.slashes
            )
            or "-",
            ", ".join("upheld" if c["upheld"] else "rejected" for c in r.challenges) or "-",
            end,
        )
    console.print(recent)

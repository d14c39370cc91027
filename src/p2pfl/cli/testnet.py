"""``p2pfl testnet``: the whole loop on one machine. anvil, the contracts, N registered
operators as ``p2pfl node`` processes (some malicious by choice, one cheating aggregator
epoch) and a ``p2pfl challenge watch`` process; a live table per epoch; a JSON report and
PNG plots at the end; exit code 1 when what the testnet set out to show did not happen."""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.live import Live
from rich.table import Table

from p2pfl.errors import ConfigError
from p2pfl.testnet.cheat import Cheat

if TYPE_CHECKING:  # the testnet (web3, libp2p, torch) loads only when the command runs
    from p2pfl.testnet.runner import Testnet


def _table(tn: Testnet) -> Table:
    table = Table(title="p2pfl testnet (! malicious)", expand=False, padding=(0, 1))
    cols = ("ep", "aggregator", "n", "acc", "flagged", "over norm", "slashed", "challenge",
            "train", "prove", "window", "total", "")  # fmt: skip
    for c in cols:
        table.add_column(c, no_wrap=c not in ("flagged", "over norm", "slashed"))
    for r in tn.rows():
        p = r.phases

        def sec(key: str, p: dict[str, float] = p) -> str:
            return f"{p[key]:.1f}" if key in p else "-"

        table.add_row(
            str(r.epoch),
            ">".join(r.aggregators),
            str(r.participants),
            f"{r.accuracy:.1%}" if r.accuracy is not None else "-",
            " ".join(r.flagged) or "-",
            " ".join(r.over_norm) or "-",
            " ".join(r.slashed) or "-",
            " ".join(r.challenges) or "-",
            sec("train"), sec("prove"), sec("challenge_window"), sec("total"),
            {"finalized": "[green]done[/]", "skipped": "[yellow]skip[/]"}.get(r.status, "…"),
        )  # fmt: skip
    table.caption = (
        "seconds; over norm: updates above the norm bound (reported by watchers); slashed: "
        "flag = flagged by Krum, cheat = wrong sketch or model, norm = update above the norm "
        "bound, late = timeout"
    )
    return table


def run_testnet(
    nodes: Annotated[int, typer.Option(min=3, max=16, help="Operator nodes.")] = 8,
    malicious: Annotated[int, typer.Option(min=0, help="Nodes that send an attack.")] = 2,
    attack: Annotated[str, typer.Option(help="The malicious nodes' attack.")] = "gaussian",
    committee: Annotated[
        int | None,
        typer.Option(
            min=3,
            max=16,
            help="Committee size N_max (default: every node): with fewer than the nodes, "
            "each epoch draws this many by stake and the others watch.",
        ),
    ] = None,
    withhold: Annotated[
        int,
        typer.Option(
            min=0,
            help="Nodes that commit their update and never serve it: every epoch must "
            "complete without them, nobody slashed.",
        ),
    ] = 0,
    cheat_epoch: Annotated[
        list[int] | None,
        typer.Option(help="Epochs whose first aggregator cheats (repeatable; default 2)."),
    ] = None,
    cheat: Annotated[
        Cheat,
        typer.Option(
            help="How the cheating aggregator cheats: a wrong sketch framing an honest "
            "operator, a wrong (backdoored) model, or an available operator left out "
            "(exclude). Each is challenged and slashed."
        ),
    ] = Cheat.WRONG_SKETCH,
    no_cheat: Annotated[bool, typer.Option("--no-cheat", help="No cheating epoch.")] = False,
    epochs: Annotated[int, typer.Option(min=1, help="Epochs to run.")] = 5,
    samples: Annotated[int, typer.Option(min=32, help="Training samples per operator.")] = 2000,
    block_time: Annotated[int, typer.Option(min=1, help="Seconds per block (anvil).")] = 1,
    commit_blocks: Annotated[
        int, typer.Option(min=4, help="Blocks of the commit phase (train + commit).")
    ] = 12,
    submit_blocks: Annotated[
        int, typer.Option(min=4, help="Blocks the aggregator has to fetch, prove and submit.")
    ] = 20,
    challenge_blocks: Annotated[
        int, typer.Option(min=2, help="Blocks of the challenge window.")
    ] = 6,
    threads: Annotated[int, typer.Option(min=1, help="Torch threads per node process.")] = 1,
    partition: Annotated[
        str, typer.Option(help="How the training set is cut among the nodes: iid or dirichlet.")
    ] = "iid",
    alpha: Annotated[
        float, typer.Option(min=0.001, help="Dirichlet concentration (with --partition dirichlet).")
    ] = 0.5,
    flag_slash: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=100.0,
            help="Percent of stake slashed per flag (default 0: a flag excludes the update "
            "and is reported; only where data is known to be IID may a deployment slash it).",
        ),
    ] = 0.0,
    rho: Annotated[
        str, typer.Option(help="Flag rule: flagged iff score > rho * T (a fraction >= 1).")
    ] = "3",
    out: Annotated[
        Path | None, typer.Option(help="Output folder (default runs/testnet-<time>).")
    ] = None,
    netns: Annotated[
        bool,
        typer.Option(
            "--netns",
            help="Run each node and the watcher in its own network namespace with its own "
            "address on a bridge (p2pflbr0, 10.77.0.0/24; needs root and iproute2).",
        ),
    ] = False,
    link: Annotated[
        str | None,
        typer.Option(
            help="With --netns, shape each node's link: 'loss 2%', 'rate 20mbit' or both "
            "(loss needs nftables; no delay: the kernel has no netem).",
        ),
    ] = None,
) -> None:
    """Start a local testnet and run it for a few epochs."""
    from p2pfl.robust.attacks import ATTACKS
    from p2pfl.testnet.netns import check_tools
    from p2pfl.testnet.network import TestnetConfig, start_devnet
    from p2pfl.testnet.plots import plot_accuracy, plot_scores
    from p2pfl.testnet.runner import judge, report, run

    if partition not in ("iid", "dirichlet"):
        raise ConfigError(f"unknown partition {partition!r}; choose iid or dirichlet")
    if attack not in ATTACKS:
        raise ConfigError(f"unknown attack {attack!r}; choose from {', '.join(ATTACKS)}")
    try:
        cfg = TestnetConfig(
            nodes=nodes,
            malicious=malicious,
            withhold=withhold,
            committee=committee,
            attack=attack,
            cheat_epochs=[] if no_cheat else (cheat_epoch or [2]),
            cheat=cheat,
            epochs=epochs,
            samples=samples,
            block_time=block_time,
            commit_blocks=commit_blocks,
            submit_blocks=submit_blocks,
            challenge_blocks=challenge_blocks,
            threads=threads,
            flag_slash_pct=flag_slash,
            flag_rho=rho,
            alpha=alpha if partition == "dirichlet" else None,
            netns=netns,
            link=link,
        )
    except ValidationError as exc:
        raise ConfigError(
            "; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors())
        ) from None
    if cfg.netns:
        check_tools(cfg.link_spec)  # root, ip, tc, nft: one line now, not after the build
    folder = out or Path("runs") / time.strftime("testnet-%Y%m%d-%H%M%S")
    # A log file or CI gets a table wide enough to read, not 80 columns.
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 150)
    console.print(
        f"[bold]p2pfl testnet[/]: {cfg.nodes} nodes, {cfg.malicious} malicious ({cfg.attack}), "
        + (f"{cfg.withhold} withholding, " if cfg.withhold else "")
        + f"cheating epochs {cfg.cheat_epochs} ({cfg.cheat}), {cfg.epochs} epochs -> {folder}"
        + (f", network namespaces ({cfg.link or 'links not shaped'})" if cfg.netns else "")
    )

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # SIGTERM as Ctrl-C: nodes, anvil (and namespaces) cleaned up

    signal.signal(signal.SIGTERM, stop)
    try:
        with (
            start_devnet(cfg, folder, say=console.print) as net,
            Live(console=console, refresh_per_second=2, transient=False) as live,
        ):
            tn = run(net, say=console.print, on_tick=lambda t: live.update(_table(t)))
    except KeyboardInterrupt:
        gone = "nodes, anvil and namespaces" if cfg.netns else "nodes and anvil"
        console.print(f"[yellow]interrupted[/]: {gone} stopped; logs in {folder}")
        raise typer.Exit(130) from None
    expectations = judge(tn, cfg)
    payload = report(tn, cfg, expectations, folder / "report.json")
    rows = tn.rows()
    plot_accuracy(rows, folder / "accuracy.png")
    plot_scores(rows, folder / "scores.png")
    console.print()
    for x in expectations:
        mark = "[green]✓[/]" if x.met else "[red]✗[/]"
        console.print(f"{mark} {x.what}" + (f"  [dim]{x.detail}[/]" if x.detail else ""))
    mean = payload["mean_epoch_seconds_excluding_challenge_window"]
    console.print(f"mean epoch wall time excluding the challenge window: {mean} s")
    console.print(f"report: {folder / 'report.json'}; plots: accuracy.png, scores.png")
    if not payload["ok"]:
        raise typer.Exit(1)


testnet = run_testnet  # the subcommand's name (a function named test* would look like a test)

"""``p2pfl simulate``: federated rounds in one process, with the protocol's Krum, flags
and the bracket test, a live table, a JSON result and PNG plots."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from p2pfl.errors import ConfigError
from p2pfl.jsonfile import write_json
from p2pfl.learn.mnist import load_mnist
from p2pfl.robust.attacks import ATTACKS
from p2pfl.robust.registry import RULES
from p2pfl.sim.config import SimConfig
from p2pfl.sim.plots import plot_accuracy, plot_scores
from p2pfl.sim.report import to_json
from p2pfl.sim.runner import RoundResult, RunResult, run_rule, set_threads


def _fmt(ids: list[int], byz: list[int]) -> str:
    if not ids:
        return "-"
    return ",".join(f"[red]{i}[/]" if i in byz else str(i) for i in ids)


def _rules(values: list[str]) -> tuple[str, ...]:
    out: list[str] = []
    for value in values:
        for name in value.split(","):
            name = name.strip()
            if name == "all":
                out.extend(RULES)
            elif name:
                out.append(name)
    return tuple(dict.fromkeys(out))


def simulate(
    clients: Annotated[int, typer.Option(help="Number of clients (operators).")] = 10,
    byzantine: Annotated[int, typer.Option(help="How many clients are Byzantine.")] = 0,
    f: Annotated[
        int | None,
        typer.Option(
            "--f", help="Byzantine bound the rules assume (default: --byzantine, capped)."
        ),
    ] = None,
    attack: Annotated[
        str, typer.Option(help=f"Attack of the Byzantine clients: {', '.join(ATTACKS)}.")
    ] = "gaussian",
    rule: Annotated[
        list[str],
        typer.Option(
            help="Aggregation rule(s), repeatable or comma-separated, or 'all': "
            f"{', '.join(RULES)}."
        ),
    ] = ["multikrum"],  # noqa: B006 - typer reads the default
    rounds: Annotated[int, typer.Option(help="Federated rounds.")] = 10,
    partition: Annotated[str, typer.Option(help="'iid' or 'dirichlet' (non-IID).")] = "iid",
    alpha: Annotated[float, typer.Option(help="Dirichlet concentration for non-IID shards.")] = 0.5,
    seed: Annotated[int, typer.Option(help="Seed of shards, init, training and attacks.")] = 0,
    local_epochs: Annotated[int, typer.Option(help="Local epochs per round.")] = 1,
    lr: Annotated[float, typer.Option(help="Local SGD learning rate.")] = 0.05,
    clip: Annotated[float, typer.Option(help="L2 norm clip C of honest updates.")] = 10.0,
    sketch_k: Annotated[
        int, typer.Option(help="CountSketch buckets k (0: Krum on full vectors).")
    ] = 64,
    rho: Annotated[
        str, typer.Option(help="Flag threshold: flagged iff score > rho * T (a fraction >= 1).")
    ] = "3",
    arithmetic: Annotated[
        str,
        typer.Option(
            help="'fixed': the protocol's int32 model and exact step; 'float': a float64 "
            "model and mean (for comparison)."
        ),
    ] = "fixed",
    samples_per_client: Annotated[
        int | None, typer.Option(help="Cap each shard (quick runs) (default: whole shard).")
    ] = None,
    test_samples: Annotated[
        int | None, typer.Option(help="Evaluate on the first N test images (default: all 10,000).")
    ] = None,
    threads: Annotated[int | None, typer.Option(help="torch threads (default: torch's).")] = None,
    out: Annotated[
        Path | None, typer.Option(help="Output folder (default: runs/sim-<time>).")
    ] = None,
    data_dir: Annotated[
        Path | None, typer.Option(help="Folder of the MNIST IDX files (default: node_modules).")
    ] = None,
) -> None:
    """Run federated rounds in one process and report accuracy, Krum selection and flags.

    Example: p2pfl simulate --clients 10 --byzantine 3 --attack gaussian --rule multikrum
    --rounds 10 --partition iid
    """
    try:
        config = SimConfig(
            clients=clients,
            byzantine=byzantine,
            f=f,
            attack=attack,
            rules=_rules(rule),
            rounds=rounds,
            partition=partition,
            alpha=alpha,
            seed=seed,
            local_epochs=local_epochs,
            lr=lr,
            clip=clip,
            sketch_k=sketch_k,
            rho=rho,
            arithmetic=arithmetic,
            samples_per_client=samples_per_client,
            test_samples=test_samples,
        )
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'config'}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"invalid simulation settings: {problems}") from None

    console = Console()
    set_threads(threads)
    out_dir = out or Path("runs") / f"sim-{datetime.now(UTC):%Y%m%d-%H%M%S}"
    out_dir.mkdir(parents=True, exist_ok=True)
    data = load_mnist(data_dir)
    console.print(
        f"[bold]p2pfl simulate[/]: {config.clients} clients, {config.byzantine} Byzantine "
        f"({config.attack}), f={config.assumed_f}, {config.partition}"
        f"{f' alpha={config.alpha}' if config.partition == 'dirichlet' else ''}, "
        f"rules {', '.join(config.rules)}, {config.rounds} rounds, {config.arithmetic} "
        f"model -> {out_dir}"
    )

    if config.byzantine > config.assumed_f:
        console.print(
            f"[yellow]note:[/] {config.byzantine} Byzantine clients exceed the assumed "
            f"f = {config.assumed_f} (Krum tolerates f <= {(config.clients - 3) // 2} of "
            f"{config.clients}): expect the defence to fail"
        )
    runs: list[RunResult] = []
    started = time.perf_counter()
    progress = Progress(
        TextColumn("[bold blue]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )
    total = len(config.rules) * config.rounds * config.clients
    task = progress.add_task("training", total=total)

    def on_client(rnd: int, client: int) -> None:
        progress.advance(task)

    def on_round(rule_name: str, r: RoundResult, byz: list[int]) -> None:
        progress.console.print(
            f"  {rule_name:>12} round {r.round:>3}  acc {r.accuracy * 100:6.2f} %  "
            f"selected {_fmt(r.selected, byz)}  flagged {_fmt(r.flagged, byz)}"
            f"{'  [yellow]suspicious[/]' if r.suspicious else ''}"
            f"{f'  [red]diverged {_fmt(r.diverged, byz)}[/]' if r.diverged else ''}"
            f"{f'  over norm bound {_fmt(r.norm_violations, byz)}' if r.norm_violations else ''}"
            f"  ({r.seconds:.1f} s)"
        )

    interrupted = False
    try:
        with progress:
            for rule_name in config.rules:
                progress.update(task, description=rule_name)
                run_rule(config, rule_name, data, on_client, on_round, runs=runs)
    except KeyboardInterrupt:
        interrupted = True
        console.print("[yellow]interrupted: writing the rounds completed so far[/]")

    seconds = time.perf_counter() - started
    payload = to_json(config, runs, seconds)
    payload["interrupted"] = interrupted
    write_json(out_dir / "result.json", payload)
    runs = [run for run in runs if run.rounds]
    if runs:
        title = (
            f"{config.byzantine}/{config.clients} Byzantine ({config.attack}), {config.partition}"
        )
        plot_accuracy(runs, out_dir / "accuracy.png", title)
        for run in runs:
            plot_scores(
                run, config.clients, out_dir / f"scores-{run.rule}.png", f"{run.rule}: {title}"
            )
    _summary(console, config, runs)
    console.print(f"result: {out_dir / 'result.json'}  plots: {out_dir}/*.png  ({seconds:.0f} s)")
    if interrupted:
        raise typer.Exit(130)


def _rounds_table(console: Console, run: RunResult) -> None:
    table = Table(title=f"{run.rule}: per round (Byzantine in red)")
    for col in (
        "round",
        "accuracy",
        "selected",
        "flagged",
        "over norm bound",
        "suspicious",
        "seconds",
    ):
        table.add_column(col, justify="right")
    byz = run.byzantine_clients
    for r in run.rounds:
        table.add_row(
            str(r.round),
            f"{r.accuracy * 100:.2f} %",
            _fmt(r.selected, byz),
            _fmt(r.flagged, byz),
            _fmt(r.norm_violations, byz),
            "[yellow]yes[/]" if r.suspicious else "no",
            f"{r.seconds:.1f}",
        )
    console.print(table)


def _summary(console: Console, config: SimConfig, runs: list[RunResult]) -> None:
    for run in runs:
        _rounds_table(console, run)
    table = Table(title="summary")
    for col in (
        "rule",
        "final acc",
        "Byzantine flagged (min)",
        "honest flagged",
        "Byzantine over norm bound",
        "suspicious",
    ):
        table.add_column(col, justify="right")
    for run in runs:
        s = run.summary(config.clients)
        byz, hon = s["byzantine_min_flag_rate"], s["honest_flag_rate"]
        table.add_row(
            run.rule,
            f"{(s['final_accuracy'] or 0) * 100:.2f} %",
            "-" if byz is None else f"{byz * 100:.0f} % of rounds",
            "-" if hon is None else f"{hon * 100:.1f} % of client-rounds",
            "-" if (nv := s["byzantine_norm_violation_rate"]) is None else f"{nv * 100:.0f} %",
            f"{int(s['suspicious_rounds'] or 0)}/{len(run.rounds)}",
        )
    console.print(table)

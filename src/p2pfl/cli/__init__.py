"""The ``p2pfl`` command line: one module per subcommand."""

from __future__ import annotations

import importlib
import sys

import typer
from rich.console import Console

from p2pfl import __version__
from p2pfl.errors import P2pflError

app = typer.Typer(
    name="p2pfl",
    help="Peer-to-peer federated learning run by EigenLayer operators.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
COMMANDS = ("simulate", "deploy", "node", "operator", "challenge", "status", "testnet")


def _register(names: tuple[str, ...]) -> None:
    """Import and register subcommands. Each module pulls in what its command needs
    (torch, web3, libp2p), so ``p2pfl node --gossip-only`` loads only the network
    layer: a smaller, faster-starting process."""
    for name in names:
        module = importlib.import_module(f"p2pfl.cli.{name}")
        group = getattr(module, "app", None)
        if isinstance(group, typer.Typer):  # a command with subcommands
            app.add_typer(group, name=name)
        else:
            app.command(name)(getattr(module, name))


def _version(value: bool) -> None:
    if value:
        typer.echo(f"p2pfl {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Peer-to-peer federated learning run by EigenLayer operators."""


def main() -> None:
    """Entry point: user errors become one red line and exit code 2, never a traceback."""
    wanted = sys.argv[1] if len(sys.argv) > 1 else ""
    _register((wanted,) if wanted in COMMANDS else COMMANDS)
    try:
        app()
    except P2pflError as exc:
        # soft_wrap: one line whatever the width (a terminal wraps it; a log keeps it whole)
        Console(stderr=True, soft_wrap=True).print(f"[bold red]error:[/] {exc}", highlight=False)
        sys.exit(2)

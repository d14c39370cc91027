"""The ``p2pfl`` command line: one module per subcommand."""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from p2pfl import __version__
from p2pfl.cli import deploy, node, simulate
from p2pfl.errors import P2pflError

app = typer.Typer(
    name="p2pfl",
    help="Peer-to-peer federated learning run by EigenLayer operators.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command("simulate")(simulate.simulate)
app.command("deploy")(deploy.deploy)
app.command("node")(node.node)


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
    try:
        app()
    except P2pflError as exc:
        Console(stderr=True).print(f"[bold red]error:[/] {exc}", highlight=False)
        sys.exit(2)

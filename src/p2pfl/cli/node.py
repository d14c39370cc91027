"""``p2pfl node``: run an operator node.

This version runs the network layer alone (``--gossip-only``): it joins through the
bootstrap peers, announces a development blob and fetches everyone else's. The full
node (chain, epochs, training, proofs) needs ``--rpc`` and ``--keystore`` and comes with
the epoch protocol."""

from __future__ import annotations

import json
import logging
import signal
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import trio
import typer
from rich.console import Console

from p2pfl.cli.errors import user_error
from p2pfl.errors import ConfigError
from p2pfl.net.config import NetConfig
from p2pfl.net.devnode import run_gossip_node


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # py-libp2p logs every dropped DHT stream and failed dial as a warning; they are
    # routine on a churning network. Shown with --verbose only.
    logging.getLogger("libp2p").setLevel(logging.INFO if verbose else logging.CRITICAL)


def node(
    bootstrap: Annotated[
        list[str] | None,
        typer.Option(
            "--bootstrap",
            "-b",
            help="Multiaddr of a peer to join through, ending in /p2p/<peer id> (repeatable).",
        ),
    ] = None,
    listen: Annotated[
        str, typer.Option(help="Multiaddr to listen on (port 0: any free port).")
    ] = "/ip4/0.0.0.0/tcp/4001",
    data_dir: Annotated[
        Path, typer.Option(help="Where the node keeps its identity key, blobs and state.")
    ] = Path("~/.p2pfl"),
    gossip_only: Annotated[
        bool,
        typer.Option(
            "--gossip-only",
            help="Development mode without a chain: every signer counts as an operator.",
        ),
    ] = False,
    epoch: Annotated[int, typer.Option(min=0, help="[gossip-only] The epoch to join.")] = 1,
    chain_id: Annotated[
        int, typer.Option(min=1, help="[gossip-only] Chain id in topics and signatures.")
    ] = 31337,
    announce_bytes: Annotated[
        int,
        typer.Option(min=0, help="[gossip-only] Announce a random blob of this size (0: none)."),
    ] = 0,
    expect_peers: Annotated[
        int,
        typer.Option(
            min=0, help="[gossip-only] Wait (up to 10 s) for this many peers before announcing."
        ),
    ] = 1,
    announce_at: Annotated[
        float | None,
        typer.Option(help="[gossip-only] Announce at this Unix time (to line up test nodes)."),
    ] = None,
    json_events: Annotated[
        bool, typer.Option("--json", help="Print one JSON event per line on stdout.")
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log details.")] = False,
) -> None:
    """Run a node: join the peer-to-peer network and take part in its epochs."""
    if not gossip_only:
        raise ConfigError(
            "the full node (--rpc, --keystore) is not available in this version; "
            "run the network layer alone with --gossip-only"
        )
    _setup_logging(verbose)
    cfg = NetConfig.build(listen=listen, bootstrap=tuple(bootstrap or ()))
    console = Console(stderr=json_events, highlight=False)

    def emit(event: dict[str, Any]) -> None:
        if json_events:
            # Wall-clock time on every event, so runs of several nodes can be lined up.
            print(json.dumps({**event, "time": round(time.time(), 4)}), flush=True)
        elif event["event"] == "listening":
            console.print(f"[bold]peer id[/] {event['peer_id']}  operator {event['operator']}")
            for addr in event["addrs"]:
                console.print(f"[bold green]listening[/] {addr}")
        else:
            details = " ".join(f"{k}={v}" for k, v in event.items() if k != "event")
            console.print(f"{event['event']:<12} {details}")

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_stop_on_signal, nursery.cancel_scope, emit)
            await run_gossip_node(
                cfg,
                data_dir.expanduser(),
                epoch=epoch,
                chain_id=chain_id,
                announce_bytes=announce_bytes,
                expect_peers=expect_peers,
                announce_at=announce_at,
                emit=emit,
            )

    try:
        trio.run(main)
    except BaseExceptionGroup as group:
        raise user_error(group) from None
    emit({"event": "stopped"})


async def _stop_on_signal(scope: trio.CancelScope, emit: Any) -> None:
    """Ctrl-C or SIGTERM: cancel everything; the network layer closes its connections,
    streams and threads on the way out."""
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for signum in signals:
            emit({"event": "stopping", "signal": signal.Signals(signum).name})
            scope.cancel()
            return

"""Options shared by the commands that run on the network (``node``, ``challenge``,
``status``): one definition each, the same help everywhere."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from p2pfl.chain.rpc import RPC_ATTEMPTS
from p2pfl.cli.config import load_config_callback

Bootstrap = Annotated[
    list[str] | None,
    typer.Option(
        "--bootstrap",
        "-b",
        help="Multiaddr of a peer to join through, ending in /p2p/<peer id> (repeatable).",
    ),
]
Rpc = Annotated[str | None, typer.Option(help="Ethereum JSON-RPC URL.")]
RpcTimeout = Annotated[
    float,
    typer.Option(
        min=1.0,
        max=600.0,
        metavar="SECONDS",
        help=f"How long one JSON-RPC request waits for its answer. A read is tried "
        f"{RPC_ATTEMPTS} times, so an endpoint that never answers costs a read about "
        f"{RPC_ATTEMPTS}x this before the node backs off and tries again; shorter sees the "
        "chain again sooner after an outage.",
    ),
]
EpochManagerAddr = Annotated[
    str | None, typer.Option(help="Address of the network's EpochManager contract.")
]
Keystore = Annotated[
    Path | None, typer.Option(help="The operator's encrypted Ethereum keystore (JSON).")
]
PasswordEnv = Annotated[
    str | None, typer.Option(help="Read the keystore password from this variable.")
]
PasswordFile = Annotated[
    Path | None, typer.Option(help="Read the keystore password from this file (0600).")
]
Listen = Annotated[str, typer.Option(help="Multiaddr to listen on (port 0: any free port).")]
DataDir = Annotated[
    Path, typer.Option(help="Where the node keeps its identity key, blobs and state.")
]
ModelSeed = Annotated[
    int, typer.Option(help="Seed of the genesis model (must match the deployment).")
]
Epochs = Annotated[int | None, typer.Option(min=1, help="Stop once this epoch is finalized.")]
JsonEvents = Annotated[
    bool, typer.Option("--json", help="Print one JSON event per line on stdout.")
]
Verbose = Annotated[bool, typer.Option("--verbose", "-v", help="Log details.")]
ConfigFile = Annotated[
    Path | None,
    typer.Option(
        "--config",
        is_eager=True,
        callback=load_config_callback,
        help="TOML file of this command's options (keys: option names with underscores, "
        'e.g. epoch_manager = "0x…"); flags override it. No secrets: use password_env.',
    ),
]
PrintConfig = Annotated[
    bool,
    typer.Option(
        "--print-config", help="Print the effective settings (file, flags, defaults) as TOML."
    ),
]

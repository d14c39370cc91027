"""``p2pfl node``: run an operator node.

With ``--rpc`` and ``--keystore`` it is the full node of DESIGN.md's epoch (train,
commit, announce and serve updates, aggregate and prove when elected, check and
challenge results, finalize). ``--gossip-only`` runs the network layer alone, without
a chain, for development."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from p2pfl.chain.keystore import load_account, read_password
from p2pfl.chain.rpc import RPC_TIMEOUT_S
from p2pfl.cli import options
from p2pfl.cli.config import effective_toml
from p2pfl.cli.events import emitter
from p2pfl.cli.running import run_trio, setup_logging
from p2pfl.errors import ConfigError
from p2pfl.net.config import NetConfig
from p2pfl.testnet.cheat import Cheat


def node(
    ctx: typer.Context,
    config: options.ConfigFile = None,
    print_config: options.PrintConfig = False,
    bootstrap: options.Bootstrap = None,
    rpc: options.Rpc = None,
    rpc_timeout: options.RpcTimeout = RPC_TIMEOUT_S,
    epoch_manager: options.EpochManagerAddr = None,
    keystore: options.Keystore = None,
    password_env: options.PasswordEnv = None,
    password_file: options.PasswordFile = None,
    listen: options.Listen = "/ip4/0.0.0.0/tcp/4001",
    data_dir: options.DataDir = Path("~/.p2pfl"),
    shard: Annotated[int, typer.Option(min=0, help="This operator's MNIST shard index.")] = 0,
    shards: Annotated[
        int, typer.Option(min=1, help="How many shards the training set is cut into.")
    ] = 1,
    samples: Annotated[
        int | None, typer.Option(min=1, help="Use at most this many samples of the shard.")
    ] = None,
    alpha: Annotated[
        float | None,
        typer.Option(
            min=0.001,
            help="Cut the shards label-skewed, Dirichlet(ALPHA) per class (default: IID).",
        ),
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option(
            metavar="PATH",
            help="The operator's own training set instead of an MNIST shard: an .npz with "
            "x (uint8, N x 28 x 28) and y (labels 0..9), or a folder holding one MNIST IDX "
            "pair (PREFIX-images-idx3-ubyte, PREFIX-labels-idx1-ubyte, optionally .gz). "
            "Not with --shards or --alpha.",
        ),
    ] = None,
    model_seed: options.ModelSeed = 0,
    clip: Annotated[float, typer.Option(min=0.0, help="L2 clip norm of updates.")] = 10.0,
    epochs: options.Epochs = None,
    threads: Annotated[
        int | None, typer.Option(min=1, help="Torch threads for training (default: all).")
    ] = None,
    open_first_epoch: Annotated[
        bool,
        typer.Option(
            "--open-first-epoch/--no-open-first-epoch",
            help="May open the network's very first epoch (a testnet opens it itself).",
        ),
    ] = True,
    no_challenge: Annotated[
        bool, typer.Option("--no-challenge", help="Check results but never challenge.")
    ] = False,
    max_backoff: Annotated[
        float,
        typer.Option(
            min=0.5,
            max=600.0,
            metavar="SECONDS",
            help="The longest wait between retries while the chain endpoint or a step fails "
            "(it doubles from 0.5 s up to this).",
        ),
    ] = 10.0,
    testnet_attack: Annotated[
        str | None,
        typer.Option(
            help="TESTNET ONLY: send this attack's update instead of an honest one "
            "(gaussian, signflip, labelflip, alie, ipm). Refused outside a devnet chain."
        ),
    ] = None,
    testnet_cheat_epoch: Annotated[
        list[int] | None,
        typer.Option(
            help="TESTNET ONLY: as the first aggregator of this epoch, cheat "
            "(--testnet-cheat says how; repeatable). Refused outside a devnet chain."
        ),
    ] = None,
    testnet_cheat: Annotated[
        Cheat,
        typer.Option(
            help="TESTNET ONLY: how the cheating aggregator cheats: a wrong sketch that frames "
            "an honest operator, a wrong (backdoored) model, or an available operator left "
            "out (exclude)."
        ),
    ] = Cheat.WRONG_SKETCH,
    testnet_withhold: Annotated[
        bool,
        typer.Option(
            "--testnet-withhold",
            help="TESTNET ONLY: commit the update, then never serve it (the network must "
            "leave it out and slash nobody). Refused outside a devnet chain.",
        ),
    ] = False,
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
    metrics_port: Annotated[
        int | None,
        typer.Option(
            min=0,
            max=65535,
            help="Serve Prometheus /metrics and the EigenLayer AVS node API (/eigen/node/...) "
            "on this port (0: any free port; default: off).",
        ),
    ] = None,
    metrics_host: Annotated[
        str, typer.Option(help="The address the metrics server binds to.")
    ] = "127.0.0.1",
    json_events: options.JsonEvents = False,
    verbose: options.Verbose = False,
) -> None:
    """Run a node: join the peer-to-peer network and take part in its epochs."""
    if print_config:
        typer.echo(effective_toml(ctx), nl=False)
        return
    setup_logging(verbose)
    cfg = NetConfig.build(listen=listen, bootstrap=tuple(bootstrap or ()))
    emit = emitter(json_events)
    folder = data_dir.expanduser()
    if gossip_only:
        from p2pfl.net.gossip_node import run_gossip_node

        run_trio(
            emit,
            lambda: run_gossip_node(
                cfg,
                folder,
                epoch=epoch,
                chain_id=chain_id,
                announce_bytes=announce_bytes,
                expect_peers=expect_peers,
                announce_at=announce_at,
                emit=emit,
                metrics_port=metrics_port,
                metrics_host=metrics_host,
            ),
        )
        return
    if rpc is None or keystore is None or epoch_manager is None:
        raise ConfigError(
            "the node needs --rpc URL, --epoch-manager ADDRESS and --keystore FILE "
            "(or --gossip-only for the network layer alone)"
        )
    if shard >= shards:
        raise ConfigError(f"--shard {shard} must be below --shards {shards}")
    from p2pfl.learn.train import TrainConfig
    from p2pfl.protocol.trainer import TrainerConfig

    trainer = TrainerConfig(
        shard=shard,
        shards=shards,
        samples=samples,
        alpha=alpha,
        data=data,
        clip=clip,
        train=TrainConfig(),
    )
    trainer.check()  # a bad training set is refused before the password is read
    account = load_account(keystore, read_password(env=password_env, file=password_file))
    if threads:
        import torch

        torch.set_num_threads(threads)
    from p2pfl.protocol.options import NodeOptions
    from p2pfl.runtime import NodeSettings, run_node
    from p2pfl.testnet.adversary import Adversary

    adversary = Adversary(
        testnet_attack, frozenset(testnet_cheat_epoch or ()), testnet_cheat, testnet_withhold
    )
    adversary.check(31337)  # the attack's name now; the chain is checked at start
    settings = NodeSettings(
        rpc=rpc,
        epoch_manager=epoch_manager,
        account=account,
        net=cfg,
        options=NodeOptions(
            data_dir=folder,
            model_seed=model_seed,
            challenge=not no_challenge,
            stop_after=epochs,
            open_first=open_first_epoch,
            clip=clip,
            max_backoff_s=max_backoff,
        ),
        trainer=trainer,
        adversary=adversary,
        metrics_port=metrics_port,
        metrics_host=metrics_host,
        rpc_timeout_s=rpc_timeout,
    )
    run_trio(emit, lambda: run_node(settings, emit))

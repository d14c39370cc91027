"""``p2pfl deploy``: the devnet (anvil, core stand-ins, AVS, operators) or the AVS alone
against an existing EigenLayer core on any RPC endpoint."""

from __future__ import annotations

import json
import os
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from p2pfl.chain.anvil import dev_key, run_anvil
from p2pfl.chain.artifacts import build_contracts
from p2pfl.chain.client import Chain, account
from p2pfl.chain.deploy import (
    DEVNET_CHAIN_ID,
    WAD,
    Core,
    Deployment,
    core_from_dict,
    deploy_avs,
    deploy_devnet,
)
from p2pfl.chain.epochs import DEFAULT_CLIP, DEFAULT_MODEL_DIM, Params, norm_bound_sq
from p2pfl.cli import options
from p2pfl.errors import ConfigError
from p2pfl.robust.sketch_krum import parse_rho


def _load_core(path: Path) -> Core:
    try:
        raw = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read core addresses from {path}: {exc}") from None
    return core_from_dict(raw, str(path))


def _parse_size(text: str) -> tuple[int, int]:
    try:
        n, k = (int(x) for x in text.lower().split("x"))
    except ValueError:
        raise ConfigError(f"--krum-verifier takes NxK, like 8x64; got {text!r}") from None
    return n, k


def deploy(
    rpc: Annotated[
        str | None,
        typer.Option(help="RPC URL of an existing chain (default: start a local anvil)."),
    ] = None,
    core: Annotated[
        Path | None,
        typer.Option(
            help="JSON of existing EigenLayer core addresses: allocation_manager, "
            "delegation_manager, strategy_manager, strategy, token (default: the devnet "
            "stand-ins)."
        ),
    ] = None,
    operators: Annotated[
        int, typer.Option(help="Devnet: register this many anvil accounts as operators.")
    ] = 8,
    stake: Annotated[float, typer.Option(help="Devnet: stake per operator, in tokens.")] = 10.0,
    deployer_key_env: Annotated[
        str | None, typer.Option(help="Environment variable holding the deployer's private key.")
    ] = None,
    verifier: Annotated[
        str | None, typer.Option(help="Address of the Krum proof verifier.")
    ] = None,
    insecure_test_verifier: Annotated[
        bool,
        typer.Option(
            help="Devnet only: deploy the test-tree verifier that accepts a hash as proof."
        ),
    ] = False,
    krum_verifier: Annotated[
        str | None,
        typer.Option(
            help="Generate and deploy the real Krum verifiers for up to N operators with "
            "sketch size K (e.g. 8x64): a router with one verifier per n = 3..N."
        ),
    ] = None,
    commit_blocks: Annotated[int, typer.Option(help="Blocks for the commit phase.")] = 10,
    submit_blocks: Annotated[int, typer.Option(help="Blocks for the aggregator to submit.")] = 20,
    challenge_blocks: Annotated[int, typer.Option(help="Blocks of the challenge window.")] = 10,
    max_byzantine: Annotated[int, typer.Option(help="Byzantine bound f assumed by Krum.")] = 3,
    max_attempts: Annotated[
        int, typer.Option(min=1, help="Aggregator attempts per epoch before it is skipped.")
    ] = 4,
    committee_size: Annotated[
        int | None,
        typer.Option(
            min=3,
            max=255,
            help="N_max: above this many registered operators, each epoch draws a committee "
            "of this many by stake. Default: the largest --krum-verifier size, else 16.",
        ),
    ] = None,
    model_dim: Annotated[
        int,
        typer.Option(
            min=1, help="Entries of the model and of every update (the CNN's by default)."
        ),
    ] = DEFAULT_MODEL_DIM,
    clip: Annotated[
        float, typer.Option(min=0.0, help="Update clip C: the norm bound is (C·2^16 + ⌈√d⌉)².")
    ] = DEFAULT_CLIP,
    reward_share: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=0.999,
            help="Share of the stake a challenge's slash removed paid to the challenger.",
        ),
    ] = 0.5,
    flag_rho: Annotated[
        str, typer.Option(help="Flag rule: flagged iff score > rho * T (a fraction >= 1).")
    ] = "3",
    port: Annotated[
        int | None, typer.Option(help="Port of the local anvil (default: a free one).")
    ] = None,
    out: Annotated[Path, typer.Option(help="Where to write the deployment JSON.")] = Path(
        "deployment.json"
    ),
    exit_after: Annotated[
        bool,
        typer.Option(
            "--exit", help="Stop the local anvil after deploying (default: keep it running)."
        ),
    ] = False,
    model_seed: options.ModelSeed = 0,
) -> None:
    """Deploy p2pfl's contracts and write their addresses to a JSON file.

    Without --rpc: start anvil, deploy the EigenLayer stand-ins, the AVS and the epoch
    manager, register --operators operators, and keep anvil running until Ctrl-C.
    With --rpc and --core: deploy only the AVS and epoch manager against that core.
    """
    console = Console()
    chosen = [verifier is not None, insecure_test_verifier, krum_verifier is not None]
    if sum(chosen) != 1:
        raise ConfigError(
            "give exactly one of --verifier ADDRESS, --krum-verifier NxK (generate the Noir "
            "verifier) or, on a devnet, --insecure-test-verifier"
        )
    size = _parse_size(krum_verifier) if krum_verifier else None
    if size and committee_size and committee_size > size[0]:
        raise ConfigError(
            f"--committee-size {committee_size} exceeds the largest verifier (n = {size[0]}): "
            "a committee that large could never be proven"
        )
    if rpc is not None and core is None:
        raise ConfigError(
            "--rpc needs --core: the devnet stand-ins are never deployed to a live network"
        )
    try:
        rho = parse_rho(flag_rho)
    except ValueError as exc:
        raise ConfigError(f"--flag-rho: {exc}") from None
    params = Params(
        commit_blocks=commit_blocks,
        submit_blocks=submit_blocks,
        challenge_blocks=challenge_blocks,
        max_byzantine=max_byzantine,
        flag_rho_num=rho.numerator,
        flag_rho_den=rho.denominator,
        max_attempts=max_attempts,
        model_dim=model_dim,
        norm_bound_sq=norm_bound_sq(clip, model_dim),
        reward_share_wad=round(reward_share * WAD),
        committee_size=committee_size or (size[0] if size else 16),
    )
    build_contracts()
    with ExitStack() as stack:
        if rpc is None:
            anvil = stack.enter_context(run_anvil(accounts=operators + 2, port=port))
            url = anvil.url
            console.print(f"anvil on {url}")
        else:
            url = rpc
        try:
            chain = Chain(url)
        except Exception as exc:  # any connection failure
            raise ConfigError(f"cannot reach {url}: {exc}") from None
        devnet = chain.chain_id == DEVNET_CHAIN_ID
        if insecure_test_verifier and not devnet:
            raise ConfigError(
                f"--insecure-test-verifier is refused on chain {chain.chain_id} (devnet only)"
            )
        if deployer_key_env:
            key = os.environ.get(deployer_key_env)
            if not key:
                raise ConfigError(f"environment variable {deployer_key_env} is empty or unset")
        elif devnet:
            key = dev_key(0)
        else:
            raise ConfigError("give --deployer-key-env on a non-devnet chain")
        deployer = account(key)
        started = time.perf_counter()

        def pick_verifier() -> str:
            if verifier:
                return verifier
            if size:
                from p2pfl.zk import verifier as zk_verifier  # the Noir toolchain, only if asked

                n, k = size  # one verifier per participant count, behind a router
                return zk_verifier.deploy_router(
                    chain, deployer, range(3, n + 1), k, say=console.print
                )
            return chain.deploy(deployer, "MockVerifier")

        genesis = _genesis_root(model_seed, model_dim)
        if core is None:
            ops = [
                (account(dev_key(i + 1)), int(stake * WAD), f"devnet-peer-{i}".encode())
                for i in range(operators)
            ]
            deployment = deploy_devnet(
                chain, deployer, ops, pick_verifier, params, genesis, say=console.print
            )
        else:
            core_addrs = _load_core(core)
            avs = deploy_avs(
                chain, deployer, core_addrs, pick_verifier(), params, genesis, say=console.print
            )
            deployment = Deployment(
                rpc=url,
                chain_id=chain.chain_id,
                core=core_addrs,
                avs=avs,
                params=params,
                genesis_model="0x" + genesis.hex(),
                block=int(chain.w3.eth.block_number),
                seconds=time.perf_counter() - started,
            )
        deployment.write(out)
        _show(console, deployment, out)
        if rpc is None and not exit_after:
            console.print(f"[green]devnet running on {url}[/] — Ctrl-C to stop")
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                console.print("stopping anvil")


def _genesis_root(model_seed: int, model_dim: int) -> bytes:
    """The genesis model's root (what nodes check at start, ``--model-seed``); for another
    model dimension, the root of the zero vector."""
    import numpy as np

    from p2pfl import merkle
    from p2pfl.protocol.model import GlobalModel

    genesis = GlobalModel.genesis(model_seed)
    if genesis.spec.dim == model_dim:
        return genesis.digest
    return merkle.root(np.zeros(model_dim, dtype=np.int32))


def _show(console: Console, d: Deployment, out: Path) -> None:
    table = Table(title=f"p2pfl deployment (chain {d.chain_id}, {d.seconds:.1f} s)")
    table.add_column("contract")
    table.add_column("address")
    for name, addr in (
        ("EpochManager", d.avs.epoch_manager),
        ("P2pflServiceManager", d.avs.service_manager),
        ("verifier", d.avs.verifier),
        ("AllocationManager", d.core.allocation_manager),
        ("DelegationManager", d.core.delegation_manager),
        ("StrategyManager", d.core.strategy_manager or "(not recorded)"),
        ("strategy", d.core.strategy),
        ("stake token", d.core.token),
    ):
        table.add_row(name, addr)
    console.print(table)
    if d.operators:
        console.print(f"{len(d.operators)} operators registered")
    console.print(f"wrote {out}")

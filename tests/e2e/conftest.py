"""End-to-end runs of the local testnet: real anvil, real contracts with the generated
Krum verifiers, real `p2pfl node` processes talking libp2p, real proofs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from p2pfl.testnet.network import TestnetConfig, start_devnet
from p2pfl.testnet.runner import Expectation, Hook, Testnet, judge, run


@contextmanager
def run_testnet(
    out: Path,
    cfg: TestnetConfig,
    hooks: list[Hook] | None = None,
    on_tick: Callable[[Testnet], None] | None = None,
) -> Iterator[tuple[Testnet, list[Expectation]]]:
    """Run the testnet to its last epoch; anvil keeps running inside the block."""
    with start_devnet(cfg, out, say=print) as net:
        tn = run(net, say=print, hooks=hooks, on_tick=on_tick, epoch_timeout=150)
        yield tn, judge(tn, cfg)


def show(expectations: list[Expectation]) -> str:
    return "\n".join(f"{'ok ' if x.met else 'NOT'} {x.what}: {x.detail}" for x in expectations)

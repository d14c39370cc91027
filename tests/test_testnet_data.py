"""The testnet gives each operator its own training file and runs its node with ``--data``:
the same samples, bit for bit, as the node's MNIST shard of before."""

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import torch
from eth_account import Account

from p2pfl.protocol.trainer import TrainerConfig, training_set
from p2pfl.testnet.network import (
    Devnet,
    Operator,
    TestnetConfig,
    node_args,
    write_training_sets,
)


def operators(tmp_path: Path, n: int) -> list[Operator]:
    out = []
    for i in range(n):
        folder = tmp_path / f"node{i}"
        folder.mkdir()
        acct = Account.from_key((i + 1).to_bytes(32, "big"))
        out.append(Operator(i, acct, folder, folder / "keystore.json", "peer", 4000 + i, None))
    return out


@pytest.mark.parametrize("alpha", [None, 0.3])
def test_each_operator_trains_on_the_shard_it_had(tmp_path: Path, alpha: float | None) -> None:
    cfg = TestnetConfig(nodes=4, malicious=0, alpha=alpha, samples=300)
    ops = operators(tmp_path, cfg.nodes)
    write_training_sets(cfg, ops)
    for op in (ops[0], ops[3]):
        old = training_set(
            TrainerConfig(shard=op.index, shards=cfg.nodes, alpha=alpha, samples=cfg.samples)
        )
        new = training_set(TrainerConfig(data=op.train_file, samples=cfg.samples))
        assert torch.equal(old.images, new.images)
        assert torch.equal(old.labels, new.labels)


def test_node_is_launched_with_its_file(tmp_path: Path) -> None:
    cfg = TestnetConfig(nodes=3, malicious=1, alpha=0.5, samples=500)
    ops = operators(tmp_path, cfg.nodes)
    deployment: Any = SimpleNamespace(avs=SimpleNamespace(epoch_manager="0x" + "11" * 20))
    nothing: Any = None  # the chain and the deployer: node_args does not use them
    net = Devnet(
        cfg, tmp_path, "http://127.0.0.1:8545", nothing, nothing, deployment, ops, ops[0], tmp_path
    )
    args = node_args(net, ops[2])
    at = args.index("--data")
    assert args[at + 1] == str(tmp_path / "node2" / "train.npz")
    assert args[args.index("--samples") + 1] == "500"
    assert not {"--shard", "--shards", "--alpha"} & set(args)

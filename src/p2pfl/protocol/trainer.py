"""An operator's local work in an epoch: train the global model on its training set (its
own, ``--data``, or a shard of the bundled MNIST) and encode the update (DESIGN.md: clip,
quantize). A test network may hand the trainer one of the simulation's attacks
(``p2pfl.testnet.adversary``); it then sends the attack's update instead."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from p2pfl.errors import ConfigError
from p2pfl.hashing import keccak256
from p2pfl.learn.codec import Update
from p2pfl.learn.dataset import load_dataset
from p2pfl.learn.mnist import Split, normalise, read_split
from p2pfl.learn.partition import shards_of
from p2pfl.learn.train import TrainConfig, evaluate, train_local
from p2pfl.protocol.model import GlobalModel
from p2pfl.robust.attacks import Attack, AttackContext
from p2pfl.robust.attacks.label_flip import FLIP_MAP


@dataclass(frozen=True)
class TrainerConfig:
    """What an operator trains on, and how.

    With ``data`` the operator trains on its own set (``p2pfl.learn.dataset``: an .npz
    file or an MNIST IDX folder), all of it or its first ``samples``; ``shard``,
    ``shards`` and ``alpha``, which cut the bundled MNIST, are refused with it. Without
    ``data`` it trains on shard ``shard`` of ``shards`` of the bundled MNIST training split
    (IID, or Dirichlet(``alpha``) label-skewed), seeded by ``data_seed``.

    Either way accuracy is measured on the first ``test_samples`` images of the bundled
    MNIST test split: the network's common yardstick, the same for every operator.
    """

    shard: int = 0  # this operator's shard index
    shards: int = 1  # how many shards the training set is cut into
    data_seed: int = 0
    samples: int | None = None  # cap on the training set's size (faster epochs)
    alpha: float | None = None  # Dirichlet label skew of the shards (None: IID shards)
    data: Path | None = None  # the operator's own training set instead of an MNIST shard
    test_samples: int = 2000
    clip: float = 10.0
    train: TrainConfig = field(default_factory=TrainConfig)

    def check_options(self) -> None:
        """Refuse settings that cannot go together (without reading any data)."""
        if self.data is not None and (self.shards > 1 or self.shard or self.alpha is not None):
            raise ConfigError(
                "--data is the operator's own training set, used whole: --shard, --shards "
                "and --alpha cut the bundled MNIST and cannot be combined with it"
            )
        if not 0 <= self.shard < self.shards:
            raise ConfigError(f"shard {self.shard} is not in 0..{self.shards - 1}")

    def check(self) -> None:
        """``check_options``, and with ``data`` read and check the file too: a node calls
        this at start, so a bad training set is refused before anything else happens."""
        self.check_options()
        if self.data is not None:
            load_dataset(self.data)


def training_set(cfg: TrainerConfig) -> Split:
    """The operator's training set: its own ``data``, or its shard of the bundled MNIST."""
    if cfg.data is not None:
        return load_dataset(cfg.data).head(cfg.samples).split()
    images, labels = read_split("train")
    part = shards_of(labels.astype(np.int64), cfg.shards, cfg.alpha, cfg.data_seed)[cfg.shard]
    if cfg.samples is not None:
        part = part[: cfg.samples]
    return normalise(images[part], labels[part])


class Trainer:
    def __init__(self, cfg: TrainerConfig, attack: Attack | None = None) -> None:
        cfg.check_options()
        self.cfg = cfg
        self.shard = training_set(cfg)
        test = normalise(*read_split("t10k"))  # the common yardstick, whatever the training set
        n_test = min(cfg.test_samples, len(test))
        self.test = Split(test.images[:n_test], test.labels[:n_test])
        self.attack = attack  # a test network's Byzantine operator

    def warm_up(self, base: GlobalModel) -> float:
        """One short training pass and one evaluation on a throwaway copy of ``base``, so
        the first epoch does not pay for torch's first use; returns the seconds taken."""
        started = time.perf_counter()
        few = Split(self.shard.images[:64], self.shard.labels[:64])
        model = base.module()
        train_local(model, few, replace(self.cfg.train, epochs=1), seed=0)
        evaluate(model, Split(self.test.images[:64], self.test.labels[:64]))
        return time.perf_counter() - started

    def update(self, base: GlobalModel, operator: str, epoch: int, n: int, f: int) -> Update:
        """This operator's update for ``epoch`` from the ``base`` model (blocking: run it in
        a worker thread). The training seed follows from operator and epoch, so a restarted
        node that lost its stored update trains the same one again."""
        seed = int.from_bytes(keccak256(bytes.fromhex(operator[2:]) + epoch.to_bytes(8))[:4])
        model = base.module()
        poison = self.attack is not None and self.attack.poisons_labels
        train_local(model, self.shard, self.cfg.train, seed, label_map=FLIP_MAP if poison else None)
        delta = base.delta_of(model)
        if not np.all(np.isfinite(delta)):
            delta = np.zeros_like(delta)  # training diverged: a zero update keeps the model
        if self.attack is None or self.attack.poisons_labels:
            return Update.from_delta(base.spec, delta, self.cfg.clip)
        own = Update.from_delta(base.spec, delta, self.cfg.clip).to_float()
        # an attack that does not collude draws its own noise: seeded by the shard index,
        # or, for an operator on its own data (every one shard 0), by its address
        client = self.cfg.shard if self.cfg.data is None else int(operator[2:], 16)
        ctx = AttackContext(own=own, known=own[None, :], n=n, f=f, seed=epoch, client=client)
        return Update.from_delta(base.spec, self.attack.craft(ctx), clip=None)  # unclipped

    @torch.no_grad()
    def accuracy(self, model: GlobalModel) -> float:
        return evaluate(model.module(), self.test)

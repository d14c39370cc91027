"""An operator's local work in an epoch: train the global model on its MNIST shard and
encode the update (DESIGN.md: clip, quantize). A test network may hand the trainer one
of the simulation's attacks (``p2pfl.testnet.adversary``); it then sends the attack's
update instead."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from p2pfl.errors import ConfigError
from p2pfl.hashing import keccak256
from p2pfl.learn.codec import Update
from p2pfl.learn.mnist import Split, load_mnist
from p2pfl.learn.partition import dirichlet_shards, iid_shards
from p2pfl.learn.train import TrainConfig, evaluate, train_local
from p2pfl.protocol.model import GlobalModel
from p2pfl.robust.attacks import Attack, AttackContext
from p2pfl.robust.attacks.label_flip import FLIP_MAP


@dataclass(frozen=True)
class TrainerConfig:
    shard: int  # this operator's shard index
    shards: int  # how many shards the training set is cut into
    data_seed: int = 0
    samples: int | None = None  # cap on the shard's size (faster epochs on small machines)
    alpha: float | None = None  # Dirichlet label skew of the shards (None: IID shards)
    test_samples: int = 2000
    clip: float = 10.0
    train: TrainConfig = field(default_factory=TrainConfig)

    def check(self) -> None:
        if not 0 <= self.shard < self.shards:
            raise ConfigError(f"shard {self.shard} is not in 0..{self.shards - 1}")


class Trainer:
    def __init__(self, cfg: TrainerConfig, attack: Attack | None = None) -> None:
        cfg.check()
        self.cfg = cfg
        data = load_mnist()
        if cfg.alpha is None:
            part = iid_shards(len(data.train), cfg.shards, cfg.data_seed)[cfg.shard]
        else:
            labels = data.train.labels.numpy()
            part = dirichlet_shards(labels, cfg.shards, cfg.alpha, cfg.data_seed)[cfg.shard]
        if cfg.samples is not None:
            part = part[: cfg.samples]
        self.shard = Split(data.train.images[part], data.train.labels[part])
        n_test = min(cfg.test_samples, len(data.test))
        self.test = Split(data.test.images[:n_test], data.test.labels[:n_test])
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
        ctx = AttackContext(
            own=own, known=own[None, :], n=n, f=f, seed=epoch, client=self.cfg.shard
        )
        return Update.from_delta(base.spec, self.attack.craft(ctx), clip=None)  # unclipped

    @torch.no_grad()
    def accuracy(self, model: GlobalModel) -> float:
        return evaluate(model.module(), self.test)

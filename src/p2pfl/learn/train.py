"""Seeded local training and evaluation."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from p2pfl.learn.mnist import Split


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 1
    batch_size: int = 32
    lr: float = 0.05
    momentum: float = 0.9


def train_local(
    model: nn.Module,
    data: Split,
    config: TrainConfig,
    seed: int,
    *,
    label_map: torch.Tensor | None = None,
) -> float:
    """Train ``model`` in place with SGD on ``data``; returns the mean loss of the last epoch.

    ``label_map`` (a permutation of the classes) poisons the labels: the label-flip
    attack trains on ``label_map[y]`` instead of ``y``.
    """
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum)
    loss_fn = nn.CrossEntropyLoss()
    labels = data.labels if label_map is None else label_map[data.labels]
    model.train()
    last = 0.0
    for _ in range(config.epochs):
        order = torch.randperm(len(data), generator=gen)
        total, batches = 0.0, 0
        for start in range(0, len(order), config.batch_size):
            idx = order[start : start + config.batch_size]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(data.images[idx]), labels[idx])
            loss.backward()
            opt.step()
            total += float(loss.detach())
            batches += 1
        last = total / max(batches, 1)
    return last


@torch.no_grad()
def evaluate(model: nn.Module, data: Split, batch_size: int = 2000) -> float:
    """Top-1 accuracy of ``model`` on ``data`` (0..1)."""
    model.eval()
    correct = 0
    for start in range(0, len(data), batch_size):
        logits = model(data.images[start : start + batch_size])
        correct += int((logits.argmax(1) == data.labels[start : start + batch_size]).sum())
    return correct / max(len(data), 1)

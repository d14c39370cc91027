"""The network's model: a small CNN for 28x28 digits (46,730 parameters)."""

from __future__ import annotations

import torch
from torch import nn


class MnistCnn(nn.Module):
    """conv5x5(16) - pool - conv5x5(32) - pool - fc(64) - fc(10)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, kernel_size=5)
        self.conv2 = nn.Conv2d(16, 32, kernel_size=5)
        self.fc1 = nn.Linear(32 * 4 * 4, 64)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.max_pool2d(torch.relu(self.conv1(x)), 2)
        x = torch.max_pool2d(torch.relu(self.conv2(x)), 2)
        x = torch.relu(self.fc1(x.flatten(1)))
        out: torch.Tensor = self.fc2(x)
        return out


def new_model(seed: int) -> MnistCnn:
    """A freshly initialised model; the same seed gives the same weights."""
    gen_state = torch.random.get_rng_state()
    try:
        torch.manual_seed(seed)
        return MnistCnn()
    finally:
        torch.random.set_rng_state(gen_state)


def num_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())

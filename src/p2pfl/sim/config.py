"""Simulation settings, validated up front so that a bad combination fails before training."""

from __future__ import annotations

from fractions import Fraction
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from p2pfl.robust.attacks import ATTACKS
from p2pfl.robust.registry import RULES
from p2pfl.robust.sketch_krum import parse_rho


class SimConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    clients: int = Field(10, ge=2, le=200)
    byzantine: int = Field(0, ge=0)
    f: int | None = Field(None, ge=0, description="Byzantine bound the rules assume")
    attack: str = "gaussian"
    rules: tuple[str, ...] = ("multikrum",)
    rounds: int = Field(10, ge=1)
    partition: Literal["iid", "dirichlet"] = "iid"
    alpha: float = Field(0.5, gt=0)
    seed: int = 0
    local_epochs: int = Field(1, ge=1)
    batch_size: int = Field(32, ge=1)
    lr: float = Field(0.05, gt=0)
    momentum: float = Field(0.9, ge=0, lt=1)
    clip: float = Field(10.0, gt=0, description="L2 norm clip C of honest updates")
    sketch_k: int = Field(64, ge=0, le=4096, description="0: Krum on full vectors")
    rho: str = Field("3", description="flag threshold rho (score > rho * T) as a fraction")
    arithmetic: Literal["fixed", "float"] = Field(
        "fixed",
        description="fixed: the protocol's int32 model and exact step; float: a float64 "
        "model and mean (the comparison baseline)",
    )
    samples_per_client: int | None = Field(None, ge=10)
    test_samples: int | None = Field(None, ge=100)

    @model_validator(mode="after")
    def _check(self) -> SimConfig:
        if self.byzantine >= self.clients:
            raise ValueError(
                f"byzantine ({self.byzantine}) must be fewer than clients ({self.clients})"
            )
        if self.attack not in ATTACKS:
            raise ValueError(f"unknown attack {self.attack!r}; choose from {', '.join(ATTACKS)}")
        for rule in self.rules:
            if rule not in RULES:
                raise ValueError(f"unknown rule {rule!r}; choose from {', '.join(RULES)}")
        if not self.rules:
            raise ValueError("give at least one rule")
        _ = self.rho_fraction  # raises on a bad rho
        f = self.assumed_f
        if self.clients < 2 * f + 3:
            raise ValueError(
                f"Krum needs n >= 2f + 3: {self.clients} clients tolerate f <= "
                f"{(self.clients - 3) // 2}, got f = {f}"
            )
        return self

    @property
    def rho_fraction(self) -> Fraction:
        return parse_rho(self.rho)

    @property
    def assumed_f(self) -> int:
        """``f`` if given; else the Byzantine count, capped at what Krum tolerates."""
        if self.f is not None:
            return self.f
        return min(self.byzantine, max((self.clients - 3) // 2, 0))

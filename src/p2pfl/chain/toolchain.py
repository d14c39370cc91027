"""Where the npm-installed binaries (Foundry, Barretenberg) and the Foundry project are."""

from __future__ import annotations

import os
from pathlib import Path

from p2pfl.errors import ConfigError

PACKAGE_ROOT = Path(__file__).resolve().parents[3]  # the checkout (editable install)
BINARIES = {
    "anvil": Path("node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil"),
    "forge": Path("node_modules/@foundry-rs/forge-linux-amd64/bin/forge"),
    "bb": Path("node_modules/@aztec/bb.js/build/amd64-linux/bb"),
}


def project_root() -> Path:
    """The checkout holding ``contracts/`` and ``node_modules/`` (``$P2PFL_ROOT`` overrides)."""
    env = os.environ.get("P2PFL_ROOT")
    for root in ([Path(env)] if env else []) + [Path.cwd(), PACKAGE_ROOT]:
        if (root / "contracts" / "foundry.toml").is_file():
            return root
    raise ConfigError(
        "cannot find the p2pfl checkout (contracts/foundry.toml); run from it or set P2PFL_ROOT"
    )


def binary(name: str) -> Path:
    path = project_root() / BINARIES[name]
    if not path.is_file():
        raise ConfigError(f"{name} not found at {path}: run `npm ci` in the p2pfl checkout")
    return path


def contracts_dir() -> Path:
    return project_root() / "contracts"

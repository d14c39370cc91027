"""Node, the Noir/bb.js driver script and the Barretenberg setup (CRS) directory.

The setup is read from a configurable directory (``$P2PFL_CRS_DIR``; by default the
checkout's sibling ``shared/crs``) and never copied: bb.js in Node runs the native
``bb``, which looks in ``$HOME/.bb-crs`` and writes a lock file there, so the prover
runs with ``HOME`` pointing at a private folder whose ``.bb-crs`` holds symlinks.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from functools import cache
from pathlib import Path

from p2pfl.chain.toolchain import project_root
from p2pfl.errors import ConfigError

ENV_CRS = "P2PFL_CRS_DIR"

# UltraHonk with the keccak transcript for the EVM, without the zero-knowledge masking:
# every private witness of the Krum circuit (distances, scores, sort hints) follows from
# its public sketches, so hiding it protects nothing, and the ZK verifier costs more gas
# (measured at n = 10, k = 64: 4.77 M with "evm", see bench/README.md).
VERIFIER_TARGET = "evm-no-zk"
POINT_BYTES = 64  # one uncompressed G1 point in bn254_g1.dat


def node() -> str:
    exe = shutil.which("node")
    if exe is None:
        raise ConfigError("node (Node.js 20+) is needed for the Noir toolchain and was not found")
    return exe


def driver() -> Path:
    root = project_root()
    script = root / "noir" / "scripts" / "krum.mjs"
    if not (root / "node_modules" / "@aztec" / "bb.js").is_dir():
        raise ConfigError("the Noir toolchain is missing: run `npm ci` in the p2pfl checkout")
    return script


def crs_dir() -> Path:
    env = os.environ.get(ENV_CRS)
    folder = Path(env) if env else project_root().parent / "shared" / "crs"
    if not (folder / "bn254_g1.dat").is_file() or not (folder / "bn254_g2.dat").is_file():
        raise ConfigError(
            f"no Barretenberg setup in {folder} (bn254_g1.dat, bn254_g2.dat): set {ENV_CRS}"
        )
    return folder


def crs_points() -> int:
    return (crs_dir() / "bn254_g1.dat").stat().st_size // POINT_BYTES


@cache
def prover_home() -> Path:
    """A private HOME whose ``.bb-crs`` links to the configured setup files."""
    home = Path(tempfile.mkdtemp(prefix="p2pfl-bb-home-"))
    (home / ".bb-crs").mkdir()
    for name in ("bn254_g1.dat", "bn254_g2.dat"):
        (home / ".bb-crs" / name).symlink_to(crs_dir() / name)
    return home

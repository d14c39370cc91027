"""Variants of the Krum circuit, one per (n, k), built from the one source in ``noir/krum``
and cached by the hash of that source and the sizes."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path

from p2pfl.chain.toolchain import project_root
from p2pfl.errors import ConfigError
from p2pfl.zk.toolchain import driver, node

GLOBAL = re.compile(r"^global (N|K): u32 = \d+;$", re.MULTILINE)
MAX_N = 32  # masks and bounds in the circuit assume n <= 32, k <= 128
MAX_K = 128
TAG = re.compile(r"[A-Za-z0-9_-]{1,64}")


def source_dir() -> Path:
    return project_root() / "noir" / "krum"


def build_root() -> Path:
    return project_root() / "noir" / "build"


def variant_source(n: int, k: int) -> str:
    text = (source_dir() / "src" / "main.nr").read_text()
    if len(GLOBAL.findall(text)) != 2:
        raise ConfigError("noir/krum/src/main.nr must declare `global N: u32` and `global K: u32`")
    return GLOBAL.sub(
        lambda m: f"global {m.group(1)}: u32 = {n if m.group(1) == 'N' else k};", text
    )


def build(n: int, k: int) -> Path:
    """Compile the (n, k) variant if needed; returns its ``program.json``."""
    if not 3 <= n <= MAX_N or not 1 <= k <= MAX_K:
        raise ConfigError(f"circuit variants need 3 <= n <= {MAX_N} and 1 <= k <= {MAX_K}")
    return _build_cached(variant_source(n, k), f"krum-n{n}-k{k}", f"(n={n}, k={k})")


def build_source(text: str, tag: str) -> Path:
    """Compile a circuit from the given source text (e.g. a variant with a substituted
    hint, see p2pfl.zk.mutations) if needed, cached like :func:`build` by the hash of the
    text; returns its ``program.json``."""
    if not TAG.fullmatch(tag):
        raise ConfigError(f"a build tag is letters, digits, '-' and '_', got {tag!r}")
    return _build_cached(text, f"krum-{tag}", f"variant {tag}")


def _build_cached(text: str, stem: str, label: str) -> Path:
    nargo = (source_dir() / "Nargo.toml").read_text()
    digest = hashlib.sha256((text + nargo).encode()).hexdigest()[:16]
    folder = build_root() / f"{stem}-{digest}"
    program = folder / "program.json"
    if program.is_file():
        return program
    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "src").mkdir(parents=True)
    (tmp / "Nargo.toml").write_text(nargo)
    (tmp / "src" / "main.nr").write_text(text)
    proc = subprocess.run(
        [node(), str(driver()), "compile", str(tmp), str(tmp / "program.json")],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        raise ConfigError(f"compiling the Krum circuit {label} failed: {proc.stderr[-2000:]}")
    json.loads((tmp / "program.json").read_text())  # complete and parseable
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)
    return program

"""forge's build artifacts: ABI and bytecode by contract name; custom errors by selector."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from eth_abi.abi import decode as abi_decode
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from p2pfl.chain.toolchain import binary, contracts_dir
from p2pfl.errors import ConfigError


@dataclass(frozen=True)
class Artifact:
    name: str
    abi: list[dict[str, Any]]
    bytecode: str
    link_references: dict[str, dict[str, list[dict[str, int]]]]


def build_contracts(project: Path | None = None, quiet: bool = True) -> None:
    """Run ``forge build`` in ``project`` (default ``contracts/``); incremental."""
    proc = subprocess.run(
        [str(binary("forge")), "build"],
        cwd=project or contracts_dir(),
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        where = project or contracts_dir()
        raise ConfigError(
            f"forge build in {where} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        )
    if not quiet:
        print(proc.stdout)


@cache
def load(name: str, out_dir: Path | None = None) -> Artifact:
    out = out_dir or contracts_dir() / "out"
    matches = sorted(out.glob(f"*/{name}.json"))
    if not matches:
        raise ConfigError(f"no forge artifact for {name} in {out}: run `forge build` in contracts/")
    data = json.loads(matches[0].read_text())
    return Artifact(
        name=name,
        abi=data["abi"],
        bytecode=data["bytecode"]["object"],
        link_references=data["bytecode"].get("linkReferences", {}),
    )


def link(
    bytecode: str, refs: dict[str, dict[str, list[dict[str, int]]]], at: dict[str, str]
) -> str:
    """``bytecode`` with every library placeholder of ``refs`` (forge's
    ``linkReferences``: file -> library -> byte offsets) replaced by the library's address
    in ``at`` (by library name)."""
    code = bytecode.removeprefix("0x")  # placeholders are text until linked
    for libs in refs.values():
        for lib, places in libs.items():
            address = at[lib].removeprefix("0x").lower()
            for place in places:
                start = place["start"] * 2
                code = code[:start] + address + code[start + place["length"] * 2 :]
    return "0x" + code


def type_str(param: dict[str, Any]) -> str:
    t = str(param["type"])
    if t.startswith("tuple"):
        return "(" + ",".join(type_str(c) for c in param["components"]) + ")" + t[5:]
    return t


ErrorEntry = tuple[str, list[str], list[str]]  # qualified name, argument names, types


def abi_errors(abi: list[dict[str, Any]], label: str) -> Iterator[tuple[bytes, ErrorEntry]]:
    """``(selector, entry)`` for every error of an ABI, named ``label.Error``."""
    for item in abi:
        if item.get("type") != "error":
            continue
        types = [type_str(p) for p in item["inputs"]]
        selector = keccak(text=f"{item['name']}({','.join(types)})")[:4]
        names = [str(p.get("name", "")) for p in item["inputs"]]
        yield selector, (f"{label}.{item['name']}", names, types)


@cache
def error_table(
    names: tuple[str, ...], labelled: tuple[tuple[str, str], ...] = ()
) -> dict[bytes, ErrorEntry]:
    """Selector -> (qualified name, argument names, argument types) over the given
    contracts, then over ``(artifact, label)`` pairs whose errors are named ``label.Error``
    and win over the contracts' (an interface's errors under the name of what implements it)."""
    table: dict[bytes, ErrorEntry] = {}
    for artifact, label in [*((n, n) for n in names), *labelled]:
        table.update(abi_errors(load(artifact).abi, label))
    return table


STANDARD = {
    bytes.fromhex("08c379a0"): ("Error", ["message"], ["string"]),
    bytes.fromhex("4e487b71"): ("Panic", ["code"], ["uint256"]),
}


UNKNOWN_ERROR = "reverted with unknown error"


def decode_revert(
    data: bytes, names: tuple[str, ...], labelled: tuple[tuple[str, str], ...] = ()
) -> str:
    """A readable form of revert data: ``EpochManager.CommitClosed(epoch=1, deadline=12)``."""
    return format_revert(data, error_table(names, labelled))


def format_revert(data: bytes, table: Mapping[bytes, ErrorEntry]) -> str:
    """Revert data decoded with ``table`` (and the standard ``Error``/``Panic``)."""
    if len(data) < 4:
        return "reverted without a reason"
    entry = STANDARD.get(data[:4]) or table.get(data[:4])
    if entry is None:
        return f"{UNKNOWN_ERROR} 0x{data.hex()}"
    label, arg_names, types = entry
    try:
        values = abi_decode(types, data[4:])
    except Exception:
        return f"{label}(<undecodable 0x{data[4:].hex()}>)"
    shown = ", ".join(
        f"{n or f'arg{i}'}={_show(v, t)}"
        for i, (n, v, t) in enumerate(zip(arg_names, values, types, strict=True))
    )
    return f"{label}({shown})"


def _show(value: Any, abi_type: str) -> str:
    if abi_type == "address":
        return str(to_checksum_address(value))
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return str(value)

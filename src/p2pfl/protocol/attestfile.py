"""An epoch's availability attestations on disk: the evidence of an exclusion challenge
outside the node (``p2pfl challenge exclusion --attestations FILE``).

Attestations travel by gossip only, and gossipsub keeps no history: once an epoch's
topic has passed, nobody can collect them again. So every node writes the valid ones it
holds to ``<data-dir>/attestations/<epoch>.json`` each time it checks a posted result,
and keeps the files of the last ``KEEP_EPOCHS`` epochs. The file is a JSON list of
attestations as gossiped (``Attestation``), written atomically."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

from pydantic import TypeAdapter, ValidationError

from p2pfl.errors import ConfigError
from p2pfl.net.availability import Attestation

FOLDER = "attestations"
KEEP_EPOCHS = 16
MAX_FILE_BYTES = 1 << 20  # 256 operators' attestations take ~80 KB
_LIST = TypeAdapter(list[Attestation])


def path_of(data_dir: Path, epoch: int) -> Path:
    return data_dir / FOLDER / f"{epoch}.json"


def save(data_dir: Path, epoch: int, attestations: Sequence[Attestation]) -> Path:
    """Write ``attestations`` as epoch ``epoch``'s file (replacing it whole)."""
    path = path_of(data_dir, epoch)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps([a.model_dump(mode="json") for a in attestations], indent=1))
    os.replace(tmp, path)
    return path


def load(path: Path) -> list[Attestation]:
    """The attestations of a file written by ``save`` (or by hand, in the same form);
    ``ConfigError`` with one line when it cannot be read or is not such a list. Their
    signatures are not checked here."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ConfigError(f"{path} is over {MAX_FILE_BYTES} bytes: not an attestation file")
        return _LIST.validate_json(path.read_bytes())
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "the file"
        why = f"{where}: {first['msg']}"
        raise ConfigError(f"{path} is not a list of attestations ({why})") from None


def prune(data_dir: Path, current: int) -> None:
    """Delete the files of epochs before ``current - KEEP_EPOCHS + 1``."""
    folder = data_dir / FOLDER
    if not folder.is_dir():
        return
    for path in folder.glob("*.json"):
        if path.stem.isdigit() and int(path.stem) <= current - KEEP_EPOCHS:
            path.unlink(missing_ok=True)

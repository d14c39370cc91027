"""The node's crash-safe state file."""

from __future__ import annotations

from pathlib import Path

import pytest

from p2pfl.errors import ConfigError
from p2pfl.protocol.state import STATE_FILE, StateFile

OP = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
EM = "0x9A9f2CCfdE556A7E9Ff0848998Aa4a0CFD8863AE"


def test_progress_survives_a_restart(tmp_path: Path) -> None:
    first = StateFile(tmp_path, OP, EM)
    first.of(3).update_digest = "ab" * 32
    first.of(3).submitted_attempts.append(0)
    first.save()
    again = StateFile(tmp_path, OP.lower(), EM)
    assert again.of(3).update_digest == "ab" * 32
    assert again.of(3).submitted_attempts == [0]
    assert again.of(4).update_digest is None
    assert not (tmp_path / (STATE_FILE + ".tmp")).exists()


def test_another_operator_or_network_or_a_corrupt_file_is_refused(tmp_path: Path) -> None:
    StateFile(tmp_path, OP, EM).save()
    with pytest.raises(ConfigError, match="belongs to operator"):
        StateFile(tmp_path, "0x" + "11" * 20, EM)
    with pytest.raises(ConfigError, match="holds state of the network"):
        StateFile(tmp_path, OP, "0x" + "22" * 20)
    (tmp_path / STATE_FILE).write_text("{not json")
    with pytest.raises(ConfigError, match="corrupt"):
        StateFile(tmp_path, OP, EM)

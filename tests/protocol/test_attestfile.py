"""The attestation files nodes keep for ``p2pfl challenge exclusion``: they round-trip
exactly (a 256-bit mask too), bad files are one clear line, old epochs are pruned."""

from __future__ import annotations

from pathlib import Path

import pytest

from p2pfl.errors import ConfigError
from p2pfl.net.availability import Attestation, sign_attestation
from p2pfl.protocol import attestfile
from tests.protocol.fakes import AVS, CHAIN_ID, operator_account


def _atts(epoch: int) -> list[Attestation]:
    return [
        sign_attestation(
            operator_account(i).key, chain_id=CHAIN_ID, avs=AVS, epoch=epoch, held_mask=mask
        )
        for i, mask in enumerate([0b1011, (1 << 255) | 1, 0])
    ]


def test_saved_attestations_load_back_equal_and_still_verify(tmp_path: Path) -> None:
    atts = _atts(7)
    path = attestfile.save(tmp_path, 7, atts)
    assert path == tmp_path / "attestations" / "7.json"
    back = attestfile.load(path)
    assert back == atts
    assert [a.signer() for a in back] == [operator_account(i).address for i in range(3)]
    attestfile.save(tmp_path, 7, atts[:1])  # replaced whole
    assert attestfile.load(path) == atts[:1]
    assert not list(path.parent.glob("*.tmp"))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{not json", "is not a list of attestations"),
        (b'{"a": 1}', "is not a list of attestations"),
        (b'[{"epoch": 1}]', "is not a list of attestations (0."),
        (b'[{"chain_id": 1, "avs": "0x12", "epoch": 1, "operator": "0x34", '
         b'"held_mask": 1, "signature": "0x56"}]', "is not a list of attestations"),
    ],
)  # fmt: skip
def test_a_bad_file_is_one_clear_line(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match=r"bad\.json") as err:
        attestfile.load(path)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_a_missing_or_oversize_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        attestfile.load(tmp_path / "nope.json")
    big = tmp_path / "big.json"
    big.write_bytes(b" " * (attestfile.MAX_FILE_BYTES + 1))
    with pytest.raises(ConfigError, match="over"):
        attestfile.load(big)


def test_files_of_old_epochs_are_pruned(tmp_path: Path) -> None:
    for e in range(1, 21):
        attestfile.save(tmp_path, e, _atts(e)[:1])
    (tmp_path / "attestations" / "notes.json").write_text("[]")  # not ours: kept
    attestfile.prune(tmp_path, 20)
    kept = sorted(p.stem for p in (tmp_path / "attestations").glob("*.json"))
    assert kept == sorted([str(e) for e in range(5, 21)] + ["notes"])
    attestfile.prune(tmp_path / "elsewhere", 20)  # no folder: nothing to do

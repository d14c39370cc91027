"""``p2pfl node --data``: a bad training set or a refused combination is one line, exit 2,
before any chain, key or password is touched."""

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

P2PFL = shutil.which("p2pfl") or str(Path(sys.executable).with_name("p2pfl"))
CHAIN = [
    "--rpc", "http://127.0.0.1:9",  # nothing listens: the node must stop before it dials
    "--epoch-manager", "0x" + "00" * 19 + "01",
    "--keystore", "no-such-keystore.json",
]  # fmt: skip


def node(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [P2PFL, "node", *CHAIN, *args], capture_output=True, text=True, cwd=cwd, timeout=120
    )


@pytest.mark.parametrize(
    ("make", "extra", "message"),
    [
        ("float_x", [], "x is float32, expected uint8"),
        ("labels_11", [], "outside 0..9"),
        ("missing", [], "does not exist"),
        ("good", ["--alpha", "0.5"], "cannot be combined"),
        ("good", ["--shards", "8"], "cannot be combined"),
    ],
)
def test_bad_data_is_one_line_and_exit_2(
    tmp_path: Path, make: str, extra: list[str], message: str
) -> None:
    path = tmp_path / "a-rather-long-folder-name-so-the-message-is-wider-than-80" / "bad.npz"
    path.parent.mkdir()
    x, y = np.zeros((5, 28, 28), np.uint8), np.arange(5)
    if make == "float_x":
        np.savez(path, x=x.astype(np.float32), y=y)
    elif make == "labels_11":
        np.savez(path, x=x, y=y + 7)
    elif make == "good":
        np.savez(path, x=x, y=y)
    proc = node("--data", str(path), *extra, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert message in lines[0]
    if make != "good":
        assert str(path) in lines[0]

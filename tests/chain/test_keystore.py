"""Loading the operator key from an encrypted keystore."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from eth_account import Account

from p2pfl.chain.keystore import load_account, read_password
from p2pfl.errors import ConfigError


def _keystore(tmp_path: Path, password: str) -> tuple[Path, str]:
    acct = Account.create()
    blob = Account.encrypt(acct.key, password, kdf="pbkdf2", iterations=1000)
    path = tmp_path / "operator.json"
    path.write_text(json.dumps(blob))
    return path, acct.address


def test_the_right_password_opens_it(tmp_path: Path) -> None:
    path, address = _keystore(tmp_path, "s3cret")
    assert load_account(path, "s3cret").address == address


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "cannot read"), ("{not json", "not a JSON keystore"), ("{}", "not an Ethereum")],
)
def test_bad_files_are_named(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "k.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError, match=message):
        load_account(path, "x")


def test_a_wrong_password_says_so_without_echoing_it(tmp_path: Path) -> None:
    path, _ = _keystore(tmp_path, "s3cret")
    with pytest.raises(ConfigError, match="wrong password") as info:
        load_account(path, "guess-123")
    assert "guess-123" not in str(info.value)


def test_password_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("P2PFL_TEST_PW", "from-env")
    assert read_password(env="P2PFL_TEST_PW") == "from-env"
    with pytest.raises(ConfigError, match="not set"):
        read_password(env="P2PFL_TEST_UNSET_PW")
    file = tmp_path / "pw"
    file.write_text("from-file\nignored\n")
    file.chmod(0o600)
    assert read_password(file=file) == "from-file"
    file.chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        read_password(file=file)
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    with pytest.raises(ConfigError, match="--password-env"):
        read_password()

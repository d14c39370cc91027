"""The operator's Ethereum key, from an encrypted JSON keystore (the Web3 Secret Storage
format geth, clef and `cast wallet` write). The password comes from an environment
variable, a file (first line) or an interactive prompt, in that order of preference;
neither the password nor the key is ever logged or printed."""

from __future__ import annotations

import getpass
import json
import os
import stat
import sys
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount

from p2pfl.errors import ConfigError


def read_password(*, env: str | None = None, file: Path | None = None) -> str:
    """The keystore password from ``$env``, from ``file``, or from a prompt on a terminal."""
    if env:
        value = os.environ.get(env)
        if value is None:
            raise ConfigError(f"the password variable ${env} is not set")
        return value
    if file is not None:
        try:
            mode = stat.S_IMODE(file.stat().st_mode)
            text = file.read_text()
        except OSError as exc:
            raise ConfigError(f"cannot read the password file {file}: {exc.strerror}") from None
        if mode & 0o077:
            raise ConfigError(f"{file} is readable by other users; run: chmod 600 {file}")
        return text.splitlines()[0] if text else ""
    if not sys.stdin.isatty():
        raise ConfigError(
            "no keystore password: pass --password-env VAR or --password-file FILE "
            "(standard input is not a terminal to prompt on)"
        )
    return getpass.getpass("keystore password: ")


def _read_json(path: Path) -> object:
    try:
        return json.loads(path.read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read the keystore {path}: {exc.strerror}") from None
    except ValueError:
        raise ConfigError(f"{path} is not a JSON keystore") from None


def load_account(path: Path, password: str) -> LocalAccount:
    """Decrypt the keystore at ``path``: clear errors for a missing file, a file that is
    not a keystore, and a wrong password."""
    blob = _read_json(path)
    if not isinstance(blob, dict) or "crypto" not in {k.lower() for k in blob}:
        raise ConfigError(f"{path} is not an Ethereum keystore (no 'crypto' section)")
    try:
        key = Account.decrypt(blob, password)
    except ValueError as exc:
        if "MAC mismatch" in str(exc):
            raise ConfigError(f"wrong password for the keystore {path}") from None
        raise ConfigError(f"cannot decrypt the keystore {path}: {exc}") from None
    account: LocalAccount = Account.from_key(key)
    return account


def keystore_address(path: Path) -> str:
    """The address a keystore names (its public ``address`` field; no password needed)."""
    blob = _read_json(path)
    raw = blob.get("address") if isinstance(blob, dict) else None
    if not isinstance(raw, str) or len(raw.removeprefix("0x")) != 40:
        raise ConfigError(
            f"{path} has no address field: pass --address, or the password to decrypt it"
        )
    return "0x" + raw.removeprefix("0x")

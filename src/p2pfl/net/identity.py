"""The node's persistent libp2p identity: an ed25519 key kept in the data directory.

Created on first start with file mode 0600; a key file readable by others is refused
rather than silently used (its peer id is the node's network identity, bound on chain).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from libp2p.crypto.ed25519 import create_new_key_pair
from libp2p.crypto.keys import KeyPair
from libp2p.crypto.serialization import deserialize_private_key
from libp2p.peer.id import ID

from p2pfl.errors import ConfigError

KEY_FILE = "peer.key"


def load_or_create_identity(data_dir: Path) -> KeyPair:
    """The key pair in ``data_dir/peer.key``; a new one is created (0600) when absent."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / KEY_FILE
    if not path.exists():
        pair = create_new_key_pair()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(pair.private_key.serialize())
            out.flush()
            os.fsync(out.fileno())
        return pair
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise ConfigError(
            f"{path} is readable by other users (mode {mode:o}); run: chmod 600 {path}"
        )
    try:
        private = deserialize_private_key(path.read_bytes())
    except Exception as exc:  # protobuf or key decoding: the file is not a key
        raise ConfigError(f"{path} is not a libp2p private key ({exc})") from None
    return KeyPair(private, private.get_public_key())


def peer_id_of(pair: KeyPair) -> ID:
    """The peer id (multihash of the public key) that other nodes see."""
    return ID.from_pubkey(pair.public_key)

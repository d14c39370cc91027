"""Noise (``/noise``) with a buffered, batched transport phase; the same bytes on the wire.

py-libp2p 0.8.1's Noise session reads every message with two unbuffered receive calls
(the 2-byte length, then the body) and writes every message with its own socket send.
This transport runs py-libp2p's own XX handshake unchanged and then hands the
connection to :class:`FastSecureSession`, which

- reads the socket in large chunks and decrypts every complete message in a chunk at
  once into a plaintext buffer (one ``recv`` per ~256 KiB instead of two per message);
- encrypts a batch of plaintext pieces (one Noise message each, at most 65,519 bytes)
  and sends them with one socket write (``write_frames``), so a muxer that sizes its
  frames to one Noise message pays one encryption and no extra copy per frame.

Message framing, nonces and the cipher are Noise's (``noise.CipherState``): a stock
py-libp2p, go-libp2p or js-libp2p peer sees ordinary Noise transport messages.
"""

from __future__ import annotations

from collections.abc import Sequence

import trio
from libp2p.abc import IRawConnection, ISecureConn
from libp2p.io.exceptions import IncompleteReadError
from libp2p.peer.id import ID
from libp2p.security.noise.exceptions import NoiseStateError
from libp2p.security.noise.io import NoiseTransportReadWriter
from libp2p.security.noise.transport import Transport as NoiseTransport
from libp2p.security.secure_session import SecureSession

MAX_PLAINTEXT = 65535 - 16
"""Plaintext bytes in one Noise transport message (65,535 minus the Poly1305 tag)."""

READ_CHUNK = 256 * 1024
"""Bytes asked of the socket per receive."""


class FastSecureSession(SecureSession):
    """A Noise session with a buffered reader and batched writes (see the module)."""

    def __init__(self, session: SecureSession, raw: IRawConnection) -> None:
        conn = session.conn
        if not isinstance(conn, NoiseTransportReadWriter):
            raise NoiseStateError("not a Noise transport session")
        super().__init__(
            local_peer=session.local_peer,
            local_private_key=session.local_private_key,
            remote_peer=session.remote_peer,
            remote_permanent_pubkey=session.remote_permanent_pubkey,
            is_initiator=session.is_initiator,
            conn=conn,
        )
        protocol = conn.noise_state.noise_protocol
        if protocol is None:
            raise NoiseStateError("noise_protocol is not initialized")
        self._raw = raw
        self._encrypt = protocol.cipher_state_encrypt.encrypt_with_ad
        self._decrypt = protocol.cipher_state_decrypt.decrypt_with_ad
        self._cipher = bytearray()  # received, not yet decrypted
        self._cpos = 0
        self._plain = bytearray()  # decrypted, not yet read
        self._ppos = 0
        self._eof = False
        self._send_lock = trio.Lock()

    # -- reading -------------------------------------------------------------------
    def buffered(self) -> int:
        """Plaintext bytes available without touching the socket."""
        return len(self._plain) - self._ppos

    async def _receive(self) -> bool:
        """Receive once and decrypt every complete message; False at end of stream."""
        if self._eof:
            return False
        chunk = await self._raw.read(READ_CHUNK)
        if not chunk:
            self._eof = True
            return False
        cipher = self._cipher
        cipher += chunk
        pos, end = self._cpos, len(cipher)
        if self._ppos == len(self._plain):
            self._plain.clear()
            self._ppos = 0
        elif self._ppos > READ_CHUNK:
            del self._plain[: self._ppos]
            self._ppos = 0
        plain = self._plain
        decrypt = self._decrypt
        with memoryview(cipher) as view:
            while end - pos >= 2:
                size = (cipher[pos] << 8) | cipher[pos + 1]
                if end - pos - 2 < size:
                    break
                plain += decrypt(None, view[pos + 2 : pos + 2 + size])
                pos += 2 + size
        if pos == end:
            cipher.clear()
            pos = 0
        elif pos > READ_CHUNK:
            del cipher[:pos]
            pos = 0
        self._cpos = pos
        return True

    async def read_exact(self, n: int) -> bytes:
        """Exactly ``n`` plaintext bytes; IncompleteReadError at end of stream."""
        while len(self._plain) - self._ppos < n:
            if not await self._receive():
                got = len(self._plain) - self._ppos
                raise IncompleteReadError(
                    f"Connection closed during read: expected {n} bytes, got {got}",
                    expected_bytes=n,
                    received_bytes=got,
                )
        start = self._ppos
        self._ppos = start + n
        return bytes(self._plain[start : start + n])

    def take_into(self, dest: bytearray, n: int) -> None:
        """Move ``n`` buffered plaintext bytes to ``dest`` (caller checked ``buffered``)."""
        start = self._ppos
        with memoryview(self._plain) as view:
            dest += view[start : start + n]
        self._ppos = start + n

    async def read(self, n: int | None = None) -> bytes:
        if n == 0:
            return b""
        while self._ppos == len(self._plain):
            if not await self._receive():
                raise IncompleteReadError(
                    "Connection closed", expected_bytes=n or 0, received_bytes=0
                )
        avail = len(self._plain) - self._ppos
        take = avail if n is None or n < 0 else min(n, avail)
        start = self._ppos
        self._ppos = start + take
        return bytes(self._plain[start : start + take])

    # -- writing -------------------------------------------------------------------
    def _seal(self, pieces: Sequence[bytes | memoryview]) -> bytes:
        out: list[bytes] = []
        encrypt = self._encrypt
        if any(len(piece) > MAX_PLAINTEXT for piece in pieces):  # before any nonce is spent
            raise ValueError(f"a frame over {MAX_PLAINTEXT} bytes does not fit one Noise message")
        for piece in pieces:
            sealed = encrypt(None, piece)
            out.append(len(sealed).to_bytes(2, "big"))
            out.append(sealed)
        return b"".join(out)

    async def write_frames(self, frames: Sequence[bytes]) -> None:
        """Each frame (at most ``MAX_PLAINTEXT`` bytes) as one Noise message, all in one
        socket write. Encryption and the write happen under one lock so nonces reach
        the wire in order."""
        async with self._send_lock:
            await self._raw.write(self._seal(frames))

    async def write(self, data: bytes) -> None:
        view = memoryview(data)
        pieces = [view[i : i + MAX_PLAINTEXT] for i in range(0, len(view), MAX_PLAINTEXT)]
        async with self._send_lock:
            await self._raw.write(self._seal(pieces or [b""]))


class FastNoiseTransport(NoiseTransport):
    """py-libp2p's Noise transport (same XX handshake, same ``/noise`` protocol id),
    whose sessions are :class:`FastSecureSession`."""

    async def secure_inbound(self, conn: IRawConnection) -> ISecureConn:
        session = await super().secure_inbound(conn)
        return _fast(session, conn)

    async def secure_outbound(self, conn: IRawConnection, peer_id: ID) -> ISecureConn:
        session = await super().secure_outbound(conn, peer_id)
        return _fast(session, conn)


def _fast(session: ISecureConn, raw: IRawConnection) -> ISecureConn:
    if isinstance(session, SecureSession) and isinstance(session.conn, NoiseTransportReadWriter):
        return FastSecureSession(session, raw)
    return session  # an unexpected shape: keep py-libp2p's session

"""keccak256, the one hash every layer shares (kept free of heavy imports: the network
layer uses it without loading torch)."""

from __future__ import annotations

from Crypto.Hash import keccak


def keccak256(data: bytes | memoryview) -> bytes:
    return keccak.new(digest_bits=256, data=bytes(data)).digest()

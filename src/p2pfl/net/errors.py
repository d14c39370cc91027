"""Errors of the network layer."""

from __future__ import annotations

from p2pfl.errors import P2pflError


class NetError(P2pflError):
    """A network operation that could not be carried out (the node keeps running)."""


class AnnouncementError(NetError, ValueError):
    """An announcement that fails the schema, the signature, the epoch window or the
    operator check. ``reason`` is a short machine-readable tag."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


class BlobUnavailableError(NetError):
    """No provider delivered bytes that match the digest."""

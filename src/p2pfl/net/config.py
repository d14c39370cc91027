"""Network settings, validated once at start-up (bad values are a ConfigError, not a
failure deep inside libp2p)."""

from __future__ import annotations

from typing import Annotated

import multiaddr
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from p2pfl.errors import ConfigError

MiB = 1 << 20


def _check_multiaddr(text: str) -> str:
    try:
        addr = multiaddr.Multiaddr(text)
    except Exception as exc:
        raise ValueError(f"not a multiaddr: {text!r} ({exc})") from None
    names = [p.name for p in addr.protocols()]
    if "tcp" not in names or not ({"ip4", "ip6", "dns", "dns4", "dns6"} & set(names)):
        raise ValueError(f"{text!r} is not a TCP multiaddr (like /ip4/127.0.0.1/tcp/4001)")
    return text


def _check_bootstrap(text: str) -> str:
    _check_multiaddr(text)
    if "/p2p/" not in text:
        raise ValueError(f"bootstrap address {text!r} lacks its /p2p/<peer id>")
    return text


ListenAddr = Annotated[str, AfterValidator(_check_multiaddr)]
BootstrapAddr = Annotated[str, AfterValidator(_check_bootstrap)]


class GossipConfig(BaseModel):
    """GossipSub parameters. py-libp2p's defaults (120 s heartbeat, 10 messages per second
    per topic and forwarder) would delay the mesh by minutes and drop honest bursts: every
    operator announces in the same few seconds of an epoch, all relayed by the same peers."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    degree: int = Field(6, ge=1)
    degree_low: int = Field(4, ge=1)
    degree_high: int = Field(12, ge=1)
    heartbeat_s: float = Field(1.0, gt=0)
    max_messages_per_topic_per_second: float = Field(2000.0, gt=0)
    max_announcement_bytes: int = Field(1024, ge=256, le=MiB)


class BlobConfig(BaseModel):
    """Limits of the ``/p2pfl/blob/1`` protocol, on both sides."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    max_bytes: int = Field(64 * MiB, ge=1)
    chunk_bytes: int = Field(256 * 1024, ge=1024, le=16 * MiB)
    idle_timeout_s: float = Field(10.0, gt=0)
    # From the request to the provider's one-byte answer (found, held, ...): a live peer
    # answers at once; one gone silent (partitioned, its connection not yet seen dead) is
    # dropped for the next provider after this long, and asked last for a while.
    answer_timeout_s: float = Field(3.0, gt=0)
    # Whole transfer: base plus size / min_rate; a peer slower than that is dropped.
    base_timeout_s: float = Field(10.0, gt=0)
    min_rate_bytes_per_s: float = Field(2 * MiB, gt=0)
    serve_per_peer: int = Field(2, ge=1)
    serve_total: int = Field(32, ge=1)
    fetch_per_peer: int = Field(2, ge=1)

    def transfer_timeout(self, size: int) -> float:
        return self.base_timeout_s + size / self.min_rate_bytes_per_s


class NetConfig(BaseModel):
    """Everything the network layer needs besides the identity."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    listen: ListenAddr = "/ip4/0.0.0.0/tcp/4001"
    bootstrap: tuple[BootstrapAddr, ...] = ()
    max_peers: int = Field(64, ge=1)
    bootstrap_attempts: int = Field(10, ge=1)
    gossip: GossipConfig = GossipConfig()
    blob: BlobConfig = BlobConfig()

    @classmethod
    def build(cls, **values: object) -> NetConfig:
        """Validate ``values``; every problem in one ConfigError."""
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
            )
            raise ConfigError(f"bad network settings: {problems}") from None

"""Gossip topic names, as DESIGN.md gives them: ``p2pfl/<chainId>/<avs>/epoch/<e>/<kind>``."""

from __future__ import annotations

from typing import Literal

Kind = Literal["updates", "model"]
KINDS: tuple[Kind, ...] = ("updates", "model")
AVAILABILITY: Literal["availability"] = "availability"  # the attestations' topic
TopicKind = Kind | Literal["availability"]


def topic(chain_id: int, avs: str, epoch: int, kind: TopicKind) -> str:
    """The topic of ``kind`` messages of ``epoch`` (the AVS address in lower case)."""
    return f"p2pfl/{chain_id}/{avs.lower()}/epoch/{epoch}/{kind}"

"""The operator network over libp2p, in layers: identity and host (Noise + Yamux over TCP),
pubsub (GossipSub with guards for py-libp2p 0.8.1's defects), discovery (bootstrap dial and
the Kademlia DHT), signed per-epoch announcements, and the ``/p2pfl/blob/1`` blob exchange."""

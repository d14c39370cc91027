"""Federated rounds in one process: the learning core and the protocol's rule together."""

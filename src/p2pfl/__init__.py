"""p2pfl: peer-to-peer federated learning run by EigenLayer operators."""

__version__ = "0.1.0"

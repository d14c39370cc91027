"""The local multi-node testnet (deploy/testnet.sh, ``p2pfl testnet``)."""

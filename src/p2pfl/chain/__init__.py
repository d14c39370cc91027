"""Ethereum side: anvil, forge artifacts, signed transactions, contract bindings, deployment."""

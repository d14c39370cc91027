"""The local election equals the contract's, and follows stake."""

from __future__ import annotations

import os
from collections import Counter

import pytest

from p2pfl.errors import ConfigError
from p2pfl.protocol.election import elect
from tests.chain.conftest import OPERATORS, Devnet


def test_every_node_computes_the_contracts_aggregator(devnet: Devnet) -> None:
    em = devnet.epochs
    for _ in range(3):  # several epochs: several randomness values
        e, _ = em.open_epoch(devnet.deployer)
        info = em.epoch(e)
        roster, stakes = em.roster(e)
        for attempt in range(OPERATORS + 2):
            assert elect(info.randomness, e, roster, stakes, attempt) == em.aggregator_at(
                e, attempt
            )
        assert elect(info.randomness, e, roster, stakes) == info.aggregator
        # nobody commits: once the commit window closes the epoch is skipped
        devnet.mine_to(info.commit_deadline + 1)
        em.finalize(devnet.watcher, e)


def test_election_frequency_follows_stake() -> None:
    roster = [f"0x{i:040x}" for i in range(4)]
    stakes = [10, 20, 30, 40]
    wins = Counter(elect(os.urandom(32), 1, roster, stakes) for _ in range(20_000))
    for op, stake in zip(roster, stakes, strict=True):
        assert abs(wins[op] / 20_000 - stake / 100) < 0.015


def test_bad_rosters_are_refused() -> None:
    with pytest.raises(ConfigError):
        elect(bytes(32), 1, [], [])
    with pytest.raises(ConfigError):
        elect(bytes(32), 1, ["0x" + "00" * 20], [0])

"""Byzantine attacks, for the simulation and for the testnet's malicious nodes.

An attack turns what a Byzantine operator knows into the update it sends. Byzantine
operators collude (the model of ByzFL and of the "a little is enough" paper): they
share their honestly trained updates (``known``) and a per-round random seed, so
attacks that draw noise send the same vector from every colluder.
"""

from p2pfl.robust.attacks.base import Attack, AttackContext
from p2pfl.robust.attacks.registry import ATTACKS, make_attack

__all__ = ["ATTACKS", "Attack", "AttackContext", "make_attack"]

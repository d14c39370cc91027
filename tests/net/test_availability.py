"""Availability attestations: signed and checked like announcements, and the available
set is exactly the operators at least f_c + 1 others attest (DESIGN.md step 5)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from eth_account import Account

from p2pfl.net import availability as av
from p2pfl.net.errors import AnnouncementError
from tests.vectors import availability_vectors

CHAIN = 31337
AVS = "0x7a2088a1bFc9d81c55368AE168C2C02570cB814F"
KEYS = [bytes([i + 1]) * 32 for i in range(7)]
OPS = [Account.from_key(k).address for k in KEYS]
VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "availability.json"


def attest(i: int, held: list[int], epoch: int = 3) -> av.Attestation:
    mask = av.held_mask(OPS, [OPS[j] for j in held])
    return av.sign_attestation(KEYS[i], chain_id=CHAIN, avs=AVS, epoch=epoch, held_mask=mask)


def test_mask_bits_follow_ascending_addresses() -> None:
    order = av.ordered(reversed(OPS))
    assert order == sorted(OPS, key=lambda a: int(a, 16))
    assert av.held_mask(OPS, [order[0], order[3]]) == 0b1001
    with pytest.raises(KeyError):
        av.held_mask(OPS[:3], [OPS[4]] if OPS[4] not in OPS[:3] else [])


def test_a_signed_attestation_round_trips_and_checks() -> None:
    att = attest(0, [0, 1, 2])
    back = av.decode_attestation(att.encode(), 1024)
    assert back == att
    av.check(back, chain_id=CHAIN, avs=AVS, epoch=3, committed=OPS)
    assert back.signer() == OPS[0]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"epoch": 4}, "wrong-epoch"),
        ({"chain_id": 1}, "wrong-domain"),
        ({"avs": "0x" + "11" * 20}, "wrong-domain"),
        ({"operator": OPS[1]}, "bad-signature"),  # forged: OPS[0] signed it
        ({"held_mask": 0b111}, "bad-signature"),  # mask changed after signing
        ({"held_mask": 1 << 7}, "bad-mask"),  # a bit beyond the 7 committed
    ],
)
def test_tampered_attestations_are_refused(change: dict[str, object], reason: str) -> None:
    att = attest(0, [0, 1]).model_copy(update=change)
    with pytest.raises(AnnouncementError) as err:
        av.check(att, chain_id=CHAIN, avs=AVS, epoch=3, committed=OPS)
    assert err.value.reason == reason


def test_a_non_member_is_refused_and_bad_bytes_are_named() -> None:
    outsider = av.sign_attestation(b"\x55" * 32, chain_id=CHAIN, avs=AVS, epoch=3, held_mask=1)
    with pytest.raises(AnnouncementError) as err:
        av.check(outsider, chain_id=CHAIN, avs=AVS, epoch=3, committed=OPS)
    assert err.value.reason == "not-committed"
    with pytest.raises(AnnouncementError) as err:
        av.decode_attestation(b"{}", 1024)
    assert err.value.reason == "schema"
    with pytest.raises(AnnouncementError) as err:
        av.decode_attestation(b"x" * 2000, 1024)
    assert err.value.reason == "oversize"
    sig = attest(0, [1]).model_copy(update={"signature": "0x" + "00" * 65})
    with pytest.raises(AnnouncementError) as err:
        sig.signer()
    assert err.value.reason == "bad-signature"


def test_available_needs_f_plus_one_others_and_ignores_self_and_repeats() -> None:
    order = av.ordered(OPS)
    key = {a: KEYS[OPS.index(a)] for a in order}
    n = len(order)
    f_c = 2

    def att(i: int, held: list[int]) -> av.Attestation:
        mask = sum(1 << j for j in held)
        return av.sign_attestation(key[order[i]], chain_id=CHAIN, avs=AVS, epoch=3, held_mask=mask)

    # operator 6 withholds: only it attests itself; operator 5's update reached 3 others
    atts = [
        att(i, [j for j in range(n - 2)] + ([5] if i in (0, 1, 2) else [])) for i in range(n - 1)
    ]
    atts.append(att(6, [6]))  # the withholder attests itself: its own bit does not count
    got = av.available(order, atts, f_c)
    assert got == order[:6]
    # 5 is attested by exactly f_c + 1 = 3 others; with one fewer it is not available
    assert order[5] not in av.available(order, [a for a in atts if a.operator != order[2]], f_c)
    # a repeated attestation from the same operator counts once
    twice = [att(0, [6]), att(0, [6]), att(1, [6])]
    assert av.available(order, twice, 2) == []


def test_the_shared_vectors_are_current_and_verify() -> None:
    assert json.loads(VECTORS.read_text()) == json.loads(json.dumps(availability_vectors.build()))
    for case in availability_vectors.build()["cases"]:
        att = av.Attestation.model_validate(case["attestation"])
        assert att.signer() == att.operator


def test_undecided_only_while_the_missing_attestations_could_make_the_quorum() -> None:
    """Whether a node should ask peers for attestations before judging an exclusion: only
    if those it lacks could lift a left-out operator to the quorum (2·f_c + 1 = 5)."""
    victim = 6
    quorum = av.exclusion_quorum(2)
    everyone = [attest(i, list(range(7))) for i in range(6)]  # all hold the victim's
    assert not av.undecided(OPS, everyone, [OPS[victim]], quorum)  # 6 of 6 others: decided
    assert not av.undecided(OPS, everyone[:quorum], [OPS[victim]], quorum)  # quorum held
    assert av.undecided(OPS, everyone[:2], [OPS[victim]], quorum)  # 2 held, 4 others unknown
    assert not av.undecided(OPS, everyone[:2], [], quorum)  # nobody left out
    # the rest attested, without the victim's update: no missing attestation can help
    without = [attest(i, list(range(6))) for i in range(2, 6)]
    assert not av.undecided(OPS, everyone[:2] + without, [OPS[victim]], quorum)
    # the victim's own attestation never counts for it, so its absence is not "unknown":
    # 4 held and 2 unknown cannot make 7
    assert not av.undecided(OPS, everyone[:4], [OPS[victim]], 7)
    assert av.undecided(OPS, everyone[:4], [OPS[victim]], 6)

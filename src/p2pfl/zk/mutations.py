"""Hint mutations of the Krum circuit: what keeps a malicious prover's hints honest.

Every value the circuit takes from an unconstrained function (``lt_hint``,
``kth_smallest``, ``kth_key``, ``sorted_copy``) is chosen by the prover: a prover runs
whatever hint code it likes, and the verifier only sees the constraints. A *mutation*
replaces the body of one of these functions, in the one source
(:func:`p2pfl.zk.circuit.variant_source`), by an adversarial substitute. The constraint
system (and so the verification key) stays the same, so a mutant that produces a witness
is a proof a cheating prover could submit.

Next to the Noir substitutes the module carries the same substitutes in Python and a
model of the circuit (:func:`simulate`) over the BN254 field: it computes what each
substitute implies (the Krum scores, selection and flags a prover would claim with it,
the *forged claims*) and which constraints those values violate, in execution order.
The suite (tests/zk/test_mutations.py, bench/mutations.py) then executes each mutant on
honest sketches with the honest and the forged claims and checks Noir agrees with the
model: a non-equivalent mutation must have no witness for its forged claims.

A substitute must depend on its inputs: the compiler folds an unconstrained function
whose body is a constant into the constraints (``lt_hint`` returning the literal ``true``
compiled to 17001 gates instead of 14398, with another verification key), and such a
variant is a different circuit, not a cheating prover. The suite checks every mutant's
verification key equals the unmutated circuit's.

Kinds: ``hint`` (must be caught) and ``control`` (the v1 circuit, whose equality was an
under-constrained hint: with a malicious hint it *accepts* forged claims, which shows the
suite can fail). On a given case a hint mutation may leave every hint value as it is (not
exercised, e.g. ``lt-le`` where no two compared values are equal) or be *equivalent*:
change a hint but not the claims, and still have a witness; the suite reports both.
(Until the threshold key had to be one of the keys, ``kth_key`` returning any value
between the keep-th and the next key was such an equivalent; now it is caught.)
"""

from __future__ import annotations

import base64
import json
import re
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

from p2pfl.errors import ConfigError
from p2pfl.robust.sketch_krum import DEFAULT_RHO
from p2pfl.zk.circuit import build, build_source, variant_source
from p2pfl.zk.inputs import BN254_R, krum_inputs
from p2pfl.zk.prover import ProverError, _with_inputs

P = BN254_R

# The circuit's constants (noir/krum/src/main.nr); checked against the source below.
DIST_BITS = 104
COUNT_BITS = 6
KEY_BITS = 118
RHO_BITS = 14
FLAG_BITS = 126
CONSTANTS = {
    "DIST_BITS: u32": DIST_BITS,
    "COUNT_BITS: u32": COUNT_BITS,
    "KEY_BITS: u32": KEY_BITS,
    "RHO_BITS: u32": RHO_BITS,
    "FLAG_BITS: u32": FLAG_BITS,
}

# Each constraint of main() the model checks, by a snippet of its line in main.nr; a
# failing execution is attributed to the snippet on its call stack (see failure_site).
RHO_NUM = "rho_num.assert_max_bit_size::<RHO_BITS>()"
RHO_DEN = "(rho_den - 1).assert_max_bit_size::<RHO_BITS>()"
RHO_ORDER = "(rho_num - rho_den).assert_max_bit_size::<RHO_BITS>()"
LT_DIST = "lt::<DIST_BITS>(v, t)"
RANK_LOW = "(m - c_lt - 1).assert_max_bit_size::<COUNT_BITS>()"
RANK_HIGH = "(c_le - m).assert_max_bit_size::<COUNT_BITS>()"
EQ_V1 = "assert(e * (v - t) == 0)"
KEY_IS_KEY = "assert(prod == 0)"
LT_KEY = "lt::<KEY_BITS>(t_key, keys[i])"
SEL_BIT = "assert(sel == sel_bits[i])"
COUNT = "assert(count == keep)"
LT_FLAG = "lt::<FLAG_BITS>(bound, rho_den * scores[i])"
FLAG_BIT = "assert(flag == flag_bits[i])"
NOT_BOTH = "assert(!(flag & sel_bits[i]))"
ANCHORS = (
    RHO_NUM, RHO_DEN, RHO_ORDER, LT_DIST, RANK_LOW, RANK_HIGH, EQ_V1, KEY_IS_KEY, LT_KEY,
    SEL_BIT, COUNT, LT_FLAG, FLAG_BIT, NOT_BOTH,
)  # fmt: skip

EQ_CONSTRAINED = "let e = (v == t) as Field;"
EQ_V1_LINES = """// Safety: e = 1 forces v == t (v1: wherever v == t, e is free).
                let e = unsafe { eq_hint(v, t) };
                assert(e * (v - t) == 0);"""


V1_EQ_HINT = """
unconstrained fn eq_hint(a: Field, b: Field) -> Field {
    if a == b { 1 } else { 0 }
}
"""


class MutationError(ConfigError):
    """A mutation does not apply to the circuit source (a function or line is missing)."""


# --- the hints in Python: field elements as ints in [0, P) ------------------------------


def honest_lt(a: int, b: int) -> bool:
    return a < b


def honest_sorted(values: Sequence[int]) -> list[int]:
    return sorted(values)


def descending_sorted(values: Sequence[int]) -> list[int]:
    return sorted(values, reverse=True)


KthSmallest = Callable[["Hints", Sequence[int], int, int], int]
KthKey = Callable[["Hints", Sequence[int], int], int]


def _row_sorted(h: Hints, values: Sequence[int], skip: int) -> list[int]:
    """kth_smallest's preparation: the diagonal entry replaced by (row max) + 1."""
    big = max((v for j, v in enumerate(values) if j != skip), default=0)
    row = list(values)
    row[skip] = (big + 1) % P
    return h.sorted_copy(row)


def _at(values: Sequence[int], index: int) -> int:
    """``values[index]`` as Noir indexes: out of range is an error, never a wrap-around."""
    if not 0 <= index < len(values):
        raise MutationError(f"index {index} out of bounds for length {len(values)}")
    return values[index]


def kth_at(offset: int, delta: int = 0) -> KthSmallest:
    """The (k + offset)-th smallest of the row + delta (honest: 0, 0; mod P)."""
    return lambda h, values, skip, k: (
        (_at(_row_sorted(h, values, skip), k - 1 + offset) + delta) % P
    )


def kth_min(h: Hints, values: Sequence[int], skip: int, k: int) -> int:
    return _at(_row_sorted(h, values, skip), 0)


def kth_max(h: Hints, values: Sequence[int], skip: int, k: int) -> int:
    return _at(_row_sorted(h, values, skip), len(values) - 2)


def kth_zero(h: Hints, values: Sequence[int], skip: int, k: int) -> int:
    return 0


def key_at(offset: int, delta: int = 0) -> KthKey:
    """The (k + offset)-th smallest key + delta."""
    return lambda h, keys, k: (_at(h.sorted_copy(keys), k - 1 + offset) + delta) % P


def eq_v1(a: int, b: int, n: int) -> int:
    return int(a == b)


def eq_n(a: int, b: int, n: int) -> int:
    """The malicious v1 hint: N wherever v == t, so m <= c_le holds for any t that equals
    some distance of the row."""
    return n if a == b else 0


@dataclass(frozen=True)
class Hints:
    """The unconstrained functions of one circuit variant, in Python. ``eq`` is None for
    the constrained equality of the fixed circuit, else v1's hint."""

    lt: Callable[[int, int], bool] = honest_lt
    sorted_copy: Callable[[Sequence[int]], list[int]] = honest_sorted
    kth_smallest: KthSmallest = field(default=kth_at(0))
    kth_key: KthKey = field(default=key_at(0))
    eq: Callable[[int, int, int], int] | None = None  # (v, t, n)


HONEST = Hints()


# --- the circuit in Python -------------------------------------------------------------


@dataclass
class Trace:
    """What a variant's hints make main() compute, and the constraints it violates."""

    scores: list[int]
    sel_mask: int  # the selection bits the circuit computes (the claims that would match)
    flag_mask: int
    hint_values: list[int]  # the return values of the fixed circuit's hints, in order
    violations: list[str] = field(default_factory=list)  # anchors, in execution order

    @property
    def first(self) -> str | None:
        return self.violations[0] if self.violations else None


def simulate(
    dist: Sequence[Sequence[int]],
    f: int,
    hints: Hints = HONEST,
    claims: tuple[int, int] | None = None,
    rho: tuple[int, int] = (3, 1),
) -> Trace:
    """main() of noir/krum/src/main.nr on the squared distances, with the given hints, in
    field arithmetic. ``claims`` = (selected_mask, flag_mask); None: the masks the hints
    imply (so only the hint checks can fail); ``rho`` = (rho_num, rho_den) as public
    inputs. Keeps going past a violation, to compute the values a substitute implies."""
    n = len(dist)
    trace = Trace([], 0, 0, [])

    def check(ok: bool, anchor: str) -> None:
        if not ok:
            trace.violations.append(anchor)

    def lt(a: int, b: int, bits: int, anchor: str) -> bool:
        r = hints.lt(a, b)
        trace.hint_values.append(int(r))
        d = (b - a - 1) % P if r else (a - b) % P
        check(d < 1 << bits, anchor)
        return r

    rho_num, rho_den = rho[0] % P, rho[1] % P
    check(rho_num < 1 << RHO_BITS, RHO_NUM)
    check((rho_den - 1) % P < 1 << RHO_BITS, RHO_DEN)
    check((rho_num - rho_den) % P < 1 << RHO_BITS, RHO_ORDER)
    m = n - f - 2
    scores = []
    for i in range(n):
        row = [dist[i][j] % P for j in range(n)]
        t = hints.kth_smallest(hints, row, i, m) % P
        trace.hint_values.append(t)
        c_lt = c_le = below = 0
        for j in range(n):
            if j == i:
                continue
            v = row[j]
            is_lt = lt(v, t, DIST_BITS, LT_DIST)
            if hints.eq is None:
                e = int(v == t)
            else:
                e = hints.eq(v, t, n) % P  # not in hint_values: only v1 has it
                check(e * (v - t) % P == 0, EQ_V1)
            c_lt += int(is_lt)
            c_le = (c_le + int(is_lt) + e) % P
            below += v if is_lt else 0
        check((m - c_lt - 1) % P < 1 << COUNT_BITS, RANK_LOW)
        check((c_le - m) % P < 1 << COUNT_BITS, RANK_HIGH)
        scores.append((below + (m - c_lt) * t) % P)
    trace.scores = scores
    keep = n - f
    keys = [(s * 256 + i) % P for i, s in enumerate(scores)]
    t_key = hints.kth_key(hints, keys, keep) % P
    trace.hint_values.append(t_key)
    prod = 1
    for key in keys:
        prod = prod * (t_key - key) % P
    check(prod == 0, KEY_IS_KEY)
    sel = [not lt(t_key, key, KEY_BITS, LT_KEY) for key in keys]
    trace.sel_mask = sum(1 << i for i, s in enumerate(sel) if s)
    sel_claim, flag_claim = claims if claims is not None else (trace.sel_mask, None)
    top = 0
    for i in range(n):
        check(sel[i] == bool(sel_claim >> i & 1), SEL_BIT)
        top = (top + int(keys[i] == t_key) * scores[i]) % P
    check(sum(sel) == keep, COUNT)
    bound = rho_num * top % P
    flags = [lt(bound, rho_den * s % P, FLAG_BITS, LT_FLAG) for s in scores]
    trace.flag_mask = sum(1 << i for i, fl in enumerate(flags) if fl)
    if flag_claim is not None:
        for i in range(n):
            check(flags[i] == bool(flag_claim >> i & 1), FLAG_BIT)
            check(not (flags[i] and sel_claim >> i & 1), NOT_BOTH)
    return trace


# --- the mutations: Noir substitutes ----------------------------------------------------

_KTH = """    let k = k_field as u32;
    let mut row = values;
    let mut big: Field = 0;
    for j in 0..N {
        if (j != skip) & big.lt(values[j]) {
            big = values[j];
        }
    }
    row[skip] = big + 1; // sorts last
    let sorted = sorted_copy(row);
    """

_SORTED_DESC = """    let mut sorted = values;
    for a in 1..N {
        let mut b = a;
        for _ in 0..N {
            if b > 0 {
                if sorted[b - 1].lt(sorted[b]) {
                    let tmp = sorted[b];
                    sorted[b] = sorted[b - 1];
                    sorted[b - 1] = tmp;
                    b -= 1;
                }
            }
        }
    }
    sorted"""

Kind = Literal["hint", "control"]


@dataclass(frozen=True)
class Mutation:
    name: str
    summary: str
    kind: Kind
    bodies: Mapping[str, str]  # unconstrained function -> substitute body (Noir)
    hints: Hints  # the same substitutes in Python
    v1: bool = False  # v1's equality hint instead of the constrained `==`

    def source(self, n: int, k: int) -> str:
        text = variant_source(n, k)
        check_source(text)
        if self.v1:
            text = v1_source(text)
        for fn, body in self.bodies.items():
            text = replace_body(text, fn, body)
        return text

    def program(self, n: int, k: int) -> Path:
        return build_source(self.source(n, k), f"mut-{self.name}-n{n}-k{k}")


def _kth(expr: str) -> dict[str, str]:
    return {"kth_smallest": _KTH + expr}


MUTATIONS: tuple[Mutation, ...] = (
    Mutation("lt-flipped", "lt_hint returns !(a < b)", "hint",
             {"lt_hint": "!a.lt(b)"}, Hints(lt=lambda a, b: not a < b)),
    Mutation("lt-true", "lt_hint always true", "hint",
             {"lt_hint": "a.lt(b) | !a.lt(b)"}, Hints(lt=lambda a, b: True)),
    Mutation("lt-false", "lt_hint always false", "hint",
             {"lt_hint": "a.lt(b) & !a.lt(b)"}, Hints(lt=lambda a, b: False)),
    Mutation("lt-le", "lt_hint returns a <= b (off by one at equality)", "hint",
             {"lt_hint": "a.lt(b) | (a == b)"}, Hints(lt=lambda a, b: a <= b)),
    Mutation("kth-rank-minus-1", "kth_smallest returns the (m-1)-th smallest", "hint",
             _kth("sorted[k - 2]"), Hints(kth_smallest=kth_at(-1))),
    Mutation("kth-rank-plus-1", "kth_smallest returns the (m+1)-th smallest", "hint",
             _kth("sorted[k]"), Hints(kth_smallest=kth_at(1))),
    Mutation("kth-min", "kth_smallest returns the row minimum (rank 1)", "hint",
             _kth("sorted[0]"), Hints(kth_smallest=kth_min)),
    Mutation("kth-plus-1", "kth_smallest returns the m-th smallest + 1", "hint",
             _kth("sorted[k - 1] + 1"), Hints(kth_smallest=kth_at(0, 1))),
    Mutation("kth-minus-1", "kth_smallest returns the m-th smallest - 1", "hint",
             _kth("sorted[k - 1] - 1"), Hints(kth_smallest=kth_at(0, -1))),
    Mutation("kth-max", "kth_smallest returns the row maximum", "hint",
             _kth("sorted[N - 2]"), Hints(kth_smallest=kth_max)),
    Mutation("kth-zero", "kth_smallest returns 0", "hint",
             _kth("sorted[k - 1] * 0"), Hints(kth_smallest=kth_zero)),
    Mutation("key-rank-minus-1", "kth_key returns the (keep-1)-th key", "hint",
             {"kth_key": "sorted_copy(keys)[k as u32 - 2]"}, Hints(kth_key=key_at(-1))),
    Mutation("key-rank-plus-1", "kth_key returns the (keep+1)-th key", "hint",
             {"kth_key": "sorted_copy(keys)[k as u32]"}, Hints(kth_key=key_at(1))),
    Mutation("sorted-descending", "sorted_copy sorts descending (both kth hints)", "hint",
             {"sorted_copy": _SORTED_DESC}, Hints(sorted_copy=descending_sorted)),
    Mutation("key-plus-1", "kth_key returns the keep-th key + 1 (the same set, but not a "
             "key: T would be undetermined)", "hint",
             {"kth_key": "sorted_copy(keys)[k as u32 - 1] + 1"}, Hints(kth_key=key_at(0, 1))),
    Mutation("key-next-minus-1", "kth_key returns the (keep+1)-th key - 1 (the same set, "
             "the top of the interval v1 allowed; not a key)", "hint",
             {"kth_key": "sorted_copy(keys)[k as u32] - 1"}, Hints(kth_key=key_at(1, -1))),
    Mutation("v1", "v1's circuit: equality from eq_hint, checked only by e * (v - t) == 0; "
             "honest hints", "control",
             {}, Hints(eq=eq_v1), v1=True),
    Mutation("v1-attack", "v1's circuit with a malicious eq_hint (N where v == t) and "
             "kth_smallest returning the row minimum: lowers every score", "control",
             {"eq_hint": "if a == b { N as Field } else { 0 }", **_kth("sorted[0]")},
             Hints(eq=eq_n, kth_smallest=kth_min), v1=True),
)  # fmt: skip
BY_NAME = {mut.name: mut for mut in MUTATIONS}


# --- source text surgery ------------------------------------------------------------------


def replace_body(text: str, fn: str, body: str) -> str:
    """``text`` with the body of ``unconstrained fn <fn>`` replaced by ``body``; raises
    MutationError unless exactly one such function exists (a constrained function is
    never substituted: that would change the constraints)."""
    hits = list(re.finditer(rf"^unconstrained fn {re.escape(fn)}\(", text, re.MULTILINE))
    if len(hits) != 1:
        raise MutationError(f"`unconstrained fn {fn}` occurs {len(hits)} times in the circuit")
    start = text.index("{", hits[0].end())
    depth, pos = 0, start
    while pos < len(text):
        if text.startswith("//", pos):
            pos = text.index("\n", pos)
            continue
        if text[pos] == "{":
            depth += 1
        elif text[pos] == "}":
            depth -= 1
            if depth == 0:
                return text[: start + 1] + "\n    " + body.strip() + "\n" + text[pos:]
        pos += 1
    raise MutationError(f"the body of `{fn}` is not closed")


def v1_source(text: str) -> str:
    """The v1 construction: ``e`` from an unconstrained ``eq_hint`` checked only by
    ``e * (v - t) == 0``, instead of the constrained ``(v == t) as Field``."""
    if text.count(EQ_CONSTRAINED) != 1:
        raise MutationError(f"`{EQ_CONSTRAINED}` must occur exactly once in the circuit")
    if "fn eq_hint" in text:
        raise MutationError("the circuit already has an eq_hint")
    text = text.replace(EQ_CONSTRAINED, EQ_V1_LINES)
    return text + V1_EQ_HINT


def check_source(text: str) -> None:
    """The model's constants and constraint anchors match the circuit source."""
    for decl, value in CONSTANTS.items():
        hit = re.search(rf"^global {re.escape(decl)} = (0x[0-9a-fA-F]+|\d+);", text, re.M)
        if hit is None or int(hit.group(1), 0) != value:
            raise MutationError(f"the model's `{decl}` = {value} does not match the circuit")
    missing = [a for a in ANCHORS if a != EQ_V1 and a not in text]
    if missing:
        raise MutationError(f"constraints the model checks are missing from the circuit: {missing}")


# --- running a variant ------------------------------------------------------------------


@dataclass(frozen=True)
class Execution:
    ok: bool
    message: str = ""
    site: str | None = None  # the model anchor on the failing opcode's call stack
    frames: tuple[str, ...] = ()  # main.nr lines of that call stack, innermost first


def execute(program: Path, inputs: dict[str, Any], timeout: float = 120) -> Execution:
    """Witness generation only (p2pfl.zk.prover.check's path, for any compiled program)."""
    try:
        _with_inputs(inputs, ["execute", str(program)], timeout)
    except ProverError as exc:
        message = str(exc)
        frames = failure_frames(program, message)
        site = next((a for fr in frames for a in ANCHORS if a in fr), None)
        return Execution(False, message, site, frames)
    return Execution(True)


@cache
def _debug(program: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    data = json.loads(program.read_text())
    raw = zlib.decompress(base64.b64decode(data["debug_symbols"]), -zlib.MAX_WBITS)
    return json.loads(raw)["debug_infos"][0], data["file_map"]


def failure_frames(program: Path, message: str) -> tuple[str, ...]:
    """The main.nr source lines on the call stack of the failing ACIR opcode (noir_js
    names it, the driver prints it in parentheses), from the program's debug symbols."""
    hit = re.search(r"\((\d+)(?:\.\d+)?(?:; [^)]*)?\)\s*$", message.strip())
    if hit is None:
        return ()
    info, files = _debug(program)
    tree = info["location_tree"]["locations"]
    node = info["acir_locations"].get(hit.group(1))
    frames = []
    while node is not None:
        value = tree[node]["value"]
        entry = files.get(str(value["file"]))
        if entry is not None and entry["path"].endswith("src/main.nr"):
            src = entry["source"]
            line = src.count("\n", 0, value["span"]["start"])
            frames.append(f"main.nr:{line + 1}: {src.splitlines()[line].strip()}")
        node = tree[node]["parent"]
    return tuple(frames)


# --- one mutation on one case -----------------------------------------------------------


@dataclass
class Outcome:
    """One mutation on one set of honest sketches."""

    mutation: str
    kind: Kind
    case: str
    exercised: bool  # the substitute returns a value the honest hint does not
    forged_differs: bool  # the claims it implies differ from the honest ones
    honest_claims: tuple[int, int]
    forged_claims: tuple[int, int]
    model_honest: list[str]  # constraints the model sees violated, honest claims
    model_forged: list[str]  # ... forged claims
    model_fixed: list[str]  # ... the unmutated circuit on the forged claims
    mutant_honest: Execution
    mutant_forged: Execution
    fixed_forged: Execution  # the unmutated circuit on the forged claims

    @property
    def caught(self) -> bool:
        """No witness for the forged claims (nor, if the hints break a check, for any)."""
        return not self.mutant_forged.ok

    def disagreements(self) -> list[str]:
        """Where Noir and the Python model differ: whether each run has a witness, and
        whether the failing constraint Noir names is one the model sees violated."""
        out = []
        runs = (
            ("mutant, honest claims", self.mutant_honest, self.model_honest),
            ("mutant, forged claims", self.mutant_forged, self.model_forged),
            ("fixed, forged claims", self.fixed_forged, self.model_fixed),
        )
        for label, run, model in runs:
            if run.ok != (not model):
                out.append(f"{label}: Noir ok={run.ok}, model violations {model[:3]}")
            elif not run.ok and run.site not in model:
                out.append(
                    f"{label}: Noir fails at {run.site or run.message[-120:]}, model {model[:3]}"
                )
        return out

    @property
    def verdict(self) -> str:
        if self.kind == "control":
            if self.mutant_forged.ok:
                return "forged claims accepted" if self.forged_differs else "accepted"
            return "refused"
        if not self.exercised:
            return "not exercised"
        if not self.forged_differs and self.mutant_forged.ok:
            return "equivalent"
        return "caught" if self.caught else "NOT CAUGHT"

    def row(self) -> dict[str, Any]:
        def ex(e: Execution) -> dict[str, Any]:
            return {"ok": e.ok, "site": e.site, "message": e.message[-200:], "frames": e.frames}

        return {
            "mutation": self.mutation,
            "kind": self.kind,
            "case": self.case,
            "verdict": self.verdict,
            "exercised": self.exercised,
            "forged_differs": self.forged_differs,
            "honest_claims": {
                "selected_mask": self.honest_claims[0],
                "flag_mask": self.honest_claims[1],
            },
            "forged_claims": {
                "selected_mask": self.forged_claims[0],
                "flag_mask": self.forged_claims[1],
            },
            "model_first_violation": {
                "mutant_honest": self.model_honest[:1],
                "mutant_forged": self.model_forged[:1],
                "fixed_forged": self.model_fixed[:1],
            },
            "model_disagreements": self.disagreements(),
            "mutant_honest": ex(self.mutant_honest),
            "mutant_forged": ex(self.mutant_forged),
            "fixed_forged": ex(self.fixed_forged),
        }


def claims_inputs(
    sketches: Sequence[Sequence[int]], f: int, claims: tuple[int, int]
) -> dict[str, Any]:
    """The circuit's inputs for the given (selected_mask, flag_mask)."""
    bits = [i for i in range(len(sketches)) if claims[0] >> i & 1]
    flags = [i for i in range(len(sketches)) if claims[1] >> i & 1]
    return krum_inputs(1, bytes(32), f, sketches, bits, flags, DEFAULT_RHO)


def evaluate(
    mutation: Mutation,
    name: str,
    sketches: Sequence[Sequence[int]],
    dist: Sequence[Sequence[int]],
    f: int,
    k: int,
) -> Outcome:
    """Execute the mutant and the fixed circuit on the honest and the forged claims."""
    n = len(sketches)
    honest = simulate(dist, f)
    if honest.violations:
        raise MutationError(f"the model rejects the honest run of {name}: {honest.violations}")
    honest_claims = (honest.sel_mask, honest.flag_mask)
    implied = simulate(dist, f, mutation.hints)
    forged = (implied.sel_mask, implied.flag_mask)
    program = mutation.program(n, k)
    cache: dict[tuple[Path, tuple[int, int]], Execution] = {}

    def run(prog: Path, claims: tuple[int, int]) -> Execution:
        if (prog, claims) not in cache:
            cache[prog, claims] = execute(prog, claims_inputs(sketches, f, claims))
        return cache[prog, claims]

    return Outcome(
        mutation=mutation.name,
        kind=mutation.kind,
        case=name,
        exercised=implied.hint_values != honest.hint_values,
        forged_differs=forged != honest_claims,
        honest_claims=honest_claims,
        forged_claims=forged,
        model_honest=simulate(dist, f, mutation.hints, honest_claims).violations,
        model_forged=simulate(dist, f, mutation.hints, forged).violations,
        model_fixed=simulate(dist, f, HONEST, forged).violations,
        mutant_honest=run(program, honest_claims),
        mutant_forged=run(program, forged),
        fixed_forged=run(build(n, k), forged),
    )

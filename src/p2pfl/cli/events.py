"""How a running node reports: one JSON object per line (``--json``, for the testnet and
for log collectors), or one readable line per event."""

from __future__ import annotations

import time

from rich.console import Console

from p2pfl.events import (
    Challenged,
    ChallengeFailed,
    CommitFailed,
    Committed,
    Emit,
    Event,
    Fault,
    Finalized,
    KrumMismatch,
    Listening,
    ModelMismatch,
    Submitted,
)

_STYLE: dict[type[Event], str] = {
    Fault: "red",
    CommitFailed: "red",
    ChallengeFailed: "yellow",
    Challenged: "bold magenta",
    ModelMismatch: "bold red",
    KrumMismatch: "bold red",
    Submitted: "bold cyan",
    Finalized: "green",
    Committed: "blue",
}


def emitter(json_events: bool) -> Emit:
    console = Console(stderr=json_events, highlight=False)

    def emit(event: Event) -> None:
        if json_events:
            print(event.line(), flush=True)
            return
        if isinstance(event, Listening):
            console.print(
                f"[bold]peer id[/] {event.peer_id}  operator {event.operator}  ({event.role})"
            )
            for addr in event.addrs:
                console.print(f"[bold green]listening[/] {addr}")
            return
        details = " ".join(f"{k}={v}" for k, v in event.details().items())
        style = _STYLE.get(type(event), "")
        label = f"[{style}]{event.kind:<16}[/]" if style else f"{event.kind:<16}"
        console.print(f"{time.strftime('%H:%M:%S')} {label} {details}")

    return emit

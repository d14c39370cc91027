"""How a running node reports: one JSON object per line (``--json``, with wall-clock time,
for the testnet and for log collectors), or one readable line per event."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from rich.console import Console

Emit = Callable[[dict[str, Any]], None]
_STYLE = {
    "error": "red",
    "commit-failed": "red",
    "challenge-failed": "yellow",
    "challenged": "bold magenta",
    "model-mismatch": "bold red",
    "submitted": "bold cyan",
    "finalized": "green",
    "committed": "blue",
}


def emitter(json_events: bool) -> Emit:
    console = Console(stderr=json_events, highlight=False)

    def emit(event: dict[str, Any]) -> None:
        if json_events:
            print(json.dumps({**event, "time": round(time.time(), 4)}), flush=True)
            return
        kind = event["event"]
        if kind == "listening":
            console.print(
                f"[bold]peer id[/] {event['peer_id']}  operator {event['operator']}"
                + (f"  ({event['role']})" if "role" in event else "")
            )
            for addr in event["addrs"]:
                console.print(f"[bold green]listening[/] {addr}")
            return
        details = " ".join(
            f"{k}={v}" for k, v in event.items() if k not in ("event", "scores", "operators")
        )
        style = _STYLE.get(kind, "")
        label = f"[{style}]{kind:<16}[/]" if style else f"{kind:<16}"
        console.print(f"{time.strftime('%H:%M:%S')} {label} {details}")

    return emit

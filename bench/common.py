"""Shared helpers of the benchmarks: where results go, how they are written."""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path
from typing import Any

import torch

from p2pfl.jsonfile import write_json

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "platform": platform.platform(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }


def write_result(name: str, payload: dict[str, Any]) -> Path:
    path = RESULTS / f"{name}.json"
    write_json(path, {"machine": machine(), **payload})
    return path

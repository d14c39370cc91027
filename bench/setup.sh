#!/usr/bin/env bash
# A separate virtualenv for the aggregation benchmark's peers: Flower (flwr) pins
# versions (typer < 0.21, protobuf, grpcio) that must not leak into p2pfl's own
# environment, and ByzFL's wheel depends on torchvision, which cannot load with the CPU
# torch here, so ByzFL is installed without dependencies (its aggregators need only
# numpy, torch and scipy; bench/peers.py imports them without the package __init__).
set -euo pipefail
cd "$(dirname "$0")/.."
# flwr 1.42.0 needs certifi >= 2026.10.19, newer than the registry here serves; 1.41.0 installs.
[ -x .venv-bench/bin/python ] || python3 -m venv .venv-bench
.venv-bench/bin/pip install --quiet --disable-pip-version-check torch==2.13.0 -e . flwr==1.41.0 scipy
.venv-bench/bin/pip install --quiet --disable-pip-version-check --no-deps byzfl==0.0.11
echo "bench env ready: $(.venv-bench/bin/python -c 'import flwr; print("flwr", flwr.__version__)')"

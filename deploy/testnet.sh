#!/usr/bin/env bash
# The local testnet: anvil, the EigenLayer stand-ins, the AVS with real Krum verifiers,
# N registered operators running `p2pfl node` (some malicious), one cheating aggregator
# epoch and a `p2pfl challenge watch` watcher. A live table per epoch; a JSON report and
# PNG plots under runs/testnet-<time>/ (or --out); exit code 1 when what the testnet set out
# to show did not happen. Defaults: 8 nodes, 2 malicious (gaussian), cheating epoch 2,
# 5 epochs. Extra arguments go to `p2pfl testnet` (see --help), e.g.
#   deploy/testnet.sh --nodes 6 --malicious 1 --attack signflip --epochs 3
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/p2pfl ] || { echo "error: run deploy/install.sh first" >&2; exit 2; }
exec .venv/bin/p2pfl testnet "$@"

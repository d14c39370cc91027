#!/usr/bin/env bash
# Start a local devnet: anvil (from node_modules), the EigenLayer stand-ins, the p2pfl AVS
# and epoch manager, N registered operators; addresses go to deployment.json and anvil
# keeps running until Ctrl-C. Extra arguments go to `p2pfl deploy` (see --help), e.g.
#   deploy/devnet.sh --operators 4 --out /tmp/devnet.json
# For a live network use `p2pfl deploy --rpc URL --core core.json --verifier 0x...`.
#
# Until the zk issue lands the only verifier is the test-tree one that accepts a hash of
# the public inputs as "proof": fine on anvil, refused anywhere else.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/p2pfl ] || { echo "error: run deploy/install.sh first" >&2; exit 2; }
exec .venv/bin/p2pfl deploy --insecure-test-verifier "$@"

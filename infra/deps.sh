#!/usr/bin/env bash
# infra/deps.sh: installs what Chatr needs on Debian 12 (apt + npm). Idempotent, and quick when
# everything is already there: it only calls apt-get when a package is missing.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

APT_PACKAGES=(
    build-essential pkg-config clang-format
    nginx libnginx-mod-nchan libnginx-mod-http-headers-more-filter
    nginx-dev
    postgresql spawn-fcgi multiwatch
    libfcgi-dev libjson-c-dev libsodium-dev libpq-dev libcurl4-openssl-dev
    libssl-dev # libcrypto: OpenID Connect ID token signatures (gateway/auth/auth_oidc_jwt.c)
    libicu-dev # ICU's RGI_Emoji property: a reaction is one emoji (functions/eventHandler/emoji.c)
    python3 python3-pytest python3-requests python3-websocket
    python3-prometheus-client # tests/api/test_metrics.py parses /.chatr/metrics
    chromium
    clang libclang-rt-14-dev # libFuzzer targets (tests/fuzz, make fuzz)
    openssl # tests/api/test_tls.py and tests/bench/tls_light.py make their CA and certificate
    systemd # systemd-analyze verify on the installed units (tests/api/test_install.py)
    # the files function (functions/files, docs/files.md): libmagic tells a file's type from its
    # content, GMime reads multipart/form-data uploads, libvips makes image thumbnails
    libmagic-dev libgmime-3.0-dev libvips-dev
    redis-server redis-tools # several gateway nodes share nchan through Redis (docs/scale-out.md)
)

missing=()
# Node.js may come from elsewhere (e.g. NodeSource's nodejs, which bundles npm): only ask apt
# for Debian's nodejs and npm when there is no npm at all.
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
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
    policy_added=
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' | "${sudo_cmd[@]}" tee /usr/sbin/policy-rc.d >/dev/null
        "${sudo_cmd[@]}" chmod +x /usr/sbin/policy-rc.d
        policy_added=1
    fi
    "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
    [ -z "$policy_added" ] || "${sudo_cmd[@]}" rm -f /usr/sbin/policy-rc.d
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

# The OpenID Connect provider the sign-in tests run (tests/oidc: node oidc-provider).
if [ -f "$root/tests/oidc/package.json" ]; then
    stamp="$root/tests/oidc/node_modules/.chatr-deps"
    if [ ! -f "$stamp" ] || [ "$root/tests/oidc/package.json" -nt "$stamp" ] ||
        { [ -f "$root/tests/oidc/package-lock.json" ] && [ "$root/tests/oidc/package-lock.json" -nt "$stamp" ]; }; then
        echo "deps: npm ci (tests/oidc)"
        (cd "$root/tests/oidc" && npm ci --no-audit --no-fund --loglevel=error)
        touch "$stamp"
    fi
fi

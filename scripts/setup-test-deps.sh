#!/usr/bin/env bash
# Installs what the test suite needs on a bare Debian 12 machine with the .NET SDK:
# Debian packages (openssl, python3, iproute2) and npm packages (Node 22 + js-libp2p, msgpack-test-suite).
# Idempotent: re-running skips what is already present.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

need_apt=()
for cmd_pkg in openssl:openssl python3:python3 ip:iproute2 npm:npm; do
  cmd=${cmd_pkg%%:*}; pkg=${cmd_pkg#*:}
  command -v "$cmd" >/dev/null 2>&1 || need_apt+=("$pkg")
done
# Guile-GnuTLS: the same TLS stack Goblins uses, for the OCapN netlayer's independent peer.
guile --no-auto-compile -c '(use-modules (gnutls) (gcrypt hash))' >/dev/null 2>&1 || need_apt+=(guile-3.0 guile-gnutls guile-gcrypt)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "setup: installing Debian packages: ${need_apt[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
  else
    echo "setup: missing ${need_apt[*]} and not root; tests that need them will skip" >&2
  fi
fi

# npm workspaces used by tests: each folder with a package.json under tests/npm/.
for dir in "$root"/tests/npm/*/; do
  [ -f "$dir/package.json" ] || continue
  if [ ! -d "$dir/node_modules" ] || [ "$dir/package.json" -nt "$dir/node_modules" ]; then
    echo "setup: npm install in ${dir#$root/}"
    (cd "$dir" && npm install --no-audit --no-fund --loglevel=error && touch node_modules)
  fi
done

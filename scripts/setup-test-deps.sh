#!/usr/bin/env bash
# Installs what the test suite needs on a bare Debian 12 machine with the .NET SDK:
# Debian packages (real peers and servers the tests start themselves) and npm packages (Node 22 + js-libp2p,
# msgpack-test-suite, js yamux). Idempotent: re-running skips what is already present.
# Package installs start no daemons; every test starts the servers it needs and stops them by PID.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

# command:package pairs; a package is installed when its command is missing.
wanted=(
  openssl:openssl python3:python3 ip:iproute2 npm:npm
  nft:nftables iptables:iptables conntrack:conntrack tc:iproute2 sysctl:procps
  turnserver:coturn miniupnpd:miniupnpd-nftables upnpc:miniupnpc natpmpc:natpmpc
  iperf3:iperf3 wireguard-go:wireguard-go wg:wireguard-tools
  pg_ctl:postgresql chromium:chromium chromedriver:chromium-driver
  afl-fuzz:afl++ setpriv:util-linux runuser:util-linux ping:iputils-ping
)
need_apt=()
for cmd_pkg in "${wanted[@]}"; do
  cmd=${cmd_pkg%%:*}; pkg=${cmd_pkg#*:}
  if [ "$cmd" = pg_ctl ]; then
    ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 && continue
  elif command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] || [ -x "/sbin/$cmd" ]; then
    continue
  fi
  need_apt+=("$pkg")
done
# Guile-GnuTLS: the same TLS stack Goblins uses, for the OCapN netlayer's independent peer.
guile --no-auto-compile -c '(use-modules (gnutls) (gcrypt hash))' >/dev/null 2>&1 || need_apt+=(guile-3.0 guile-gnutls guile-gcrypt)
# libFuzzer runtime for the fuzz driver (scripts/fuzz.sh).
[ -f /usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.fuzzer-x86_64.a ] || need_apt+=(libclang-rt-14-dev)
if [ ${#need_apt[@]} -gt 0 ]; then
  mapfile -t need_apt < <(printf '%s\n' "${need_apt[@]}" | sort -u)
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
  if [ ! -d "$dir/node_modules" ] || [ "$dir/package.json" -nt "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules" ]; then
    echo "setup: npm install in ${dir#$root/}"
    (cd "$dir" && npm install --no-audit --no-fund --loglevel=error && touch node_modules)
  fi
done

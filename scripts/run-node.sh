#!/usr/bin/env bash
# Starts the Pinhole daemon with an auto-created identity and its embedded SQLite peer store in the default
# home (PINHOLE_HOME or ~/.pinhole): TCP (libp2p) and UDP (DTLS) on one port on all interfaces (the port it
# got the first time is remembered), the local API on <home>/api.sock and the status page on loopback.
# It prints its dialable addresses, the API socket and the status page's login link; Ctrl-C stops it.
# Extra arguments go to 'pinhole daemon' (e.g. --listen /ip4/127.0.0.1/tcp/4001, --port 4001, --no-udp,
# --stun stun.example.net:3478). PINHOLE_NO_BUILD=1 skips the build when the CLI is built already (the tests
# run this script after scripts/test.sh has built everything).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
command -v dotnet >/dev/null || { echo "run-node: the .NET 10 SDK (dotnet) is required" >&2; exit 2; }
cli="$root/src/Pinhole.Cli/bin/Release/net10.0/pinhole.dll"
if [[ "${PINHOLE_NO_BUILD:-}" != 1 || ! -f "$cli" ]]; then
    dotnet build "$root/src/Pinhole.Cli" -c Release -nologo -v q >&2
fi
exec dotnet "$cli" daemon --web "$@"

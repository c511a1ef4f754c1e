#!/usr/bin/env bash
# Starts the Pinhole daemon with an auto-created identity and its embedded SQLite peer store in the default
# home (PINHOLE_HOME or ~/.pinhole): TCP (libp2p) and UDP (DTLS) on one port on all interfaces (the port it
# got the first time is remembered), the local API on <home>/api.sock and the status page on loopback.
# It prints its dialable addresses, the API socket and the status page's login link; Ctrl-C stops it.
# Extra arguments go to 'pinhole daemon' (e.g. --listen /ip4/127.0.0.1/tcp/4001, --port 4001, --no-udp).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
command -v dotnet >/dev/null || { echo "run-node: the .NET 10 SDK (dotnet) is required" >&2; exit 2; }
dotnet build "$root/src/Pinhole.Cli" -c Release -nologo -v q >&2
exec dotnet "$root/src/Pinhole.Cli/bin/Release/net10.0/pinhole.dll" daemon --web "$@"

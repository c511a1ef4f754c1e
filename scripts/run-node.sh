#!/usr/bin/env bash
# Starts a Pinhole node with an auto-created identity in the default home (PINHOLE_HOME or ~/.pinhole),
# listening on all interfaces (TCP, random port unless given) and printing its dialable addresses.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
command -v dotnet >/dev/null || { echo "run-node: the .NET 10 SDK (dotnet) is required" >&2; exit 2; }
dotnet build "$root/src/Pinhole.Cli" -c Release -nologo -v q >&2
exec dotnet "$root/src/Pinhole.Cli/bin/Release/net10.0/pinhole.dll" listen "$@"

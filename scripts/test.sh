#!/usr/bin/env bash
# Runs the whole test suite: installs test dependencies, builds, runs every test project,
# and ends with one line "N passed, N failed, N skipped" summed over all TRX results.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
command -v dotnet >/dev/null || { echo "test: the .NET 10 SDK (dotnet) is required" >&2; exit 2; }

"$root/scripts/setup-test-deps.sh"

results="$root/artifacts/test-results"
rm -rf "$results"; mkdir -p "$results"
dotnet build Pinhole.slnx -c Release -nologo -v q

status=0
for proj in tests/*.Tests/*.Tests.csproj; do
  name=$(basename "$proj" .csproj)
  echo "test: $name"
  dotnet test "$proj" -c Release --no-build -nologo -v q \
    --logger "trx;LogFileName=$name.trx" --results-directory "$results" \
    --blame-hang-timeout 5m "$@" || status=1
done

python3 "$root/scripts/trx-summary.py" "$results" || status=1
exit $status

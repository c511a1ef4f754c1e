#!/usr/bin/env bash
# Brings the PublicAPI.Unshipped.txt baselines of the API-tracked libraries (build/Packaging.targets, TrackPublicApi)
# in line with their code, after a change or a merge added or removed public members:
#   scripts/public-api.sh          update the baselines, then print what changed (git diff)
#   scripts/public-api.sh --check  change nothing; exit 1 and list the differences if a baseline is out of date
# It builds each tracked project, reads the analyzer's verdicts (RS0016: public but not declared; RS0017: declared
# but gone) and edits the file the way the analyzer's code fix would. Review the diff: every line is public API.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
check=false
[[ "${1:-}" == "--check" ]] && check=true

projects=(src/Pinhole.Core src/Pinhole.Dtls src/Pinhole.Messaging src/Pinhole.Ocapn)
log=$(mktemp); trap 'rm -f "$log"' EXIT
status=0
for dir in "${projects[@]}"; do
  name=$(basename "$dir")
  # --no-incremental: the analyzer only speaks when the compiler runs; -p:TreatWarningsAsErrors=false so every
  # project's verdicts arrive in one pass instead of stopping at the first error.
  # Core first builds the references; the others then compile alone against them.
  deps=(); [[ "$name" != Pinhole.Core ]] && deps=(--no-dependencies)
  dotnet build "$dir" -c Release -nologo -v q --no-incremental "${deps[@]}" -p:TreatWarningsAsErrors=false >"$log" 2>&1 || true
  # Only this project's diagnostics (the build also compiles its references).
  added=$(grep -F "[$root/$dir/$name.csproj]" "$log" | grep -oP "RS0016: Symbol '\K.*(?=' is not part of the declared public API)" | LC_ALL=C sort -u || true)
  removed=$(grep -F "[$root/$dir/$name.csproj]" "$log" | grep -oP "RS0017: Symbol '\K.*(?=' is part of the declared API, but is either not public or could not be found)" | LC_ALL=C sort -u || true)
  other=$(grep -F "[$root/$dir/$name.csproj]" "$log" | grep -E ": error " | grep -vE "RS001[67]" | sort -u || true)
  if [[ -n "$other" ]]; then
    echo "public-api: $name does not build for another reason:" >&2; echo "$other" >&2; exit 2
  fi
  [[ -z "$added" && -z "$removed" ]] && { echo "public-api: $name up to date"; continue; }
  if $check; then
    status=1
    [[ -n "$added" ]] && { echo "public-api: $name: public but not in PublicAPI.Unshipped.txt:"; sed 's/^/  + /' <<<"$added"; }
    [[ -n "$removed" ]] && { echo "public-api: $name: in the baseline but no longer public:"; sed 's/^/  - /' <<<"$removed"; }
    continue
  fi
  unshipped="$dir/PublicAPI.Unshipped.txt"; shipped="$dir/PublicAPI.Shipped.txt"
  body=$(grep -v '^#nullable enable$' "$unshipped" || true)
  while IFS= read -r symbol; do
    [[ -z "$symbol" ]] && continue
    if grep -qxF -- "$symbol" <<<"$body"; then
      body=$(grep -vxF -- "$symbol" <<<"$body" || true)   # never shipped: just drop it
    elif grep -qxF -- "$symbol" "$shipped"; then
      body+=$'\n'"*REMOVED*$symbol"                       # shipped: record the removal
    fi
  done <<<"$removed"
  [[ -n "$added" ]] && body+=$'\n'"$added"
  { echo "#nullable enable"; grep -v '^$' <<<"$body" | LC_ALL=C sort -u; } >"$unshipped"
  echo "public-api: $name: $(grep -c . <<<"$added" || true) added, $(grep -c . <<<"$removed" || true) removed"
done
if $check; then
  [[ $status -ne 0 ]] && echo "public-api: run scripts/public-api.sh and review the diff" >&2
  exit $status
fi
git --no-pager diff --stat -- 'src/*/PublicAPI.*.txt'
